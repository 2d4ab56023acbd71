"""Cloud Storage buckets open to `allUsers` / `allAuthenticatedUsers` (rule in `gcp_storage`)."""

from __future__ import annotations

from collections.abc import Iterator

from permscope.analytics.detector import GCP, Detector
from permscope.analytics.detectors.gcp_storage import gcp_bucket_properties, gcp_buckets
from permscope.analytics.detectors.storage import bucket_finding
from permscope.core.findings import Finding, Severity
from permscope.core.snapshot import SystemSnapshot

EXTERNAL_TYPE = "externallyAccessibleGcpStorageBucketFinding"
_AUDIENCES = {"allUsers": "anyone on the internet", "allAuthenticatedUsers": "any signed-in Google account"}


def _external(snapshot: SystemSnapshot) -> Iterator[Finding]:
    for bucket in gcp_buckets(snapshot):
        facts = bucket.facts
        if facts.get("public") is not True:
            continue
        members = [str(m) for m in facts.get("publicMembers") or ()]
        who = " and ".join(_AUDIENCES.get(m, m) for m in members) or "the public"
        summary = f"Bucket {bucket.display_name} is open to {who}."
        finding = bucket_finding(snapshot, EXTERNAL_TYPE, bucket, DETECTOR.severity, summary)
        finding.properties.update(gcp_bucket_properties(bucket))
        finding.evidence = {
            key: facts.get(key)
            for key in (
                "publicMembers",
                "publicBindings",
                "publicAccessPrevention",
                "uniformBucketLevelAccess",
            )
        }
        yield finding


DETECTOR = Detector(
    name="externallyAccessibleGcpBucket",
    finding_types=(EXTERNAL_TYPE,),
    clouds=GCP,
    severity=Severity.HIGH,
    title="Cloud Storage buckets open to the public",
    description="Cloud Storage buckets whose allow policy (their own, or inherited with a role that reads "
    "objects) names allUsers or allAuthenticatedUsers, and whose public access prevention is not enforced.",
    remediation="Remove the allUsers and allAuthenticatedUsers members from the bucket's (and its parents') "
    "bindings, and enforce public access prevention on the bucket or through the organization policy "
    "constraint storage.publicAccessPrevention.",
    needs=frozenset({"resources"}),
    detect=_external,
)
