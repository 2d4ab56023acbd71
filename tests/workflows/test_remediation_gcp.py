"""GCP remediation plans on the demo project, applied and rolled back through the Google client libraries
(Resource Manager's REST transport, google-auth's AuthorizedSession) against recorded IAM responses: the fake
holds the very policies, service-account policies and keys the store imported. The plan's steps (the member out
of one binding, its condition included), approval, the exact setIamPolicy calls and resulting policies, rollback
to the identical policy, a crash between two steps repaired by rollback, keys disabled and enabled, dry-run,
scripts."""

from __future__ import annotations

import copy
import json
import shlex
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import responses
from google.auth.credentials import AnonymousCredentials
from sqlalchemy import Engine, update

from clouds.gcp.grant.fake_gcp import FakeGcp
from permscope.clouds.gcp.iam_client import GcpIam
from permscope.clouds.gcp.remediation.connector import GcpRemediationConnector
from permscope.core.ids import Cloud
from permscope.core.remediation import PlanStatus, RemediationConnector, Safety, StepKind, StepStatus
from permscope.store.engine import make_engine, upgrade
from permscope.store.tables import AssignmentRow
from permscope.workflows.demo import DEMO_ORGANIZATIONS, load_demo
from permscope.workflows.remediation import plans
from permscope.workflows.remediation.apply import apply_plan, rollback_plan
from permscope.workflows.requests import local_actor, set_modification
from remediation_support import CrashError, dying

PROJECT = "platform-prod-000"
USER = "user:alice.brown@example.test"  # unused bindings on the project and on a service account
KEYED = f"serviceAccount:auth-runner@{PROJECT}.iam.gserviceaccount.com"  # two unused user-managed keys
ALICE, BOB = local_actor("alice"), local_actor("bob")
SAFETY = Safety(min_observation_days=7)
CONDITION = {
    "title": "reports, weekdays",
    "expression": 'resource.name.startsWith("projects/_/buckets/reports") && request.time.getDayOfWeek() < 5',
    "description": "ticket 4711",
}


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The demo organization loaded once into a SQLite file (each test works on a copy), and its export."""
    folder = tmp_path_factory.mktemp("gcp-demo")
    path = folder / "demo.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    load_demo(engine, (), (), DEMO_ORGANIZATIONS, folder=folder / "export")
    engine.dispose()
    return path, next((folder / "export").glob("gcp-*"))


@pytest.fixture
def demo(demo_file: tuple[Path, Path], tmp_path: Path) -> Iterator[tuple[Engine, Path]]:
    copy_path = tmp_path / "demo.sqlite3"
    shutil.copy(demo_file[0], copy_path)
    engine = make_engine(f"sqlite:///{copy_path}")
    yield engine, demo_file[1]
    engine.dispose()


def _project_role(export: Path) -> str:
    """The role the demo user holds on the project (unconditionally, in the export)."""
    number = next(
        p["projectNumber"]
        for p in json.loads((export / "projects.json").read_text())
        if p["projectId"] == PROJECT
    )
    for item in json.loads((export / "iam-policies.json").read_text()):
        if item["resource"].endswith(f"/projects/{number}"):
            return next(b["role"] for b in item["policy"]["bindings"] if USER in b["members"])
    raise AssertionError("no project policy")


def _conditional(engine: Engine, role: str) -> None:
    """The user's project binding carries a condition in the store too (as a collection would have read it)."""
    stored = {"title": CONDITION["title"], "expression": CONDITION["expression"]}
    with engine.begin() as connection:
        connection.execute(
            update(AssignmentRow)
            .where(
                AssignmentRow.identity_external_id == USER,
                AssignmentRow.policy_external_id == role,
                AssignmentRow.scope == f"projects/{PROJECT}",
            )
            .values(condition=stored)
        )


@pytest.fixture
def gcp(demo: tuple[Engine, Path]) -> Iterator[FakeGcp]:
    """The project's IAM as exported, the user's project binding under CONDITION (with a description), beside
    an unconditional binding of the same role and one under another condition, both of other members."""
    _engine, export = demo
    number = next(
        p["projectNumber"]
        for p in json.loads((export / "projects.json").read_text())
        if p["projectId"] == PROJECT
    )
    fake = FakeGcp(PROJECT)
    for item in json.loads((export / "iam-policies.json").read_text()):
        name, bindings = item["resource"], copy.deepcopy(item["policy"].get("bindings", []))
        if name.endswith(f"/projects/{number}"):
            fake.bindings = bindings
        elif name.startswith(f"//iam.googleapis.com/projects/{PROJECT}/serviceAccounts/"):
            fake.resources[f"serviceAccount:{name.rsplit('/', 1)[1]}"] = {"bindings": bindings}
        elif name.startswith("//storage.googleapis.com/"):
            fake.resources[f"bucket:{name.rsplit('/', 1)[1]}"] = {"bindings": bindings}
    role = _project_role(export)
    for binding in fake.bindings:
        if binding["role"] == role and USER in binding["members"]:
            binding["members"].remove(USER)
    fake.bindings = [b for b in fake.bindings if b["members"]]
    fake.bindings += [
        {"role": role, "members": [USER, "user:someone@example.test"], "condition": dict(CONDITION)},
        {
            "role": role,
            "members": ["user:third@example.test"],
            "condition": {"title": "t", "expression": "true"},
        },
    ]
    for entry in json.loads((export / "service-account-keys.json").read_text()):
        for key in entry["keys"]:
            if key.get("keyType") != "SYSTEM_MANAGED":
                key_id = key["name"].rsplit("/", 1)[1]
                fake.keys[(entry["serviceAccount"], key_id)] = {**key, "disabled": bool(key.get("disabled"))}
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        fake.install(mock)
        yield fake


def _connectors(crash_after: int = 0) -> Any:
    def make(cloud: Cloud, system_id: str, dry_run: bool, echo: Any) -> RemediationConnector:
        assert cloud is Cloud.GCP
        iam = GcpIam(system_id, credentials=AnonymousCredentials(), sleep=lambda _s: None)
        inner = GcpRemediationConnector(iam, dry_run=dry_run, echo=echo)
        return dying(inner, crash_after)

    return make


def _state(fake: FakeGcp) -> dict[str, Any]:
    """Every policy of the fake (bindings in order, members in order) and the keys' disabled flags."""
    return {
        "project": copy.deepcopy(fake.bindings),
        "resources": {k: copy.deepcopy(v["bindings"]) for k, v in fake.resources.items()},
        "keys": {k: v["disabled"] for k, v in fake.keys.items()},
    }


def _canonical(bindings: list[dict[str, Any]]) -> list[str]:
    """Bindings as sorted JSON (setIamPolicy may reorder bindings and members; IAM policies are sets)."""
    return sorted(
        json.dumps({**b, "members": sorted(b["members"])}, sort_keys=True) for b in bindings if b["members"]
    )


def _approved(engine: Engine, identity: str) -> plans.PlanRecord:
    set_modification(engine, PROJECT, True, Cloud.GCP)
    record = plans.create_plan(
        engine, ALICE, cloud=Cloud.GCP, system_id=PROJECT, identity_id=identity, safety=SAFETY
    )
    plans.approve_plan(engine, BOB, record.plan.plan_id)
    return record


def test_bindings_removed_and_restored_exactly(demo: tuple[Engine, Path], gcp: FakeGcp) -> None:
    engine, export = demo
    role = _project_role(export)
    _conditional(engine, role)
    record = _approved(engine, USER)
    removes = [s for s in record.steps if s.kind == StepKind.REMOVE_BINDING.value]
    assert {
        s.parameters["resource"].split("/")[2] if s.parameters["resource"].startswith("//") else "project"
        for s in removes
    } == {"iam.googleapis.com", "project"}
    on_project = next(s for s in removes if s.parameters["resource"] == f"projects/{PROJECT}")
    assert on_project.parameters["condition"] == {
        "title": CONDITION["title"],
        "expression": CONDITION["expression"],
    }
    for step in removes:
        assert step.evidence["lastUsed"] is None and step.evidence["unusedPermissions"] > 0
    before = _state(gcp)

    report = apply_plan(engine, ALICE, record.plan.plan_id, connectors=_connectors())
    assert report.error is None and report.plan.status == PlanStatus.APPLIED.value
    prior = next(s.prior_state for s in report.steps if s.ordinal == on_project.ordinal)
    assert prior is not None and prior["present"] and prior["etag"]
    assert prior["bindings"] == [
        {"role": role, "members": [USER, "user:someone@example.test"], "condition": CONDITION}
    ]  # the binding as the cloud has it, description included
    rm = f"https://cloudresourcemanager.googleapis.com/v3/projects/{PROJECT}:setIamPolicy"
    assert rm in [u for m, u, _ in gcp.calls if m == "POST"]
    assert len([w for w in gcp.writes() if w.endswith(":setIamPolicy")]) == len(removes)
    # exactly the member out of exactly that binding; the same role's other bindings untouched
    expected = copy.deepcopy(before["project"])
    for binding in expected:
        if binding.get("condition") == CONDITION:
            binding["members"].remove(USER)
    assert _canonical(gcp.bindings) == _canonical(expected)
    assert not any(USER in b["members"] for v in gcp.resources.values() for b in v["bindings"] if b["role"])
    for _m, url, body in gcp.calls:
        if url.endswith(":setIamPolicy") and "cloudresourcemanager" in url:
            assert body["policy"]["version"] == 3 and body["policy"]["etag"]

    gcp.calls.clear()
    undone = rollback_plan(engine, ALICE, record.plan.plan_id, connectors=_connectors())
    assert undone.error is None and undone.plan.status == PlanStatus.ROLLED_BACK.value
    after = _state(gcp)
    assert _canonical(after["project"]) == _canonical(before["project"])  # the condition's binding again
    assert {k: _canonical(v) for k, v in after["resources"].items()} == {
        k: _canonical(v) for k, v in before["resources"].items()
    }
    writes = len(gcp.writes())
    again = rollback_plan(engine, ALICE, record.plan.plan_id, connectors=_connectors())
    assert again.plan.status == PlanStatus.ROLLED_BACK.value and len(gcp.writes()) == writes  # no-op


def test_restore_recreates_a_binding_someone_dropped(demo: tuple[Engine, Path], gcp: FakeGcp) -> None:
    engine, export = demo
    role = _project_role(export)
    _conditional(engine, role)
    record = _approved(engine, USER)
    apply_plan(engine, ALICE, record.plan.plan_id, connectors=_connectors())
    gcp.bindings = [b for b in gcp.bindings if b.get("condition") != CONDITION]  # another admin's cleanup
    gcp.generation += 1
    rollback_plan(engine, ALICE, record.plan.plan_id, connectors=_connectors())
    assert {"role": role, "members": [USER], "condition": CONDITION} in gcp.bindings


def test_keys_disabled_and_enabled_again(demo: tuple[Engine, Path], gcp: FakeGcp) -> None:
    engine, _export = demo
    record = _approved(engine, KEYED)
    keys = [s for s in record.steps if s.kind == StepKind.DISABLE_SERVICE_ACCOUNT_KEY.value]
    assert len(keys) == 2
    assert [s.status for s in record.steps if s.kind == StepKind.DELETE_IDENTITY.value] == [
        StepStatus.MANUAL.value
    ]
    account = KEYED.split(":", 1)[1]
    first, second = (keys[0].parameters["keyId"], keys[1].parameters["keyId"])
    gcp.keys[(account, second)]["disabled"] = True  # someone disabled it after the collection
    report = apply_plan(engine, ALICE, record.plan.plan_id, connectors=_connectors())
    assert report.plan.status == PlanStatus.APPLIED.value
    base = f"https://iam.googleapis.com/v1/projects/-/serviceAccounts/{account}/keys"
    assert gcp.writes() == [f"POST {base}/{first}:disable"]  # the disabled one is left as it is
    assert gcp.keys[(account, first)]["disabled"] is True
    gcp.calls.clear()
    rollback_plan(engine, ALICE, record.plan.plan_id, connectors=_connectors())
    assert gcp.writes() == [f"POST {base}/{first}:enable"]
    assert gcp.keys[(account, first)]["disabled"] is False and gcp.keys[(account, second)]["disabled"] is True
    script = plans.plan_script(engine, ALICE, record.plan.plan_id, rollback=True)
    assert f"gcloud iam service-accounts keys enable {first} --iam-account={account}" in script
    assert "stays disabled" in script


def test_a_crash_between_two_steps_is_repaired_by_rollback(demo: tuple[Engine, Path], gcp: FakeGcp) -> None:
    engine, export = demo
    _conditional(engine, _project_role(export))
    record = _approved(engine, USER)
    before = _state(gcp)
    now = datetime.now(UTC)
    with pytest.raises(CrashError):
        apply_plan(engine, ALICE, record.plan.plan_id, connectors=_connectors(2), clock=lambda: now)
    assert not any(USER in b["members"] for b in gcp.bindings)  # both writes reached IAM
    later = now + timedelta(hours=1)
    report = rollback_plan(engine, ALICE, record.plan.plan_id, connectors=_connectors(), clock=lambda: later)
    assert report.plan.status == PlanStatus.ROLLED_BACK.value and len(report.done) == 2
    after = _state(gcp)
    assert _canonical(after["project"]) == _canonical(before["project"])
    assert {k: _canonical(v) for k, v in after["resources"].items()} == {
        k: _canonical(v) for k, v in before["resources"].items()
    }


def test_an_etag_conflict_is_read_again(demo: tuple[Engine, Path], gcp: FakeGcp) -> None:
    engine, export = demo
    _conditional(engine, _project_role(export))
    record = _approved(engine, USER)
    other = {"role": "roles/viewer", "members": ["user:late@example.test"]}
    gcp.interleave.append(other)  # read by capture: another writer changes the policy right after
    gcp.interleave.append(dict(other, members=["user:later@example.test"]))  # and again after apply's read
    report = apply_plan(engine, ALICE, record.plan.plan_id, connectors=_connectors())
    assert report.plan.status == PlanStatus.APPLIED.value
    assert other in gcp.bindings and not any(USER in b["members"] for b in gcp.bindings)
    project = f"https://cloudresourcemanager.googleapis.com/v3/projects/{PROJECT}"
    assert [u for _m, u, _b in gcp.calls if u.startswith(project)] == [
        f"{project}:getIamPolicy",  # capture
        f"{project}:getIamPolicy",
        f"{project}:setIamPolicy",  # 409: the etag read is stale
        f"{project}:getIamPolicy",
        f"{project}:setIamPolicy",
    ]


def test_dry_run_prints_the_calls_and_scripts_quote(demo: tuple[Engine, Path], gcp: FakeGcp) -> None:
    engine, export = demo
    role = _project_role(export)
    _conditional(engine, role)
    record = _approved(engine, USER)
    report = apply_plan(engine, ALICE, record.plan.plan_id, connectors=_connectors(), dry_run=True)
    assert gcp.calls == []
    removes = [s for s in record.steps if s.kind == StepKind.REMOVE_BINDING.value]
    assert len([line for line in report.lines if ":setIamPolicy " in line]) == len(removes)
    assert any(f"projects/{PROJECT}:getIamPolicy" in line for line in report.lines)
    script = plans.plan_script(engine, ALICE, record.plan.plan_id)
    assert f"gcloud projects remove-iam-policy-binding {PROJECT} --member={USER} --role={role}" in script
    assert "gcloud iam service-accounts remove-iam-policy-binding" in script
    assert "condition-from-file" in script and "printf" in script  # the title holds a comma
    apply_plan(engine, ALICE, record.plan.plan_id, connectors=_connectors())
    rollback = plans.plan_script(engine, ALICE, record.plan.plan_id, rollback=True)
    assert rollback.count("add-iam-policy-binding") == len(removes)
    assert "ticket 4711" in rollback  # the description captured from IAM goes back too
    written = [shlex.split(line) for line in rollback.splitlines() if line.startswith("printf ")]
    assert [json.loads(words[2]) for words in written] == [
        {k: CONDITION[k] for k in ("expression", "title", "description")}
    ]  # the expression's quotes and && survive shell quoting
    terraform = plans.plan_terraform(engine, ALICE, record.plan.plan_id)
    assert terraform.count("removed {") == len(removes) and "google_project_iam_member." in terraform
    assert "google_service_account_iam_member." in terraform and "destroy = true" in terraform
