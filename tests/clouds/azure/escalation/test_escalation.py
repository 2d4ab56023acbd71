"""Azure escalation over variants of the fixture tenant: each RBAC step decided by the engine at its scope,
Entra steps from directory roles, Graph application permissions and application owners, and the paths and
findings the privilege-escalation detector makes of them."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from permscope.analytics.analyze import analyze
from permscope.analytics.privesc.analysis import escalation_analysis
from permscope.clouds.azure.escalation.techniques import technique_catalogue
from permscope.clouds.azure.files.folder import read_export
from permscope.clouds.azure.transform.bundle import transform_bundle
from permscope.clouds.base import plugin
from permscope.core.ids import Cloud
from permscope.core.snapshot import AnalysisSettings, SystemSnapshot
from permscope.workflows.snapshots import batch_snapshot

from ..support import ALICE, BOB, CAROL, DEPLOY_SP, EXPORT, MI_FUNC, MI_VM, OWNER, PROD, READER, UAA, batch

SUB = f"/subscriptions/{PROD}"
VM_CONTRIBUTOR = "9980e02c-c2be-4d73-94e8-173b1dc7cf3c"
PRIVILEGED_ROLE_ADMINISTRATOR = "e8611ab8-c189-46e8-94e1-60213ab1f814"
PRIVILEGED_AUTHENTICATION_ADMINISTRATOR = "7be44c8a-adaf-4e2a-84d6-ab2649e08a13"
APP_ROLE_ASSIGNMENT_READWRITE_ALL = "06b708a9-e830-4db3-a914-8e69da51d44f"
APPLICATION_ADMINISTRATOR = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"
CLOUD_APPLICATION_ADMINISTRATOR = "158c047a-c907-4556-b7ef-446551a6b5f7"
DEPLOY_APPLICATION = "a9900000-0000-4000-8000-0000000000b2"  # deploy-pipeline's application object
ROLE_ADMINS = "9a000000-0000-4000-8000-0000000000a3"
RESTARTER = "c0ffee00-0000-4000-8000-00000000c001"
ONLY_READER = (
    "((!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})) OR "
    "(@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals "
    "{acdd72a7-3385-48ef-bd42-f606fba81ae7}))"
)


def _assignment(
    name: str, principal: str, role: str, scope: str, condition: str | None = None
) -> dict[str, Any]:
    return {
        "id": f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}",
        "name": name,
        "type": "Microsoft.Authorization/roleAssignments",
        "properties": {
            "roleDefinitionId": f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/{role}",
            "principalId": principal,
            "principalType": "User",
            "scope": scope,
            "condition": condition,
            "conditionVersion": "2.0" if condition else None,
        },
    }


def _tenant(tmp_path: Path, **changes: Callable[[Any], None]) -> SystemSnapshot:
    """The production subscription after changing part files (by name, `-` for `_`) of a copy of the fixture."""
    folder = tmp_path / "export"
    shutil.copytree(EXPORT, folder)
    for part, change in changes.items():
        path = folder / f"{part.replace('_', '-')}.json"
        items = json.loads(path.read_text())
        change(items)
        path.write_text(json.dumps(items))
    found = transform_bundle(read_export([folder]), source="file:" + str(folder))
    return batch_snapshot(next(b for b in found.batches if b.system.system_id == PROD), AnalysisSettings())


def _assign(*assignments: dict[str, Any]) -> Callable[[Any], None]:
    return lambda items: items["value"].extend(assignments)


def _steps(snapshot: SystemSnapshot, source: str) -> list[tuple[str, str]]:
    graph = escalation_analysis(snapshot)
    assert graph is not None
    return [(step.technique_id, step.target) for step in graph.graph.out(source)]


def _paths(snapshot: SystemSnapshot, source: str) -> list[Any]:
    analysis = escalation_analysis(snapshot)
    assert analysis is not None
    return analysis.paths(source)


def test_the_fixture_owner_of_an_application_reaches_its_privileged_service_principal() -> None:
    snapshot = batch_snapshot(batch(PROD), AnalysisSettings())
    assert _steps(snapshot, BOB) == [("AZ-APP-OWNER-SECRET", DEPLOY_SP)]
    path = _paths(snapshot, BOB)[0]
    assert path.admin and [s.technique_id for s in path.steps] == ["AZ-APP-OWNER-SECRET"]
    found = {(f.finding_type, f.subject_id): f for f in analyze(snapshot).findings}
    finding = found[("privilegeEscalationUserFinding", BOB)]
    assert finding.cloud is Cloud.AZURE
    detail = finding.properties["privilegeEscalationDetails"][0]
    assert detail["reaches"] == "admin" and detail["steps"][0]["target"] == DEPLOY_SP
    # deploy-pipeline itself is super (User Access Administrator at mg-prod): never a source
    assert not any(
        t == "privilegeEscalationAzureServicePrincipalFinding" and s == DEPLOY_SP for t, s in found
    )


def test_running_a_command_on_a_vm_acts_as_its_privileged_identity(tmp_path: Path) -> None:
    vm = f"{SUB}/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/vm-web"
    snapshot = _tenant(
        tmp_path,
        role_assignments=_assign(
            _assignment("carol-vm", CAROL, VM_CONTRIBUTOR, vm), _assignment("vm-owner", MI_VM, OWNER, SUB)
        ),
    )
    steps = escalation_analysis(snapshot).graph.out(CAROL)  # type: ignore[union-attr]
    run = next(s for s in steps if s.technique_id == "AZ-VM-RUNCOMMAND")
    assert run.target == MI_VM and run.actions == ("Microsoft.Compute/virtualMachines/runCommand/action",)
    assert any(r.endswith("|" + VM_CONTRIBUTOR + "|" + CAROL) for r in run.resources)  # the engine's evidence
    assert _paths(snapshot, CAROL)[0].admin


def test_a_vm_whose_identity_has_nothing_more_gives_no_path(tmp_path: Path) -> None:
    vm = f"{SUB}/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/vm-web"
    snapshot = _tenant(tmp_path, role_assignments=_assign(_assignment("carol-vm", CAROL, VM_CONTRIBUTOR, vm)))
    assert ("AZ-VM-RUNCOMMAND", MI_VM) in _steps(snapshot, CAROL)
    assert not any(p.admin for p in _paths(snapshot, CAROL))


def test_role_assignments_at_a_resource_group_give_more_there_not_admin(tmp_path: Path) -> None:
    rg = f"{SUB}/resourceGroups/rg-data"
    snapshot = _tenant(tmp_path, role_assignments=_assign(_assignment("carol-uaa", CAROL, UAA, rg)))
    assert ("AZ-RBAC-ASSIGN", CAROL) in _steps(snapshot, CAROL)
    paths = _paths(snapshot, CAROL)
    assert paths and not paths[0].admin and paths[0].gained > 0
    step = paths[0].steps[0]
    assert step.via == rg.lower()


def test_constrained_delegation_at_the_subscription_is_a_conditional_path(tmp_path: Path) -> None:
    snapshot = _tenant(
        tmp_path, role_assignments=_assign(_assignment("carol-uaa", CAROL, UAA, SUB, ONLY_READER))
    )
    paths = _paths(snapshot, CAROL)
    assert paths[0].admin and paths[0].conditional
    assert (
        "@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId]"
        in paths[0].steps[0].condition_keys
    )


def test_rewriting_an_assigned_custom_role(tmp_path: Path) -> None:
    def writable(items: Any) -> None:
        for item in items["value"] if isinstance(items, dict) else items:
            if item["name"] == RESTARTER:
                item["properties"]["permissions"][0]["actions"].append(
                    "Microsoft.Authorization/roleDefinitions/write"
                )

    snapshot = _tenant(
        tmp_path,
        role_definitions=writable,
        role_assignments=_assign(_assignment("carol-restarter", CAROL, RESTARTER, SUB)),
    )
    assert ("AZ-RBAC-ROLEDEF", CAROL) in _steps(snapshot, CAROL)
    assert _paths(snapshot, CAROL)[0].admin


def test_entra_roles_through_a_group_and_graph_permissions(tmp_path: Path) -> None:
    def groups(items: list[dict[str, Any]]) -> None:
        items.append({"id": ROLE_ADMINS, "displayName": "Role Admins", "securityEnabled": True,
                      "isAssignableToRole": True})  # fmt: skip

    def members(items: list[dict[str, Any]]) -> None:
        items.append(
            {"groupId": ROLE_ADMINS, "members": [{"@odata.type": "#microsoft.graph.user", "id": BOB}]}
        )

    def roles(items: list[dict[str, Any]]) -> None:
        items.append({"id": "dra-2", "principalId": ROLE_ADMINS,
                      "roleDefinitionId": PRIVILEGED_ROLE_ADMINISTRATOR, "directoryScopeId": "/"})  # fmt: skip
        items.append({"id": "dra-3", "principalId": CAROL,
                      "roleDefinitionId": PRIVILEGED_AUTHENTICATION_ADMINISTRATOR, "directoryScopeId": "/"})  # fmt: skip

    def app_roles(items: list[dict[str, Any]]) -> None:
        items.append({"id": "ara-2", "principalId": MI_FUNC, "resourceId": "f0000000-0000-4000-8000-00000000ms01",
                      "resourceDisplayName": "Microsoft Graph", "appRoleId": APP_ROLE_ASSIGNMENT_READWRITE_ALL})  # fmt: skip

    # the group reads a resource group: only principals RBAC places in the subscription are in its batch
    reader = _assignment("role-admins-read", ROLE_ADMINS, READER, f"{SUB}/resourceGroups/rg-app")
    snapshot = _tenant(tmp_path, groups=groups, group_members=members, directory_role_assignments=roles,
                       app_role_assignments=app_roles, role_assignments=_assign(reader))  # fmt: skip
    assert ("AZ-ENTRA-ROLE-GRANT", BOB) in _steps(snapshot, BOB)  # through Role Admins
    assert ("AZ-GRAPH-APPROLE-GRANT", MI_FUNC) in _steps(snapshot, MI_FUNC)
    assert ("AZ-ENTRA-RESET-PASSWORD", ALICE) in _steps(snapshot, CAROL)  # the most privileged user first
    found = {(f.finding_type, f.subject_id) for f in analyze(snapshot).findings}
    assert ("privilegeEscalationUserFinding", BOB) in found
    assert ("privilegeEscalationAzureServicePrincipalFinding", MI_FUNC) in found


def test_application_administrators_add_secrets_tenant_wide_or_to_the_application_in_scope(
    tmp_path: Path,
) -> None:
    def roles(items: list[dict[str, Any]]) -> None:
        items.append({"id": "dra-2", "principalId": CAROL, "roleDefinitionId": APPLICATION_ADMINISTRATOR,
                      "directoryScopeId": f"/{DEPLOY_APPLICATION}"})  # fmt: skip
        items.append({"id": "dra-3", "principalId": BOB, "roleDefinitionId": CLOUD_APPLICATION_ADMINISTRATOR,
                      "directoryScopeId": "/"})  # fmt: skip

    snapshot = _tenant(tmp_path, directory_role_assignments=roles)
    graph = escalation_analysis(snapshot).graph  # type: ignore[union-attr]
    scoped = [s for s in graph.out(CAROL) if s.technique_id == "AZ-ENTRA-ADD-SECRET"]
    assert [(s.target, s.actions, s.resources) for s in scoped] == [
        (DEPLOY_SP, ("directoryRole:scoped to the application",), (DEPLOY_SP, DEPLOY_APPLICATION))
    ]
    tenant_wide = [s for s in graph.out(BOB) if s.technique_id == "AZ-ENTRA-ADD-SECRET"]
    assert DEPLOY_SP in {s.target for s in tenant_wide}
    assert all(s.actions == ("directoryRole:Cloud Application Administrator",) for s in tenant_wide)
    # a source without a right to add secrets reaches no application that way
    assert {
        source
        for source, steps in graph.edges.items()
        if any(s.technique_id == "AZ-ENTRA-ADD-SECRET" for s in steps)
    } == {CAROL, BOB}


def test_every_technique_has_words_and_a_page() -> None:
    catalogue = plugin(Cloud.AZURE).escalation_techniques()
    assert catalogue == technique_catalogue() and len(catalogue) >= 10
    for technique_id, info in catalogue.items():
        assert info.technique_id == technique_id and info.words and (info.url or "").startswith("https://")
