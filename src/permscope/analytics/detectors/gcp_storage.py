"""Cloud Storage bucket helpers shared by the GCP bucket detectors; the rules they apply:

- gcpAccessType of a bucket (from the transform's facts, docs/gcp.md): `public` when a binding on the bucket,
  or an inherited one whose role reads objects, names `allUsers` / `allAuthenticatedUsers` and public access
  prevention is not `enforced` (the `public` fact); otherwise `private` when uniform bucket-level access is on
  or public access prevention is enforced (no object ACL can open an object), else `subjectToObjectAcls`
  (fine-grained access: object ACLs, which permscope does not read, may still open objects).
- gcpEncryption: `customer` with a default Cloud KMS key, else `google` (Google-managed keys).
A fact that is unknown (None: not collected) never raises a finding.
"""

from __future__ import annotations

from permscope.analytics.subjects import cached
from permscope.core.inventory import Resource
from permscope.core.snapshot import SystemSnapshot

GCP_BUCKET_SERVICE, GCP_BUCKET_TYPE = "storage", "storage.googleapis.com/Bucket"


def gcp_buckets(snapshot: SystemSnapshot) -> list[Resource]:
    """The project's collected Cloud Storage buckets, by full resource name."""
    return cached(
        snapshot,
        "gcpBuckets",
        lambda: sorted(
            snapshot.resources_of(GCP_BUCKET_SERVICE, GCP_BUCKET_TYPE), key=lambda r: r.external_id
        ),
    )


def gcp_accessibility(resource: Resource) -> str | None:
    """The contract's gcpAccessType of a bucket: public, subjectToObjectAcls, private; None when unknown."""
    facts = resource.facts
    public = facts.get("public")
    if public is True:
        return "public"
    if public is None:
        return None
    if facts.get("uniformBucketLevelAccess") is True or facts.get("publicAccessPrevention") == "enforced":
        return "private"
    return "subjectToObjectAcls"


def gcp_encryption(resource: Resource) -> str | None:
    """The contract's gcpEncryption of a bucket: google or customer; None when unknown."""
    managed = resource.facts.get("encryptionManagedBy")
    return managed if managed in ("google", "customer") else None


def gcp_bucket_properties(resource: Resource) -> dict[str, str | None]:
    """The properties both GCP bucket finding types carry."""
    return {"accessibility": gcp_accessibility(resource), "encryptionManagedBy": gcp_encryption(resource)}
