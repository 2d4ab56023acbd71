"""Azure plans that put a generated least-privilege custom role in place of broad role assignments, on the demo
tenant (a managed identity that uses 8 operations of Contributor at its subscription): the plan (create step
first, then the assignments it replaces; evidence, diff and PCI counting the role), apply and rollback through
azure-mgmt-authorization against recorded ARM responses, a failure after the role definition was made repaired
by applying again and by rolling back, a role not replicated yet, a role that existed before, scripts."""

# ruff: noqa: F811 - the demo tenant fixtures come from test_remediation_azure, and tests take them by name
from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from clouds.azure.grant.fake_arm import Credential, FakeArm
from clouds.azure.remediation.fake_graph import FakeGraph
from permscope.analytics.pci import identity_pci
from permscope.clouds.azure.authorization import ArmAuthorization
from permscope.clouds.azure.catalog.operations import builtin_roles
from permscope.clouds.azure.remediation.connector import AzureRemediationConnector
from permscope.core.ids import Cloud
from permscope.core.inventory import IdentityKind
from permscope.core.remediation import (
    PlanRefusedError,
    PlanStatus,
    RemediationConnector,
    Safety,
    StepKind,
    StepStatus,
)
from permscope.core.snapshot import AnalysisSettings
from permscope.store.tables import AuthorizationSystemRow, FindingRow, IdentityRow
from permscope.workflows.analysis import analyze_system, load_snapshot
from permscope.workflows.collection import import_files
from permscope.workflows.remediation import plans
from permscope.workflows.remediation.apply import apply_plan, rollback_plan
from permscope.workflows.requests import local_actor, set_modification
from remediation_support import CrashError, dying
from workflows.test_remediation_azure import demo, demo_file  # noqa: F401 - the demo tenant fixtures

IDENTITY = "func-rg-support-orders"  # Contributor at its subscription, 8 operations used
NARROW = "hr-connector-billing"  # Owner on one storage account; the generator would assign at its group
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
ALICE, BOB = local_actor("alice"), local_actor("bob")
SAFETY = Safety(min_observation_days=7)
TIMESTAMPS = {"createdOn", "updatedOn", "createdBy", "updatedBy"}


def _principal(engine: Engine, export: Path, name: str, role: str, scope_parts: int) -> tuple[str, str]:
    """(subscription, object id) of the managed identity or service principal `name` that holds `role` at a
    scope of `scope_parts` path parts (2: a subscription, 8: a resource) in the subscription."""
    items = json.loads((export / "role-assignments.json").read_text())
    with Session(engine) as session:
        rows = session.execute(
            select(IdentityRow.external_id, AuthorizationSystemRow.system_id)
            .join(AuthorizationSystemRow, IdentityRow.system_pk == AuthorizationSystemRow.id)
            .where(
                IdentityRow.display_name == name,
                IdentityRow.kind.in_(
                    [IdentityKind.MANAGED_IDENTITY.value, IdentityKind.SERVICE_PRINCIPAL.value]
                ),
            )
        ).all()
    held = {
        (item["properties"]["principalId"], item["properties"]["scope"].split("/")[2].lower())
        for item in items
        if item["properties"]["roleDefinitionId"].lower().endswith(role)
        and len(item["properties"]["scope"].strip("/").split("/")) == scope_parts
    }
    found = sorted((sub, principal) for principal, sub in rows if (principal, sub.lower()) in held)
    assert found, name
    return found[0]


def _arm(export: Path) -> FakeArm:
    """ARM holding every exported role definition and assignment, and the built-in roles."""
    arm = FakeArm()
    for item in json.loads((export / "role-assignments.json").read_text()):
        arm.add_existing(item)
    for definition in json.loads((export / "role-definitions.json").read_text()):
        arm.definitions[str(definition["id"]).lower()] = definition
    for guid, definition in builtin_roles().items():
        arm.definitions[f"/providers/microsoft.authorization/roledefinitions/{guid}"] = definition
    return arm


def _connectors(arm: FakeArm, crash_after: int = 0, sleeps: list[float] | None = None) -> Any:
    def make(cloud: Cloud, system_id: str, dry_run: bool, echo: Any) -> RemediationConnector:
        assert cloud is Cloud.AZURE
        session = ArmAuthorization(system_id, credential=Credential(), transport=arm.transport())
        pause = sleeps.append if sleeps is not None else (lambda _seconds: None)
        inner = AzureRemediationConnector(
            session, dry_run=dry_run, echo=echo, sleep=pause, graph_http_client=FakeGraph().http_client
        )
        return dying(inner, crash_after)

    return make


def _state(arm: FakeArm, principal: str) -> dict[str, Any]:
    """The principal's assignments and the custom role definitions, as ARM holds them (no timestamps)."""
    assignments = {
        key: {"name": value["name"], **{k: v for k, v in value["properties"].items() if k not in TIMESTAMPS}}
        for key, value in arm.assignments.items()
        if value["properties"]["principalId"] == principal
    }
    definitions = {key: value for key, value in arm.definitions.items() if key.startswith("/subscriptions/")}
    return {"assignments": assignments, "definitions": sorted(definitions)}


def _plan(engine: Engine, subscription: str, principal: str) -> plans.PlanRecord:
    set_modification(engine, subscription, True, Cloud.AZURE)
    record = plans.create_plan(
        engine, ALICE, cloud=Cloud.AZURE, system_id=subscription, identity_id=principal, safety=SAFETY
    )
    plans.approve_plan(engine, BOB, record.plan.plan_id)
    return record


def test_the_plan_creates_the_generated_role_first_then_removes_what_it_replaces(
    demo: tuple[Engine, Path],
) -> None:
    engine, export = demo
    subscription, principal = _principal(engine, export, IDENTITY, CONTRIBUTOR, 2)
    record = _plan(engine, subscription, principal)
    create, *rest = record.steps
    assert create.kind == StepKind.CREATE_GENERATED_ROLE.value and create.status == StepStatus.PENDING.value
    document = create.parameters["document"]
    permissions = document["permissions"][0]
    operations = len(permissions["actions"]) + len(permissions["dataActions"])
    assert operations > 0 and "*" not in json.dumps(permissions)
    assert create.label == document["roleName"] and create.target == document["name"]
    assert [a["scope"] for a in create.parameters["assignments"]] == document["assignableScopes"]
    assert create.parameters["roleDefinitionId"].endswith(f"/roleDefinitions/{document['name']}")
    replaced = [s for s in rest if s.evidence.get("replacedByGenerated")]
    assert replaced and all(s.kind == StepKind.DELETE_ROLE_ASSIGNMENT.value for s in replaced)
    assert any(s.target == f"{CONTRIBUTOR}@/subscriptions/{subscription}" for s in replaced)
    assert create.evidence["replaces"] == sorted(s.target for s in replaced)
    assert create.evidence["generated"]["observed"] == create.evidence["generated"]["allowed"] > 0
    generation = record.plan.evidence["generation"]
    assert generation["used"] is True and generation["documents"] == [document["roleName"]]
    # the after state holds the generated role: its operations are what remains granted
    diff = record.plan.evidence["diff"]
    assert diff["grantedAfter"] == operations < diff["grantedBefore"]
    assert record.plan.evidence["pciAfter"]["score"] < record.plan.evidence["pciBefore"]["score"]
    assert create.evidence["permissionsRemoved"] == 0  # creating the role removes nothing


def test_apply_then_rollback_through_arm(demo: tuple[Engine, Path]) -> None:
    engine, export = demo
    subscription, principal = _principal(engine, export, IDENTITY, CONTRIBUTOR, 2)
    record = _plan(engine, subscription, principal)
    create = record.steps[0]
    guid, definition_scope = create.parameters["roleGuid"], f"/subscriptions/{subscription}"
    arm = _arm(export)
    before = _state(arm, principal)
    report = apply_plan(engine, ALICE, record.plan.plan_id, connectors=_connectors(arm))
    assert report.error is None and report.plan.status == PlanStatus.APPLIED.value
    writes = arm.writes()
    names = [a["name"] for a in create.parameters["assignments"]]
    assert writes[0] == f"PUT {definition_scope}/providers/Microsoft.Authorization/roleDefinitions/{guid}"
    assert writes[1 : 1 + len(names)] == [
        f"PUT {a['scope']}/providers/Microsoft.Authorization/roleAssignments/{a['name']}"
        for a in create.parameters["assignments"]
    ]
    assert all(w.startswith("DELETE ") for w in writes[1 + len(names) :])
    prior = report.steps[0].prior_state
    assert prior is not None and prior["definition"] is None
    assert [a["before"] for a in prior["assignments"]] == [None] * len(names)
    made = arm.definitions[f"{definition_scope}/providers/microsoft.authorization/roledefinitions/{guid}"]
    assert made["properties"]["permissions"] == create.parameters["document"]["permissions"]
    assert made["properties"]["type"] == "CustomRole"
    after = _state(arm, principal)["assignments"]
    roles = {value["roleDefinitionId"].rsplit("/", 1)[-1] for value in after.values()}
    assert guid in roles and CONTRIBUTOR not in roles
    assert all(value["principalType"] == "ServicePrincipal" for value in after.values())

    arm.calls.clear()
    undone = rollback_plan(engine, ALICE, record.plan.plan_id, connectors=_connectors(arm))
    assert undone.error is None and undone.plan.status == PlanStatus.ROLLED_BACK.value
    assert (
        arm.writes()[-1]
        == f"DELETE {definition_scope}/providers/Microsoft.Authorization/roleDefinitions/{guid}"
    )
    assert _state(arm, principal) == before
    again = rollback_plan(engine, ALICE, record.plan.plan_id, connectors=_connectors(arm))
    assert again.plan.status == PlanStatus.ROLLED_BACK.value and _state(arm, principal) == before


def test_a_failure_after_the_role_was_created_is_repaired_by_applying_again(
    demo: tuple[Engine, Path],
) -> None:
    engine, export = demo
    subscription, principal = _principal(engine, export, IDENTITY, CONTRIBUTOR, 2)
    record = _plan(engine, subscription, principal)
    guid = record.steps[0].parameters["roleGuid"]
    arm = _arm(export)
    arm.fail("PUT", "/roleAssignments/", 500, "InternalServerError", "try again later")
    arm.fail("PUT", "/roleAssignments/", 500, "InternalServerError", "try again later")
    arm.fail("PUT", "/roleAssignments/", 500, "InternalServerError", "try again later")
    arm.fail("PUT", "/roleAssignments/", 500, "InternalServerError", "try again later")
    failed = apply_plan(engine, ALICE, record.plan.plan_id, connectors=_connectors(arm))
    assert failed.plan.status == PlanStatus.FAILED.value and failed.error is not None
    assert "InternalServerError" in failed.error
    assert any(key.endswith(guid) for key in arm.definitions)  # the definition was made, the assignment not
    assert failed.steps[0].status == StepStatus.FAILED.value and failed.steps[0].prior_state is not None
    arm.failures.clear()
    report = apply_plan(engine, ALICE, record.plan.plan_id, connectors=_connectors(arm))
    assert report.error is None and report.plan.status == PlanStatus.APPLIED.value
    roles = {v["roleDefinitionId"].rsplit("/", 1)[-1] for v in _state(arm, principal)["assignments"].values()}
    assert guid in roles and CONTRIBUTOR not in roles


def test_a_crash_after_the_role_was_created_is_repaired_by_rollback(demo: tuple[Engine, Path]) -> None:
    engine, export = demo
    subscription, principal = _principal(engine, export, IDENTITY, CONTRIBUTOR, 2)
    record = _plan(engine, subscription, principal)
    arm = _arm(export)
    before = _state(arm, principal)
    arm.fail("PUT", "/roleAssignments/", 403, "AuthorizationFailed", "no roleAssignments/write")
    failed = apply_plan(engine, ALICE, record.plan.plan_id, connectors=_connectors(arm))
    assert failed.plan.status == PlanStatus.FAILED.value and "AuthorizationFailed" in (failed.error or "")
    assert _state(arm, principal) != before  # the role definition exists
    undone = rollback_plan(engine, ALICE, record.plan.plan_id, connectors=_connectors(arm))
    assert undone.error is None and undone.plan.status == PlanStatus.ROLLED_BACK.value
    assert _state(arm, principal) == before

    # a run killed right after the whole step reached ARM (role and assignments made, nothing recorded after)
    again = _plan(engine, subscription, principal)
    now = datetime.now(UTC)
    with pytest.raises(CrashError):
        apply_plan(
            engine, ALICE, again.plan.plan_id, connectors=_connectors(arm, crash_after=1), clock=lambda: now
        )
    assert _state(arm, principal) != before
    later = now + timedelta(hours=1)  # the dead run's lease has run out
    repaired = rollback_plan(
        engine, ALICE, again.plan.plan_id, connectors=_connectors(arm), clock=lambda: later
    )
    assert repaired.plan.status == PlanStatus.ROLLED_BACK.value and _state(arm, principal) == before


def test_a_role_not_replicated_yet_is_assigned_after_a_pause(demo: tuple[Engine, Path]) -> None:
    engine, export = demo
    subscription, principal = _principal(engine, export, IDENTITY, CONTRIBUTOR, 2)
    record = _plan(engine, subscription, principal)
    arm = _arm(export)
    arm.fail("PUT", "/roleAssignments/", 400, "RoleDefinitionDoesNotExist", "The role does not exist.")
    sleeps: list[float] = []
    report = apply_plan(engine, ALICE, record.plan.plan_id, connectors=_connectors(arm, sleeps=sleeps))
    assert report.error is None and report.plan.status == PlanStatus.APPLIED.value
    assert sleeps == [2.0]


def test_a_role_that_existed_before_is_kept_by_rollback(demo: tuple[Engine, Path]) -> None:
    engine, export = demo
    subscription, principal = _principal(engine, export, IDENTITY, CONTRIBUTOR, 2)
    record = _plan(engine, subscription, principal)
    create = record.steps[0]
    arm = _arm(export)
    scope, guid = f"/subscriptions/{subscription}", create.parameters["roleGuid"]
    key = f"{scope}/providers/microsoft.authorization/roledefinitions/{guid}"
    earlier = {
        "roleName": create.parameters["roleName"],
        "description": "made earlier",
        "type": "CustomRole",
        "permissions": [{"actions": ["Microsoft.Web/sites/read"], "notActions": [], "dataActions": [],
                         "notDataActions": []}],
        "assignableScopes": [scope],
    }  # fmt: skip
    arm.definitions[key] = {"id": key, "name": guid, "properties": earlier}
    apply_plan(engine, ALICE, record.plan.plan_id, connectors=_connectors(arm))
    assert arm.definitions[key]["properties"]["description"] != "made earlier"
    undone = rollback_plan(engine, ALICE, record.plan.plan_id, connectors=_connectors(arm))
    assert undone.plan.status == PlanStatus.ROLLED_BACK.value
    kept = arm.definitions[key]["properties"]
    assert {k: v for k, v in kept.items() if k not in TIMESTAMPS} == earlier
    assert any("existed before the plan" in note for note in undone.steps[0].notes or [])


def test_dry_run_and_scripts_create_then_remove(demo: tuple[Engine, Path]) -> None:
    engine, export = demo
    subscription, principal = _principal(engine, export, IDENTITY, CONTRIBUTOR, 2)
    record = _plan(engine, subscription, principal)
    create = record.steps[0]
    arm = _arm(export)
    report = apply_plan(engine, ALICE, record.plan.plan_id, connectors=_connectors(arm), dry_run=True)
    assert arm.calls == []
    puts = [line for line in report.lines if line.startswith("PUT https://management.azure.com/")]
    assert "/roleDefinitions/" in puts[0] and '"type":"CustomRole"' in puts[0]
    assert len(puts) == 1 + len(create.parameters["assignments"])
    script = plans.plan_script(engine, ALICE, record.plan.plan_id)
    role = create.parameters["roleName"]
    first = script.index("az role definition create --role-definition '{")
    assert (
        first
        < script.index("az role assignment create --assignee-object-id")
        < script.index("az role assignment delete")
    )
    assert f'"Name":"{role}"' in script and f"--role {role} " in script
    rollback = plans.plan_script(engine, ALICE, record.plan.plan_id, rollback=True)
    restore = rollback.index("# az role assignment create")  # not applied yet: how the removal is undone
    assert restore < rollback.index(f"az role assignment delete --assignee {principal}")
    assert rollback.rstrip().endswith(
        f"az role definition delete --name {role} --scope /subscriptions/{subscription}"
    )
    terraform = plans.plan_terraform(engine, ALICE, record.plan.plan_id)
    assert 'resource "azurerm_role_definition"' in terraform
    assert f'role_definition_id = "{create.parameters["roleGuid"]}"' in terraform
    assert terraform.count('resource "azurerm_role_assignment"') == len(create.parameters["assignments"])
    assert "role_definition_resource_id" in terraform and "removed {" in terraform


def test_a_role_wider_than_what_the_principal_holds_is_not_offered(demo: tuple[Engine, Path]) -> None:
    engine, export = demo
    subscription, principal = _principal(engine, export, NARROW, OWNER, 8)
    set_modification(engine, subscription, True, Cloud.AZURE)
    try:
        record = plans.create_plan(
            engine, ALICE, cloud=Cloud.AZURE, system_id=subscription, identity_id=principal, safety=SAFETY
        )
    except PlanRefusedError as exc:
        assert "does not hold there today" in str(exc)
        return
    assert all(s.kind != StepKind.CREATE_GENERATED_ROLE.value for s in record.steps)
    assert "does not hold there today" in record.plan.evidence["generation"]["reason"]


def _reimported(engine: Engine, export: Path, arm: FakeArm, folder: Path) -> None:
    """The tenant as the next collection sees it: the export with ARM's role assignments and custom role
    definitions as they stand now, imported (every subscription analyzed again)."""
    shutil.copytree(export, folder)
    assignments = [dict(value) for value in arm.assignments.values()]
    (folder / "role-assignments.json").write_text(json.dumps(assignments))
    exported = json.loads((export / "role-definitions.json").read_text())
    known = {str(item["id"]).lower() for item in exported}
    made = [
        value
        for key, value in arm.definitions.items()
        if key.startswith("/subscriptions/") and key not in known
    ]
    (folder / "role-definitions.json").write_text(json.dumps(exported + made))
    for report in import_files(engine, Cloud.AZURE, [folder]):
        analyze_system(engine, report.system_id, cloud=Cloud.AZURE)


def _identity_pci(engine: Engine, subscription: str, principal: str) -> int:
    _pk, snapshot = load_snapshot(engine, subscription, AnalysisSettings(), Cloud.AZURE)
    return identity_pci(snapshot, principal).score


def _open_findings(engine: Engine, principal: str) -> dict[str, str]:
    with Session(engine) as session:
        rows = session.execute(
            select(FindingRow).where(FindingRow.subject_id == principal, FindingRow.resolved_at.is_(None))
        ).scalars()
        return {row.fingerprint: row.finding_type for row in rows}


def test_the_next_analysis_resolves_the_finding_and_rollback_brings_it_back(
    demo: tuple[Engine, Path], tmp_path: Path
) -> None:
    """The issue's "done when" for Azure: plan, apply through ARM, the next import and analysis see the PCI fall
    and the over-provisioned finding resolved; rollback restores ARM exactly and the finding comes back."""
    engine, export = demo
    subscription, principal = _principal(engine, export, IDENTITY, CONTRIBUTOR, 2)
    _reimported(engine, export, _arm(export), tmp_path / "first")  # the baseline, imported the same way
    opened = _open_findings(engine, principal)
    record = _plan(engine, subscription, principal)
    resolves = {entry["fingerprint"] for entry in record.plan.evidence["resolves"]}
    assert resolves and resolves <= set(opened)
    assert any("overprovisioned" in opened[fp].lower() for fp in resolves)
    pci_before = record.plan.evidence["pciBefore"]["score"]
    arm = _arm(export)
    before = _state(arm, principal)
    assert apply_plan(engine, ALICE, record.plan.plan_id, connectors=_connectors(arm)).error is None

    _reimported(engine, export, arm, tmp_path / "applied")
    assert not resolves & set(_open_findings(engine, principal))  # resolved by the next analysis
    assert _identity_pci(engine, subscription, principal) < pci_before

    assert rollback_plan(engine, ALICE, record.plan.plan_id, connectors=_connectors(arm)).error is None
    assert _state(arm, principal) == before
    _reimported(engine, export, arm, tmp_path / "rolled-back")
    assert resolves <= set(_open_findings(engine, principal))  # the same findings again
    assert _identity_pci(engine, subscription, principal) == pci_before
