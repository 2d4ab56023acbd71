"""Azure remediation plans on the demo subscription, applied and rolled back through azure-mgmt-authorization
against recorded ARM responses (the fake ARM seeded with the very role assignments the store imported): the
plan's steps (one per assignment, scoped), approval, the exact DELETE and PUT calls (same assignment names,
same properties, condition included), the group membership removed and added back through Graph (the fake
Graph seeded with the exported groups), a crash between two steps repaired by rollback, dry-run, scripts."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from clouds.azure.grant.fake_arm import Credential, FakeArm
from clouds.azure.remediation.fake_graph import FakeGraph, graph_from_export
from permscope.clouds.azure.authorization import ArmAuthorization
from permscope.clouds.azure.catalog.operations import builtin_roles
from permscope.clouds.azure.remediation.connector import AzureRemediationConnector
from permscope.core.ids import Cloud
from permscope.core.remediation import PlanStatus, RemediationConnector, Safety, StepKind, StepStatus
from permscope.store.engine import make_engine, upgrade
from permscope.store.tables import IdentityRow
from permscope.workflows.demo import DEMO_TENANTS, load_demo
from permscope.workflows.remediation import plans
from permscope.workflows.remediation.apply import apply_plan, rollback_plan
from permscope.workflows.requests import local_actor, set_modification
from remediation_support import CrashError, dying

USER_NAME = "Yasmin Patel"  # two unused role assignments at two scopes, and a group
ALICE, BOB = local_actor("alice"), local_actor("bob")
SAFETY = Safety(min_observation_days=7)
CONDITION = "@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringEquals 'reports'"


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The demo tenant loaded once into a SQLite file (each test works on a copy), and its export folder."""
    folder = tmp_path_factory.mktemp("azure-demo")
    path = folder / "demo.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    load_demo(engine, (), DEMO_TENANTS, (), folder=folder / "export")
    engine.dispose()
    return path, next((folder / "export").glob("azure-*"))


@pytest.fixture
def demo(demo_file: tuple[Path, Path], tmp_path: Path) -> Iterator[tuple[Engine, Path]]:
    copy = tmp_path / "demo.sqlite3"
    shutil.copy(demo_file[0], copy)
    engine = make_engine(f"sqlite:///{copy}")
    yield engine, demo_file[1]
    engine.dispose()


def _identity(engine: Engine, export: Path) -> tuple[str, str]:
    """(subscription, object id) of the demo user: the subscription holding its role assignments."""
    with Session(engine) as session:
        row = (
            session.execute(select(IdentityRow).where(IdentityRow.display_name == USER_NAME))
            .scalars()
            .first()
        )
        assert row is not None
        principal = row.external_id
    items = json.loads((export / "role-assignments.json").read_text())
    scopes = [item["properties"]["scope"] for item in items if item["properties"]["principalId"] == principal]
    return scopes[0].split("/")[2], principal


def _arm(export: Path, principal: str) -> FakeArm:
    """ARM holding every exported role definition and assignment; one of the user's carries a condition and a description."""
    arm = FakeArm()
    items = json.loads((export / "role-assignments.json").read_text())
    mine = [item for item in items if item["properties"]["principalId"] == principal]
    for item in items:
        arm.add_existing(item)
    for definition in json.loads((export / "role-definitions.json").read_text()):
        arm.definitions[str(definition["id"]).lower()] = definition
    for guid, definition in builtin_roles().items():  # what every tenant has
        arm.definitions[f"/providers/microsoft.authorization/roledefinitions/{guid}"] = definition
    target = arm.assignments[mine[0]["id"].lower()]["properties"]
    target.update(condition=CONDITION, conditionVersion="2.0", description="reports readers (ticket 4711)")
    return arm


def _connectors(arm: FakeArm, graph: FakeGraph, crash_after: int = 0) -> Any:
    def make(cloud: Cloud, system_id: str, dry_run: bool, echo: Any) -> RemediationConnector:
        assert cloud is Cloud.AZURE
        session = ArmAuthorization(system_id, credential=Credential(), transport=arm.transport())
        inner = AzureRemediationConnector(
            session, dry_run=dry_run, echo=echo, graph_http_client=graph.http_client
        )
        return dying(inner, crash_after)

    return make


def _mine(arm: FakeArm, principal: str) -> dict[str, dict[str, Any]]:
    """The principal's assignments as ARM holds them, by id (every property but ARM's own timestamps)."""
    drop = {"createdOn", "updatedOn", "createdBy", "updatedBy"}
    return {
        key: {"name": value["name"], **{k: v for k, v in value["properties"].items() if k not in drop}}
        for key, value in arm.assignments.items()
        if value["properties"]["principalId"] == principal
    }


def _approved(engine: Engine, subscription: str, principal: str) -> plans.PlanRecord:
    set_modification(engine, subscription, True, Cloud.AZURE)
    record = plans.create_plan(
        engine, ALICE, cloud=Cloud.AZURE, system_id=subscription, identity_id=principal, safety=SAFETY
    )
    plans.approve_plan(engine, BOB, record.plan.plan_id)
    return record


def test_plan_apply_and_rollback_exactly(demo: tuple[Engine, Path]) -> None:
    engine, export = demo
    subscription, principal = _identity(engine, export)
    record = _approved(engine, subscription, principal)
    steps = record.steps
    deletes = [s for s in steps if s.kind == StepKind.DELETE_ROLE_ASSIGNMENT.value]
    assert len(deletes) >= 2 and len({s.parameters["scope"] for s in deletes}) == len(deletes)
    for step in deletes:
        assert step.parameters["principalType"] == "User" and step.evidence["lastUsed"] is None
        assert (
            step.evidence["unusedPermissions"] > 0 and step.evidence["pciAfter"] <= step.evidence["pciBefore"]
        )
    manual = [s for s in steps if StepKind(s.kind).manual]
    assert manual and all(s.status == StepStatus.MANUAL.value for s in manual)
    groups = [s for s in steps if s.kind == StepKind.REMOVE_GROUP_MEMBER.value]
    assert groups and all(s.status == StepStatus.PENDING.value for s in groups)  # applied through Graph
    assert record.plan.evidence["pciAfter"]["score"] <= record.plan.evidence["pciBefore"]["score"]

    arm, graph = _arm(export, principal), graph_from_export(export)
    before = _mine(arm, principal)
    members_before = {s.target: graph.members_of(s.target) for s in groups}
    report = apply_plan(engine, ALICE, record.plan.plan_id, connectors=_connectors(arm, graph))
    assert report.error is None and report.plan.status == PlanStatus.APPLIED.value
    for group, members in members_before.items():
        assert principal in members and graph.members_of(group) == members - {principal}
    applied = {s.ordinal: s for s in report.steps}
    names = [applied[s.ordinal].prior_state["name"] for s in deletes]  # type: ignore[index]
    assert arm.writes() == [
        f"DELETE {applied[s.ordinal].prior_state['scope']}/providers/Microsoft.Authorization/roleAssignments/{name}"  # type: ignore[index]
        for s, name in zip(deletes, names, strict=True)
    ]
    removed_ids = {key for key, value in before.items() if value["name"] in names}
    assert set(_mine(arm, principal)) == set(before) - removed_ids
    conditioned = [s.prior_state for s in report.steps if (s.prior_state or {}).get("condition")]
    assert conditioned and conditioned[0]["condition"] == CONDITION  # captured from ARM, not from the store

    arm.calls.clear()
    undone = rollback_plan(engine, ALICE, record.plan.plan_id, connectors=_connectors(arm, graph))
    assert undone.error is None, undone.error
    assert undone.plan.status == PlanStatus.ROLLED_BACK.value
    puts = [c for c in arm.calls if c.method == "PUT"]
    assert sorted(c.url.split("/roleAssignments/")[1].split("?")[0] for c in puts) == sorted(names)
    for call in puts:
        assert call.body is not None and set(call.body["properties"]) >= {
            "principalId",
            "principalType",
            "roleDefinitionId",
        }
    assert _mine(arm, principal) == before  # same names, same properties, condition and description included
    assert {group: graph.members_of(group) for group in members_before} == members_before
    # rolling back again, or re-creating what exists, changes nothing
    again = rollback_plan(engine, ALICE, record.plan.plan_id, connectors=_connectors(arm, graph))
    assert again.plan.status == PlanStatus.ROLLED_BACK.value and _mine(arm, principal) == before
    assert {group: graph.members_of(group) for group in members_before} == members_before


def test_a_crash_between_two_steps_is_repaired_by_rollback(demo: tuple[Engine, Path]) -> None:
    engine, export = demo
    subscription, principal = _identity(engine, export)
    record = _approved(engine, subscription, principal)
    arm, graph = _arm(export, principal), graph_from_export(export)
    before = _mine(arm, principal)
    now = datetime.now(UTC)
    with pytest.raises(CrashError):
        apply_plan(
            engine, ALICE, record.plan.plan_id, connectors=_connectors(arm, graph, 2), clock=lambda: now
        )
    assert len(_mine(arm, principal)) == len(before) - 2  # both deletes reached ARM
    later = now + timedelta(hours=1)
    report = rollback_plan(
        engine, ALICE, record.plan.plan_id, connectors=_connectors(arm, graph), clock=lambda: later
    )
    assert report.plan.status == PlanStatus.ROLLED_BACK.value and len(report.done) == 2
    assert _mine(arm, principal) == before


def test_dry_run_prints_the_calls_and_scripts_quote(demo: tuple[Engine, Path]) -> None:
    engine, export = demo
    subscription, principal = _identity(engine, export)
    record = _approved(engine, subscription, principal)
    arm, graph = _arm(export, principal), graph_from_export(export)
    report = apply_plan(engine, ALICE, record.plan.plan_id, connectors=_connectors(arm, graph), dry_run=True)
    assert arm.calls == [] and graph.calls == []
    group_deletes = [line for line in report.lines if line.startswith("DELETE https://graph.microsoft.com/")]
    assert len(group_deletes) == sum(s.kind == StepKind.REMOVE_GROUP_MEMBER.value for s in record.steps)
    assert all(line.endswith(f"/members/{principal}/$ref") for line in group_deletes)
    deletes = [line for line in report.lines if line.startswith("DELETE https://management.azure.com/")]
    assert len(deletes) == sum(s.kind == StepKind.DELETE_ROLE_ASSIGNMENT.value for s in record.steps)
    assert any("is manual: not applied" in line for line in report.lines)
    script = plans.plan_script(engine, ALICE, record.plan.plan_id)
    assert "az role assignment delete --assignee" in script
    assert "\naz ad group member remove --group " in script and f"--member-id {principal}" in script
    apply_plan(engine, ALICE, record.plan.plan_id, connectors=_connectors(arm, graph))
    rollback = plans.plan_script(engine, ALICE, record.plan.plan_id, rollback=True)
    assert rollback.count("az rest --method put --url ") == len(
        [s for s in record.steps if s.kind == StepKind.DELETE_ROLE_ASSIGNMENT.value]
    )
    assert "\naz ad group member add --group " in rollback
    assert "'\"'\"'reports'\"'\"'" in rollback  # the condition's quotes survive shell quoting
    applied_script = plans.plan_script(engine, ALICE, record.plan.plan_id)
    assert "az role assignment delete --ids /subscriptions/" in applied_script
    terraform = plans.plan_terraform(engine, ALICE, record.plan.plan_id)
    assert terraform.count("removed {") == rollback.count("az rest --method put") + rollback.count(
        "az ad group member add"
    )
    assert "from = azuread_group_member." in terraform
    assert "destroy = true" in terraform
