"""Autopilot rules on the demo estate, applied in moto: a proposed rule does not run; its author cannot accept it;
once accepted, a run plans and applies for the matched identities (IAM shows the grants gone), leaves unmatched
and excluded identities untouched, raises a `remediation.autoApplied` alert delivered to a loopback webhook, and
records the run; a second run changes nothing; rollback of an auto-applied plan restores IAM exactly; a dry run
applies nothing; a system without modification enabled is skipped; the scheduler's autopilot task runs it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from alert_support import WebhookReceiver
from permscope.core.autopilot import ItemOutcome, RuleState, check_spec
from permscope.core.errors import InputError, NotFoundError, PermscopeError
from permscope.core.ids import Cloud
from permscope.core.remediation import PlanAccessError, PlanStateError, PlanStatus, Safety
from permscope.core.schedules import ScheduleTask, Timing
from permscope.settings import Settings
from permscope.store import autopilot as autopilot_store
from permscope.store.tables import AlertRow, AuthorizationSystemRow, AutopilotRuleRow, RemediationPlanRow
from permscope.workflows import alert_rules
from permscope.workflows.apikeys import ApiPrincipal, ApiRole, KeyScope
from permscope.workflows.remediation import autopilot_rules as rules
from permscope.workflows.remediation import plans as plans_module
from permscope.workflows.remediation.apply import default_connectors, rollback_plan
from permscope.workflows.remediation.autopilot import RunContext, run_rule
from permscope.workflows.remediation.plans import PLANNED_KINDS as PLANNED
from permscope.workflows.remediation.plans import create_plan, load_system_inputs, plan_identity
from permscope.workflows.requests import local_actor, set_modification
from permscope.workflows.scheduler import Scheduler
from permscope.workflows.schedules import NewSchedule, add_schedule
from remediation_support import ACCOUNT, iam_state, load_demo_account, mocked_account, seed_identity

USER = f"arn:aws:iam::{ACCOUNT}:user/tomas.nowak"  # unused policy and group: removed
SVC = f"arn:aws:iam::{ACCOUNT}:user/service/svc-identity-worker"  # matched, but excluded by the settings
ROLE = f"arn:aws:iam::{ACCOUNT}:role/ml-admin"  # not matched by the rule
CUSTOMER = f"arn:aws:iam::{ACCOUNT}:policy/growth/growth-catalog-policy-admin"
ALICE, BOB = local_actor("alice"), local_actor("bob")
SECRET = "autopilot-webhook-secret"


def _settings() -> Settings:
    return Settings(
        database_url="sqlite://",
        remediation_min_observation_days=7,
        remediation_exclude_identities=["*:user/service/*"],
    )


@pytest.fixture
def iam(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    yield from mocked_account(monkeypatch)


@pytest.fixture
def demo(engine: Engine, tmp_path: Path, iam: Any) -> Path:
    path = load_demo_account(engine, tmp_path / "estate")
    set_modification(engine, ACCOUNT, True, Cloud.AWS)
    for arn in (USER, SVC, ROLE):
        seed_identity(iam, path, arn)
    return path


def _rule(engine: Engine, name: str = "idle users") -> str:
    spec = check_spec(
        name,
        [f"aws:{ACCOUNT}"],
        ["*:user/tomas.nowak", "*:user/service/svc-identity-worker"],
        kinds=["user"],
        unused_days=90,
    )
    return rules.add_rule(engine, ALICE, spec, settings=_settings()).rule_id


def _context(dry_run: bool = False, run_by: str = "alice") -> RunContext:
    settings = _settings()
    return RunContext(settings, default_connectors(settings), lambda: datetime.now(UTC), dry_run, run_by)


def _state(iam: Any) -> dict[str, Any]:
    return {arn: iam_state(iam, arn, [CUSTOMER]) for arn in (USER, SVC, ROLE)}


def _plans(engine: Engine) -> list[RemediationPlanRow]:
    with Session(engine) as session:
        return list(session.execute(select(RemediationPlanRow).order_by(RemediationPlanRow.id)).scalars())


def test_a_rule_runs_only_once_accepted_by_another_person_and_applies_reversibly(
    engine: Engine, demo: Path, iam: Any
) -> None:
    with WebhookReceiver(SECRET) as receiver:
        settings = _settings()
        now = datetime.now(UTC)
        alert_rules.add_webhook_channel(engine, settings, "hook", receiver.url, SECRET, "admin", now)
        alert_rules.add_rule(
            engine, alert_rules.RuleSpec("auto", ["remediation.autoApplied"], channels=["hook"]), "admin", now
        )
        rule_id = _rule(engine)
        before = _state(iam)
        with pytest.raises(PlanStateError, match="proposed"):
            run_rule(engine, ALICE, rule_id, _context())
        with pytest.raises(PlanAccessError, match="someone else"):
            rules.accept_rule(engine, ALICE, rule_id)
        viewer = ApiPrincipal(key_id="k", name="vic", role=ApiRole.VIEWER)
        with pytest.raises(PlanAccessError):
            rules.accept_rule(engine, viewer, rule_id)
        assert rules.get_rule(engine, viewer, rule_id).state == RuleState.PROPOSED.value
        assert _plans(engine) == [] and _state(iam) == before

        accepted = rules.accept_rule(engine, BOB, "idle users")
        assert (accepted.state, accepted.accepted_by) == (RuleState.ACCEPTED.value, "bob")
        with pytest.raises(PlanAccessError):
            run_rule(engine, viewer, rule_id, _context())
        run = run_rule(engine, ALICE, rule_id, _context())
        assert (run.status, run.made, run.applied, run.failed) == ("succeeded", 1, 1, 0)
        by_identity = {item["identity"]: item for item in run.items}
        assert set(by_identity) == {USER, SVC}  # the role is not matched
        assert by_identity[USER]["outcome"] == ItemOutcome.APPLIED.value
        assert by_identity[SVC]["outcome"] == ItemOutcome.SKIPPED.value
        assert "excluded" in by_identity[SVC]["reason"]

        after = _state(iam)
        assert CUSTOMER not in after[USER]["attached"] and "sre-admins" not in after[USER]["groups"]
        assert after[SVC] == before[SVC] and after[ROLE] == before[ROLE]
        (plan,) = _plans(engine)
        assert plan.status == PlanStatus.APPLIED.value and plan.plan_id == by_identity[USER]["planId"]
        assert plan.created_by == "autopilot:idle users" and plan.approved_by == "bob"
        assert plan.evidence["autopilot"] == {"ruleId": rule_id, "name": "idle users", "acceptedBy": "bob"}

        report = Scheduler(engine, settings=settings).run_once(schedules=False)
        assert report.alerts_sent == 1
        (hook,) = receiver.received
        facts = hook.body["permscope"]
        assert hook.verified and facts["kind"] == "remediation.autoApplied" and facts["subjectId"] == USER
        assert facts["evidence"]["planId"] == plan.plan_id and facts["evidence"]["acceptedBy"] == "bob"

    again = run_rule(engine, ALICE, rule_id, _context())  # right after: nothing new
    assert (again.made, again.applied, again.failed) == (0, 0, 0)
    assert "applied after the last collection" in {i["identity"]: i for i in again.items}[USER]["reason"]
    assert len(_plans(engine)) == 1 and _state(iam) == after
    listed = rules.list_runs(engine, ALICE, "idle users")
    assert [view.run.run_id for view in listed] == [again.run_id, run.run_id]

    rolled = rollback_plan(engine, ALICE, plan.plan_id, connectors=default_connectors(_settings()))
    assert rolled.plan.status == PlanStatus.ROLLED_BACK.value and _state(iam) == before
    third = run_rule(engine, ALICE, rule_id, _context())  # a rollback is not undone by the rule
    assert third.applied == 0 and "rolled back" in {i["identity"]: i for i in third.items}[USER]["reason"]
    assert _state(iam) == before

    rules.disable_rule(engine, ALICE, rule_id)
    with pytest.raises(PlanStateError, match="disabled"):
        run_rule(engine, ALICE, rule_id, _context())
    with Session(engine) as session:
        assert session.execute(select(AlertRow)).scalars().all()


def _collected(engine: Engine, moment: datetime | None) -> datetime | None:
    """Set the account's last collection time; the one it had."""
    with Session(engine) as session, session.begin():
        row = session.execute(
            select(AuthorizationSystemRow).where(AuthorizationSystemRow.system_id == ACCOUNT)
        ).scalar_one()
        earlier, row.last_collection_at = row.last_collection_at, moment
        return earlier


def test_a_dry_run_drafts_and_a_real_run_applies_those_drafts(engine: Engine, demo: Path, iam: Any) -> None:
    rule_id = _rule(engine)
    rules.accept_rule(engine, BOB, rule_id)
    before = _state(iam)
    dry = run_rule(engine, ALICE, rule_id, _context(dry_run=True))
    assert (dry.dry_run, dry.made, dry.applied) == (True, 1, 0)
    (plan,) = _plans(engine)
    assert plan.status == PlanStatus.DRAFT.value and plan.evidence["autopilot"]["acceptedBy"] == "bob"
    assert _state(iam) == before
    again = run_rule(engine, ALICE, rule_id, _context(dry_run=True))  # the draft waits: nothing new
    assert (again.made, again.applied) == (0, 0) and len(_plans(engine)) == 1
    collected = _collected(engine, plan.created_at + timedelta(seconds=1))  # a collection after the draft
    stale = run_rule(engine, ALICE, rule_id, _context())
    assert (
        stale.applied == 0
        and "before the last collection" in {i["identity"]: i for i in stale.items}[USER]["reason"]
    )
    assert _state(iam) == before
    _collected(engine, collected)
    real = run_rule(engine, ALICE, rule_id, _context())
    assert (real.made, real.applied) == (0, 1)
    (plan,) = _plans(engine)
    assert plan.status == PlanStatus.APPLIED.value and plan.approved_by == "bob"
    assert CUSTOMER not in _state(iam)[USER]["attached"]


def test_modification_disabled_is_skipped_and_rules_are_checked(engine: Engine, demo: Path, iam: Any) -> None:
    set_modification(engine, ACCOUNT, False, Cloud.AWS)
    rule_id = _rule(engine)
    rules.accept_rule(engine, BOB, rule_id)
    before = _state(iam)
    run = run_rule(engine, ALICE, rule_id, _context())
    (item,) = run.items
    assert item["outcome"] == "skipped" and "modification is not enabled" in item["reason"]
    assert _plans(engine) == [] and _state(iam) == before
    with Session(engine) as session, session.begin():  # another run holds the rule
        held = session.execute(select(AutopilotRuleRow)).scalar_one()
        held.locked_by, held.locked_until = "elsewhere", datetime.now(UTC) + timedelta(minutes=5)
    with pytest.raises(PlanStateError, match="in progress"):
        run_rule(engine, ALICE, rule_id, _context())

    with pytest.raises(InputError, match="name"):
        _rule(engine)  # the name is taken
    with pytest.raises(InputError) as caught:
        rules.add_rule(
            engine, ALICE, check_spec("short", [f"aws:{ACCOUNT}"], ["*"], unused_days=3), settings=_settings()
        )
    assert caught.value.source == "unusedDays"
    scoped = ApiPrincipal(
        key_id="k", name="sam", role=ApiRole.SCOPED, scopes=(KeyScope.parse(f"administrator:aws:{ACCOUNT}"),)
    )
    with pytest.raises(PlanAccessError):  # an administrator of one account writes no rule over every account
        rules.add_rule(engine, scoped, check_spec("all", ["aws:*"], ["*"]), settings=_settings())
    with pytest.raises(NotFoundError):
        rules.get_rule(engine, ApiPrincipal(key_id="k", name="x", role=ApiRole.SCOPED), rule_id)


def test_the_scheduler_autopilot_task_runs_accepted_rules(engine: Engine, demo: Path, iam: Any) -> None:
    rule_id = _rule(engine)
    rules.accept_rule(engine, BOB, rule_id)
    start = datetime.now(UTC)
    with pytest.raises(InputError, match="scope"):
        add_schedule(
            engine,
            NewSchedule(
                name="bad",
                task=ScheduleTask.AUTOPILOT,
                timing=Timing(interval=timedelta(hours=1)),
                cloud="aws",
            ),
            created_by="alice",
            now=start,
        )
    add_schedule(
        engine,
        NewSchedule(
            name="autopilot hourly", task=ScheduleTask.AUTOPILOT, timing=Timing(interval=timedelta(hours=1))
        ),
        created_by="alice",
        now=start,
    )
    moment = {"now": start + timedelta(hours=1, minutes=1)}
    scheduler = Scheduler(engine, settings=_settings(), clock=lambda: moment["now"])
    report = scheduler.run_once()
    assert report.schedule_runs == ["autopilot hourly: succeeded"], report.schedule_errors
    (view,) = rules.list_runs(engine, ALICE, rule_id)
    assert view.run.run_by == "schedule autopilot hourly" and view.run.applied == 1
    assert CUSTOMER not in iam_state(iam, USER, [CUSTOMER])["attached"]


def _plan_facts(record: Any) -> tuple[Any, ...]:
    """A stored plan without its id: who it is for, its evidence and steps."""
    plan = record.plan
    steps = [
        (s.kind, s.principal, s.target, s.label, s.parameters, s.evidence, s.status) for s in record.steps
    ]
    facts = (plan.cloud, plan.system_id, plan.identity_external_id, plan.identity_name, plan.window_days)
    return (*facts, plan.created_at, plan.evidence, steps)


def _planned(make: Any, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
    try:
        return _plan_facts(make(*args, **kwargs))
    except PermscopeError as exc:
        return ("refused", type(exc).__name__, str(exc))


def test_plans_from_inputs_read_once_are_those_create_plan_makes(engine: Engine, demo: Path) -> None:
    now = datetime.now(UTC)
    with Session(engine) as session:
        system = session.execute(
            select(AuthorizationSystemRow).where(AuthorizationSystemRow.system_id == ACCOUNT)
        ).scalar_one()
        identities = [
            row[0] for row in autopilot_store.identities_of(session, system.id) if row[2] in PLANNED
        ]
    safety = Safety(min_observation_days=7, protect_recent_days=30, exclude_identities=("*:user/service/*",))
    loaded = load_system_inputs(engine, ALICE, cloud=Cloud.AWS, system_id=ACCOUNT, window_days=90, now=now)
    made = refused = 0
    for identity in identities:
        alone = _planned(
            create_plan,
            engine,
            ALICE,
            cloud=Cloud.AWS,
            system_id=ACCOUNT,
            identity_id=identity,
            window_days=90,
            safety=safety,
            now=now,
        )
        shared = _planned(plan_identity, engine, ALICE, loaded, identity_id=identity, safety=safety)
        assert shared == alone, identity
        made, refused = (made + 1, refused) if alone[0] != "refused" else (made, refused + 1)
    assert made >= 3 and refused >= 1  # both ways were compared, plans and refusals


def test_a_run_reads_each_system_once(engine: Engine, demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    loads: list[str] = []
    real = plans_module.load_snapshot

    def counted(*args: Any, **kwargs: Any) -> Any:
        loads.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(plans_module, "load_snapshot", counted)
    spec = check_spec("every user", [f"aws:{ACCOUNT}"], ["*"], kinds=["user"], unused_days=90)
    rule_id = rules.add_rule(engine, ALICE, spec, settings=_settings()).rule_id
    rules.accept_rule(engine, BOB, rule_id)
    run = run_rule(engine, ALICE, rule_id, _context(dry_run=True))
    assert run.made >= 3 and loads == [ACCOUNT]
