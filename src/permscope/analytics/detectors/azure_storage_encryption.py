"""Azure storage accounts encrypted with Microsoft-managed keys only (rule in `azure_storage`)."""

from __future__ import annotations

from collections.abc import Iterator

from permscope.analytics.detector import AZURE, Detector
from permscope.analytics.detectors.azure_storage import STORAGE_ACCOUNT_TYPE, of_type, storage_account
from permscope.core.findings import Finding, FindingSubject, Severity
from permscope.core.snapshot import SystemSnapshot

FINDING_TYPE = "encryptedAzureStorageAccountFinding"
MICROSOFT_MANAGED = "microsoftStorage"


def _detect(snapshot: SystemSnapshot) -> Iterator[Finding]:
    for account in of_type(snapshot, STORAGE_ACCOUNT_TYPE):
        managed_by = account.facts.get("encryptionManagedBy")
        if managed_by != MICROSOFT_MANAGED:
            continue
        yield Finding(
            finding_type=FINDING_TYPE,
            cloud=snapshot.cloud,
            system_id=snapshot.system_id,
            subject=FindingSubject.STORAGE_ACCOUNT,
            subject_id=account.external_id,
            subject_name=account.display_name,
            severity=DETECTOR.severity,
            summary=f"Storage account {account.display_name} is encrypted with Microsoft-managed keys only.",
            properties={"encryptionManagedBy": managed_by, "storageAccount": storage_account(account)},
            evidence={
                "encryptionKeySource": account.facts.get("encryptionKeySource"),
                "keyVaultUri": account.facts.get("keyVaultUri"),
            },
        )


DETECTOR = Detector(
    name="azureStorageAccountEncryption",
    finding_types=(FINDING_TYPE,),
    clouds=AZURE,
    severity=Severity.LOW,
    title="Storage accounts without customer-managed keys",
    description="Azure storage accounts whose encryption key source is Microsoft.Storage (Microsoft-managed "
    "keys) rather than a customer-managed key in Key Vault.",
    remediation="Configure customer-managed keys from a Key Vault (or Managed HSM) with purge protection for "
    "the account, through a managed identity granted only wrap/unwrap on that key.",
    needs=frozenset({"resources"}),
    detect=_detect,
)
