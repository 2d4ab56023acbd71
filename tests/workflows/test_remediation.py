"""Remediation plans on the demo estate, applied in moto (seeded from the export the store imported): the plan's
steps and evidence, approval, apply, the next analysis (finding resolved, PCI lower), exact rollback (the full
IAM state compared), a crash between two steps repaired by rollback and resumed by apply, exclusions, the
minimum observation window, and the generated-policy step."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from permscope.analytics.pci import identity_pci
from permscope.core.bitsets import encode_actions
from permscope.core.errors import NotFoundError
from permscope.core.ids import Cloud
from permscope.core.remediation import (
    PlanAccessError,
    PlanRefusedError,
    PlanStateError,
    PlanStatus,
    RemediationConnector,
    Replacement,
    Safety,
    StepKind,
    StepStatus,
)
from permscope.core.snapshot import AnalysisSettings
from permscope.settings import Settings
from permscope.store.tables import FindingRow, RemediationStepRow
from permscope.workflows.analysis import analyze_system, load_snapshot
from permscope.workflows.remediation import plans
from permscope.workflows.remediation.apply import apply_plan, default_connectors, rollback_plan
from permscope.workflows.requests import local_actor, set_modification
from remediation_support import (
    ACCOUNT,
    iam_state,
    load_demo_account,
    mocked_account,
    open_finding,
    reimport_identity,
    seed_identity,
)

USER = f"arn:aws:iam::{ACCOUNT}:user/tomas.nowak"  # over-provisioned; an unused policy and group grant escalation
# over-provisioned: AmazonS3ReadOnlyAccess of which it reads a few buckets, and two unused groups
SVC = f"arn:aws:iam::{ACCOUNT}:user/service/svc-identity-worker"
S3_READ = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
# over-provisioned through one group only (frontend-auditors), of which it uses a few IAM reads
GROUPED = f"arn:aws:iam::{ACCOUNT}:user/igor.cohen"
GROUP = f"arn:aws:iam::{ACCOUNT}:group/frontend-auditors"
SEARCH_READONLY = f"arn:aws:iam::{ACCOUNT}:group/search-readonly"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/ml-admin"  # over-provisioned: one broad policy, a few actions used
ALICE, BOB = local_actor("alice"), local_actor("bob")
SAFETY = Safety(min_observation_days=7)


@pytest.fixture
def iam(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    yield from mocked_account(monkeypatch)


@pytest.fixture
def demo(engine: Engine, tmp_path: Path) -> Path:
    path = load_demo_account(engine, tmp_path / "estate")
    set_modification(engine, ACCOUNT, True, Cloud.AWS)
    return path


def _plan(engine: Engine, identity: str = USER, **options: Any) -> plans.PlanRecord:
    options.setdefault("safety", SAFETY)
    return plans.create_plan(
        engine, ALICE, cloud=Cloud.AWS, system_id=ACCOUNT, identity_id=identity, **options
    )


def _connectors(**_: Any) -> Any:
    return default_connectors(Settings())


def _open(engine: Engine, subject: str) -> dict[str, int | None]:
    with Session(engine) as session:
        rows = session.execute(
            select(FindingRow).where(FindingRow.subject_id == subject, FindingRow.resolved_at.is_(None))
        ).scalars()
        return {row.fingerprint: row.pci_score for row in rows}


def _pci(engine: Engine, identity: str) -> int:
    _pk, snapshot = load_snapshot(engine, ACCOUNT, AnalysisSettings(), Cloud.AWS)
    return identity_pci(snapshot, identity).score


def test_plan_apply_reanalyze_and_rollback_exactly(
    engine: Engine, demo: Path, iam: Any, tmp_path: Path
) -> None:
    seed_identity(iam, demo, USER)
    record = _plan(engine, generate=False)  # removals only
    plan, steps = record.plan, record.steps
    assert plan.evidence["generation"] == {"requested": False}
    kinds = {(StepKind(s.kind), s.label) for s in steps}
    assert StepKind.PUT_GENERATED_POLICY not in {kind for kind, _label in kinds}
    assert (StepKind.DETACH_MANAGED_POLICY, "growth-catalog-policy-admin") in kinds
    assert (StepKind.REMOVE_FROM_GROUP, "sre-admins") in kinds
    # used grants are kept, with the reason
    kept = {k["target"]: k["reason"] for k in plan.evidence["kept"]}
    assert kept["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"].startswith("used: s3:")
    for step in steps:
        assert step.evidence["lastUsed"] is None and step.evidence["unusedPermissions"] > 0
        assert step.evidence["pciAfter"] <= step.evidence["pciBefore"]
    before_pci = plan.evidence["pciBefore"]["score"]
    assert plan.evidence["pciAfter"]["score"] < before_pci == _pci(engine, USER)
    resolved = {entry["fingerprint"] for entry in plan.evidence["resolves"]}
    assert resolved and resolved <= set(_open(engine, USER))
    diff = plan.evidence["diff"]
    assert diff["grantedAfter"] < diff["grantedBefore"] and diff["services"][0]["removed"]

    with pytest.raises(PlanStateError, match="draft"):
        apply_plan(engine, ALICE, plan.plan_id, connectors=_connectors())
    with pytest.raises(PlanAccessError, match="someone else"):
        plans.approve_plan(engine, ALICE, plan.plan_id)
    plans.approve_plan(engine, BOB, plan.plan_id)

    customer = ["arn:aws:iam::111122223333:policy/growth/growth-catalog-policy-admin"]
    before = iam_state(iam, USER, customer)
    report = apply_plan(engine, ALICE, plan.plan_id, connectors=_connectors())
    assert report.error is None and report.plan.status == PlanStatus.APPLIED.value
    after = iam_state(iam, USER, customer)
    assert customer[0] not in after["attached"] and "sre-admins" not in after["groups"]
    assert "search-readonly" in after["groups"]  # used: kept
    for step in report.steps:
        assert step.status == StepStatus.APPLIED.value and step.prior_state
    # applying again changes nothing (every step is applied)
    again = apply_plan(engine, ALICE, plan.plan_id, connectors=_connectors())
    assert again.done == [] and iam_state(iam, USER, customer) == after

    # the next analysis, with the identity as IAM holds it now: the findings resolve and the PCI falls
    reimport_identity(engine, demo, iam, USER, tmp_path / "again")
    analyze_system(engine, ACCOUNT, cloud=Cloud.AWS)
    assert not resolved & set(_open(engine, USER))
    assert _pci(engine, USER) == plan.evidence["pciAfter"]["score"] < before_pci

    report = rollback_plan(engine, ALICE, plan.plan_id, connectors=_connectors())
    assert report.plan.status == PlanStatus.ROLLED_BACK.value
    assert iam_state(iam, USER, customer) == before
    again = rollback_plan(engine, ALICE, plan.plan_id, connectors=_connectors())  # again: nothing changes
    assert again.done == [] and iam_state(iam, USER, customer) == before


class _CrashError(Exception):
    """The process died."""


def _crashing(after_calls: int) -> Any:
    """Connectors whose `after_calls`-th apply makes its cloud call and then dies before it is recorded."""
    calls = {"n": 0}

    def make(cloud: Cloud, system_id: str, dry_run: bool, echo: Any) -> RemediationConnector:
        inner = default_connectors(Settings())(cloud, system_id, dry_run, echo)

        class Dying:
            def capture(self, *args: Any) -> dict[str, Any]:
                return inner.capture(*args)

            def apply(self, *args: Any) -> None:
                inner.apply(*args)
                calls["n"] += 1
                if calls["n"] == after_calls:
                    raise _CrashError("killed between the cloud call and its record")

            def restore(self, *args: Any) -> list[str]:
                return inner.restore(*args)

        return Dying()

    return make


def _clock(moment: datetime) -> Any:
    return lambda: moment


def test_a_crash_between_steps_is_repaired_by_rollback_and_resumed_by_apply(
    engine: Engine, demo: Path, iam: Any
) -> None:
    seed_identity(iam, demo, USER)
    plan = _plan(engine).plan
    plans.approve_plan(engine, BOB, plan.plan_id)
    before = iam_state(iam, USER)
    now = datetime.now(UTC)
    with pytest.raises(_CrashError):
        apply_plan(engine, ALICE, plan.plan_id, connectors=_crashing(2), clock=_clock(now))
    with Session(engine) as session:
        statuses = [
            s.status
            for s in session.execute(
                select(RemediationStepRow).order_by(RemediationStepRow.ordinal)
            ).scalars()
        ]
    assert statuses[:2] == [StepStatus.APPLIED.value, StepStatus.APPLYING.value]
    assert iam_state(iam, USER) != before  # both calls reached IAM
    # the dead run still holds the plan until its lease runs out
    with pytest.raises(PlanStateError, match="another run holds it"):
        rollback_plan(engine, ALICE, plan.plan_id, connectors=_connectors(), clock=_clock(now))
    later = now + timedelta(hours=1)
    report = rollback_plan(engine, ALICE, plan.plan_id, connectors=_connectors(), clock=_clock(later))
    assert report.plan.status == PlanStatus.ROLLED_BACK.value and report.done == [2, 1]
    assert iam_state(iam, USER) == before

    # the same crash, then apply again resumes where it stopped
    second = _plan(engine).plan
    plans.approve_plan(engine, BOB, second.plan_id)
    with pytest.raises(_CrashError):
        apply_plan(engine, ALICE, second.plan_id, connectors=_crashing(1), clock=_clock(later))
    resumed = apply_plan(
        engine, ALICE, second.plan_id, connectors=_connectors(), clock=_clock(later + timedelta(hours=1))
    )
    assert resumed.plan.status == PlanStatus.APPLIED.value and 1 in resumed.done
    assert all(s.status == StepStatus.APPLIED.value for s in resumed.steps)
    rollback_plan(
        engine, ALICE, second.plan_id, connectors=_connectors(), clock=_clock(later + timedelta(hours=2))
    )
    assert iam_state(iam, USER) == before


def test_a_failed_step_stops_the_apply_and_rollback_repairs_it(engine: Engine, demo: Path, iam: Any) -> None:
    seed_identity(iam, demo, USER)
    plan = _plan(engine).plan
    plans.approve_plan(engine, BOB, plan.plan_id)
    before = iam_state(iam, USER)
    group = "sre-admins"  # someone removed the user from the group, and deleted the group, before the apply
    iam.remove_user_from_group(UserName="tomas.nowak", GroupName=group)
    for attached in iam.list_attached_group_policies(GroupName=group)["AttachedPolicies"]:
        iam.detach_group_policy(GroupName=group, PolicyArn=attached["PolicyArn"])
    for name in iam.list_group_policies(GroupName=group)["PolicyNames"]:
        iam.delete_group_policy(GroupName=group, PolicyName=name)
    iam.delete_group(GroupName=group)
    report = apply_plan(engine, ALICE, plan.plan_id, connectors=_connectors())
    # the membership was already gone: recorded as such, and nothing to restore for it
    assert report.plan.status == PlanStatus.APPLIED.value
    group_step = next(s for s in report.steps if s.label == group)
    assert group_step.prior_state == {"member": False}
    rollback_plan(engine, ALICE, plan.plan_id, connectors=_connectors())
    assert iam_state(iam, USER)["attached"] == before["attached"]


def test_a_generated_policy_replaces_the_broad_grant(
    engine: Engine, demo: Path, iam: Any, tmp_path: Path
) -> None:
    seed_identity(iam, demo, ROLE)
    _pk, snapshot = load_snapshot(engine, ACCOUNT, AnalysisSettings(), Cloud.AWS)
    used = sorted(snapshot.exercised(ROLE))
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": used, "Resource": "*"}]}
    broad = "arn:aws:iam::111122223333:policy/logistics-auth-ec2-operate"
    overprovisioned = {fp for fp in _open(engine, ROLE)}
    record = _plan(
        engine,
        ROLE,
        replacement=Replacement(documents=(("permscope-least-privilege", document),), replaces=(broad,)),
    )
    kinds = [StepKind(s.kind) for s in record.steps]
    assert kinds[:2] == [StepKind.PUT_GENERATED_POLICY, StepKind.DETACH_MANAGED_POLICY]
    assert record.plan.evidence["pciAfter"]["score"] < record.plan.evidence["pciBefore"]["score"]
    resolved = {e["findingType"] for e in record.plan.evidence["resolves"]}
    assert "overprovisionedAwsRoleFinding" in resolved
    plans.approve_plan(engine, BOB, record.plan.plan_id)
    before = iam_state(iam, ROLE, [broad])
    apply_plan(engine, ALICE, record.plan.plan_id, connectors=_connectors())
    after = iam_state(iam, ROLE, [broad])
    assert after["attached"] == [] and list(after["inline"]) == ["permscope-least-privilege"]
    reimport_identity(engine, demo, iam, ROLE, tmp_path / "again")
    analyze_system(engine, ACCOUNT, cloud=Cloud.AWS)
    assert overprovisioned - set(_open(engine, ROLE))  # the over-provisioned finding resolved
    rollback_plan(engine, ALICE, record.plan.plan_id, connectors=_connectors())
    assert iam_state(iam, ROLE, [broad]) == before


def test_exclusions_windows_and_roles(engine: Engine, demo: Path) -> None:
    with pytest.raises(PlanRefusedError, match="excluded tag 'team=security'"):
        _plan(engine, safety=Safety(min_observation_days=7, exclude_tags=("team=security",)))
    with pytest.raises(PlanRefusedError, match="matches the exclusion"):
        _plan(engine, safety=Safety(min_observation_days=7, exclude_identities=("*:user/tomas.*",)))
    with pytest.raises(PlanRefusedError, match="minimum observation window"):
        _plan(engine, window_days=3)
    with pytest.raises(PlanRefusedError, match="has been observed for"):
        _plan(engine, window_days=3000, safety=Safety(min_observation_days=3000))
    # a role tagged break-glass is excluded by default
    with Session(engine) as session, session.begin():
        from permscope.store.tables import IdentityRow

        row = session.execute(select(IdentityRow).where(IdentityRow.external_id == ROLE)).scalar_one()
        row.attributes = {**row.attributes, "tags": {"permscope:break-glass": "true"}}
    with pytest.raises(PlanRefusedError, match="permscope:break-glass"):
        _plan(engine, ROLE)
    # only administrators plan; only approvers approve
    from permscope.core.requests import SystemRole
    from permscope.workflows.apikeys import ApiPrincipal, ApiRole, KeyScope

    viewer = ApiPrincipal(
        key_id="", name="v", role=ApiRole.SCOPED, scopes=(KeyScope(SystemRole.VIEWER, "aws", ACCOUNT),)
    )
    with pytest.raises(PlanAccessError, match="administrator"):
        plans.create_plan(engine, viewer, cloud=Cloud.AWS, system_id=ACCOUNT, identity_id=USER, safety=SAFETY)
    record = _plan(engine)
    with pytest.raises(PlanAccessError, match="the administrator or approver role"):
        plans.approve_plan(engine, viewer, record.plan.plan_id)


def test_recent_use_protects_a_grant_outside_the_window(engine: Engine, demo: Path) -> None:
    wide = _plan(engine)  # 90 days: the unused group and policy are removed
    assert len([s for s in wide.steps]) >= 2
    # with a window of 30 days and 90 days of protection, what was used 30 to 90 days ago still stays
    short = _plan(engine, window_days=30, safety=Safety(min_observation_days=7, protect_recent_days=90))
    assert {s.target for s in short.steps} <= {s.target for s in wide.steps}


def test_a_cloud_without_rules_answers_not_built(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    from permscope.clouds.gcp.plugin import GcpPlugin
    from permscope.core.errors import CloudNotBuiltError

    monkeypatch.setattr(GcpPlugin, "remediation", property(lambda _self: None))
    with pytest.raises(CloudNotBuiltError, match="remediation plans"):
        plans.create_plan(engine, ALICE, cloud=Cloud.GCP, system_id="x", identity_id="y")


def test_idle_access_keys_are_deactivated_never_deleted(engine: Engine, demo: Path, iam: Any) -> None:
    from permscope.store.tables import AuthorizationSystemRow, IdentityRow

    seed_identity(iam, demo, USER)
    idle = iam.create_access_key(UserName="tomas.nowak")["AccessKey"]["AccessKeyId"]
    recent = iam.create_access_key(UserName="tomas.nowak")["AccessKey"]["AccessKeyId"]
    now = datetime.now(UTC)
    with (
        Session(engine) as session,
        session.begin(),
    ):  # the keys as a collection with ListAccessKeys stores them
        pk = session.execute(
            select(AuthorizationSystemRow.id).where(AuthorizationSystemRow.system_id == ACCOUNT)
        ).scalar_one()
        for key, used in ((idle, now - timedelta(days=400)), (recent, now - timedelta(days=3))):
            session.add(
                IdentityRow(
                    system_pk=pk,
                    external_id=key,
                    kind="accessKey",
                    display_name=key,
                    source="aws",
                    created_at=now - timedelta(days=500),
                    last_active_at=used,
                    managed_by_cloud=False,
                    attributes={"owner": USER, "ownerName": "tomas.nowak", "status": "Active"},
                    digest="test",
                )
            )
    record = _plan(engine)
    keys = [s for s in record.steps if s.kind == StepKind.DEACTIVATE_ACCESS_KEY.value]
    assert [s.target for s in keys] == [idle] and keys[0].evidence["lastUsed"].startswith(
        (now - timedelta(days=400)).date().isoformat()
    )
    kept = {k["target"]: k["reason"] for k in record.plan.evidence["kept"]}
    assert kept[recent].startswith("used or created since")
    plans.approve_plan(engine, BOB, record.plan.plan_id)
    apply_plan(engine, ALICE, record.plan.plan_id, connectors=_connectors())
    assert iam_state(iam, USER)["keys"] == {idle: "Inactive", recent: "Active"}
    rollback_plan(engine, ALICE, record.plan.plan_id, connectors=_connectors())
    assert iam_state(iam, USER)["keys"] == {idle: "Active", recent: "Active"}


def test_a_plan_for_an_overprovisioned_finding_generates_applies_resolves_and_rolls_back(
    engine: Engine, demo: Path, iam: Any, tmp_path: Path
) -> None:
    """The issue's "done when" for AWS: from the over-provisioned finding, a plan with the generated policy in
    place of the broad grant it used; its diff; approval; apply in moto; the next analysis; exact rollback."""
    seed_identity(iam, demo, SVC)
    finding = open_finding(engine, "overprovisionedUserFinding", SVC)
    pci_before = _pci(engine, SVC)
    record = plans.create_plan_for_finding(engine, ALICE, fingerprint=finding.fingerprint, safety=SAFETY)
    plan, steps = record.plan, record.steps
    evidence = plan.evidence
    assert plan.identity_external_id == SVC
    assert evidence["finding"]["fingerprint"] == finding.fingerprint and evidence["finding"]["resolved"]
    # the generated policy first, then the broad grant it replaces, then the unused grants
    put, replaced = steps[0], steps[1]
    assert (
        StepKind(put.kind) is StepKind.PUT_GENERATED_POLICY
        and put.label == "permscope-least-privilege-svc-identity-worker"
    )
    assert StepKind(replaced.kind) is StepKind.DETACH_MANAGED_POLICY and replaced.target == S3_READ
    assert replaced.evidence["replacedByGenerated"] and replaced.evidence["unusedPermissions"] > 0
    assert {s.label for s in steps[2:]} == {"mobile-analysts", "search-engineers"}
    generation = evidence["generation"]
    assert generation["used"] and generation["replaces"] == [S3_READ]
    assert generation["observed"] == generation["allowed"] > 0  # the engine allowed every observation
    widening = generation["widening"]
    assert widening["grantedActions"] == widening["observedActions"] and widening["unobservedActions"] == 0
    assert put.evidence["generated"]["observed"] == generation["observed"] and put.evidence["replaces"] == [
        S3_READ
    ]
    document = put.parameters["document"]
    statements = document["Statement"]
    assert all(action.startswith("s3:") for s in statements for action in _actions(s))
    # the diff: s3 falls from every read action to the few used, nothing is added
    diff = evidence["diff"]
    s3 = next(entry for entry in diff["services"] if entry["service"] == "s3")
    assert 0 < s3["after"] < s3["before"] and diff["addedActions"] == encode_actions(0)
    assert evidence["pciAfter"]["score"] < evidence["pciBefore"]["score"] == pci_before
    assert finding.fingerprint in {entry["fingerprint"] for entry in evidence["resolves"]}
    # the scripts carry the document
    script = plans.plan_script(engine, ALICE, plan.plan_id)
    assert (
        "aws iam put-user-policy --user-name svc-identity-worker --policy-name permscope-least-privilege-svc-identity-worker"
        in script
    )
    assert json.dumps(statements[0]["Sid"]) in script
    terraform = plans.plan_terraform(engine, ALICE, plan.plan_id)
    assert 'resource "aws_iam_user_policy" "svc_identity_worker_generated_0"' in terraform
    assert '"permscope-least-privilege-svc-identity-worker"' in terraform and S3_READ not in terraform

    plans.approve_plan(engine, BOB, plan.plan_id)
    before = iam_state(iam, SVC, [])
    report = apply_plan(engine, ALICE, plan.plan_id, connectors=_connectors())
    assert report.error is None and report.plan.status == PlanStatus.APPLIED.value
    after = iam_state(iam, SVC, [])
    assert after["attached"] == [] and after["groups"] == []
    assert json.loads(after["inline"]["permscope-least-privilege-svc-identity-worker"]) == document

    reimport_identity(engine, demo, iam, SVC, tmp_path / "again")
    analyze_system(engine, ACCOUNT, cloud=Cloud.AWS)
    assert finding.fingerprint not in _open(engine, SVC)  # the over-provisioned finding resolved
    assert _pci(engine, SVC) == evidence["pciAfter"]["score"] < pci_before

    report = rollback_plan(engine, ALICE, plan.plan_id, connectors=_connectors())
    assert report.plan.status == PlanStatus.ROLLED_BACK.value
    assert iam_state(iam, SVC, []) == before


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def test_a_refused_generation_leaves_the_plan_without_replacement(engine: Engine, demo: Path) -> None:
    # 90 days of observation asked: the logs cannot cover the whole window (the plan itself may be made)
    record = _plan(engine, SVC, safety=Safety(min_observation_days=90))
    generation = record.plan.evidence["generation"]
    assert generation["requested"] and not generation["used"]
    assert generation["reason"].startswith("generation refused: the activity logs of AWS account")
    assert "at least 90 are needed" in generation["reason"] and generation["candidates"] == [S3_READ]
    kinds = {StepKind(s.kind) for s in record.steps}
    assert StepKind.PUT_GENERATED_POLICY not in kinds
    kept = {k["target"]: k["reason"] for k in record.plan.evidence["kept"]}
    assert kept[S3_READ].startswith("used: s3:")
    # without generation the same plan, and no generation evidence beyond "not asked"
    plain = _plan(engine, SVC, generate=False)
    assert plain.plan.evidence["generation"] == {"requested": False}
    assert [s.target for s in plain.steps] == [s.target for s in record.steps]


def test_replace_all_and_what_the_identity_does_not_hold(engine: Engine, demo: Path) -> None:
    # tomas.nowak: AmazonS3ReadOnlyAccess and his used group search-readonly hold unused actions: both replaced
    record = _plan(engine, USER)
    generation = record.plan.evidence["generation"]
    assert generation["used"] and generation["replaces"] == [SEARCH_READONLY, S3_READ]
    assert not record.plan.evidence["kept"]
    removed = [s.target for s in record.steps if s.evidence.get("replacedByGenerated")]
    assert sorted(removed) == [SEARCH_READONLY, S3_READ]
    # a replacement granting an action the identity does not hold today is not used, and the plan says why
    _pk, snapshot = load_snapshot(engine, ACCOUNT, AnalysisSettings(), Cloud.AWS)
    used = sorted(snapshot.exercised(USER))
    wider = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": [*used, "iam:CreateUser"],
                                                     "Resource": "*"}]}  # fmt: skip
    record = _plan(engine, USER, replacement=Replacement(documents=(("lp", wider),), replaces=(S3_READ,)))
    generation = record.plan.evidence["generation"]
    assert not generation["used"] and "does not hold today (iam:CreateUser)" in generation["reason"]
    assert StepKind.PUT_GENERATED_POLICY not in {StepKind(s.kind) for s in record.steps}


def test_plans_per_finding_need_an_identity(engine: Engine, demo: Path) -> None:
    external = open_finding(engine, "awsExternalSystemAccessFinding")
    with pytest.raises(PlanRefusedError, match="remediation plans are made per identity"):
        plans.create_plan_for_finding(engine, ALICE, fingerprint=external.fingerprint, safety=SAFETY)
    group = open_finding(engine, "inactiveGroupFinding")
    with pytest.raises(PlanRefusedError, match="is about the group"):
        plans.create_plan_for_finding(engine, ALICE, fingerprint=group.fingerprint, safety=SAFETY)
    with pytest.raises(NotFoundError, match="no finding"):
        plans.create_plan_for_finding(engine, ALICE, fingerprint="0" * 64, safety=SAFETY)
    # a finding about a user plans for that user, without generation when asked
    escalation = open_finding(engine, "privilegeEscalationUserFinding", USER)
    record = plans.create_plan_for_finding(
        engine, ALICE, fingerprint=escalation.fingerprint, safety=SAFETY, generate=False
    )
    assert record.plan.identity_external_id == USER
    assert record.plan.evidence["finding"] == {
        "fingerprint": escalation.fingerprint,
        "findingType": "privilegeEscalationUserFinding",
        "subjectId": USER,
        "subjectName": "tomas.nowak",
        "summary": escalation.summary,
        "resolved": True,
    }


def test_a_used_group_is_replaced_by_the_generated_policy(
    engine: Engine, demo: Path, iam: Any, tmp_path: Path
) -> None:
    """A user whose only broad access is a group it uses: the generated policy is put, the membership removed,
    the over-provisioned finding resolved on the next analysis, and rollback puts the user back in the group."""
    seed_identity(iam, demo, GROUPED)
    finding = open_finding(engine, "overprovisionedUserFinding", GROUPED)
    with pytest.raises(PlanRefusedError, match=r"nothing of .* can be removed"):  # without generation
        _plan(engine, GROUPED, generate=False)
    record = plans.create_plan_for_finding(engine, ALICE, fingerprint=finding.fingerprint, safety=SAFETY)
    plan, steps = record.plan, record.steps
    assert [(StepKind(s.kind), s.target) for s in steps] == [
        (StepKind.PUT_GENERATED_POLICY, "permscope-least-privilege-igor.cohen"),
        (StepKind.REMOVE_FROM_GROUP, GROUP),
    ]
    removal = steps[1].evidence
    assert removal["replacedByGenerated"] and removal["usedActions"] > 0 and removal["unusedPermissions"] > 0
    generation = plan.evidence["generation"]
    assert generation["used"] and generation["replaces"] == [GROUP] and generation["candidates"] == [GROUP]
    assert generation["observed"] == generation["allowed"] > 0
    assert plan.evidence["finding"]["resolved"] and plan.evidence["diff"]["addedActions"] == encode_actions(0)
    assert plan.evidence["pciAfter"]["score"] < plan.evidence["pciBefore"]["score"]
    script = plans.plan_script(engine, ALICE, plan.plan_id)
    assert "aws iam remove-user-from-group --user-name igor.cohen --group-name frontend-auditors" in script

    plans.approve_plan(engine, BOB, plan.plan_id)
    group_policies = iam.list_attached_group_policies(GroupName="frontend-auditors")["AttachedPolicies"]
    before = iam_state(iam, GROUPED)
    assert before["groups"] == ["frontend-auditors"]
    report = apply_plan(engine, ALICE, plan.plan_id, connectors=_connectors())
    assert report.error is None and report.plan.status == PlanStatus.APPLIED.value
    after = iam_state(iam, GROUPED)
    assert after["groups"] == [] and after["attached"] == before["attached"]
    document = steps[0].parameters["document"]
    assert json.loads(after["inline"]["permscope-least-privilege-igor.cohen"]) == document
    assert report.steps[1].prior_state == {"member": True}

    reimport_identity(engine, demo, iam, GROUPED, tmp_path / "again")
    analyze_system(engine, ACCOUNT, cloud=Cloud.AWS)
    assert finding.fingerprint not in _open(engine, GROUPED)  # the over-provisioned finding resolved

    rollback_plan(engine, ALICE, plan.plan_id, connectors=_connectors())
    assert iam_state(iam, GROUPED) == before  # back in the group, the generated policy gone
    assert (
        iam.list_attached_group_policies(GroupName="frontend-auditors")["AttachedPolicies"] == group_policies
    )


def test_every_overprovisioned_user_and_role_of_the_demo_gets_a_plan_that_resolves_it(
    engine: Engine, demo: Path
) -> None:
    """Policies and used groups replaced: each over-provisioned user's or role's plan resolves its finding (the
    group-only users among them had no plan at all before memberships could be replaced)."""
    types = ("overprovisionedUserFinding", "overprovisionedAwsRoleFinding")
    with Session(engine) as session:
        found = session.execute(
            select(FindingRow.fingerprint, FindingRow.subject_id).where(
                FindingRow.finding_type.in_(types), FindingRow.resolved_at.is_(None)
            )
        ).all()
    assert len(found) >= 10
    unresolved = []
    for fingerprint, subject in found:
        record = plans.create_plan_for_finding(engine, ALICE, fingerprint=fingerprint, safety=SAFETY)
        if not record.plan.evidence["finding"]["resolved"]:
            unresolved.append(subject)
    assert unresolved == []
