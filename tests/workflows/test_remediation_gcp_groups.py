"""GCP plans taking a member out of the Google groups whose bindings it never used, applied and rolled back
through google-api-python-client's Cloud Identity v1 discovery client against a fake at its httplib2 seam holding
the demo organization's groups and direct memberships: the step is no longer manual, apply deletes the membership
it captured (roles and expiry recorded), rollback creates it again with the same roles, both are no-ops when
repeated, a member already out is not written, a crash is repaired by applying again, refusals read clearly,
dry-run prints the calls, and the scripts and Terraform carry the commands."""

from __future__ import annotations

# ruff: noqa: F811 - the demo organization fixtures come from test_remediation_gcp, and tests take them by name
import json
from pathlib import Path
from typing import Any

import pytest
from google.auth.credentials import AnonymousCredentials
from sqlalchemy import Engine

from clouds.gcp.remediation.fake_identity import FakeCloudIdentity
from permscope.clouds.gcp.iam_client import GcpIam
from permscope.clouds.gcp.remediation.connector import GcpRemediationConnector
from permscope.core.ids import Cloud
from permscope.core.remediation import PlanStatus, RemediationConnector, Safety, StepKind, StepStatus
from permscope.workflows.remediation import plans
from permscope.workflows.remediation.apply import apply_plan, rollback_plan
from permscope.workflows.requests import local_actor, set_modification
from remediation_support import CrashError, dying
from workflows.test_remediation_gcp import demo, demo_file  # noqa: F401 - the demo organization fixtures

PROJECT = "platform-prod-000"
EMAIL = "carol.costa@example.test"  # in two groups whose bindings she never used, and in nothing else
USER = f"user:{EMAIL}"
ALICE, BOB = local_actor("alice"), local_actor("bob")
SAFETY = Safety(min_observation_days=7)
ROLES = [{"name": "MEMBER"}, {"name": "MANAGER", "expiryDetail": {"expireTime": "2027-03-01T00:00:00Z"}}]


@pytest.fixture
def identity(demo: tuple[Engine, Path]) -> FakeCloudIdentity:
    """The export's groups and memberships; the user manages her first group (an expiring role) as well."""
    fake = FakeCloudIdentity.from_export(demo[1])
    first = _groups_of(demo[1])[0]
    found = fake.find(first, EMAIL)
    assert found is not None
    found["roles"] = [dict(role) for role in ROLES]
    return fake


def _groups_of(export: Path) -> list[str]:
    """The groups that hold the user directly, in the export."""
    return sorted(
        entry["group"]
        for entry in json.loads((export / "group-memberships.json").read_text())
        if any(m["preferredMemberKey"]["id"] == EMAIL for m in entry["members"])
    )


def _connectors(fake: FakeCloudIdentity, crash_after: int = 0) -> Any:
    def make(cloud: Cloud, system_id: str, dry_run: bool, echo: Any) -> RemediationConnector:
        assert cloud is Cloud.GCP
        iam = GcpIam(system_id, credentials=AnonymousCredentials(), identity_http=fake.http)
        return dying(GcpRemediationConnector(iam, dry_run=dry_run, echo=echo), crash_after)

    return make


def _approved(engine: Engine) -> plans.PlanRecord:
    set_modification(engine, PROJECT, True, Cloud.GCP)
    record = plans.create_plan(
        engine, ALICE, cloud=Cloud.GCP, system_id=PROJECT, identity_id=USER, safety=SAFETY
    )
    plans.approve_plan(engine, BOB, record.plan.plan_id)
    return record


def _state(fake: FakeCloudIdentity, groups: list[str]) -> dict[str, Any]:
    """The user's membership of each group: its roles (None when out)."""
    return {group: (fake.find(group, EMAIL) or {}).get("roles") for group in groups}


def test_memberships_removed_and_restored_with_their_roles(
    demo: tuple[Engine, Path], identity: FakeCloudIdentity
) -> None:
    engine, export = demo
    groups = _groups_of(export)
    record = _approved(engine)
    steps = [s for s in record.steps if s.kind == StepKind.REMOVE_GROUP_MEMBER.value]
    assert [s.parameters["group"] for s in steps] == groups  # the groups holding her directly
    assert {s.status for s in steps} == {StepStatus.PENDING.value} and not any(
        StepKind(s.kind).manual for s in steps
    )
    assert all(s.evidence.get("note") is None for s in steps)
    before = _state(identity, groups)
    assert before[groups[0]] == ROLES and before[groups[1]] == [{"name": "MEMBER"}]

    report = apply_plan(engine, ALICE, record.plan.plan_id, connectors=_connectors(identity))
    assert report.error is None and report.plan.status == PlanStatus.APPLIED.value
    assert _state(identity, groups) == {group: None for group in groups}
    assert [w.split(" ")[0] for w in identity.writes()] == ["DELETE", "DELETE"]
    prior = next(s.prior_state for s in report.steps if s.ordinal == steps[0].ordinal)
    assert (
        prior is not None and prior["present"] and prior["name"].startswith(prior["group"] + "/memberships/")
    )
    assert (
        prior["preferredMemberKey"] == {"id": EMAIL} and prior["roles"] == ROLES and prior["type"] == "USER"
    )
    lookups = [(m, p) for m, p, _b in identity.calls if p.endswith(":lookup")]
    assert ("GET", "groups:lookup") in lookups and any(p.endswith("/memberships:lookup") for _m, p in lookups)

    identity.calls.clear()
    undone = rollback_plan(engine, ALICE, record.plan.plan_id, connectors=_connectors(identity))
    assert undone.error is None and undone.plan.status == PlanStatus.ROLLED_BACK.value
    assert _state(identity, groups) == before  # the same roles, the expiry included
    created = [b for m, _p, b in identity.calls if m == "POST"]
    assert {json.dumps(b, sort_keys=True) for b in created} == {
        json.dumps({"preferredMemberKey": {"id": EMAIL}, "roles": roles}, sort_keys=True)
        for roles in (ROLES, [{"name": "MEMBER"}])
    }
    writes = len(identity.writes())
    again = rollback_plan(engine, ALICE, record.plan.plan_id, connectors=_connectors(identity))
    assert again.plan.status == PlanStatus.ROLLED_BACK.value and len(identity.writes()) == writes

    # the connector itself: restoring what is back answers 409 and changes nothing; deleting with the name
    # recorded before rollback finds the membership made again under its new name
    connector = _connectors(identity)(Cloud.GCP, PROJECT, False, None)
    step = next(s for s in undone.steps if s.ordinal == steps[0].ordinal)
    assert step.prior_state is not None
    kind = StepKind.REMOVE_GROUP_MEMBER
    assert connector.restore(kind, USER, step.target, step.parameters, step.prior_state) == []
    assert _state(identity, groups) == before
    connector.apply(kind, USER, step.target, step.parameters, step.prior_state)
    connector.apply(kind, USER, step.target, step.parameters, step.prior_state)  # already out: no-op
    assert (
        _state(identity, groups)[groups[0]] is None
        and before[groups[1]] == _state(identity, groups)[groups[1]]
    )


def test_a_member_already_out_is_not_written(demo: tuple[Engine, Path], identity: FakeCloudIdentity) -> None:
    engine, export = demo
    groups = _groups_of(export)
    record = _approved(engine)
    left = identity.find(groups[1], EMAIL)
    assert left is not None
    del identity.memberships[
        left["name"]
    ]  # someone removed her after the collection (or only nesting is left)
    report = apply_plan(engine, ALICE, record.plan.plan_id, connectors=_connectors(identity))
    assert report.plan.status == PlanStatus.APPLIED.value
    assert len(identity.writes()) == 1 and _state(identity, groups) == {group: None for group in groups}
    out = next(s for s in report.steps if s.parameters.get("group") == groups[1])
    assert out.prior_state is not None and out.prior_state["present"] is False
    identity.calls.clear()
    rollback_plan(engine, ALICE, record.plan.plan_id, connectors=_connectors(identity))
    assert [p for m, p, _b in identity.calls if m == "POST"] == [f"{identity.groups[groups[0]]}/memberships"]
    assert _state(identity, groups) == {groups[0]: ROLES, groups[1]: None}  # not added where she was not


def test_a_crash_after_a_delete_is_repaired_by_applying_again(
    demo: tuple[Engine, Path], identity: FakeCloudIdentity
) -> None:
    engine, export = demo
    groups = _groups_of(export)
    record = _approved(engine)
    with pytest.raises(CrashError):
        apply_plan(engine, ALICE, record.plan.plan_id, connectors=_connectors(identity, crash_after=1))
    assert _state(identity, groups) == {groups[0]: None, groups[1]: [{"name": "MEMBER"}]}
    crashed = plans.get_plan(engine, ALICE, record.plan.plan_id)
    assert [s.status for s in crashed.steps if s.parameters.get("group") == groups[0]] == [
        StepStatus.APPLYING.value
    ]
    identity.calls.clear()
    report = apply_plan(engine, ALICE, record.plan.plan_id, connectors=_connectors(identity), clock=_later())
    assert report.plan.status == PlanStatus.APPLIED.value
    assert _state(identity, groups) == {group: None for group in groups}
    assert len(identity.writes()) == 2  # the repeated delete (404: already out) and the second group's
    rollback_plan(engine, ALICE, record.plan.plan_id, connectors=_connectors(identity), clock=_later(2))
    assert _state(identity, groups) == {groups[0]: ROLES, groups[1]: [{"name": "MEMBER"}]}


def _later(hours: int = 1) -> Any:
    from datetime import UTC, datetime, timedelta

    moment = datetime.now(UTC) + timedelta(hours=hours)
    return lambda: moment


def test_refusals_and_changes_since_read_clearly(
    demo: tuple[Engine, Path], identity: FakeCloudIdentity
) -> None:
    engine, export = demo
    groups = _groups_of(export)
    record = _approved(engine)
    identity.fail("DELETE", "/memberships/", 403, "PERMISSION_DENIED")
    report = apply_plan(engine, ALICE, record.plan.plan_id, connectors=_connectors(identity))
    assert report.plan.status == PlanStatus.FAILED.value and report.error is not None
    assert f"removing {EMAIL} from group {groups[0]}: HTTP 403 PERMISSION_DENIED" in report.error
    assert _state(identity, groups)[groups[0]] == ROLES  # nothing changed
    report = apply_plan(engine, ALICE, record.plan.plan_id, connectors=_connectors(identity))
    assert report.plan.status == PlanStatus.APPLIED.value
    identity.add(groups[0], EMAIL, [{"name": "OWNER"}])  # another admin put her back as an owner
    undone = rollback_plan(engine, ALICE, record.plan.plan_id, connectors=_connectors(identity))
    assert undone.plan.status == PlanStatus.ROLLED_BACK.value
    notes = [n for s in undone.steps for n in s.notes or ()]
    assert notes == [
        f"{EMAIL} was already back in group {groups[0]} with roles OWNER (it had MANAGER, MEMBER): left as it is"
    ]
    assert _state(identity, groups) == {groups[0]: [{"name": "OWNER"}], groups[1]: [{"name": "MEMBER"}]}


def test_dry_run_scripts_and_terraform(demo: tuple[Engine, Path], identity: FakeCloudIdentity) -> None:
    engine, export = demo
    groups = _groups_of(export)
    record = _approved(engine)
    dry = apply_plan(engine, ALICE, record.plan.plan_id, connectors=_connectors(identity), dry_run=True)
    assert identity.calls == []
    assert len([line for line in dry.lines if line.startswith("DELETE https://cloudidentity")]) == 2
    assert f"GET https://cloudidentity.googleapis.com/v1/groups:lookup?groupKey.id={groups[0]}" in dry.lines
    script = plans.plan_script(engine, ALICE, record.plan.plan_id)
    for group in groups:
        assert f"gcloud identity groups memberships delete --group-email={group} --member-email={EMAIL}" in (
            script.splitlines()
        )
    assert "# not applied yet" in plans.plan_script(engine, ALICE, record.plan.plan_id, rollback=True)
    apply_plan(engine, ALICE, record.plan.plan_id, connectors=_connectors(identity))
    rollback = plans.plan_script(engine, ALICE, record.plan.plan_id, rollback=True).splitlines()
    add = f"gcloud identity groups memberships add --group-email={groups[0]} --member-email={EMAIL}"
    assert f"{add} --roles=MEMBER,MANAGER" in rollback
    assert any(line.startswith("# role MANAGER expires at 2027-03-01T00:00:00Z") for line in rollback)
    terraform = plans.plan_terraform(engine, ALICE, record.plan.plan_id)
    assert terraform.count("removed {") == 2
    assert terraform.count("from = google_cloud_identity_group_membership.") == 2
    lookup = (
        f'"$(gcloud identity groups memberships lookup --group-email={groups[0]} --member-email={EMAIL} '
        "--format='value(name)')\""
    )
    assert "#   terraform import google_cloud_identity_group_membership." in terraform and lookup in terraform
    assert "destroy = true" in terraform
