"""Entra group memberships in Azure plans, applied through msgraph-sdk against a fake Graph at its httpx transport
seam (seeded with the exported groups and members): the exact Graph calls, apply and rollback repeated as no-ops,
a principal already out of the group, a crash between the call and its record, and a dynamic group (stored or
found live) kept out of Graph's writes."""

# ruff: noqa: F811 - the demo tenant fixtures come from test_remediation_azure, and tests take them by name
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from clouds.azure.grant.fake_arm import Credential
from clouds.azure.remediation.fake_graph import FakeGraph, graph_from_export
from permscope.clouds.azure.authorization import ArmAuthorization
from permscope.clouds.azure.remediation.connector import AzureRemediationConnector
from permscope.core.ids import Cloud
from permscope.core.remediation import PlanStatus, RemediationConnector, StepKind, StepStatus
from permscope.store.tables import IdentityRow
from permscope.workflows.remediation import plans
from permscope.workflows.remediation.apply import apply_plan, rollback_plan
from remediation_support import CrashError, dying
from workflows.test_remediation_azure import (  # noqa: F401 - the demo tenant fixtures
    ALICE,
    _approved,
    _arm,
    _identity,
    demo,
    demo_file,
)

GRAPH = "/v1.0/groups"


def _connectors(export: Path, principal: str, graph: FakeGraph, crash_after: int = 0) -> Any:
    arm = _arm(export, principal)

    def make(cloud: Cloud, system_id: str, dry_run: bool, echo: Any) -> RemediationConnector:
        session = ArmAuthorization(system_id, credential=Credential(), transport=arm.transport())
        inner = AzureRemediationConnector(
            session, dry_run=dry_run, echo=echo, graph_http_client=graph.http_client
        )
        return dying(inner, crash_after)

    return make


def _group_steps(record: Any) -> list[Any]:
    return [s for s in record.steps if s.kind == StepKind.REMOVE_GROUP_MEMBER.value]


def test_membership_removed_and_added_back_exactly_once(demo: tuple[Engine, Path]) -> None:
    engine, export = demo
    subscription, principal = _identity(engine, export)
    record = _approved(engine, subscription, principal)
    steps = _group_steps(record)
    assert steps and all(s.status == StepStatus.PENDING.value for s in steps)
    groups = [s.target for s in steps]
    graph = graph_from_export(export)
    before = {group: graph.members_of(group) for group in groups}

    report = apply_plan(engine, ALICE, record.plan.plan_id, connectors=_connectors(export, principal, graph))
    assert report.error is None and report.plan.status == PlanStatus.APPLIED.value
    assert graph.writes() == [f"DELETE {GRAPH}/{g}/members/{principal}/$ref" for g in groups]
    reads = [c for c in graph.calls if c.method == "GET" and "/members" in c.url]
    assert reads and all(c.headers.get("consistencylevel") == "eventual" for c in reads)
    assert all(graph.members_of(g) == before[g] - {principal} for g in groups)
    priors = [s.prior_state for s in report.steps if s.kind == StepKind.REMOVE_GROUP_MEMBER.value]
    assert all(p is not None and p["member"] is True and p["group"]["id"] for p in priors)

    graph.calls.clear()  # applying again: every step is applied, nothing is sent
    apply_plan(engine, ALICE, record.plan.plan_id, connectors=_connectors(export, principal, graph))
    assert graph.writes() == []

    undone = rollback_plan(
        engine, ALICE, record.plan.plan_id, connectors=_connectors(export, principal, graph)
    )
    assert undone.error is None and undone.plan.status == PlanStatus.ROLLED_BACK.value
    posts = [c for c in graph.calls if c.method == "POST"]
    assert [c.body for c in posts] == [
        {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{principal}"} for _ in groups
    ]
    assert {g: graph.members_of(g) for g in groups} == before

    graph.calls.clear()
    again = rollback_plan(
        engine, ALICE, record.plan.plan_id, connectors=_connectors(export, principal, graph)
    )
    assert again.plan.status == PlanStatus.ROLLED_BACK.value and graph.writes() == []


def test_already_out_of_the_group_is_done_and_never_added(demo: tuple[Engine, Path]) -> None:
    engine, export = demo
    subscription, principal = _identity(engine, export)
    record = _approved(engine, subscription, principal)
    group = _group_steps(record)[0].target
    graph = graph_from_export(export)
    graph.members[group.lower()].pop(principal.lower())  # someone removed it since the collection
    report = apply_plan(engine, ALICE, record.plan.plan_id, connectors=_connectors(export, principal, graph))
    assert report.error is None and report.plan.status == PlanStatus.APPLIED.value
    assert f"DELETE {GRAPH}/{group}/members/{principal}/$ref" not in graph.writes()
    script = plans.plan_script(engine, ALICE, record.plan.plan_id, rollback=True)
    assert "# not a direct member when the plan was applied: nothing was removed" in script
    undone = rollback_plan(
        engine, ALICE, record.plan.plan_id, connectors=_connectors(export, principal, graph)
    )
    assert undone.plan.status == PlanStatus.ROLLED_BACK.value
    assert principal.lower() not in graph.members_of(group)  # it was not a member: nothing to put back
    assert not [c for c in graph.calls if c.method == "POST" and f"/groups/{group}/" in c.url]


def test_removed_between_capture_and_delete_is_done(demo: tuple[Engine, Path]) -> None:
    """Graph answers 404 to the DELETE (out meanwhile): the step is applied, and rollback adds it back."""
    engine, export = demo
    subscription, principal = _identity(engine, export)
    record = _approved(engine, subscription, principal)
    group = _group_steps(record)[0].target
    graph = graph_from_export(export)
    graph.fail(
        "DELETE", f"/groups/{group}/members/", 404, "Request_ResourceNotFound", "Resource does not exist."
    )
    report = apply_plan(engine, ALICE, record.plan.plan_id, connectors=_connectors(export, principal, graph))
    assert report.error is None and report.plan.status == PlanStatus.APPLIED.value
    graph.members[group.lower()].pop(principal.lower())  # what the 404 said
    rollback_plan(engine, ALICE, record.plan.plan_id, connectors=_connectors(export, principal, graph))
    assert principal.lower() in graph.members_of(group)


def test_a_crash_after_the_delete_is_repaired_by_rollback_and_by_apply(demo: tuple[Engine, Path]) -> None:
    engine, export = demo
    subscription, principal = _identity(engine, export)
    record = _approved(engine, subscription, principal)
    group = _group_steps(record)[-1].target  # the last step applied
    graph = graph_from_export(export)
    before = graph.members_of(group)
    writes = sum(not StepKind(s.kind).manual for s in record.steps)
    now = datetime.now(UTC)
    with pytest.raises(CrashError):
        apply_plan(
            engine,
            ALICE,
            record.plan.plan_id,
            connectors=_connectors(export, principal, graph, crash_after=writes),
            clock=lambda: now,
        )
    assert principal.lower() not in graph.members_of(group)  # the DELETE reached Graph, its record did not
    later = now + timedelta(hours=1)
    resumed = apply_plan(
        engine,
        ALICE,
        record.plan.plan_id,
        connectors=_connectors(export, principal, graph),
        clock=lambda: later,
    )
    assert resumed.plan.status == PlanStatus.APPLIED.value  # the second DELETE: 404, done
    undone = rollback_plan(
        engine,
        ALICE,
        record.plan.plan_id,
        connectors=_connectors(export, principal, graph),
        clock=lambda: later,
    )
    assert undone.plan.status == PlanStatus.ROLLED_BACK.value and graph.members_of(group) == before


def _make_dynamic(engine: Engine, group: str) -> None:
    with Session(engine) as session, session.begin():
        rows = session.execute(select(IdentityRow).where(IdentityRow.external_id == group)).scalars().all()
        for row in rows:  # the group as each subscription's system stores it
            row.attributes = {**row.attributes, "groupTypes": ["DynamicMembership"]}


def test_a_stored_dynamic_group_stays_manual(demo: tuple[Engine, Path]) -> None:
    engine, export = demo
    subscription, principal = _identity(engine, export)
    group = _group_steps(_approved(engine, subscription, principal))[0].target
    _make_dynamic(engine, group)
    record = _approved(engine, subscription, principal)
    step = next(s for s in record.steps if s.target == group)
    assert step.kind == StepKind.REMOVE_RULED_MEMBER.value and step.status == StepStatus.MANUAL.value
    assert "membership rule" in step.evidence["note"]
    script = plans.plan_script(engine, ALICE, record.plan.plan_id)
    assert f"# az ad group show --group {group} --query membershipRule" in script
    assert f"az ad group member remove --group {group}" not in script
    graph = graph_from_export(export)
    report = apply_plan(engine, ALICE, record.plan.plan_id, connectors=_connectors(export, principal, graph))
    assert report.plan.status == PlanStatus.APPLIED.value
    assert not [w for w in graph.writes() if f"/groups/{group}/" in w]


def test_a_group_found_dynamic_at_apply_is_refused(demo: tuple[Engine, Path]) -> None:
    """The store said assigned membership; Graph now says dynamic: the step fails for good, nothing written."""
    engine, export = demo
    subscription, principal = _identity(engine, export)
    record = _approved(engine, subscription, principal)
    group = _group_steps(record)[0].target
    graph = graph_from_export(export)
    graph.groups[group.lower()].update(
        groupTypes=["DynamicMembership"], membershipRule='user.department -eq "x"'
    )
    report = apply_plan(engine, ALICE, record.plan.plan_id, connectors=_connectors(export, principal, graph))
    assert report.plan.status == PlanStatus.FAILED.value
    assert report.error is not None and "membership rule" in report.error
    assert not [w for w in graph.writes() if f"/groups/{group}/" in w]
