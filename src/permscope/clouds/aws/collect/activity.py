"""What live collection needs to read CloudTrail activity: the calls it makes, and who reads a trail bucket.

A trail bucket (`permscope collect aws --cloudtrail-s3 s3://bucket/prefix`) is read with the credentials of
the collected account that owns it — the bucket is among those the account's resource collection listed
(`s3:ListAllMyBuckets` lists only the caller's own buckets) — so the collector role of a log-archive account
reads its organization trail with its identity policy alone. A bucket no collected account owns (or when
resources are not collected) is read with the caller's credentials, which the bucket policy must then allow.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from permscope.clouds.aws.collect.accounts import AccountClients, AccountOutcome

# "<botocore service name>:<Operation>" -> IAM action, for the calls the activity readers make
# (`activity.sources.lookup_events`, `list_log_objects`, `read_log_object`).
LOOKUP_IAM_ACTIONS: dict[str, str] = {"cloudtrail:LookupEvents": "cloudtrail:LookupEvents"}
TRAIL_BUCKET_IAM_ACTIONS: dict[str, str] = {
    "s3:ListObjectsV2": "s3:ListBucket",
    "s3:GetObject": "s3:GetObject",
    # botocore's S3 region redirector asks HeadBucket for the region of a bucket in another region
    "s3:HeadBucket": "s3:ListBucket",
}
TRAIL_BUCKET_PLACEHOLDER = "<trail-bucket>"


def owned_buckets(bundle: Mapping[str, Any] | None) -> set[str]:
    """The names of the S3 buckets an account's collection listed as its own (none without resources)."""
    resources = (bundle or {}).get("resources") or {}
    listing = (resources.get("s3") or {}).get("ListBuckets") or {}
    buckets = listing.get("Buckets") or []
    return {str(item["Name"]) for item in buckets if isinstance(item, dict) and "Name" in item}


def bucket_owner(bucket: str, owned: Mapping[str, Collection[str]]) -> str | None:
    """The collected account (account id -> the buckets it owns) that owns `bucket`, or None."""
    owners = sorted(account for account, buckets in owned.items() if bucket in buckets)
    return owners[0] if owners else None


def trail_bucket_resources(buckets: list[str]) -> list[str]:
    """The ARNs a trail-bucket statement names: each bucket (s3:ListBucket) and its objects (s3:GetObject)."""
    return [arn for bucket in buckets for arn in (f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*")]


@dataclass(slots=True)
class AccountReach:
    """What the activity phase keeps of a collected account (not its bundle): how to call AWS as it."""

    account_id: str
    clients: AccountClients | None  # None: the account could not be reached
    caller_clients: AccountClients | None
    regions: list[str] | None
    buckets: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, outcome: AccountOutcome) -> AccountReach:
        """The reach of a collection outcome."""
        return cls(
            account_id=outcome.account_id,
            clients=outcome.clients,
            caller_clients=outcome.caller_clients,
            regions=outcome.regions,
            buckets=owned_buckets(outcome.bundle),
        )
