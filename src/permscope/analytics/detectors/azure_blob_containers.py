"""Azure blob containers readable anonymously from the internet (rule in `azure_storage`)."""

from __future__ import annotations

from collections.abc import Iterator

from permscope.analytics.detector import AZURE, Detector
from permscope.analytics.detectors.azure_storage import (
    BLOB_CONTAINER_TYPE,
    STORAGE_ACCOUNT_TYPE,
    of_type,
)
from permscope.core.findings import Finding, FindingSubject, Severity
from permscope.core.snapshot import SystemSnapshot

FINDING_TYPE = "externallyAccessibleAzureBlobContainerFinding"
EVIDENCE = ("publicAccess", "accountAllowsBlobPublicAccess", "networkDefaultAction", "storageAccountKnown")


def _detect(snapshot: SystemSnapshot) -> Iterator[Finding]:
    accounts = {a.external_id: a for a in of_type(snapshot, STORAGE_ACCOUNT_TYPE)}
    for container in of_type(snapshot, BLOB_CONTAINER_TYPE):
        facts = container.facts
        if facts.get("accessibility") != "public":
            continue
        account_id = str(
            facts.get("storageAccountId") or container.external_id.partition("/blobservices/")[0]
        )
        account = accounts.get(account_id)
        account_name = account.display_name if account is not None else account_id.rpartition("/")[2]
        level = str(facts.get("publicAccess"))
        what = "its blobs" if level.lower() == "blob" else "its blobs and their listing"
        yield Finding(
            finding_type=FINDING_TYPE,
            cloud=snapshot.cloud,
            system_id=snapshot.system_id,
            subject=FindingSubject.BLOB_CONTAINER,
            subject_id=container.external_id,
            subject_name=f"{account_name}/{container.display_name}",
            severity=DETECTOR.severity,
            summary=f"Blob container {container.display_name} of storage account {account_name} lets anyone "
            f"on the internet read {what} (public access level {level}).",
            properties={
                "accessibility": "public",
                "encryptionManagedBy": facts.get("encryptionManagedBy"),
                "storageAccount": {"id": account_id, "displayName": account_name},
            },
            evidence={
                "blobContainer": {"id": container.external_id, "displayName": container.display_name},
                **{key: facts.get(key) for key in EVIDENCE},
            },
        )


DETECTOR = Detector(
    name="externallyAccessibleAzureBlobContainer",
    finding_types=(FINDING_TYPE,),
    clouds=AZURE,
    severity=Severity.HIGH,
    title="Blob containers open to anonymous reads",
    description="Azure blob containers whose public access level is Blob or Container while their storage "
    "account allows blob public access and public network access.",
    remediation="Set the container's public access level to Private, and set allowBlobPublicAccess to false "
    "on the storage account (or by Azure Policy for every account); share with SAS tokens or Entra RBAC.",
    needs=frozenset({"resources"}),
    detect=_detect,
)
