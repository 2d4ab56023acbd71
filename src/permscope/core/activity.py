"""Activity merged into the store: usage per authorization system, identity activity, and the inputs counted.

Activity (CloudTrail, later Azure Activity Log and GCP Audit Logs) reaches the store only through
`store.usage.merge_activity`, which adds these to what is stored (first seen: min, last seen: max, counts: sum)
and records each input, so that an input already counted is never counted again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from permscope.core.inventory import Identity, JsonObject, Usage


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


# identity attributes that say who used what or when (RoleLastUsed, which every IAM export carries, does not)
ACTIVITY_ATTRIBUTES = ("accessAdvisor", "credentialReport")


def activity_known(identities: Iterable[Identity], *, usage_recorded: bool) -> bool:
    """Whether an account's activity is known: usage or per-identity activity was recorded, or some identity
    carries Access Advisor data or a credential report."""
    if usage_recorded:
        return True
    return any(identity.attributes.get(name) for identity in identities for name in ACTIVITY_ATTRIBUTES)
