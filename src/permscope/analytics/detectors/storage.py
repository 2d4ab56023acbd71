"""S3 bucket helpers shared by the bucket detectors (and the security-group one); the rules they apply:

- virtualMachineWithAwsStorageBucketAccessFinding: an EC2 instance whose instance-profile role holds
  s3:GetObject (any grant status). A bucket is reachable when the grant is on every resource, or when an
  allowing statement's Resource pattern can match an object of the bucket (`<bucket ARN>/*`). Deny statements
  on some resources and bucket policies are not weighed (this can over-count).
- externallyAccessibleAwsStorageBucketFinding: `public` when the bucket's `public` fact is true (policy or ACL
  after Block Public Access), `accountsWithAccess` all; else `crossAccount` when its policy names principals
  of other accounts, with those accounts enumerated.
- encryptedAwsStorageBucketFinding: no default encryption, or SSE-S3 (`AES256`) only, i.e. no KMS key the
  account controls.
A fact that is unknown (None: the read failed or was not collected) never raises a finding.
"""

from __future__ import annotations

from permscope.analytics.context import AwsAccountSnapshot
from permscope.analytics.subjects import cached, permissions
from permscope.clouds.aws.engine.matching import globs_intersect
from permscope.core.arn import account_of
from permscope.core.findings import Finding, FindingSubject, Severity
from permscope.core.ids import Cloud
from permscope.core.inventory import JsonObject, Resource

BUCKET_TYPES = frozenset({"s3:bucket", "bucket"})
READ_ACTION = "s3:GetObject"
GRAPH = "#microsoft.graph."


def buckets(snapshot: AwsAccountSnapshot) -> list[Resource]:
    """The account's collected S3 buckets, by ARN."""
    return cached(
        snapshot,
        "buckets",
        lambda: sorted(
            (r for r in snapshot.resources or () if r.resource_type in BUCKET_TYPES),
            key=lambda r: r.external_id,
        ),
    )


def readable_buckets(snapshot: AwsAccountSnapshot, external_id: str) -> list[str]:
    """The bucket ARNs an identity (or instance / function through its role) may read objects of."""

    def compute() -> list[str]:
        found = permissions(snapshot, external_id)
        position = snapshot.index.index_of(READ_ACTION)
        if found is None or position is None or not found.granted >> position & 1:
            return []
        every = [b.external_id for b in buckets(snapshot)]
        if found.all_resources >> position & 1:
            return every
        patterns: list[str] = []
        for scoped in found.clauses:
            if scoped.role != "allows" or not scoped.actions >> position & 1:
                continue
            if scoped.clause.resources is None:
                return every  # NotResource, or every resource under a condition
            patterns.extend(scoped.clause.resources)
        return [b for b in every if any(globs_intersect(p, f"{b}/*") for p in patterns)]

    return cached(snapshot, ("readableBuckets", external_id), compute)


def accessibility(resource: Resource) -> str | None:
    """The contract's awsAccessType of a bucket: public, crossAccount, private; None when unknown."""
    facts = resource.facts
    if facts.get("public") is True:
        return "public"
    if outside_accounts(resource):
        return "crossAccount"
    if facts.get("public") is False:
        return "private"
    return None


def outside_accounts(resource: Resource) -> list[str]:
    """The other accounts a bucket's policy names."""
    principals = resource.facts.get("crossAccountPrincipals") or []
    return sorted({a for a in (account_of(str(p)) for p in principals) if a is not None})


def storage_resource(resource: Resource) -> JsonObject:
    """The bucket as the contract's authorizationSystemResource (the parts we know)."""
    return {"id": resource.external_id, "displayName": resource.display_name, "resourceType": "bucket"}


def bucket_finding(
    snapshot: AwsAccountSnapshot, finding_type: str, resource: Resource, severity: Severity, summary: str
) -> Finding:
    return Finding(
        finding_type=finding_type,
        cloud=Cloud.AWS,
        system_id=snapshot.system_id,
        subject=FindingSubject.STORAGE_BUCKET,
        subject_id=resource.external_id,
        subject_name=resource.display_name,
        severity=severity,
        summary=summary,
        properties={"storageBucket": storage_resource(resource)},
    )
