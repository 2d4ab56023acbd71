"""AWS Organizations onto one account's batch: its place in the OU tree, and the SCPs and RCPs that reach it.

For the account's path root → OUs → account (`orgPath`, level 0 = the root, last level = the account), every
SCP or RCP attached at a level becomes a `Policy(kind=organization)` and one `Assignment(identity_external_id=
<target id>, relation=attached, scope="org-level:<n>")` per level where it is attached. The system's
`attributes` get `organizationId`, `managementAccountId`, `orgPath`, `orgPathNames`, `isManagementAccount` and
`enabledPolicyTypes` (the policy types enabled at the root); its parent is the direct OU (or the root, as
`organization`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from permscope.clouds.aws.effective.organization import LEVEL_SCOPE
from permscope.core.errors import InputError
from permscope.core.ids import Cloud
from permscope.core.inventory import (
    Assignment,
    AssignmentRelation,
    AuthorizationSystem,
    InventoryBatch,
    ParentKind,
    Policy,
    PolicyKind,
)


def empty_organization() -> dict[str, Any]:
    """The raw organization dict with nothing in it yet."""
    return {
        "Organization": None,
        "Roots": [],
        "Accounts": [],
        "OrganizationalUnits": {},
        "Parents": {},
        "Policies": {},
        "Targets": {},
    }


def account_name(org: Mapping[str, Any] | None, account_id: str) -> str | None:
    """The account's name in the organization, None if the organization data does not list it."""
    for account in (org or {}).get("Accounts") or []:
        if str(account.get("Id")) == account_id and account.get("Name"):
            return str(account["Name"])
    return None


def org_path(org: Mapping[str, Any], account_id: str) -> list[str] | None:
    """Root id, OU ids from the top down, then the account id; None when the account's parent is unknown."""
    parents: Mapping[str, str] = org.get("Parents") or {}
    if account_id not in parents:
        return None
    path = [account_id]
    seen = {account_id}
    current = account_id
    while current in parents:
        current = str(parents[current])
        if current in seen:
            raise InputError("organization", f"the OU tree has a cycle through {current}")
        seen.add(current)
        path.append(current)
    return list(reversed(path))


def place_in_organization(
    system: AuthorizationSystem, org: Mapping[str, Any] | None, warnings: list[str]
) -> None:
    """Set the system's parent and organization attributes from the organization data (when it has them)."""
    if not org or not org.get("Organization"):
        return
    organization = org["Organization"]
    account_id = system.system_id
    known = {str(account.get("Id")) for account in org.get("Accounts") or []}
    if account_id not in known:
        warnings.append(f"account {account_id} is not in the organization data; no SCPs or OU path applied")
        return
    path = org_path(org, account_id)
    system.attributes["organizationId"] = organization.get("Id")
    system.attributes["managementAccountId"] = organization.get("MasterAccountId")
    system.attributes["isManagementAccount"] = organization.get("MasterAccountId") == account_id
    system.attributes["enabledPolicyTypes"] = _enabled_policy_types(org)
    if path is None:
        warnings.append(f"the organization data does not say where account {account_id} sits; no OU path")
        return
    units = org.get("OrganizationalUnits") or {}
    roots = {str(root.get("Id")): root for root in org.get("Roots") or []}
    names = []
    for node in path:
        if node in roots:
            names.append(str(roots[node].get("Name") or node))
        elif node in units:
            names.append(str(units[node].get("Name") or node))
        else:
            names.append(system.name if node == account_id else node)
    system.attributes["orgPath"] = path
    system.attributes["orgPathNames"] = names
    parent = path[-2] if len(path) > 1 else None
    system.parent_id = parent
    if parent is not None:
        system.parent_kind = (
            ParentKind.ORGANIZATIONAL_UNIT if parent.startswith("ou-") else ParentKind.ORGANIZATION
        )


def _enabled_policy_types(org: Mapping[str, Any]) -> list[str]:
    types = {
        str(entry.get("Type"))
        for root in org.get("Roots") or []
        for entry in root.get("PolicyTypes") or []
        if entry.get("Status") == "ENABLED"
    }
    return sorted(types)


def organization_policies(
    org: Mapping[str, Any] | None, path: list[str]
) -> tuple[list[Policy], list[Assignment]]:
    """The SCPs and RCPs attached along the path, and one assignment per level where each is attached."""
    if not org:
        return [], []
    policies: dict[str, Policy] = {}
    assignments: list[Assignment] = []
    targets_of: Mapping[str, list[Mapping[str, Any]]] = org.get("Targets") or {}
    for policy_id, detail in sorted((org.get("Policies") or {}).items()):
        targets = {str(target.get("TargetId")) for target in targets_of.get(policy_id) or []}
        levels = [level for level, node in enumerate(path) if node in targets]
        if not levels:
            continue
        policy = _policy(policy_id, detail)
        policies[policy.external_id] = policy
        for level in levels:
            assignments.append(
                Assignment(
                    identity_external_id=path[level],
                    policy_external_id=policy.external_id,
                    relation=AssignmentRelation.ATTACHED,
                    scope=LEVEL_SCOPE.format(level),
                )
            )
    return list(policies.values()), assignments


def _policy(policy_id: str, detail: Mapping[str, Any]) -> Policy:
    summary = detail.get("PolicySummary") or {}
    arn = str(summary.get("Arn") or "")
    if not arn:
        raise InputError("organization", f"policy {policy_id} has no Arn in its PolicySummary")
    content = detail.get("Content")
    if isinstance(content, str):
        try:
            document = orjson.loads(content)
        except orjson.JSONDecodeError:
            raise InputError("organization", f"the content of policy {arn} is not JSON") from None
    else:
        document = content
    if not isinstance(document, dict):
        raise InputError("organization", f"the content of policy {arn} is not a JSON object")
    return Policy(
        external_id=arn,
        name=str(summary.get("Name") or policy_id),
        kind=PolicyKind.ORGANIZATION,
        managed_by_cloud=bool(summary.get("AwsManaged")),
        document=document,
        attributes={
            "policyType": summary.get("Type"),
            "policyId": summary.get("Id") or policy_id,
            "description": summary.get("Description"),
        },
    )


def apply_organization(batch: InventoryBatch, org: Mapping[str, Any] | None, warnings: list[str]) -> None:
    """Place the batch's account in the organization and add the SCPs and RCPs that reach it."""
    place_in_organization(batch.system, org, warnings)
    path = batch.system.attributes.get("orgPath")
    if not org or not path:
        return
    policies, assignments = organization_policies(org, list(path))
    batch.policies.extend(policies)
    batch.assignments.extend(assignments)


def organization_system(
    account_id: str, org: Mapping[str, Any] | None, name: str | None = None
) -> AuthorizationSystem:
    """The authorization system of an account as far as the organization data describes it."""
    system = AuthorizationSystem(
        cloud=Cloud.AWS, system_id=account_id, name=name or account_name(org, account_id) or account_id
    )
    place_in_organization(system, org, [])
    return system
