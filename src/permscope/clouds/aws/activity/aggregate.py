"""CloudTrail records -> usage: which identity (the one holding the permissions) exercised which action, on what.

`ActivityAggregate.add` classifies one record and folds it into identity x action x resource -> first seen,
last seen, count. Memory grows with the number of distinct keys, never with the number of events.

Who acted is decided by `activity.actors.actor_of` (IAM user; the role of an assumed-role session; root; the
user behind a federation token; the identity provider of a SAML / web-identity assume call; an other
account's principal by unique id). Events by AWS services with their own principal, `AwsServiceEvent`
records, anonymous and unidentifiable principals are counted, not usage. A principal's call made by a service
on its behalf (`invokedBy`, e.g. CloudFormation using the caller's permissions) is usage of that principal,
counted in `via_service` as well. A session of an Identity Center role (`AWSReservedSSO_*`) is usage of the
role and, under a second key, of the person behind the session (`activity.actors.identity_center_person`):
those keys start with `sso-session:` / `sso-user:`, are matched with the stored Identity Center users by the
import, and are not counted twice in the stats.

Every successful event of a named actor is also noted into the actor's profile of that UTC day
(`core.activity_days.DayProfile`: events per hour and service, source IPs, regions and user agents, the actions
used), in `days`.

Failed events (any `errorCode`, a failed console login) are never usage: authorization failures are counted as
`denied`, other errors as `failed`. Sign-in events and calls that need no permission show the identity was
active (`activity`) without exercising an action. An event that passes a role to a service (creating a Lambda
function, a CloudFormation stack with a service role, ...) also counts `iam:PassRole` on each role it names
(`activity.passrole`): CloudTrail never logs that check as an event of its own.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, TypedDict
from urllib.parse import unquote

from permscope.clouds.aws.activity.actions import (
    EventKind,
    EventRule,
    event_rule,
    s3_actions,
    service_prefix,
)
from permscope.clouds.aws.activity.actors import (
    PERSON_ACTORS,
    account_of_actor,
    actor_of,
    federated_provider,
    identity_center_person,
    is_identity_center_role,
)
from permscope.clouds.aws.activity.passrole import PASS_ROLE, ROLE_PASSING, passed_roles
from permscope.clouds.aws.collect.resource_calls import partition_of
from permscope.core.activity import ActivityStats, bump
from permscope.core.activity_days import HOUR_OF, DayKey, DayProfile, fold_days

API_EVENT_TYPES = frozenset({"AwsApiCall", "AwsConsoleSignIn", "AwsConsoleAction"})
DENIED_CODE = re.compile(r"AccessDenied|Unauthori[sz]ed|NotAuthorized|Forbidden|AuthorizationError", re.I)
# request parameters that name the resource by ARN (checked: the value must start with "arn:")
ARN_PARAMETERS = ("roleArn", "policyArn", "resourceArn", "resourceARN", "topicArn", "secretId", "keyId")

UsageKey = tuple[str, str, str]  # (actor, action, resource or "")


# Every field `ActivityAggregate.add` (and the functions it calls) reads, as nested TypedDicts: a decoder
# given this shape (msgspec) builds only these and skips the rest of a record unparsed. Keep it complete:
# tests compare aggregates of records decoded whole and decoded through it.
class SessionIssuerFields(TypedDict, total=False):
    """userIdentity.sessionContext.sessionIssuer."""

    type: Any
    arn: Any


class SessionContextFields(TypedDict, total=False):
    """userIdentity.sessionContext."""

    sessionIssuer: SessionIssuerFields | None


class OnBehalfOfFields(TypedDict, total=False):
    """userIdentity.onBehalfOf (the Identity Center user a session acts for)."""

    userId: Any


class IdentityFields(TypedDict, total=False):
    """userIdentity."""

    type: Any
    arn: Any
    accountId: Any
    userName: Any
    principalId: Any
    invokedBy: Any
    identityProvider: Any
    sessionContext: SessionContextFields | None
    onBehalfOf: OnBehalfOfFields | None


RequestFields = TypedDict(
    "RequestFields",
    {
        "bucketName": Any,
        "key": Any,
        "versionId": Any,
        "x-amz-copy-source": Any,
        "principalArn": Any,
        # ARN_PARAMETERS
        "roleArn": Any,
        "policyArn": Any,
        "resourceArn": Any,
        "resourceARN": Any,
        "topicArn": Any,
        "secretId": Any,
        "keyId": Any,
        # the roles an event passes (activity.passrole.PASSING_PARAMETERS; "roleArn" is above)
        "role": Any,
        "roleARN": Any,
        "roleArns": Any,
        "taskRoleArn": Any,
        "executionRoleArn": Any,
        "serviceRole": Any,
    },
    total=False,
)


class ResponseFields(TypedDict, total=False):
    """responseElements (of console sign-ins)."""

    ConsoleLogin: Any


class ResourceFields(TypedDict, total=False):
    """resources[]."""

    ARN: Any


RecordFields = TypedDict(
    "RecordFields",
    {
        "eventTime": Any,
        "@timestamp": Any,
        "eventSource": Any,
        "eventName": Any,
        "eventType": Any,
        "errorCode": Any,
        "awsRegion": Any,
        "sourceIPAddress": Any,
        "userAgent": Any,
        "userIdentity": IdentityFields | None,
        "requestParameters": RequestFields | None,
        "responseElements": ResponseFields | None,
        "resources": list[ResourceFields] | None,
    },
    total=False,
)


# `service:Action` as the action catalogue spells it, or None when the catalogue does not know the action
CanonicalAction = Callable[[str], "str | None"]


def canonical_time(value: Any) -> str | None:
    """An event time as `YYYY-MM-DDTHH:MM:SSZ` (UTC, to the second), or None when it is not a time."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value:
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _s3_arn(partition: str, bucket: Any, key: Any = None) -> str:
    if not isinstance(bucket, str) or not bucket:
        return ""
    if isinstance(key, str) and key:
        return f"arn:{partition}:s3:::{bucket}/{key}"
    return f"arn:{partition}:s3:::{bucket}"


def _copy_source(partition: str, request: dict[str, Any]) -> str:
    """The S3 object ARN of `x-amz-copy-source` (`bucket/key`, URL-encoded, maybe with `?versionId=`)."""
    source = request.get("x-amz-copy-source")
    if not isinstance(source, str) or not source:
        return ""
    bucket, _, key = unquote(source.split("?", 1)[0]).lstrip("/").partition("/")
    return _s3_arn(partition, bucket, key)


def resource_of(record: dict[str, Any], request: Any) -> str:
    """The resource an event names: its `resources[].ARN`, or an ARN-valued request parameter; else ""."""
    resources = record.get("resources")
    if isinstance(resources, list):
        for item in resources:
            if isinstance(item, dict):
                arn = item.get("ARN")
                if isinstance(arn, str) and arn.startswith("arn:"):
                    return arn
    if request and isinstance(request, dict):
        for name in ARN_PARAMETERS:
            value = request.get(name)
            if isinstance(value, str) and value.startswith("arn:"):
                return value
    return ""


def _fold(mine: dict[Any, list[Any]], theirs: dict[Any, list[Any]]) -> None:
    """Move `theirs` ([first, last, count] per key) into `mine`; `theirs` is emptied (its lists now are mine)."""
    for key, theirs_entry in theirs.items():
        entry = mine.get(key)
        if entry is None:
            mine[key] = theirs_entry
            continue
        first, last, count = theirs_entry
        if first < entry[0]:
            entry[0] = first
        if last > entry[1]:
            entry[1] = last
        entry[2] += count
    theirs.clear()


class ActivityAggregate:
    """Usage and activity aggregated from CloudTrail records; `add` one record at a time, `merge` others."""

    __slots__ = ("_rules", "_sso_roles", "_valid_arns", "activity", "days", "stats", "usage")

    def __init__(self) -> None:
        self.usage: dict[UsageKey, list[Any]] = {}  # key -> [first seen, last seen, count] (ISO times)
        self.activity: dict[str, list[Any]] = {}  # actor -> [first, last, successful events]
        self.days: dict[DayKey, DayProfile] = {}  # (actor, day) -> what the actor did that day
        self.stats = ActivityStats()
        self._rules: dict[tuple[str, str], tuple[EventRule, str]] = {}  # -> (rule, service prefix)
        self._valid_arns: set[str] = set()  # user / session-issuer ARNs already checked by actor_of
        self._sso_roles: dict[str, bool] = {}  # role actor -> whether it is an Identity Center role

    def __len__(self) -> int:
        return len(self.usage) + len(self.activity) + len(self.days)

    def __getstate__(self) -> tuple[Any, ...]:
        """What crosses a process boundary: the results, not the rule cache."""
        return (self.usage, self.activity, self.days, self.stats)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        self.usage, self.activity, self.days, self.stats = state
        self._rules = {}
        self._valid_arns = set()
        self._sso_roles = {}

    def add_all(self, records: Iterable[Any]) -> None:
        """Add every record of an iterable."""
        add = self.add
        for record in records:
            add(record)

    def add(self, record: Any) -> None:
        """Fold one CloudTrail record (a parsed JSON object) into the aggregate."""
        stats = self.stats
        stats.events += 1
        if not isinstance(record, dict):
            stats.malformed += 1
            return
        source = record.get("eventSource")
        name = record.get("eventName")
        when = record.get("eventTime")
        if when is None:
            when = record.get("@timestamp")  # records re-shipped by logstash
        if type(when) is not str or len(when) != 20 or when[19] != "Z":
            when = canonical_time(when)
        if type(source) is not str or type(name) is not str or when is None or not source or not name:
            stats.malformed += 1
            return
        if stats.first_event is None or when < stats.first_event:
            stats.first_event = when
        if stats.last_event is None or when > stats.last_event:
            stats.last_event = when
        event_type = record.get("eventType")
        if event_type is not None and event_type not in API_EVENT_TYPES:
            if event_type == "AwsServiceEvent":
                stats.service_events += 1
            else:
                stats.other_events += 1
            return
        error = record.get("errorCode")
        if error:
            code = str(error)
            if DENIED_CODE.search(code):
                stats.denied += 1
            else:
                stats.failed += 1
            bump(stats.error_codes, code)
            return
        cached = self._rules.get((source, name))
        if cached is None:
            cached = self._rules[(source, name)] = (event_rule(source, name), service_prefix(source))
        rule, service = cached
        identity = record.get("userIdentity")
        request = record.get("requestParameters")
        kind = rule.kind
        if kind is EventKind.SIGN_IN:
            response = record.get("responseElements")
            if isinstance(response, dict) and response.get("ConsoleLogin") == "Failure":
                stats.failed += 1
                bump(stats.error_codes, "ConsoleLogin:Failure")
                return
        identity_type = None
        actor = None
        resource = ""
        if type(identity) is dict:
            identity_type = identity.get("type")
            # the common cases first: a user's ARN or a role session's issuer ARN seen (and checked) before
            raw = None
            if identity_type == "AssumedRole":
                context = identity.get("sessionContext")
                issuer = context.get("sessionIssuer") if type(context) is dict else None
                raw = issuer.get("arn") if type(issuer) is dict else None
            elif identity_type == "IAMUser":
                raw = identity.get("arn")
            if raw is not None and raw in self._valid_arns:
                actor = raw
            elif kind is EventKind.FEDERATION and identity_type in ("SAMLUser", "WebIdentityUser"):
                role = request.get("roleArn") if isinstance(request, dict) else None
                role_account = account_of_actor(role) if isinstance(role, str) else None
                actor = federated_provider(identity, request, role_account)
                resource = role if isinstance(role, str) else ""
            else:
                actor = actor_of(identity)
                if actor is not None and actor == raw:
                    self._valid_arns.add(actor)
        if actor is None:
            if identity_type == "AWSService":
                stats.aws_service += 1
            else:
                stats.unresolved += 1
                bump(stats.unresolved_types, str(identity_type))
            return
        seen = self.activity.get(actor)
        if seen is None:
            self.activity[actor] = [when, when, 1]
        else:
            if when < seen[0]:
                seen[0] = when
            elif when > seen[1]:
                seen[1] = when
            seen[2] += 1
        hour = HOUR_OF.get(when[11:13])
        profile = person_profile = None
        if hour is not None:
            day_key = (actor, when[:10])
            profile = self.days.get(day_key)
            if profile is None:
                profile = self.days[day_key] = DayProfile()
            profile.note(
                hour, service, record.get("sourceIPAddress"), record.get("awsRegion"), record.get("userAgent")
            )
        person = None
        if identity_type == "AssumedRole":
            sso = self._sso_roles.get(actor)
            if sso is None:
                sso = self._sso_roles[actor] = is_identity_center_role(actor)
            account = account_of_actor(actor) if sso else None
            if account is not None:
                person = identity_center_person(identity, account)
                if person is not None:
                    stats.sso_sessions += 1
                    self._count_activity(person, when)
                    if profile is not None:
                        person_profile = self._person_day(person, when, service, record)
        if kind is not EventKind.ACTION and kind is not EventKind.FEDERATION:
            if kind is EventKind.SIGN_IN:
                stats.sign_in += 1
            else:
                stats.no_permission += 1
            return
        if identity.get("invokedBy"):  # type: ignore[union-attr]  # actor is set: identity is a dict
            stats.via_service += 1
        if rule.s3:
            for action, target in self._s3_targets(rule, record, request):
                stats.usage += 1
                self._count((actor, action, target), when)
                if profile is not None:
                    profile.note_action(action)
                if person is not None:
                    self._count((person, action, target), when)
                    if person_profile is not None:
                        person_profile.note_action(action)
            return
        stats.usage += 1
        key = (actor, rule.action or "", resource or resource_of(record, request))
        if key[1] in ROLE_PASSING:
            self._passed(actor, person, key[1], request, when)
        if profile is not None:
            profile.note_action(key[1])
        if person is not None:
            self._count((person, key[1], key[2]), when)
            if person_profile is not None:
                person_profile.note_action(key[1])
        entry = self.usage.get(key)
        if entry is None:
            self.usage[key] = [when, when, 1]
            return
        if when < entry[0]:
            entry[0] = when
        elif when > entry[1]:
            entry[1] = when
        entry[2] += 1

    def _s3_targets(self, rule: EventRule, record: dict[str, Any], request: Any) -> Iterator[tuple[str, str]]:
        """(action, resource) pairs an S3 event exercised: the bucket or object, a copy's source too."""
        region = record.get("awsRegion")
        partition = partition_of(region if isinstance(region, str) else None)
        params = request if isinstance(request, dict) else {}
        target = _s3_arn(partition, params.get("bucketName"), params.get("key"))
        for action in s3_actions(rule, params):
            yield action, target or resource_of(record, request)
        if rule.s3_copy:
            yield "s3:GetObject", _copy_source(partition, params)

    def _passed(self, actor: str, person: str | None, action: str, request: Any, when: str) -> None:
        """`iam:PassRole` on every role the event passed to its service (`activity.passrole`)."""
        for role in passed_roles(action, request):
            self._count((actor, PASS_ROLE, role), when)
            if person is not None:
                self._count((person, PASS_ROLE, role), when)

    def _person_day(self, person: str, when: str, service: str, record: dict[str, Any]) -> DayProfile:
        """The day profile of the person behind a role session, with the event noted as in the role's."""
        key = (person, when[:10])
        profile = self.days.get(key)
        if profile is None:
            profile = self.days[key] = DayProfile()
        hour = HOUR_OF[when[11:13]]  # the role's profile was noted: the hour is known
        profile.note(
            hour, service, record.get("sourceIPAddress"), record.get("awsRegion"), record.get("userAgent")
        )
        return profile

    def _count_activity(self, actor: str, when: str) -> None:
        seen = self.activity.get(actor)
        if seen is None:
            self.activity[actor] = [when, when, 1]
            return
        if when < seen[0]:
            seen[0] = when
        elif when > seen[1]:
            seen[1] = when
        seen[2] += 1

    def _count(self, key: UsageKey, when: str) -> None:
        entry = self.usage.get(key)
        if entry is None:
            self.usage[key] = [when, when, 1]
            return
        if when < entry[0]:
            entry[0] = when
        elif when > entry[1]:
            entry[1] = when
        entry[2] += 1

    def merge(self, other: ActivityAggregate) -> None:
        """Fold another aggregate into this one (min first seen, max last seen, summed counts); `other` is
        consumed: its usage and activity are moved here, and it is left empty."""
        _fold(self.usage, other.usage)
        _fold(self.activity, other.activity)
        fold_days(self.days, other.days)
        self.stats.merge(other.stats)

    def check_actions(self, canonical: CanonicalAction) -> None:
        """Keep only actions the catalogue knows (in its spelling); count the others as unknown, per action."""
        verdicts = {action: canonical(action) for action in {key[1] for key in self.usage}}
        if all(verdict == action for action, verdict in verdicts.items()):
            return  # the usual case: every action known and spelled as the catalogue spells it
        renamed: dict[UsageKey, list[Any]] = {}
        for key, entry in self.usage.items():
            actor, action, resource = key
            known = verdicts[action]
            if known is None:
                if not actor.startswith(PERSON_ACTORS):  # a person's copy of a role's usage: counted once
                    self.stats.unknown_action += entry[2]
                    self.stats.usage -= entry[2]
                    bump(self.stats.unknown_actions, action, entry[2])
                continue
            new_key = (actor, known, resource)
            mine = renamed.get(new_key)
            if mine is None:
                renamed[new_key] = entry
            else:
                mine[0] = min(mine[0], entry[0])
                mine[1] = max(mine[1], entry[1])
                mine[2] += entry[2]
        self.usage = renamed
