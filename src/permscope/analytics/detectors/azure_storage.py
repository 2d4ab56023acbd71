"""Azure storage helpers shared by the blob-container and storage-account detectors; the rules they apply:

- externallyAccessibleAzureBlobContainerFinding: a container whose `accessibility` fact is `public` (the
  transform decides it: anonymous read allowed on the container, `publicAccess` Blob or Container, while its
  account does not forbid it with `allowBlobPublicAccess` false nor close its network). `encryptionManagedBy`
  is the account's (the contract's azureEncryption); the relationship is the container's `storageAccount`.
- encryptedAzureStorageAccountFinding: an account whose data is encrypted with Microsoft-managed keys
  (`encryptionManagedBy` microsoftStorage), i.e. no customer-managed key in a Key Vault the tenant controls.
A fact that is unknown (None: not collected) never raises a finding.
"""

from __future__ import annotations

from permscope.analytics.subjects import cached
from permscope.core.inventory import JsonObject, Resource
from permscope.core.snapshot import SystemSnapshot

STORAGE_ACCOUNT_TYPE = "microsoft.storage/storageaccounts"
BLOB_CONTAINER_TYPE = "microsoft.storage/storageaccounts/blobservices/containers"


def of_type(snapshot: SystemSnapshot, resource_type: str) -> list[Resource]:
    """The snapshot's resources of one ARM type (matched in any case, as ARM does), by id."""
    return cached(
        snapshot,
        ("azureResources", resource_type),
        lambda: sorted(
            (r for r in snapshot.resources or () if r.resource_type.lower() == resource_type),
            key=lambda r: r.external_id,
        ),
    )


def storage_account(resource: Resource) -> JsonObject:
    """A storage account as the contract's `storageAccount` reference (resolved to the inventory's resource)."""
    return {"id": resource.external_id, "displayName": resource.display_name}
