"""S3 buckets open outside the account: public, or admitting other accounts (rule in `storage`)."""

from __future__ import annotations

from collections.abc import Iterator

from permscope.analytics.detector import AWS, Detector
from permscope.analytics.detectors.storage import (
    GRAPH,
    accessibility,
    bucket_finding,
    buckets,
    outside_accounts,
)
from permscope.core.findings import Finding, Severity
from permscope.core.inventory import JsonObject
from permscope.core.snapshot import SystemSnapshot

EXTERNAL_TYPE = "externallyAccessibleAwsStorageBucketFinding"


def _external(snapshot: SystemSnapshot) -> Iterator[Finding]:
    for bucket in buckets(snapshot):
        access = accessibility(snapshot, bucket)
        if access not in ("public", "crossAccount"):
            continue
        accounts = outside_accounts(snapshot, bucket)
        if access == "public":
            with_access: JsonObject = {"@odata.type": f"{GRAPH}allAccountsWithAccess"}
            summary = f"Bucket {bucket.display_name} is public."
        else:
            with_access = {
                "@odata.type": f"{GRAPH}enumeratedAccountsWithAccess",
                "accounts": [
                    {"authorizationSystemId": a, "authorizationSystemType": "aws"} for a in accounts
                ],
            }
            summary = f"Bucket {bucket.display_name} is open to {len(accounts)} other account(s)."
        finding = bucket_finding(snapshot, EXTERNAL_TYPE, bucket, DETECTOR.severity, summary)
        finding.properties.update({"accessibility": access, "accountsWithAccess": with_access})
        facts = bucket.facts
        finding.evidence = {
            key: facts.get(key)
            for key in ("public", "publicByPolicy", "publicByAcl", "publicStatements", "aclPublicGrants",
                        "publicAccessBlock", "crossAccountPrincipals")
        }  # fmt: skip
        yield finding


DETECTOR = Detector(
    name="externallyAccessibleBucket",
    finding_types=(EXTERNAL_TYPE,),
    clouds=AWS,
    severity=Severity.HIGH,
    title="Buckets open outside the account",
    description="S3 buckets that are public (bucket policy or ACL, after Block Public Access) or whose policy "
    "admits principals of other accounts.",
    remediation="Turn on S3 Block Public Access for the account and bucket; remove public ACL grants and "
    "policy statements for `*`; name only the outside principals that need access.",
    needs=frozenset({"resources"}),
    detect=_external,
)
