"""The raw Azure bundle: what a live collection and an export folder both give, before the one transform.

A bundle holds one tenant. Every part is a list of JSON objects in the shape the REST API returns them (the
`value` items of a page; ARM objects as `{"id", "name", "type", "properties": {...}}`, Microsoft Graph v1.0
objects with their camelCase fields), or None when it was not collected (None keeps what an earlier run stored;
an empty list means "collected, there is none"). The live collector serializes SDK models back to that REST
shape (`Model.serialize(keep_readonly=True)` for azure-mgmt-*, the Graph JSON for msgraph-sdk); the export
script (`docs/azure-export.sh`) writes it with `az rest`, so files and live give the same dicts.

Export folder (one per tenant), each file one part: a JSON list, a REST page `{"value": [...], "nextLink"}`,
or several pages in one JSON list / JSON lines; gzip allowed (`.json.gz`):

| file                                   | part                          | REST source                                                                 |
|----------------------------------------|-------------------------------|-----------------------------------------------------------------------------|
| tenant.json                            | tenant (one object)           | Graph `GET /organization` (first item)                                      |
| management-groups.json                 | management_groups             | ARM `GET managementGroups/{root}/descendants` + the root group itself       |
| subscriptions.json                     | subscriptions                 | ARM `GET /subscriptions`                                                    |
| resource-groups.json                   | resource_groups               | ARM `GET /subscriptions/{s}/resourcegroups`, every subscription             |
| role-definitions.json                  | role_definitions              | ARM `GET {scope}/providers/Microsoft.Authorization/roleDefinitions`, each MG and subscription |
| role-assignments.json                  | role_assignments              | ARM `GET {scope}/providers/Microsoft.Authorization/roleAssignments?$filter=atScope()` at every MG, plus every subscription's list (resource group and resource assignments) |
| deny-assignments.json                  | deny_assignments              | ARM `GET {scope}/providers/Microsoft.Authorization/denyAssignments`         |
| role-eligibility-schedules.json        | role_eligibility_schedules    | ARM `roleEligibilityScheduleInstances` (PIM eligible)                       |
| role-assignment-schedules.json         | role_assignment_schedules     | ARM `roleAssignmentScheduleInstances` (PIM active, time-bound)              |
| users.json                             | users                         | Graph `GET /users` (with signInActivity when licensed)                      |
| groups.json                            | groups                        | Graph `GET /groups`                                                         |
| group-members.json                     | group_members                 | one object per group: `{"groupId": id, "members": [Graph directoryObjects of `GET /groups/{id}/members`]}` (direct members; nesting is resolved by the transform) |
| service-principals.json                | service_principals            | Graph `GET /servicePrincipals` (managed identities are servicePrincipalType "ManagedIdentity") |
| applications.json                      | applications                  | Graph `GET /applications` (passwordCredentials, keyCredentials)             |
| application-owners.json                | application_owners            | `{"applicationId": appObjectId, "owners": [directoryObjects]}` per application with owners |
| directory-role-definitions.json        | directory_role_definitions    | Graph `GET /roleManagement/directory/roleDefinitions`                       |
| directory-role-assignments.json        | directory_role_assignments    | Graph `GET /roleManagement/directory/roleAssignments`                       |
| app-role-assignments.json              | app_role_assignments          | Graph `GET /servicePrincipals/{id}/appRoleAssignedTo` for every resource SP (Graph app permissions) |
| managed-identities.json                | managed_identities            | ARM `Microsoft.ManagedIdentity/userAssignedIdentities`, every subscription  |
| storage-accounts.json                  | storage_accounts              | ARM `Microsoft.Storage/storageAccounts`                                     |
| blob-containers.json                   | blob_containers               | ARM `.../storageAccounts/{a}/blobServices/default/containers`               |
| network-security-groups.json           | network_security_groups       | ARM `Microsoft.Network/networkSecurityGroups`                               |
| network-interfaces.json                | network_interfaces            | ARM `Microsoft.Network/networkInterfaces`                                   |
| virtual-machines.json                  | virtual_machines              | ARM `Microsoft.Compute/virtualMachines` (identity block included)           |
| web-apps.json                          | web_apps                      | ARM `Microsoft.Web/sites` (function apps: `kind` contains "functionapp")    |
| key-vaults.json                        | key_vaults                    | ARM `Microsoft.KeyVault/vaults`                                             |
| errors.json                            | errors                        | `[{"scope": subscription or MG id, "part": part, "error": text}]` what could not be read |

Activity (the Activity Log and Entra sign-ins) is not part of the inventory bundle: it is read by the activity
readers from `activity-log*.json` and `sign-ins*.json` in the same folder (or any other path).

An authorization system is a subscription; the transform gives one `InventoryBatch` per subscription.
"""

from __future__ import annotations

from typing import Any

# part name -> file name in an export folder (without `.json` / `.json.gz`)
PART_FILES: dict[str, str] = {
    "tenant": "tenant",
    "management_groups": "management-groups",
    "subscriptions": "subscriptions",
    "resource_groups": "resource-groups",
    "role_definitions": "role-definitions",
    "role_assignments": "role-assignments",
    "deny_assignments": "deny-assignments",
    "role_eligibility_schedules": "role-eligibility-schedules",
    "role_assignment_schedules": "role-assignment-schedules",
    "users": "users",
    "groups": "groups",
    "group_members": "group-members",
    "service_principals": "service-principals",
    "applications": "applications",
    "application_owners": "application-owners",
    "directory_role_definitions": "directory-role-definitions",
    "directory_role_assignments": "directory-role-assignments",
    "app_role_assignments": "app-role-assignments",
    "managed_identities": "managed-identities",
    "storage_accounts": "storage-accounts",
    "blob_containers": "blob-containers",
    "network_security_groups": "network-security-groups",
    "network_interfaces": "network-interfaces",
    "virtual_machines": "virtual-machines",
    "web_apps": "web-apps",
    "key_vaults": "key-vaults",
    "errors": "errors",
}

PARTS: tuple[str, ...] = tuple(PART_FILES)


def empty_bundle(tenant_id: str) -> dict[str, Any]:
    """A bundle of the tenant with no part collected yet."""
    return {"tenant_id": tenant_id, **dict.fromkeys(PARTS)}
