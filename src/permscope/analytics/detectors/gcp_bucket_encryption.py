"""Cloud Storage buckets encrypted with Google-managed keys only (rule in `gcp_storage`)."""

from __future__ import annotations

from collections.abc import Iterator

from permscope.analytics.detector import GCP, Detector
from permscope.analytics.detectors.gcp_storage import gcp_bucket_properties, gcp_buckets, gcp_encryption
from permscope.analytics.detectors.storage import bucket_finding
from permscope.core.findings import Finding, Severity
from permscope.core.snapshot import SystemSnapshot

ENCRYPTION_TYPE = "encryptedGcpStorageBucketFinding"


def _encryption(snapshot: SystemSnapshot) -> Iterator[Finding]:
    for bucket in gcp_buckets(snapshot):
        if gcp_encryption(bucket) != "google":
            continue
        summary = f"Bucket {bucket.display_name} is encrypted only with Google-managed keys."
        finding = bucket_finding(snapshot, ENCRYPTION_TYPE, bucket, DETECTOR.severity, summary)
        finding.properties.update(gcp_bucket_properties(bucket))
        finding.evidence = {
            "encryptionManagedBy": bucket.facts.get("encryptionManagedBy"),
            "kmsKeyName": bucket.facts.get("kmsKeyName"),
        }
        yield finding


DETECTOR = Detector(
    name="gcpBucketEncryption",
    finding_types=(ENCRYPTION_TYPE,),
    clouds=GCP,
    severity=Severity.LOW,
    title="Cloud Storage buckets without a customer-managed key",
    description="Cloud Storage buckets with no default Cloud KMS key: their objects are encrypted with "
    "Google-managed keys, which the organization cannot rotate, disable or audit.",
    remediation="Set a default Cloud KMS key on the bucket (customer-managed encryption keys), grant the "
    "Cloud Storage service agent cloudkms.cryptoKeyEncrypterDecrypter on it only, and limit who else may use it.",
    needs=frozenset({"resources"}),
    detect=_encryption,
)
