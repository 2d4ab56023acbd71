"""Small Azure estates for the engine's tests, in the case format of the shared conformance cases."""

from __future__ import annotations

from typing import Any

SUBSCRIPTION = "/subscriptions/11111111-1111-1111-1111-111111111111"
GROUP_RG = f"{SUBSCRIPTION}/resourceGroups/app-rg"
VM = f"{GROUP_RG}/providers/Microsoft.Compute/virtualMachines/vm1"
ACCOUNT = f"{GROUP_RG}/providers/Microsoft.Storage/storageAccounts/store1"
CONTAINER = f"{ACCOUNT}/blobServices/default/containers/docs"
TENANT_ROOT = "/providers/Microsoft.Management/managementGroups/22222222-2222-2222-2222-222222222222"
MG_CORP = "/providers/Microsoft.Management/managementGroups/mg-corp"
ALICE = "aaaaaaaa-0000-0000-0000-000000000001"
BOB = "bbbbbbbb-0000-0000-0000-000000000002"
TEAM = "cccccccc-0000-0000-0000-000000000003"
EVERYONE = "00000000-0000-0000-0000-000000000000"
BLOB_READ = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"


def role(
    guid: str,
    name: str,
    actions: list[str] | None = None,
    not_actions: list[str] | None = None,
    data_actions: list[str] | None = None,
    not_data_actions: list[str] | None = None,
    *,
    entries: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A role definition (`az role definition list` shape)."""
    return {
        "name": guid,
        "roleName": name,
        "roleType": "CustomRole",
        "assignableScopes": ["/"],
        "type": "Microsoft.Authorization/roleDefinitions",
        "permissions": entries
        if entries is not None
        else [
            {
                "actions": actions or [],
                "notActions": not_actions or [],
                "dataActions": data_actions or [],
                "notDataActions": not_data_actions or [],
                "condition": None,
                "conditionVersion": None,
            }
        ],
    }


def assignment(
    number: int,
    principal: str,
    role_guid: str,
    scope: str,
    condition: str | None = None,
    version: str | None = None,
) -> dict[str, Any]:
    """A role assignment (`az role assignment list` shape)."""
    guid = f"{number:08d}-1111-1111-1111-111111111111"
    prefix = "" if scope == "/" else scope
    return {
        "id": f"{prefix}/providers/Microsoft.Authorization/roleAssignments/{guid}",
        "name": guid,
        "principalId": principal,
        "principalType": "User",
        "roleDefinitionId": f"/providers/Microsoft.Authorization/roleDefinitions/{role_guid}",
        "scope": scope,
        "condition": condition,
        "conditionVersion": version or ("2.0" if condition else None),
        "type": "Microsoft.Authorization/roleAssignments",
    }


def deny(
    number: int,
    scope: str,
    *,
    actions: list[str] | None = None,
    not_actions: list[str] | None = None,
    data_actions: list[str] | None = None,
    principals: list[str] | None = None,
    excluded: list[str] | None = None,
    this_scope_only: bool = False,
) -> dict[str, Any]:
    """A deny assignment (ARM REST shape)."""
    guid = f"{number:08d}-2222-2222-2222-222222222222"
    return {
        "id": f"{scope}/providers/Microsoft.Authorization/denyAssignments/{guid}",
        "name": guid,
        "type": "Microsoft.Authorization/denyAssignments",
        "properties": {
            "denyAssignmentName": f"deny {number}",
            "scope": scope,
            "doNotApplyToChildScopes": this_scope_only,
            "permissions": [
                {
                    "actions": actions or [],
                    "notActions": not_actions or [],
                    "dataActions": data_actions or [],
                    "notDataActions": [],
                }
            ],
            "principals": [{"id": principal, "type": "User"} for principal in (principals or [EVERYONE])],
            "excludePrincipals": [{"id": principal, "type": "User"} for principal in (excluded or [])],
            "isSystemProtected": True,
        },
    }


def case(
    *,
    roles: list[dict[str, Any]],
    assignments: list[dict[str, Any]],
    action: str,
    scope: str,
    principal: str = ALICE,
    data: bool = False,
    denies: list[dict[str, Any]] | None = None,
    groups: dict[str, list[str]] | None = None,
    ancestry: dict[str, list[str]] | None = None,
    attributes: dict[str, Any] | None = None,
    case_id: str = "case",
) -> dict[str, Any]:
    """One simulator case."""
    return {
        "id": case_id,
        "estate": {
            "role_definitions": roles,
            "role_assignments": assignments,
            "deny_assignments": denies or [],
            "group_members": groups or {},
            "scope_ancestry": ancestry or {},
        },
        "request": {
            "principal_id": principal,
            "action": action,
            "data_action": data,
            "scope": scope,
            "attributes": attributes or {},
        },
    }
