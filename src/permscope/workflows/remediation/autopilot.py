"""Running an autopilot rule: for each identity of its systems that it matches, plan with the ordinary planner
(the rule's N as the window and the recent-use protection, the global exclusions and minimum observation window),
record the plan as made by the rule and approved by the rule's acceptor, apply it through the cloud's connector,
raise a `remediation.autoApplied` alert signal, and record the run (docs/remediation.md, "Autopilot rules").

An identity is left alone, with the reason, when it already has an open plan (draft, approved, applying,
rolling back, failed) other than the rule's own draft or approved one (which a real run approves and applies),
when a plan of the rule was rolled back (a person undid it: the rule does not redo it), or when a plan applied
since the system's last collection is not yet seen by the inventory; a second run right after therefore changes
nothing. A dry run makes the plans as drafts and applies nothing. One run of a rule at a time (a lease on it).
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from permscope.core.autopilot import AUTOPILOT_PREFIX, ItemOutcome, RuleState, RunItem, tags_of
from permscope.core.errors import CloudNotBuiltError, NotFoundError, PermscopeError
from permscope.core.findings import Severity
from permscope.core.ids import Cloud
from permscope.core.remediation import PlanAccessError, PlanRefusedError, PlanStateError, PlanStatus
from permscope.core.signals import Signal, SignalKind
from permscope.settings import Settings
from permscope.store import autopilot as store
from permscope.store.requests import find_system_row
from permscope.store.tables import (
    AuthorizationSystemRow,
    AutopilotRuleRow,
    AutopilotRunRow,
    RemediationPlanRow,
)
from permscope.workflows.alerts import record_and_evaluate
from permscope.workflows.apikeys import ApiPrincipal
from permscope.workflows.remediation.apply import ConnectorFactory, apply_plan
from permscope.workflows.remediation.autopilot_rules import (
    get_rule,
    holds,
    match_of,
    rule_actor,
    scopes_of,
)
from permscope.workflows.remediation.plans import (
    ADMINISTERING,
    SystemInputs,
    load_system_inputs,
    not_built,
    plan_identity,
    safety_of,
)

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
# plans that make the rule leave an identity alone (besides its own draft or approved plans, which it finishes)
OPEN = frozenset(
    {
        PlanStatus.DRAFT.value,
        PlanStatus.APPROVED.value,
        PlanStatus.APPLYING.value,
        PlanStatus.ROLLING_BACK.value,
        PlanStatus.FAILED.value,
    }
)
FINISHABLE = frozenset({PlanStatus.DRAFT.value, PlanStatus.APPROVED.value})


@dataclass(frozen=True, slots=True)
class RunContext:
    """What a run is given: settings (safety, lease), connectors, a clock, dry or not, who runs it."""

    settings: Settings
    connectors: ConnectorFactory
    clock: Clock
    dry_run: bool
    run_by: str


class LeaseLostError(PermscopeError):
    """Another run of the rule took it over: this run stops (what it did is recorded)."""


def _systems(session: Session, rule: AutopilotRuleRow) -> list[AuthorizationSystemRow]:
    """The stored systems the rule covers, by cloud then id."""
    found: dict[int, AuthorizationSystemRow] = {}
    for scope in scopes_of(rule):
        if scope.system_id != "*":
            row = find_system_row(session, scope.cloud, scope.system_id)
            rows = [row] if row is not None else []
        else:
            stmt = select(AuthorizationSystemRow).where(AuthorizationSystemRow.cloud == scope.cloud)
            rows = list(session.execute(stmt).scalars())
        found.update({row.id: row for row in rows})
    return sorted(found.values(), key=lambda row: (row.cloud, row.system_id))


def _left_alone(
    rule: AutopilotRuleRow, plans: list[RemediationPlanRow], collected: datetime | None, dry_run: bool
) -> tuple[str | None, RemediationPlanRow | None]:
    """Why the identity is left alone (None: plan it), or its plan of this rule that the run finishes."""
    author = AUTOPILOT_PREFIX + rule.name
    for plan in plans:  # newest first
        own = plan.created_by == author
        if plan.status in FINISHABLE and own and not dry_run:
            if collected is not None and plan.created_at < collected:
                return (
                    f"plan {plan.plan_id} of this rule ({plan.status}) was made before the last collection: "
                    "a person reviews it (remediation show, approve, apply) before it is applied",
                    None,
                )
            return None, plan
        if plan.status in OPEN:
            return f"plan {plan.plan_id} is {plan.status}", None
        if own and plan.status == PlanStatus.ROLLED_BACK.value:
            return f"plan {plan.plan_id} of this rule was rolled back; the rule does not redo it", None
        if plan.status == PlanStatus.APPLIED.value and (
            collected is None or plan.applied_at is None or plan.applied_at > collected
        ):
            return (
                f"plan {plan.plan_id} was applied after the last collection; waiting for the next one",
                None,
            )
    return None, None


def _approve(engine: Engine, rule: AutopilotRuleRow, plan_pk: int, now: datetime, *, approve: bool) -> None:
    """Record the plan as the rule's (evidence `autopilot`), approved by the rule's acceptor unless dry."""
    with Session(engine) as session, session.begin():
        plan = session.get(RemediationPlanRow, plan_pk)
        assert plan is not None
        plan.evidence = {
            **plan.evidence,
            "autopilot": {"ruleId": rule.rule_id, "name": rule.name, "acceptedBy": rule.accepted_by},
        }
        if approve and plan.status == PlanStatus.DRAFT.value:
            plan.status, plan.approved_by, plan.approved_at, plan.updated_at = (
                PlanStatus.APPROVED.value,
                rule.accepted_by,
                now,
                now,
            )


def _signal(rule: AutopilotRuleRow, plan: RemediationPlanRow, kind: str, steps: int, now: datetime) -> Signal:
    return Signal(
        kind=SignalKind.REMEDIATION_AUTO_APPLIED,
        key=f"{SignalKind.REMEDIATION_AUTO_APPLIED.value}:{plan.plan_id}",
        cloud=Cloud(plan.cloud),
        system_id=plan.system_id,
        subject_id=plan.identity_external_id,
        subject_kind=kind,
        subject_name=plan.identity_name,
        severity=Severity.MEDIUM,
        observed_at=now,
        summary=(
            f"autopilot rule {rule.name} applied remediation plan {plan.plan_id} to {plan.identity_name}: "
            f"{steps} step(s) changed; undo with `permscope remediation rollback {plan.plan_id}`"
        ),
        explanation=f"the rule was accepted by {rule.accepted_by}; it removes what was unused for "
        f"{rule.unused_days} days",
        evidence={
            "planId": plan.plan_id,
            "ruleId": rule.rule_id,
            "ruleName": rule.name,
            "acceptedBy": rule.accepted_by,
            "steps": steps,
            "rollback": f"permscope remediation rollback {plan.plan_id}",
        },
    )


class _RuleRun:
    """One run of one rule: the items it did, by system and identity."""

    def __init__(self, engine: Engine, rule: AutopilotRuleRow, context: RunContext, runner: str) -> None:
        self.engine, self.rule, self.context, self.runner = engine, rule, context, runner
        self.lease = timedelta(seconds=context.settings.remediation_lease_seconds)
        self.actor = rule_actor(rule)
        base = safety_of(context.settings)
        self.safety = dataclasses.replace(
            base, protect_recent_days=max(base.protect_recent_days, rule.unused_days)
        )
        self.items: list[RunItem] = []
        self.made = 0
        self.loaded: SystemInputs | PermscopeError | None = None  # the current system's inputs, read once

    def inputs(self, system: AuthorizationSystemRow) -> SystemInputs:
        """The system's planning inputs, read on its first identity to plan (the error of that read again)."""
        if self.loaded is None:
            try:
                self.loaded = load_system_inputs(
                    self.engine,
                    self.actor,
                    cloud=Cloud(system.cloud),
                    system_id=system.system_id,
                    window_days=self.rule.unused_days,
                    now=self.context.clock(),
                )
            except (PlanRefusedError, NotFoundError, CloudNotBuiltError) as exc:
                self.loaded = exc
        if isinstance(self.loaded, PermscopeError):
            raise self.loaded
        return self.loaded

    def system(self, system: AuthorizationSystemRow) -> None:
        cloud, system_id = system.cloud, system.system_id
        why = not_built(Cloud(cloud))
        if why is None and not self.context.dry_run and not system.modification_enabled:
            why = (
                f"permissions modification is not enabled (permscope systems enable-modification {system_id})"
            )
        if why is not None:
            self.items.append(RunItem(cloud, system_id, "", ItemOutcome.SKIPPED, reason=why))
            return
        match = match_of(self.rule)
        with Session(self.engine, expire_on_commit=False) as session:
            identities = store.identities_of(session, system.id)
            plans = store.plans_by_identity(session, cloud, system_id)
        self.loaded = None
        for external_id, name, kind, attributes in identities:
            if match.matches(external_id, name, kind, tags_of(attributes)):
                self.identity(system, external_id, kind, plans.get(external_id, []))

    def identity(
        self, system: AuthorizationSystemRow, identity: str, kind: str, plans: list[RemediationPlanRow]
    ) -> None:
        cloud, system_id, dry = system.cloud, system.system_id, self.context.dry_run
        self.renew()
        why, plan = _left_alone(self.rule, plans, system.last_collection_at, dry)
        if why is not None:
            self.items.append(RunItem(cloud, system_id, identity, ItemOutcome.SKIPPED, reason=why))
            return
        if plan is None:
            try:
                record = plan_identity(
                    self.engine,
                    self.actor,
                    self.inputs(system),
                    identity_id=identity,
                    safety=self.safety,
                    generate=self.rule.generate,
                )
            except (PlanRefusedError, NotFoundError, CloudNotBuiltError) as exc:
                self.items.append(RunItem(cloud, system_id, identity, ItemOutcome.SKIPPED, reason=str(exc)))
                return
            plan = record.plan
            self.made += 1
        _approve(self.engine, self.rule, plan.id, self.context.clock(), approve=not dry)
        if dry:
            self.items.append(RunItem(cloud, system_id, identity, ItemOutcome.DRAFTED, plan.plan_id))
            return
        self.apply(system, identity, kind, plan.plan_id)

    def renew(self) -> None:
        """Keep the rule's run lease; LeaseLostError when another run took the rule over (this one stops)."""
        with Session(self.engine) as session, session.begin():
            if not store.renew_rule(session, self.rule.id, self.runner, self.context.clock() + self.lease):
                raise LeaseLostError("another run took this rule over (this run was slower than its lease)")

    def apply(self, system: AuthorizationSystemRow, identity: str, kind: str, plan_id: str) -> None:
        cloud, system_id = system.cloud, system.system_id
        try:
            report = apply_plan(
                self.engine,
                self.actor,
                plan_id,
                connectors=self.context.connectors,
                clock=self.context.clock,
                lease=timedelta(seconds=self.context.settings.remediation_lease_seconds),
            )
        except PermscopeError as exc:
            self.items.append(RunItem(cloud, system_id, identity, ItemOutcome.FAILED, plan_id, str(exc)))
            return
        if report.error is not None:
            reason = report.plan.error or report.error
            self.items.append(RunItem(cloud, system_id, identity, ItemOutcome.FAILED, plan_id, reason))
            return
        self.items.append(RunItem(cloud, system_id, identity, ItemOutcome.APPLIED, plan_id))
        steps = len(report.done)
        try:
            record_and_evaluate(
                self.engine,
                [_signal(self.rule, report.plan, kind, steps, self.context.clock())],
                self.context.clock(),
            )
        except Exception:  # the plan is applied and recorded: a failed alert is logged, the work kept
            log.exception("raising the remediation.autoApplied signal of plan %s failed", plan_id)


def _count(items: list[RunItem], outcome: ItemOutcome) -> int:
    return sum(1 for item in items if item.outcome is outcome)


def run_rule(engine: Engine, actor: ApiPrincipal | None, ref: str, context: RunContext) -> AutopilotRunRow:
    """Run an accepted rule now (administrators of its systems; `actor` None: a schedule runs it) and return the
    run's record. PlanStateError (409) when the rule is not accepted or another run of it is in progress."""
    now = context.clock()
    if actor is not None:
        rule = get_rule(engine, actor, ref)
        if not holds(actor, scopes_of(rule), ADMINISTERING):
            raise PlanAccessError(
                f"{actor.who} may not run this autopilot rule: that needs the administrator role"
            )
    else:
        with Session(engine, expire_on_commit=False) as session:
            found = store.rule_by_ref(session, ref)
        if found is None:
            raise NotFoundError(f"no autopilot rule {ref!r}")
        rule = found
    if rule.state != RuleState.ACCEPTED.value:
        hint = "; an approver other than its author must accept it first" if rule.state == "proposed" else ""
        raise PlanStateError(f"the rule is {rule.state}{hint}")
    runner = f"{uuid.uuid4().hex[:16]}"
    lease = timedelta(seconds=context.settings.remediation_lease_seconds)
    with Session(engine, expire_on_commit=False) as session, session.begin():
        if not store.claim_rule(
            session, rule.id, RuleState.ACCEPTED.value, runner=runner, now=now, until=now + lease
        ):
            raise PlanStateError("the rule is no longer accepted, or another run of it is in progress")
        run = AutopilotRunRow(
            run_id=str(uuid.uuid4()),
            rule_pk=rule.id,
            run_by=context.run_by,
            dry_run=context.dry_run,
            status="running",
            started_at=now,
            made=0,
            applied=0,
            skipped=0,
            failed=0,
            items=[],
        )
        session.add(run)
    work = _RuleRun(engine, rule, context, runner)
    error: str | None = None
    try:
        with Session(engine, expire_on_commit=False) as session:
            systems = _systems(session, rule)
        for system in systems:
            work.system(system)
    except Exception as exc:  # recorded on the run, then raised: the plans made so far stay as they are
        error = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        with Session(engine, expire_on_commit=False) as session, session.begin():
            row = session.get(AutopilotRunRow, run.id)
            assert row is not None
            row.items = [item.to_dict() for item in work.items]
            row.made, row.applied = work.made, _count(work.items, ItemOutcome.APPLIED)
            row.skipped, row.failed = (
                _count(work.items, ItemOutcome.SKIPPED),
                _count(work.items, ItemOutcome.FAILED),
            )
            row.status, row.error, row.finished_at = (
                ("failed" if error else "succeeded"),
                error,
                context.clock(),
            )
            store.release_rule(session, rule.id, runner)
        run = row
    return run


def accepted_rules(session: Session) -> list[str]:
    """The ids of the accepted rules (what an autopilot schedule's run runs), oldest first."""
    return [rule.rule_id for rule in store.rules(session, RuleState.ACCEPTED.value)]


def run_scheduled(engine: Engine, rule_id: str, context: RunContext) -> AutopilotRunRow | None:
    """A schedule's run of one rule, as the rule itself; None when the rule is no longer accepted (disabled or
    removed since the run was planned). Another run of it in progress is an error (the unit is retried)."""
    with Session(engine) as session:
        rule = store.rule_by_ref(session, rule_id)
        if rule is None or rule.state != RuleState.ACCEPTED.value:
            return None
    return run_rule(engine, None, rule_id, context)
