"""Activity merged into the store: usage per authorization system, identity activity, and the inputs counted;
what an activity import reports, and the protocols between a cloud's log readers and the workflow that stores.

Activity (CloudTrail, later Azure Activity Log and GCP Audit Logs) reaches the store only through
`store.usage.merge_activity`, which adds these to what is stored (first seen: min, last seen: max, counts: sum)
and records each input, so that an input already counted is never counted again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from permscope.core.activity_days import DayKey, DayProfile, IdentityDay
from permscope.core.inventory import Identity, JsonObject, Usage
from permscope.core.limits import MAX_ARN_BYTES, json_problem, shown, text_problem

MAX_ACTION_BYTES = 256  # the longest action name the store keeps (actions are service:Name, under 100)


@dataclass(slots=True, kw_only=True)
class IdentityActivity:
    """An identity was seen acting (any successful call, sign-ins included) between first and last seen."""

    identity_external_id: str
    first_seen: datetime
    last_seen: datetime
    events: int


@dataclass(slots=True, kw_only=True)
class SystemActivity:
    """What one input batch adds to one authorization system."""

    system_id: str
    usages: list[Usage] = field(default_factory=list)
    activity: list[IdentityActivity] = field(default_factory=list)
    days: list[IdentityDay] = field(default_factory=list)  # day profiles, at most one per identity and day


@dataclass(slots=True, kw_only=True)
class ActivitySource:
    """One input counted into usage: a file, an S3 object, or a LookupEvents window."""

    kind: str  # file, s3, lookupEvents
    key: str  # unique per kind (a digest of what identifies the input)
    location: str  # path, s3://bucket/key, or account/region
    details: JsonObject = field(default_factory=dict)  # size, mtime, ETag, window edges, ...
    events: int = 0
    first_event: datetime | None = None
    last_event: datetime | None = None
    stats: JsonObject = field(default_factory=dict)


# identity attributes that say who used what or when (RoleLastUsed, which every IAM export carries, does not;
# Entra users' signInActivity does: Graph gives it for every user once the tenant's licence allows it)
ACTIVITY_ATTRIBUTES = ("accessAdvisor", "credentialReport", "signInActivity")


def activity_known(identities: Iterable[Identity], *, usage_recorded: bool) -> bool:
    """Whether an account's activity is known: usage or per-identity activity was recorded, or some identity
    carries Access Advisor data, a credential report or Entra sign-in activity."""
    if usage_recorded:
        return True
    return any(identity.attributes.get(name) for identity in identities for name in ACTIVITY_ATTRIBUTES)


DISTINCT_LIMIT = 1000  # at most this many distinct error codes / unknown events / types are named in stats
OTHER = "(other)"


def bump(counts: dict[str, int], key: str, by: int = 1) -> None:
    """Count `key`, folding new keys into OTHER once DISTINCT_LIMIT keys are named."""
    if key in counts or len(counts) < DISTINCT_LIMIT:
        counts[key] = counts.get(key, 0) + by
    else:
        counts[OTHER] = counts.get(OTHER, 0) + by


_COUNTS = (
    "events",
    "usage",
    "sign_in",
    "no_permission",
    "denied",
    "failed",
    "aws_service",
    "service_events",
    "other_events",
    "unresolved",
    "malformed",
    "via_service",
    "unknown_action",
    "sso_sessions",
)  # the event counts of `ActivityStats`, in report order
_NAMED_COUNTS = ("error_codes", "unresolved_types", "unknown_actions")  # its {name: events} counts


@dataclass(slots=True)
class ActivityStats:
    """What the records held, by what they mean for usage."""

    events: int = 0  # records read
    usage: int = 0  # actions exercised by successful events, that the catalogue knows (a copy counts twice)
    sign_in: int = 0  # successful sign-in events (console login, role switch)
    no_permission: int = 0  # successful calls that need no permission (sts:GetCallerIdentity, ...)
    denied: int = 0  # authorization failures (AccessDenied, UnauthorizedOperation, ...)
    failed: int = 0  # other failures (errorCode, failed console login)
    aws_service: int = 0  # made by an AWS service with its own principal
    service_events: int = 0  # AwsServiceEvent records (no caller)
    other_events: int = 0  # Insights, network-activity and other non-API records
    unresolved: int = 0  # successful events whose acting identity could not be named
    malformed: int = 0  # records that are not CloudTrail events (missing source, name or time)
    via_service: int = 0  # usage events a service made on a principal's behalf (invokedBy)
    unknown_action: int = 0  # actions exercised by successful events, that the catalogue does not know
    sso_sessions: int = 0  # successful events of Identity Center users' role sessions (also the person's)
    first_event: str | None = None  # earliest eventTime seen (ISO, UTC)
    last_event: str | None = None  # latest eventTime seen
    error_codes: dict[str, int] = field(default_factory=dict)
    unresolved_types: dict[str, int] = field(default_factory=dict)  # userIdentity.type -> events
    unknown_actions: dict[str, int] = field(default_factory=dict)  # candidate action -> events

    def merge(self, other: ActivityStats) -> None:
        """Add another run's counts to these."""
        for name in _COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name in _NAMED_COUNTS:
            mine: dict[str, int] = getattr(self, name)
            for key, count in getattr(other, name).items():
                bump(mine, key, count)
        if other.first_event and (self.first_event is None or other.first_event < self.first_event):
            self.first_event = other.first_event
        if other.last_event and (self.last_event is None or other.last_event > self.last_event):
            self.last_event = other.last_event

    def as_dict(self, top: int | None = None) -> dict[str, Any]:
        """A JSON-able summary (the largest named counts first; only the `top` largest of each when given)."""
        result: dict[str, Any] = {
            name: getattr(self, name) for name in (*_COUNTS, "first_event", "last_event")
        }
        for name in _NAMED_COUNTS:
            counts: dict[str, int] = getattr(self, name)
            ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
            result[name] = dict(ordered[:top] if top is not None else ordered)
        return result


SAMPLE = 20  # how many names a report keeps of a counted kind (actors not in the inventory, sessions)


@dataclass(slots=True)
class ActivityReport:
    """What an activity import read, skipped and merged."""

    sources_found: int = 0
    sources_read: int = 0
    sources_skipped: int = 0  # already counted by an earlier import
    # (input, problem): not counted, so the next run retries it
    failures: list[tuple[str, str]] = field(default_factory=list)
    stats: ActivityStats = field(default_factory=ActivityStats)
    systems: set[str] = field(default_factory=set)
    systems_created: list[str] = field(default_factory=list)  # systems known only from their activity
    usage_rows: int = 0
    day_profiles: int = 0  # identity-day activity profiles merged
    identities_seen: int = 0
    last_active_raised: int = 0
    unresolved_actors: int = 0  # actors named only by a unique id the inventory does not know
    # people's sessions (AWS Identity Center) whose name is no stored person's (the role's usage still counts)
    sso_sessions_unmatched: int = 0
    sso_sessions_unmatched_sample: list[str] = field(default_factory=list)  # "<system>/<session name>"
    not_in_inventory: int = 0  # actors recorded whose identity the inventory does not (yet) hold
    not_in_inventory_sample: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, part: ActivityReport) -> None:
        """Add another import's report to this one (a total over several imports)."""
        self.sources_found += part.sources_found
        self.sources_read += part.sources_read
        self.sources_skipped += part.sources_skipped
        self.failures.extend(part.failures)
        self.stats.merge(part.stats)
        self.systems.update(part.systems)
        self.systems_created.extend(part.systems_created)
        self.usage_rows += part.usage_rows
        self.day_profiles += part.day_profiles
        self.identities_seen += part.identities_seen
        self.last_active_raised += part.last_active_raised
        self.unresolved_actors += part.unresolved_actors
        self.not_in_inventory += part.not_in_inventory
        self.sso_sessions_unmatched += part.sso_sessions_unmatched
        sessions = {*self.sso_sessions_unmatched_sample, *part.sso_sessions_unmatched_sample}
        self.sso_sessions_unmatched_sample = sorted(sessions)[:SAMPLE]
        sample = {*self.not_in_inventory_sample, *part.not_in_inventory_sample}
        self.not_in_inventory_sample = sorted(sample)[:SAMPLE]
        self.notes.extend(note for note in part.notes if note not in self.notes)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-able summary."""
        return {
            "sources": {
                "found": self.sources_found,
                "read": self.sources_read,
                "skipped_already_counted": self.sources_skipped,
                "failed": len(self.failures),
            },
            "failures": [{"source": source, "problem": problem} for source, problem in self.failures],
            "events": self.stats.as_dict(),
            "systems": sorted(self.systems),
            "systems_created": sorted(self.systems_created),
            "usage_rows_merged": self.usage_rows,
            "day_profiles_merged": self.day_profiles,
            "identities_seen": self.identities_seen,
            "last_active_raised": self.last_active_raised,
            "unresolved_actors": self.unresolved_actors,
            "sso_sessions_unmatched": self.sso_sessions_unmatched,
            "sso_sessions_unmatched_sample": list(self.sso_sessions_unmatched_sample),
            "not_in_inventory": self.not_in_inventory,
            "not_in_inventory_sample": list(self.not_in_inventory_sample),
            "notes": list(self.notes),
        }


class UsageAggregate(Protocol):
    """Usage folded out of one input's records by a cloud's reader: actor x action x resource -> [first, last,
    count] and actor -> [first, last, events] (ISO times), the actors' day profiles, with the input's event
    statistics."""

    usage: dict[tuple[str, str, str], list[Any]]
    activity: dict[str, list[Any]]
    days: dict[DayKey, DayProfile]  # (actor, "YYYY-MM-DD") -> the actor's profile of that UTC day
    stats: ActivityStats

    def __len__(self) -> int: ...

    def merge(self, other: Any) -> None:
        """Fold another aggregate of the same cloud into this one (the other is left empty)."""
        ...

    def check_actions(self, canonical: Callable[[str], str | None]) -> None:
        """Keep only actions the catalogue knows, in its spelling; count the others as unknown."""
        ...


class ActivitySink(Protocol):
    """Where a cloud's activity readers put what they read (the workflow's importer, which writes the store)."""

    report: ActivityReport

    def counted(self, kind: str, keys: Iterable[str]) -> set[str]:
        """The keys, among `keys`, of inputs of a kind already counted (they are skipped unread)."""
        ...

    def windows(self, kind: str, location: str) -> list[dict[str, Any]]:
        """The recorded details of the inputs of a kind at a location (e.g. API windows already read)."""
        ...

    def add(self, aggregate: UsageAggregate, source: ActivitySource) -> None:
        """One input read: its aggregate and its record (merged into the store in bounded batches)."""
        ...

    def commit(self) -> None:
        """Merge what is pending now (an input is then recorded as counted)."""
        ...

    def finish(self) -> ActivityReport:
        """Merge the rest and complete the report."""
        ...

    def store_failed(self, error: BaseException) -> bool:
        """Whether an exception came from the store (it stops the import instead of being one input's problem)."""
        ...


def aggregate_problem(aggregate: UsageAggregate) -> str | None:
    """What makes an input's aggregate unfit to keep the same on every database (docs/limits.md), or None:
    an actor, action or resource too long or holding a NUL or a lone surrogate, statistics JSON cannot keep."""
    for actor, action, resource in aggregate.usage:
        for what, value, limit in (
            ("an actor", actor, MAX_ARN_BYTES),
            ("an action", action, MAX_ACTION_BYTES),
            ("a resource", resource, MAX_ARN_BYTES),
        ):
            problem = text_problem(value, limit)
            if problem is not None:
                return f"{what} {shown(value)} {problem}"
    for actor in aggregate.activity:
        problem = text_problem(actor, MAX_ARN_BYTES)
        if problem is not None:
            return f"an actor {shown(actor)} {problem}"
    problem = json_problem(aggregate.stats.as_dict())
    return (
        None
        if problem is None
        else f"a name it counts (an unknown action, error code or identity type) {problem}"
    )
