"""S3 buckets without default encryption or with SSE-S3 only (rule in `storage`)."""

from __future__ import annotations

from collections.abc import Iterator

from permscope.analytics.detector import AWS, Detector
from permscope.analytics.detectors.storage import accessibility, bucket_finding, buckets
from permscope.core.findings import Finding, Severity
from permscope.core.snapshot import SystemSnapshot

ENCRYPTION_TYPE = "encryptedAwsStorageBucketFinding"


def _encryption(snapshot: SystemSnapshot) -> Iterator[Finding]:
    for bucket in buckets(snapshot):
        encrypted = bucket.facts.get("encrypted")
        encryption = bucket.facts.get("encryption")
        if encrypted is False:
            category, what = "unencrypted", "has no default encryption"
        elif encrypted is True and encryption == "AES256":
            category, what = "sseS3", "is encrypted only with S3-managed keys (SSE-S3)"
        else:
            continue
        finding = bucket_finding(
            snapshot, ENCRYPTION_TYPE, bucket, DETECTOR.severity, f"Bucket {bucket.display_name} {what}."
        )
        finding.properties["accessibility"] = accessibility(snapshot, bucket)
        finding.evidence = {"category": category, "encrypted": encrypted, "encryption": encryption}
        yield finding


DETECTOR = Detector(
    name="bucketEncryption",
    finding_types=(ENCRYPTION_TYPE,),
    clouds=AWS,
    severity=Severity.LOW,
    title="Buckets without KMS encryption",
    description="S3 buckets with no default encryption, or with SSE-S3 (S3-managed keys) only.",
    remediation="Set default encryption to SSE-KMS with a customer managed key (and S3 Bucket Keys), and "
    "limit kms:Decrypt on that key.",
    needs=frozenset({"resources"}),
    detect=_encryption,
)
