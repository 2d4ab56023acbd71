"""GCP plans that put a generated least-privilege custom role in place of a broad binding, on the demo project
(a service account holding roles/editor on it, with activity of only what editor grants), applied and rolled
back through the Google client libraries against recorded IAM responses: the createGeneratedRole step first,
then the removeBinding it replaces; rollback soft-deletes the role and the next plan's apply undeletes it; a
crash after the role step repaired by applying again or by rolling back; a generated role bound at a Compute
instance bound there (and unbound by rollback); one bound in another project refused; scripts and Terraform."""

from __future__ import annotations

import copy
import json
import shlex
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from clouds.gcp.grant.fake_gcp import FakeGcp
from permscope.analytics.pci import identity_pci
from permscope.core.ids import Cloud
from permscope.core.remediation import PlanStatus, StepKind
from permscope.core.snapshot import AnalysisSettings
from permscope.presentation.remediation import generation_lines
from permscope.store.tables import FindingRow, UsageRow
from permscope.workflows.analysis import analyze_system, load_snapshot
from permscope.workflows.collection import import_files
from permscope.workflows.remediation import plans
from permscope.workflows.remediation.apply import apply_plan, rollback_plan
from remediation_support import CrashError
from workflows.test_remediation_gcp import (  # noqa: F401 - the demo project and its IAM behind the fake
    ALICE,
    BOB,
    PROJECT,
    SAFETY,
    _canonical,
    _connectors,
    demo,
    demo_file,
    gcp,
)

SYNC = f"serviceAccount:ingest-sync@{PROJECT}.iam.gserviceaccount.com"  # roles/editor on the project, used
ROLES = f"https://iam.googleapis.com/v1/projects/{PROJECT}/roles"
EDITOR = "roles/editor"


def _keep_usage(engine: Engine, member: str, prefixes: tuple[str, ...]) -> None:
    """The member's activity reduced to the permissions of the given services (what editor grants it)."""
    with Session(engine) as session, session.begin():
        actions = session.scalars(
            select(UsageRow.action).where(UsageRow.identity_external_id == member)
        ).all()
        dropped = [a for a in actions if not a.startswith(prefixes)]
        session.execute(
            delete(UsageRow).where(UsageRow.identity_external_id == member, UsageRow.action.in_(dropped))
        )


def _plan(engine: Engine) -> plans.PlanRecord:
    record = plans.create_plan(
        engine, ALICE, cloud=Cloud.GCP, system_id=PROJECT, identity_id=SYNC, safety=SAFETY
    )
    plans.approve_plan(engine, BOB, record.plan.plan_id)
    return record


@pytest.fixture
def planned(demo: tuple[Engine, Path]) -> Engine:  # noqa: F811 - the fixture imported above
    engine, _export = demo
    _keep_usage(engine, SYNC, ("bigquery.", "compute.", "pubsub."))
    from permscope.workflows.requests import set_modification

    set_modification(engine, PROJECT, True, Cloud.GCP)
    return engine


def _role_bound(fake: FakeGcp, role: str) -> bool:
    return any(b["role"] == role and SYNC in b["members"] for b in fake.bindings)


def test_the_generated_role_replaces_editor_and_rollback_then_replan_undeletes(
    planned: Engine,
    gcp: FakeGcp,  # noqa: F811
) -> None:
    record = _plan(planned)
    kinds = [s.kind for s in record.steps]
    assert kinds[0] == StepKind.CREATE_GENERATED_ROLE.value
    create = record.steps[0]
    role = create.target
    assert role.startswith(f"projects/{PROJECT}/roles/permscope_lp_ingest_sync_")
    assert create.parameters["resources"] == [f"projects/{PROJECT}"]
    permissions = create.parameters["document"]["role"]["includedPermissions"]
    assert permissions == sorted(permissions) and all(p.split(".")[0] in {"bigquery", "compute", "pubsub"}
                                                      for p in permissions)  # fmt: skip
    replaced = [s for s in record.steps if s.evidence.get("replacedByGenerated")]
    assert [(s.kind, s.parameters["role"]) for s in replaced] == [(StepKind.REMOVE_BINDING.value, EDITOR)]
    generation = record.plan.evidence["generation"]
    assert generation["used"] is True and generation["replaces"] == [replaced[0].target]
    assert create.evidence["replaces"] == [replaced[0].target]
    assert record.plan.evidence["diff"]["grantedAfter"] < record.plan.evidence["diff"]["grantedBefore"]
    shown = "\n".join(generation_lines(record.plan.evidence, record.steps))  # what `remediation show` prints
    assert f"{role} (" in shown and '"bindAt"' in shown and permissions[0] in shown
    before = copy.deepcopy(gcp.bindings)

    report = apply_plan(planned, ALICE, record.plan.plan_id, connectors=_connectors())
    assert report.error is None and report.plan.status == PlanStatus.APPLIED.value
    assert gcp.roles[role]["includedPermissions"] == permissions
    assert _role_bound(gcp, role) and not any(
        b["role"] == EDITOR and SYNC in b["members"] for b in gcp.bindings
    )
    writes = gcp.writes()
    assert writes.index(f"POST {ROLES}") == 0  # the role before any binding changes
    prior = report.steps[0].prior_state
    assert prior is not None and prior["role"] == {"state": "absent"}

    gcp.calls.clear()
    undone = rollback_plan(planned, ALICE, record.plan.plan_id, connectors=_connectors())
    assert undone.error is None and undone.plan.status == PlanStatus.ROLLED_BACK.value
    assert _canonical(gcp.bindings) == _canonical(before) and gcp.roles[role]["deleted"] is True
    assert gcp.writes()[-1] == f"DELETE {ROLES}/{role.rsplit('/', 1)[1]}"  # the bindings first, then the role

    again = _plan(planned)  # the same member planned again: the same role id, soft-deleted in IAM
    assert again.steps[0].target == role
    gcp.calls.clear()
    report = apply_plan(planned, ALICE, again.plan.plan_id, connectors=_connectors())
    assert report.plan.status == PlanStatus.APPLIED.value
    assert (
        report.steps[0].prior_state is not None and report.steps[0].prior_state["role"]["state"] == "deleted"
    )
    assert f"POST {ROLES}/{role.rsplit('/', 1)[1]}:undelete" in gcp.writes()
    assert f"POST {ROLES}" not in gcp.writes()  # never created again (IAM would refuse the id)
    assert not gcp.roles[role].get("deleted") and _role_bound(gcp, role)
    rollback_plan(planned, ALICE, again.plan.plan_id, connectors=_connectors())
    assert _canonical(gcp.bindings) == _canonical(before) and gcp.roles[role]["deleted"] is True


def test_a_crash_after_the_role_step_is_repaired_both_ways(planned: Engine, gcp: FakeGcp) -> None:  # noqa: F811
    before = copy.deepcopy(gcp.bindings)
    record = _plan(planned)
    role = record.steps[0].target
    now = datetime.now(UTC)
    with pytest.raises(CrashError):
        apply_plan(planned, ALICE, record.plan.plan_id, connectors=_connectors(1), clock=lambda: now)
    assert _role_bound(gcp, role) and any(b["role"] == EDITOR and SYNC in b["members"] for b in gcp.bindings)
    later = now + timedelta(hours=1)  # the dead run's lease ran out
    report = apply_plan(  # resumed: the role step repeated (a no-op), then the rest
        planned, ALICE, record.plan.plan_id, connectors=_connectors(), clock=lambda: later
    )
    assert report.plan.status == PlanStatus.APPLIED.value
    assert [w for w in gcp.writes() if w == f"POST {ROLES}"] == [f"POST {ROLES}"]  # created once
    assert not any(b["role"] == EDITOR and SYNC in b["members"] for b in gcp.bindings)
    rollback_plan(planned, ALICE, record.plan.plan_id, connectors=_connectors())

    second = _plan(planned)
    with pytest.raises(CrashError):
        apply_plan(planned, ALICE, second.plan.plan_id, connectors=_connectors(1), clock=lambda: now)
    undone = rollback_plan(planned, ALICE, second.plan.plan_id, connectors=_connectors(), clock=lambda: later)
    assert undone.plan.status == PlanStatus.ROLLED_BACK.value and undone.done == [second.steps[0].ordinal]
    assert _canonical(gcp.bindings) == _canonical(before) and gcp.roles[role]["deleted"] is True


def test_a_role_bound_at_an_instance_is_bound_there(planned: Engine, gcp: FakeGcp) -> None:  # noqa: F811
    _keep_usage(planned, SYNC, ("compute.",))  # compute alone: the generator binds at the instance
    record = _plan(planned)
    create = record.steps[0]
    assert create.kind == StepKind.CREATE_GENERATED_ROLE.value
    [instance] = create.parameters["resources"]
    assert instance.startswith(f"//compute.googleapis.com/projects/{PROJECT}/zones/")
    path = instance.removeprefix("//compute.googleapis.com/")
    gcp.resources[f"compute:{path}"] = {"bindings": []}
    report = apply_plan(planned, ALICE, record.plan.plan_id, connectors=_connectors())
    assert report.plan.status == PlanStatus.APPLIED.value
    assert gcp.resources[f"compute:{path}"]["bindings"] == [{"role": create.target, "members": [SYNC]}]
    write = f"POST https://compute.googleapis.com/compute/v1/{path}/setIamPolicy"
    assert write in gcp.writes()
    script = plans.plan_script(planned, ALICE, record.plan.plan_id, rollback=True)
    zone, name = path.split("/zones/")[1].split("/instances/")
    assert (
        f"gcloud compute instances remove-iam-policy-binding {name} --zone={zone} --project={PROJECT} "
        f"--member={SYNC} --role={create.target} --condition=None"
    ) in script
    terraform = plans.plan_terraform(planned, ALICE, record.plan.plan_id)
    assert (
        'resource "google_compute_instance_iam_member"' in terraform
        and f'zone               = "{zone}"' in terraform
    )
    rollback_plan(planned, ALICE, record.plan.plan_id, connectors=_connectors())
    assert gcp.resources[f"compute:{path}"]["bindings"] == [] and gcp.roles[create.target]["deleted"] is True


def test_a_role_bound_in_another_project_is_refused(planned: Engine) -> None:
    from permscope.clouds.gcp.remediation.candidates import generated_step
    from permscope.workflows.analysis import load_snapshot

    _pk, snapshot = load_snapshot(planned, PROJECT, cloud=Cloud.GCP)
    document = {"role": {"includedPermissions": ["pubsub.topics.publish"]}, "bindAt": [
        "//pubsub.googleapis.com/projects/another-project/topics/t"]}  # fmt: skip
    with pytest.raises(ValueError, match="bind it yourself") as refused:
        generated_step(snapshot, SYNC, f"projects/{PROJECT}/roles/r", document)
    assert "//pubsub.googleapis.com/projects/another-project/topics/t" in str(refused.value)


def test_scripts_and_terraform_of_the_generated_role(planned: Engine, gcp: FakeGcp) -> None:  # noqa: F811
    record = _plan(planned)
    create = record.steps[0]
    role_id, role = create.parameters["roleId"], create.target
    script = plans.plan_script(planned, ALICE, record.plan.plan_id)
    lines = script.splitlines()
    made = next(line for line in lines if "absent) gcloud iam roles create" in line)
    words = shlex.split(made.split(")", 1)[1].rstrip(" ;"))
    assert words[:6] == ["gcloud", "iam", "roles", "create", role_id, f"--project={PROJECT}"]
    flags = dict(w[2:].split("=", 1) for w in words[6:])
    assert flags["permissions"].split(",") == create.parameters["document"]["role"]["includedPermissions"]
    assert flags["title"] == create.parameters["document"]["role"]["title"] and flags["stage"] == "GA"
    assert any("True) gcloud iam roles undelete" in line for line in lines)
    bind = f"gcloud projects add-iam-policy-binding {PROJECT} --member={SYNC} --role={role} --condition=None"
    assert bind in lines
    assert lines.index(bind) < next(i for i, line in enumerate(lines) if "remove-iam-policy-binding" in line)

    apply_plan(planned, ALICE, record.plan.plan_id, connectors=_connectors())
    rollback = plans.plan_script(planned, ALICE, record.plan.plan_id, rollback=True).splitlines()
    unbind = bind.replace("add-iam-policy-binding", "remove-iam-policy-binding")
    drop = f"gcloud iam roles delete {role_id} --project={PROJECT} --quiet"
    assert unbind in rollback and drop in rollback and rollback.index(unbind) < rollback.index(drop)
    assert rollback.index(drop) > next(
        i for i, line in enumerate(rollback) if "add-iam-policy-binding" in line
    )

    terraform = plans.plan_terraform(planned, ALICE, record.plan.plan_id)
    label = role_id.lower()
    assert f'resource "google_project_iam_custom_role" "{label}" {{' in terraform
    assert f'  role_id     = "{role_id}"' in terraform
    assert f"role               = google_project_iam_custom_role.{label}.name" in terraform
    assert f'resource "google_project_iam_member" "{label}_1" {{' in terraform
    assert "removed {" in terraform


def test_uses_of_permissions_taken_away_since_are_left_out_not_granted_back(
    demo: tuple[Engine, Path],  # noqa: F811 - the fixture imported above
) -> None:
    """The demo's account also used permissions editor does not give it (held no more): the replacement is
    generated from the uses of what it still holds, and the warnings name those left out. (Its storage uses are
    dropped: it holds those on a bucket only, and a role bound on the project would widen them.)"""
    engine, _export = demo
    _keep_usage(
        engine, SYNC, ("bigquery.", "compute.", "pubsub.", "resourcemanager.", "iam.", "secretmanager.")
    )
    record = plans.create_plan(
        engine, ALICE, cloud=Cloud.GCP, system_id=PROJECT, identity_id=SYNC, safety=SAFETY
    )
    generation = record.plan.evidence["generation"]
    assert generation["used"] is True, generation.get("reason")
    assert record.steps[0].kind == StepKind.CREATE_GENERATED_ROLE.value
    permissions = set(record.steps[0].parameters["document"]["role"]["includedPermissions"])
    left_out = {
        "resourcemanager.projects.setIamPolicy",
        "iam.serviceAccountKeys.create",
        "secretmanager.versions.access",
    }
    assert not permissions & left_out
    warned = [w for w in generation["warnings"] if "were left out" in w]
    assert len(warned) == 1 and all(name in warned[0] for name in left_out)
    assert record.plan.evidence["diff"]["grantedAfter"] < record.plan.evidence["diff"]["grantedBefore"]


def _reimported(engine: Engine, export: Path, gcp: FakeGcp, folder: Path) -> None:  # noqa: F811
    """The organization as the next collection sees it: the export with the project's allow policy and custom
    roles as IAM holds them now, imported (every project analyzed again)."""
    shutil.copytree(export, folder)
    number = next(
        p["projectNumber"]
        for p in json.loads((export / "projects.json").read_text())
        if p["projectId"] == PROJECT
    )
    policies = json.loads((export / "iam-policies.json").read_text())
    for item in policies:
        if item["resource"].endswith(f"/projects/{number}"):
            item["policy"]["bindings"] = copy.deepcopy(gcp.bindings)
    (folder / "iam-policies.json").write_text(json.dumps(policies))
    roles = json.loads((export / "custom-roles.json").read_text())
    live = [dict(role) for role in gcp.roles.values() if not role.get("deleted")]
    (folder / "custom-roles.json").write_text(json.dumps(roles + live))
    for report in import_files(engine, Cloud.GCP, [folder]):
        analyze_system(engine, report.system_id, cloud=Cloud.GCP)


def _open_findings(engine: Engine, member: str) -> set[str]:
    with Session(engine) as session:
        return set(
            session.scalars(
                select(FindingRow.fingerprint).where(
                    FindingRow.subject_id == member, FindingRow.resolved_at.is_(None)
                )
            )
        )


def test_the_next_analysis_resolves_the_finding_and_rollback_brings_it_back(
    planned: Engine,
    demo: tuple[Engine, Path],  # noqa: F811
    gcp: FakeGcp,  # noqa: F811
    tmp_path: Path,
) -> None:
    """The issue's "done when" for GCP: plan, apply through IAM, the next import and analysis see the PCI fall and
    the over-provisioned finding resolved; rollback restores IAM and the finding comes back."""
    _engine, export = demo
    _reimported(planned, export, gcp, tmp_path / "first")  # the baseline, imported the same way
    _keep_usage(planned, SYNC, ("bigquery.", "compute.", "pubsub."))  # the import keeps the usage rows
    record = _plan(planned)
    resolves = {entry["fingerprint"] for entry in record.plan.evidence["resolves"]}
    assert resolves and resolves <= _open_findings(planned, SYNC)
    assert any(
        "overprovisioned" in entry["findingType"].lower() for entry in record.plan.evidence["resolves"]
    )
    pci_before = _member_pci(planned, SYNC)
    assert pci_before == record.plan.evidence["pciBefore"]["score"]
    before = _canonical(gcp.bindings)
    assert apply_plan(planned, ALICE, record.plan.plan_id, connectors=_connectors()).error is None

    _reimported(planned, export, gcp, tmp_path / "applied")
    assert not resolves & _open_findings(planned, SYNC)  # resolved by the next analysis
    assert _member_pci(planned, SYNC) < pci_before

    assert rollback_plan(planned, ALICE, record.plan.plan_id, connectors=_connectors()).error is None
    assert _canonical(gcp.bindings) == before
    _reimported(planned, export, gcp, tmp_path / "rolled-back")
    assert resolves <= _open_findings(planned, SYNC)
    assert _member_pci(planned, SYNC) == pci_before


def _member_pci(engine: Engine, member: str) -> int:
    _pk, snapshot = load_snapshot(engine, PROJECT, AnalysisSettings(), Cloud.GCP)
    return identity_pci(snapshot, member).score
