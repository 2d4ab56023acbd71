"""Rebuild src/permscope/clouds/azure/catalog/data/azure_catalog.json.gz from iann0036/iam-dataset (MIT,
github.com/iann0036/iam-dataset): the Azure operations its built-in roles name and the built-in role definitions.

    python tools/refresh_azure_catalog.py BUILTIN_ROLES.json OPERATIONS.json

BUILTIN_ROLES.json is the dataset's built-in role definitions (`az role definition list` shape, a JSON list);
OPERATIONS.json the operations derived from them (`{"source", "operations": {name: {"referenced_as",
"is_data_action", "role_count"}}}`). What is kept: per operation its name (one spelling per case-insensitive
name, the one the most roles use) and its plane (control, data or both); per role its GUID, name, type,
description and permissions (null fields dropped). A few operations no built-in role names literally (they are
reached only through wildcards, e.g. `Microsoft.Authorization/roleDefinitions/write`) are added from
`EXTRA_OPERATIONS` below, permscope's own list after Microsoft's "Azure permissions" reference.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src/permscope/clouds/azure/catalog/data/azure_catalog.json.gz"
FORMAT = 1

# Operations that matter for permission management and escalation but that no built-in role names without a
# wildcard (learn.microsoft.com/azure/role-based-access-control/permissions/management-and-governance).
EXTRA_OPERATIONS = [
    "Microsoft.Authorization/roleAssignments/read",
    "Microsoft.Authorization/roleAssignments/write",
    "Microsoft.Authorization/roleAssignments/delete",
    "Microsoft.Authorization/roleDefinitions/read",
    "Microsoft.Authorization/roleDefinitions/write",
    "Microsoft.Authorization/roleDefinitions/delete",
    "Microsoft.Authorization/denyAssignments/read",
    "Microsoft.Authorization/denyAssignments/write",
    "Microsoft.Authorization/denyAssignments/delete",
    "Microsoft.Authorization/elevateAccess/Action",
    "Microsoft.Authorization/roleAssignmentScheduleRequests/write",
    "Microsoft.Authorization/roleAssignmentScheduleRequests/cancel/action",
    "Microsoft.Authorization/roleEligibilityScheduleRequests/write",
    "Microsoft.Authorization/roleEligibilityScheduleRequests/cancel/action",
    "Microsoft.Authorization/roleManagementPolicies/write",
    "Microsoft.Authorization/roleManagementPolicyAssignments/write",
    "Microsoft.Authorization/policyAssignments/write",
    "Microsoft.Authorization/policyAssignments/delete",
    "Microsoft.Authorization/policyDefinitions/write",
    "Microsoft.Authorization/policyDefinitions/delete",
    "Microsoft.Authorization/policySetDefinitions/write",
    "Microsoft.Authorization/policySetDefinitions/delete",
    "Microsoft.Authorization/policyExemptions/write",
    "Microsoft.Authorization/policyExemptions/delete",
    "Microsoft.Authorization/locks/read",
    "Microsoft.Authorization/locks/write",
    "Microsoft.Authorization/locks/delete",
    "Microsoft.Authorization/classicAdministrators/write",
    "Microsoft.Authorization/classicAdministrators/delete",
    "Microsoft.Compute/virtualMachines/runCommand/action",
    "Microsoft.Compute/virtualMachines/extensions/write",
    "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action",
    "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/write",
    "Microsoft.Web/sites/publish/Action",
    "Microsoft.Web/sites/config/list/Action",
    "Microsoft.KeyVault/vaults/secrets/getSecret/action",
    "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
    "Microsoft.Storage/storageAccounts/listKeys/action",
    "Microsoft.Automation/automationAccounts/runbooks/write",
    "Microsoft.Automation/automationAccounts/jobs/write",
]
_EXTRA_DATA = {
    "Microsoft.KeyVault/vaults/secrets/getSecret/action",
    "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
}


def _operations(raw: dict[str, dict[str, object]]) -> list[list[str]]:
    """[[name, plane]] sorted case-insensitively: plane "c" (control), "d" (data) or "b" (both)."""
    spellings: dict[str, list[tuple[int, str]]] = {}
    planes: dict[str, set[str]] = {}
    for name, entry in raw.items():
        clean = name.strip()
        if "/" not in clean or "*" in clean or clean.endswith("/"):
            continue
        key = clean.lower()
        spellings.setdefault(key, []).append((-int(entry.get("role_count") or 0), clean))  # type: ignore[call-overload]
        for field in entry.get("referenced_as") or ():  # type: ignore[attr-defined]
            planes.setdefault(key, set()).add("d" if str(field).lower().endswith("dataactions") else "c")
    for name in EXTRA_OPERATIONS:
        key = name.lower()
        spellings.setdefault(key, []).append((0, name))
        planes.setdefault(key, set()).add("d" if name in _EXTRA_DATA else "c")
    found = []
    for key in sorted(spellings):
        name = min(spellings[key])[1]
        plane = planes.get(key) or {"c"}
        found.append([name, "b" if len(plane) == 2 else next(iter(plane))])
    return found


def _role(definition: dict[str, object]) -> list[object]:
    """[GUID, roleName, roleType, description, permissions] with null fields dropped from the permissions."""
    permissions = [
        {key: value for key, value in entry.items() if value not in (None, [])}
        for entry in definition.get("permissions") or []  # type: ignore[attr-defined]
    ]
    return [
        str(definition["name"]).lower(),
        definition.get("roleName"),
        definition.get("roleType") or "BuiltInRole",
        definition.get("description") or "",
        permissions,
    ]


def main(roles_path: Path, operations_path: Path) -> None:
    """Write the compact catalogue from the two upstream files."""
    roles_raw = json.loads(roles_path.read_text())
    operations_raw = json.loads(operations_path.read_text())
    operations = _operations(operations_raw["operations"])
    roles = sorted((_role(definition) for definition in roles_raw), key=lambda role: str(role[0]))
    upstream = str(operations_raw.get("source") or "iann0036/iam-dataset")
    commit = upstream.partition("@")[2].partition(":")[0][:12] or "unknown"
    digest = hashlib.sha256(json.dumps([operations, roles], sort_keys=True).encode()).hexdigest()[:8]
    data = {
        "format": FORMAT,
        "version": f"iam-dataset-{commit}-{digest}",
        "source": f"iann0036/iam-dataset (MIT, github.com/iann0036/iam-dataset): {upstream}; "
        f"built-in roles from azure/built-in-roles-raw.json; {len(EXTRA_OPERATIONS)} operations added by "
        "permscope after Microsoft's Azure permissions reference",
        "licence": "MIT (iann0036/iam-dataset; see azure_catalog.LICENSE)",
        "operations": operations,
        "roles": roles,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_bytes(gzip.compress(json.dumps(data, separators=(",", ":"), sort_keys=True).encode(), mtime=0))
    print(f"{len(operations)} operations, {len(roles)} roles -> {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(Path(sys.argv[1]), Path(sys.argv[2]))
