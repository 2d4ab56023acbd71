"""Azure Activity Log events and Entra sign-ins folded into usage and activity (`core.activity.UsageAggregate`).

What counts (docs/azure-activity.md):
- an Activity Log event of the Administrative (or Security) category whose status is Succeeded (REST
  `status.value`; `resultType` Success or Succeeded in exports) is the use of its operation (`operationName`,
  trimmed, spelled as the record has it until the importer renames it to the catalogue's spelling) on its ARM
  resource (lower-cased: ARM ids compare without case, and exports upper-case them), by its caller in the
  subscription of that resource. `Started` / `Accepted` records of the same operation are counted apart (they
  precede the Succeeded record; counting them too would count every operation twice), failures too (denied:
  403 / AuthorizationFailed);
- a successful Entra sign-in (`status.errorCode` 0, or `resultType` 0 / Success) is activity of who signed in,
  in no subscription (`*/...` actor keys): the resolver spreads it to every subscription storing the identity;
- everything else is counted (other categories, resource logs such as storage `GetBlob`, Entra audit logs)
  and not used.

Each counted event is noted into the actor's profile of its UTC day (`core.activity_days`, in `days`): the
service is the operation's resource provider (lower-cased, `microsoft.storage`), or `signin`; the source IP is
the caller's (`callerIpAddress`, REST `httpRequest.clientIpAddress`; a sign-in's `ipAddress`); the region is
the event's `location` (an Activity Log event's: where the resource is; a sign-in's: the country or region it
came from); the user agent is a sign-in's `userAgent` (else its `clientAppUsed`; Activity Log events carry none).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from permscope.clouds.azure.activity.records import (
    CALLER_CATEGORIES,
    DENIED_STATUS,
    IN_PROGRESS,
    SIGN_IN_CATEGORIES,
    SUCCEEDED,
    TENANT_WIDE,
    caller_of,
    canonical_time,
    field,
    signer_of,
    subscription_of,
    text,
)
from permscope.core.activity import ActivityStats, bump
from permscope.core.activity_days import HOUR_OF, SIGN_IN_SERVICE, DayKey, DayProfile, fold_days

UsageKey = tuple[str, str, str]  # (actor, operation, resource id or "")
CanonicalAction = Callable[[str], "str | None"]


def _fold(mine: dict[Any, list[Any]], theirs: dict[Any, list[Any]]) -> None:
    """Move `theirs` ([first, last, count] per key) into `mine`; `theirs` is emptied."""
    for key, entry in theirs.items():
        current = mine.get(key)
        if current is None:
            mine[key] = entry
            continue
        if entry[0] < current[0]:
            current[0] = entry[0]
        if entry[1] > current[1]:
            current[1] = entry[1]
        current[2] += entry[2]
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


def _sign_in_code(record: dict[str, Any], properties: dict[str, Any]) -> str | None:
    """A sign-in's result: `status.errorCode` (0 is success), else the export's `resultType`."""
    status = properties.get("status")
    if isinstance(status, dict):
        code = text(status.get("errorCode"))
        if code is not None:
            return code
    return text(field(record, "resultType")) or text(properties.get("resultType"))


def _sign_in_region(location: Any) -> str | None:
    """Where a sign-in came from: its location's country or region (Graph `signIn.location`), or a plain string."""
    if isinstance(location, dict):
        return text(location.get("countryOrRegion")) or text(location.get("state"))
    return text(location)


class AzureAggregate:
    """Usage and activity aggregated from Azure records; `add` one record at a time, `merge` others."""

    __slots__ = ("activity", "days", "stats", "usage")

    def __init__(self) -> None:
        self.usage: dict[UsageKey, list[Any]] = {}  # key -> [first seen, last seen, count] (ISO times)
        self.activity: dict[str, list[Any]] = {}  # actor -> [first, last, successful events]
        self.days: dict[DayKey, DayProfile] = {}  # (actor, day) -> what the actor did that day
        self.stats = ActivityStats()

    def __len__(self) -> int:
        return len(self.usage) + len(self.activity) + len(self.days)

    def _day(self, actor: str, when: str) -> tuple[DayProfile, int] | None:
        """The actor's profile of the event's day and the event's hour (None for a time without one)."""
        hour = HOUR_OF.get(when[11:13])
        if hour is None:
            return None
        key = (actor, when[:10])
        profile = self.days.get(key)
        if profile is None:
            profile = self.days[key] = DayProfile()
        return profile, hour

    def add_all(self, records: Iterable[Any]) -> None:
        """Add every record of an iterable."""
        add = self.add
        for record in records:
            add(record)

    def _seen(self, when: str) -> None:
        stats = self.stats
        if stats.first_event is None or when < stats.first_event:
            stats.first_event = when
        if stats.last_event is None or when > stats.last_event:
            stats.last_event = when

    def add(self, record: Any) -> None:
        """Fold one record (a parsed JSON object: an Activity Log event or a sign-in, any shape)."""
        stats = self.stats
        stats.events += 1
        if type(record) is not dict:
            stats.malformed += 1
            return
        category = text(field(record, "category"))
        lowered = category.lower() if category is not None else None
        if lowered in SIGN_IN_CATEGORIES:
            properties = record.get("properties")
            self._sign_in(record, properties if isinstance(properties, dict) else {}, lowered)
            return
        operation = text(field(record, "operationName"))
        if operation is None and "createdDateTime" in record:  # a Graph signIn object
            self._sign_in(record, record, None)
            return
        when = canonical_time(field(record, "eventTimestamp") or field(record, "time"))
        if operation is None or when is None:
            stats.malformed += 1
            return
        self._seen(when)
        if "/" not in operation:  # a resource log (storage GetBlob), an Entra audit record: no ARM operation
            stats.other_events += 1
            return
        if lowered is not None and lowered not in CALLER_CATEGORIES:
            stats.service_events += 1  # health, alerts, autoscale, advice, policy evaluations
            return
        status = text(field(record, "status")) or text(field(record, "resultType"))
        state = status.lower() if status is not None else None
        if state not in SUCCEEDED:
            if state is None or state in IN_PROGRESS:
                stats.other_events += 1
                return
            sub_status = (
                text(field(record, "subStatus"))
                or text(field(record, "resultSignature"))
                or text(field(record, "statusCode"))
            )
            # REST sub-status `Forbidden`; exports' result signature `Failed.Forbidden` or `403`
            if sub_status is not None and sub_status.lower().rsplit(".", 1)[-1] in DENIED_STATUS:
                stats.denied += 1
            else:
                stats.failed += 1
            bump(stats.error_codes, f"{status}:{sub_status}" if sub_status else str(status))
            return
        caller = caller_of(record)
        if caller is None:
            stats.unresolved += 1
            bump(stats.unresolved_types, "no caller")
            return
        resource = text(field(record, "resourceId")) or text(field(record, "resourceUri")) or ""
        resource = resource.lower()
        subscription = subscription_of(resource)
        if subscription is None:
            given = text(field(record, "subscriptionId"))
            subscription = given.lower() if given is not None else None
        if subscription is None:
            stats.unresolved += 1
            bump(stats.unresolved_types, "no subscription")  # tenant or management-group operations
            return
        kind, value = caller
        actor = f"{subscription}/{kind}/{value}"
        _count(self.activity, actor, when)
        stats.usage += 1
        _count(self.usage, (actor, operation, resource), when)
        noted = self._day(actor, when)
        if noted is not None:
            profile, hour = noted
            request = field(record, "httpRequest")
            ip = text(field(record, "callerIpAddress")) or (
                text(request.get("clientIpAddress")) if isinstance(request, dict) else None
            )
            region = text(field(record, "location"))
            profile.note(hour, operation.partition("/")[0].lower(), ip, region and region.lower(), None)
            profile.note_action(operation)

    def _sign_in(self, record: dict[str, Any], properties: dict[str, Any], category: str | None) -> None:
        stats = self.stats
        when = canonical_time(properties.get("createdDateTime") or field(record, "time"))
        if when is None:
            stats.malformed += 1
            return
        self._seen(when)
        code = _sign_in_code(record, properties)
        if code is None or code.lower() not in ("0", "success"):
            stats.failed += 1
            bump(stats.error_codes, f"signIn:{code}")
            return
        signer = signer_of(properties, category)
        if signer is None:
            stats.unresolved += 1
            bump(stats.unresolved_types, "sign-in without user or service principal")
            return
        stats.sign_in += 1
        actor = f"{TENANT_WIDE}/{signer[0]}/{signer[1]}"
        _count(self.activity, actor, when)
        noted = self._day(actor, when)
        if noted is not None:
            profile, hour = noted
            ip = text(properties.get("ipAddress")) or text(field(record, "callerIpAddress"))
            agent = text(properties.get("userAgent")) or text(properties.get("clientAppUsed"))
            profile.note(hour, SIGN_IN_SERVICE, ip, _sign_in_region(properties.get("location")), agent)

    def merge(self, other: AzureAggregate) -> None:
        """Fold another aggregate into this one (min first seen, max last seen, summed counts); `other` is
        left empty."""
        _fold(self.usage, other.usage)
        _fold(self.activity, other.activity)
        fold_days(self.days, other.days)
        self.stats.merge(other.stats)

    def check_actions(self, canonical: CanonicalAction) -> None:
        """Keep only operations the catalogue knows, renamed to its spelling (`Microsoft.Storage/...` for
        `MICROSOFT.STORAGE/...`); count the others as unknown, per operation as the records spell it."""
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
