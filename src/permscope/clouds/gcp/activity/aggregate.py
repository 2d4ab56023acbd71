"""Audit-log entries and Policy Analyzer activities -> usage: which member exercised which IAM permission, on
what, in which project.

`GcpActivityAggregate.add` classifies one entry and folds it into actor x permission x resource -> first seen,
last seen, count, and actor -> first, last, events. Memory grows with the distinct keys, never with the entries.

- Permissions: the `authorizationInfo[]` items with `granted: true` (exactly what IAM checked); without any
  `authorizationInfo`, the shipped method map (`methods`); a method it does not name is counted in
  `unknown_actions` as `method:<methodName>`, not guessed. An entry whose `authorizationInfo` grants nothing
  needed no permission of the caller (e.g. public data): it is activity, not usage.
- Resource: `protoPayload.resourceName`, made a full resource name (`//<serviceName>/<name>`) when relative.
- Only successful calls are usage (`status.code` absent or 0); PERMISSION_DENIED and UNAUTHENTICATED are
  counted as denied, other codes as failed. System Event entries (Google's own actions) are service events;
  entries without an AuditLog payload are other events; entries logged outside a project (organization or
  folder logs) are other events too, since usage belongs to a project.
- Policy Analyzer `serviceAccountLastAuthentication` / `serviceAccountKeyLastAuthentication` activities are
  sign-ins of the service account (activity at `lastAuthenticatedTime`, no permission).

Each successful audit-log entry is noted into the profiles of its UTC day (`core.activity_days`, in `days`) of
the caller and of the service accounts it acted through: the service is `serviceName` without
`.googleapis.com`, the source IP `requestMetadata.callerIp`, the user agent `callerSuppliedUserAgent`, the region
the monitored resource's `location`, `zone` or `region` label (else the payload's `resourceLocation`). Policy
Analyzer activities (one timestamp per account, not events) are not noted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, TypedDict

from permscope.clouds.gcp.activity.actors import (
    UNIQUE_ID,
    UNIQUE_ID_ACTOR,
    actor_key,
    caller_of,
    delegators_of,
    member_of_email,
    project_of,
)
from permscope.clouds.gcp.activity.methods import MethodPermissions
from permscope.core.activity import ActivityStats, bump
from permscope.core.activity_days import HOUR_OF, DayKey, DayProfile, fold_days

AUDIT_LOG_TYPE = "type.googleapis.com/google.cloud.audit.AuditLog"
SYSTEM_EVENT_LOG = "cloudaudit.googleapis.com%2Fsystem_event"
LAST_AUTHENTICATION = ("serviceAccountLastAuthentication", "serviceAccountKeyLastAuthentication")
UNMAPPED = "method:"  # prefix of unmapped methods in stats.unknown_actions
# google.rpc.Code names, for the error counts
RPC_CODES = (
    "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
    "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
    "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
)  # fmt: skip
DENIED_CODES = frozenset({7, 16})

ACTOR_MEMO = 100_000  # (project, e-mail) pairs remembered as checked, per aggregate
UsageKey = tuple[str, str, str]  # (actor, permission, resource or "")
CanonicalAction = Callable[[str], "str | None"]


# Every field `add` reads, as TypedDicts: a decoder given this shape (msgspec) builds only these and skips the
# rest of each entry. Keep it complete: tests compare aggregates of entries decoded whole and through it.
class DelegationFields(TypedDict, total=False):
    """serviceAccountDelegationInfo[]."""

    firstPartyPrincipal: Any
    principalSubject: Any


class AuthenticationFields(TypedDict, total=False):
    """protoPayload.authenticationInfo."""

    principalEmail: Any
    principalSubject: Any
    serviceAccountDelegationInfo: list[DelegationFields] | None


class AuthorizationFields(TypedDict, total=False):
    """protoPayload.authorizationInfo[]."""

    permission: Any
    granted: Any


class RequestMetadataFields(TypedDict, total=False):
    """protoPayload.requestMetadata (`callerIP`: how some log shippers spell `callerIp`)."""

    callerIp: Any
    callerIP: Any
    callerSuppliedUserAgent: Any


class ResourceLocationFields(TypedDict, total=False):
    """protoPayload.resourceLocation."""

    currentLocations: Any


class StatusFields(TypedDict, total=False):
    """protoPayload.status."""

    code: Any


PayloadFields = TypedDict(
    "PayloadFields",
    {
        "@type": Any,
        "at_sign_type": Any,  # how some log shippers rename `@type`
        "methodName": Any,
        "serviceName": Any,
        "resourceName": Any,
        "status": StatusFields | None,
        "authenticationInfo": AuthenticationFields | None,
        "authorizationInfo": list[AuthorizationFields] | None,
        "requestMetadata": RequestMetadataFields | None,
        "resourceLocation": ResourceLocationFields | None,
    },
    total=False,
)


class LabelsFields(TypedDict, total=False):
    """resource.labels."""

    project_id: Any
    location: Any
    zone: Any
    region: Any


class MonitoredResourceFields(TypedDict, total=False):
    """resource."""

    labels: LabelsFields | None


class EntryFields(TypedDict, total=False):
    """A LogEntry, or a Policy Analyzer activity, or a wrapper around one."""

    logName: Any
    timestamp: Any
    receiveTimestamp: Any
    resource: MonitoredResourceFields | None
    protoPayload: PayloadFields | None
    # Policy Analyzer activity
    activityType: Any
    activity: Any
    fullResourceName: Any
    # wrappers (log shippers, test fixtures) and REST pages written one a line
    log: Any
    entries: Any
    activities: Any


def canonical_time(value: Any) -> str | None:
    """A timestamp as `YYYY-MM-DDTHH:MM:SSZ` (UTC, to the second), or None when it is not one. Accepts RFC 3339
    with up to nanoseconds and any offset, and `YYYY-MM-DD HH:MM:SS[.f]` (taken as UTC)."""
    if type(value) is not str or len(value) < 19:
        return None
    if len(value) >= 20 and value[-1] == "Z" and value[10] in "T " and value[19] in ".Z":
        candidate = f"{value[:10]}T{value[11:19]}Z"  # the usual spelling: only the seconds are kept
        try:
            datetime.fromisoformat(candidate)
        except ValueError:
            return None
        return candidate
    text = value.strip().replace(" ", "T", 1)
    head, dot, rest = text.partition(".")
    if dot:  # at most microseconds for fromisoformat: drop finer digits, keep the offset
        digits = len(rest) - len(rest.lstrip("0123456789"))
        text = head + "." + rest[: min(digits, 6)] + rest[digits:] if digits else head + rest
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except OverflowError:
        return None


def full_resource_name(service: Any, name: Any) -> str:
    """`//<service>/<name>` for a relative resource name, the name itself when already full; "" for none."""
    if type(name) is not str or not name:
        return ""
    if name.startswith("//"):
        return name
    if type(service) is str and service and "/" not in service and " " not in service:
        return f"//{service}/{name.lstrip('/')}"
    return name


def _status_code(status: Any) -> int:
    """The status code of an entry's `status` (0 when absent or not a number)."""
    if type(status) is not dict:
        return 0
    code = status.get("code")
    if type(code) is int:
        return code
    if type(code) is str:
        if code.isdigit():
            return int(code)
        if code in RPC_CODES:
            return RPC_CODES.index(code)
        return -1 if code else 0
    return 0


def _granted(authorization: Any) -> list[str] | None:
    """The permissions `authorizationInfo` says were granted; None when the entry has no such list."""
    if type(authorization) is not list or not authorization:
        return None
    granted: list[str] = []
    for item in authorization:
        if type(item) is dict and item.get("granted") is True:
            permission = item.get("permission")
            if type(permission) is str and permission and permission not in granted:
                granted.append(permission)
    return granted


def _region_of(entry: dict[str, Any], payload: dict[str, Any]) -> str | None:
    """Where an entry's resource is: the monitored resource's location, zone or region label, else the first of
    the payload's `resourceLocation.currentLocations`."""
    resource = entry.get("resource")
    labels = resource.get("labels") if type(resource) is dict else None
    if type(labels) is dict:
        for name in ("location", "zone", "region"):
            value = labels.get(name)
            if type(value) is str and value:
                return value
    location = payload.get("resourceLocation")
    current = location.get("currentLocations") if type(location) is dict else None
    if type(current) is list and current and type(current[0]) is str:
        return current[0]
    return None


def _fold(mine: dict[Any, list[Any]], theirs: dict[Any, list[Any]]) -> None:
    """Move `theirs` ([first, last, count] per key) into `mine`; `theirs` is emptied."""
    for key, theirs_entry in theirs.items():
        entry = mine.get(key)
        if entry is None:
            mine[key] = theirs_entry
            continue
        if theirs_entry[0] < entry[0]:
            entry[0] = theirs_entry[0]
        if theirs_entry[1] > entry[1]:
            entry[1] = theirs_entry[1]
        entry[2] += theirs_entry[2]
    theirs.clear()


def _count(table: dict[Any, list[Any]], key: Any, when: str) -> None:
    entry = table.get(key)
    if entry is None:
        table[key] = [when, when, 1]
        return
    if when < entry[0]:
        entry[0] = when
    elif when > entry[1]:
        entry[1] = when
    entry[2] += 1


class GcpActivityAggregate:
    """Usage and activity aggregated from audit-log entries and last-authentication activities."""

    __slots__ = ("_actors", "_names", "_permissions", "activity", "days", "stats", "usage")

    def __init__(self) -> None:
        self.usage: dict[UsageKey, list[Any]] = {}  # key -> [first seen, last seen, count] (ISO times)
        self.activity: dict[str, list[Any]] = {}  # actor -> [first, last, successful events]
        self.days: dict[DayKey, DayProfile] = {}  # (actor, day) -> what the actor did that day
        self.stats = ActivityStats()
        self._permissions: MethodPermissions | None = None
        self._actors: dict[tuple[Any, Any], str] = {}  # (project label, e-mail) -> actor key, checked before
        self._names: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self.usage) + len(self.activity) + len(self.days)

    def __getstate__(self) -> tuple[Any, ...]:
        """What crosses a process boundary: the results, not the method cache."""
        return (self.usage, self.activity, self.days, self.stats)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        self.usage, self.activity, self.days, self.stats = state
        self._permissions = None
        self._actors = {}
        self._names = {}

    def add_all(self, entries: Iterable[Any]) -> None:
        """Add every entry of an iterable."""
        add = self.add
        for entry in entries:
            add(entry)

    def _seen(self, when: str) -> None:
        stats = self.stats
        if stats.first_event is None or when < stats.first_event:
            stats.first_event = when
        if stats.last_event is None or when > stats.last_event:
            stats.last_event = when

    def add(self, entry: Any) -> None:
        """Fold one entry (a parsed LogEntry or Policy Analyzer activity) into the aggregate."""
        stats = self.stats
        stats.events += 1
        if type(entry) is not dict:
            stats.malformed += 1
            return
        payload = entry.get("protoPayload")
        if payload is None and "activityType" in entry:
            self._add_last_authentication(entry)
            return
        when = canonical_time(entry.get("timestamp"))
        if when is None:
            stats.malformed += 1
            return
        self._seen(when)
        if type(payload) is not dict or (payload.get("@type") or payload.get("at_sign_type")) not in (
            AUDIT_LOG_TYPE,
            None,
        ):
            stats.other_events += 1
            return
        log_name = entry.get("logName")
        if type(log_name) is str and log_name.endswith(SYSTEM_EVENT_LOG):
            stats.service_events += 1
            return
        code = _status_code(payload.get("status"))
        if code != 0:
            if code in DENIED_CODES:
                stats.denied += 1
            else:
                stats.failed += 1
            bump(stats.error_codes, RPC_CODES[code] if 0 < code < len(RPC_CODES) else str(code))
            return
        authentication = payload.get("authenticationInfo")
        actor = self._known_actor(entry, authentication)
        if actor is None:
            project = project_of(entry)
            if project is None:
                stats.other_events += 1
                return
            member = caller_of(authentication)
            if member is None:
                stats.unresolved += 1
                bump(stats.unresolved_types, "no principal" if not authentication else "unnamed principal")
                return
            actor = self._remember_actor(entry, authentication, actor_key(project, member))
        _count(self.activity, actor, when)
        project = actor.partition("/")[0]
        profiles = [self._day(actor, when)]
        for delegator in delegators_of(authentication):
            delegator_actor = actor_key(project, delegator)
            _count(self.activity, delegator_actor, when)
            profiles.append(self._day(delegator_actor, when))
        self._note(profiles, when, entry, payload)
        permissions = _granted(payload.get("authorizationInfo"))
        if permissions is None:
            method = payload.get("methodName")
            if type(method) is not str or not method:
                stats.malformed += 1
                return
            if self._permissions is None:
                self._permissions = MethodPermissions()
            mapped = self._permissions(method)
            if mapped is None:
                stats.unknown_action += 1
                bump(stats.unknown_actions, UNMAPPED + method)
                return
            permissions = list(mapped)
        if not permissions:
            stats.no_permission += 1
            return
        resource = full_resource_name(payload.get("serviceName"), payload.get("resourceName"))
        stats.usage += len(permissions)
        names = self._names
        for permission in permissions:  # one string object per permission name, shared by its keys
            _count(self.usage, (actor, names.setdefault(permission, permission), resource), when)
        profile = profiles[0]
        if profile is not None:
            for permission in permissions:
                profile.note_action(permission)

    def _day(self, actor: str, when: str) -> DayProfile | None:
        """The actor's profile of the entry's day (None for a time without an hour)."""
        if when[11:13] not in HOUR_OF:
            return None
        key = (actor, when[:10])
        profile = self.days.get(key)
        if profile is None:
            profile = self.days[key] = DayProfile()
        return profile

    @staticmethod
    def _note(profiles: list[DayProfile | None], when: str, entry: dict[str, Any], payload: Any) -> None:
        """Note one entry into the profiles of its actors (service, caller IP, user agent, region)."""
        service = payload.get("serviceName")
        service = service.removesuffix(".googleapis.com") if type(service) is str and service else None
        metadata = payload.get("requestMetadata")
        ip = agent = None
        if type(metadata) is dict:
            ip = metadata.get("callerIp") or metadata.get("callerIP")
            agent = metadata.get("callerSuppliedUserAgent")
        region = _region_of(entry, payload)
        hour = HOUR_OF.get(when[11:13], 0)
        for profile in profiles:
            if profile is not None:
                profile.note(hour, service, ip, region, agent)

    @staticmethod
    def _actor_memo_key(entry: dict[str, Any], authentication: Any) -> tuple[Any, Any] | None:
        """(project label, principalEmail) of an entry when both are plain strings (the usual entry)."""
        if type(authentication) is not dict:
            return None
        email = authentication.get("principalEmail")
        resource = entry.get("resource")
        labels = resource.get("labels") if type(resource) is dict else None
        project = labels.get("project_id") if type(labels) is dict else None
        if type(email) is not str or type(project) is not str:
            return None
        return (project, email)

    def _known_actor(self, entry: dict[str, Any], authentication: Any) -> str | None:
        """The actor key of an entry whose project label and e-mail were checked before, else None."""
        key = self._actor_memo_key(entry, authentication)
        return self._actors.get(key) if key is not None else None

    def _remember_actor(self, entry: dict[str, Any], authentication: Any, actor: str) -> str:
        """Remember an actor key checked the long way (at most ACTOR_MEMO of them)."""
        key = self._actor_memo_key(entry, authentication)
        if key is None or len(self._actors) >= ACTOR_MEMO:
            return actor
        project, _, member = actor.partition("/")
        if key[0] == project and member_of_email(key[1]) == member:  # both from the fields the key names
            self._actors[key] = actor
        return actor

    def _add_last_authentication(self, entry: dict[str, Any]) -> None:
        """A Policy Analyzer activity: the service account authenticated at `lastAuthenticatedTime`."""
        stats = self.stats
        kind = entry.get("activityType")
        activity = entry.get("activity")
        if kind not in LAST_AUTHENTICATION or type(activity) is not dict:
            stats.other_events += 1
            return
        when = canonical_time(activity.get("lastAuthenticatedTime"))
        account = activity.get("serviceAccount") or activity.get("serviceAccountKey")
        name = account.get("fullResourceName") if type(account) is dict else None
        if when is None or type(name) is not str:
            stats.malformed += 1
            return
        self._seen(when)
        # //iam.googleapis.com/projects/<project>/serviceAccounts/<email or unique id>[/keys/<key>]
        parts = name.removeprefix("//iam.googleapis.com/").split("/")
        if len(parts) < 4 or parts[0] != "projects" or parts[2] != "serviceAccounts":
            stats.malformed += 1
            return
        project, account_id = parts[1], parts[3]
        if project == "-":
            stats.unresolved += 1
            bump(stats.unresolved_types, "service account of no named project")
            return
        member = member_of_email(account_id)
        if member is None and UNIQUE_ID.fullmatch(account_id):
            member = UNIQUE_ID_ACTOR + account_id
        if member is None:
            stats.malformed += 1
            return
        stats.sign_in += 1
        _count(self.activity, actor_key(project, member), when)

    def merge(self, other: GcpActivityAggregate) -> None:
        """Fold another aggregate into this one (min first, max last, summed counts); `other` is emptied."""
        _fold(self.usage, other.usage)
        _fold(self.activity, other.activity)
        fold_days(self.days, other.days)
        self.stats.merge(other.stats)

    def check_actions(self, canonical: CanonicalAction) -> None:
        """Keep only permissions the catalogue knows (in its spelling); count the others as unknown."""
        verdicts = {action: canonical(action) for action in {key[1] for key in self.usage}}
        if all(verdict == action for action, verdict in verdicts.items()):
            return
        renamed: dict[UsageKey, list[Any]] = {}
        for (actor, action, resource), entry in self.usage.items():
            known = verdicts[action]
            if known is None:
                self.stats.unknown_action += entry[2]
                self.stats.usage -= entry[2]
                bump(self.stats.unknown_actions, action, entry[2])
                continue
            _fold(renamed, {(actor, known, resource): entry})
        self.usage = renamed
