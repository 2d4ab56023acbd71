"""Apply a remediation plan through its cloud's connector, and roll it back exactly; dry-run prints the calls.

Nothing is half-written. A run first takes the plan's lease (one UPDATE; a run that died is taken over once its
lease ran out). For each step it records the target's prior state and `applying` in one transaction, then makes
the cloud call, then records `applied` in another: a crash between leaves `applying` with the prior state known.
`apply` again resumes there (the call is idempotent and the first prior state is kept); `rollback` restores every
step that may have changed the cloud, in reverse order, from its recorded prior state, and leaves steps never
applied alone. A failed step stops the run (the plan is `failed`); running the same command again resumes.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from permscope.clouds.base import Echo
from permscope.core.ids import Cloud
from permscope.core.remediation import (
    PlanStateError,
    PlanStatus,
    RemediationConnector,
    StepError,
    StepKind,
    StepStatus,
)
from permscope.settings import Settings
from permscope.store import remediation as store
from permscope.store.requests import find_system_row
from permscope.store.tables import RemediationPlanRow, RemediationStepRow
from permscope.workflows.apikeys import ApiPrincipal
from permscope.workflows.remediation.plans import ADMINISTERING, PlanRecord, load_plan, require, rules_for

ConnectorFactory = Callable[[Cloud, str, bool, Echo | None], RemediationConnector]
Clock = Callable[[], datetime]
APPLY, ROLLBACK = "apply", "rollback"
# a step that may have changed the cloud: rollback restores it
TOUCHED = frozenset({StepStatus.APPLYING.value, StepStatus.APPLIED.value, StepStatus.ROLLING_BACK.value})


# the states a rollback takes a plan from (an apply's: `apply_from`)
ROLLBACK_FROM = (
    PlanStatus.APPLIED.value,
    PlanStatus.FAILED.value,
    PlanStatus.APPLYING.value,
    PlanStatus.ROLLING_BACK.value,
)


def apply_from(plan: RemediationPlanRow) -> list[str]:
    """The states an apply takes the plan from: approved, a run that died, and a failed apply (resumed); never a
    failed rollback."""
    states = [PlanStatus.APPROVED.value, PlanStatus.APPLYING.value]
    if plan.status == PlanStatus.FAILED.value and plan.last_operation == APPLY:
        states.append(PlanStatus.FAILED.value)
    return states


def can_apply(plan: RemediationPlanRow) -> bool:
    """Whether the plan's state lets an apply run (an applied plan: nothing left to do)."""
    return plan.status in apply_from(plan)


def can_roll_back(plan: RemediationPlanRow) -> bool:
    """Whether the plan's state lets a rollback run (a rolled-back plan: nothing left to do)."""
    return plan.status in ROLLBACK_FROM


def running(plan: RemediationPlanRow, now: datetime) -> bool:
    """Whether a run holds the plan's lease now."""
    return plan.locked_until is not None and plan.locked_until >= now


def default_connectors(settings: Settings) -> ConnectorFactory:
    """Connectors configured from the settings (the grant role, endpoint and region)."""

    def make(cloud: Cloud, system_id: str, dry_run: bool, echo: Echo | None) -> RemediationConnector:
        return rules_for(cloud).connector(system_id, settings=settings, dry_run=dry_run, echo=echo)

    return make


@dataclass(slots=True)
class RunReport:
    """What one apply or rollback did."""

    plan: RemediationPlanRow
    steps: list[RemediationStepRow]
    done: list[int] = field(default_factory=list)  # ordinals changed in this run
    lines: list[str] = field(default_factory=list)  # dry-run: the calls
    error: str | None = None


def _runner() -> str:
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _utc_now() -> datetime:
    return datetime.now(UTC)


class _Run:
    """One apply or rollback of a plan, holding its lease."""

    def __init__(self, engine: Engine, plan: RemediationPlanRow, clock: Clock, lease: timedelta) -> None:
        self.engine, self.plan_pk, self.plan_id = engine, plan.id, plan.plan_id
        self.clock, self.lease, self.runner = clock, lease, _runner()

    def claim(self, statuses: list[str], status: PlanStatus, operation: str) -> None:
        now = self.clock()
        with Session(self.engine) as session, session.begin():
            won = store.claim(
                session,
                self.plan_pk,
                statuses,
                status=status.value,
                runner=self.runner,
                now=now,
                until=now + self.lease,
            )
            if not won:
                plan = store.get_plan(session, self.plan_id)
                state = plan.status if plan else "gone"
                busy = plan is not None and plan.locked_until is not None and plan.locked_until >= now
                raise PlanStateError(
                    f"the plan is {state}"
                    + (", and another run holds it" if busy else "")
                    + f"; it cannot be {'applied' if operation == APPLY else 'rolled back'} now"
                )
            plan = store.get_plan(session, self.plan_id)
            assert plan is not None
            plan.last_operation = operation

    def step(self, ordinal: int, **values: object) -> None:
        """Write some of a step's columns and renew the lease, in one transaction."""
        now = self.clock()
        with Session(self.engine) as session, session.begin():
            plan = session.get(RemediationPlanRow, self.plan_pk)
            assert plan is not None
            row = next(r for r in store.steps_of(session, self.plan_pk) if r.ordinal == ordinal)
            for name, value in values.items():
                setattr(row, name, value)
            plan.locked_until, plan.updated_at = now + self.lease, now

    def finish(self, status: PlanStatus, error: str | None = None) -> None:
        now = self.clock()
        with Session(self.engine) as session, session.begin():
            plan = session.get(RemediationPlanRow, self.plan_pk)
            assert plan is not None
            plan.status, plan.error, plan.updated_at = status.value, error, now
            plan.locked_by, plan.locked_until = None, None
            if status is PlanStatus.APPLIED:
                plan.applied_at = now
            elif status is PlanStatus.ROLLED_BACK:
                plan.rolled_back_at = now

    def report(self, done: list[int], error: str | None) -> RunReport:
        with Session(self.engine, expire_on_commit=False) as session:
            plan = session.get(RemediationPlanRow, self.plan_pk)
            assert plan is not None
            return RunReport(plan, store.steps_of(session, self.plan_pk), done, error=error)


def _load(engine: Engine, actor: ApiPrincipal, plan_id: str, doing: str) -> PlanRecord:
    with Session(engine, expire_on_commit=False) as session:
        plan = load_plan(session, actor, plan_id)
        require(actor, (plan.cloud, plan.system_id), ADMINISTERING, doing)
        return PlanRecord(plan, store.steps_of(session, plan.id))


def _dry_run(record: PlanRecord, connectors: ConnectorFactory, *, rollback: bool) -> RunReport:
    lines: list[str] = []
    plan = record.plan
    connector = connectors(Cloud(plan.cloud), plan.system_id, True, lines.append)
    steps = reversed(record.steps) if rollback else record.steps
    for row in steps:
        kind = StepKind(row.kind)
        if kind.manual:
            lines.append(f"# step {row.ordinal} ({kind.value} {row.label}) is manual: not applied")
            continue
        lines.append(f"# step {row.ordinal}: {kind.value} {row.label} ({row.status})")
        if rollback:
            if row.prior_state is None:
                lines.append("#   never applied: nothing to restore")
                continue
            connector.restore(kind, row.principal, row.target, row.parameters, row.prior_state)
        else:
            connector.apply(kind, row.principal, row.target, row.parameters, row.prior_state or {})
    return RunReport(plan, record.steps, lines=lines)


def apply_plan(
    engine: Engine,
    actor: ApiPrincipal,
    plan_id: str,
    *,
    connectors: ConnectorFactory,
    dry_run: bool = False,
    clock: Clock = _utc_now,
    lease: timedelta = timedelta(minutes=15),
) -> RunReport:
    """Apply an approved plan (or resume one that failed or whose run died); with `dry_run`, print the calls
    instead (any plan, no state written)."""
    record = _load(engine, actor, plan_id, "apply remediation plans")
    if dry_run:
        return _dry_run(record, connectors, rollback=False)
    plan = record.plan
    if plan.status == PlanStatus.APPLIED.value:
        return RunReport(plan, record.steps)  # applying an applied plan again changes nothing
    if plan.status == PlanStatus.DRAFT.value:
        raise PlanStateError("the plan is a draft: someone other than its author must approve it first")
    with Session(engine) as session:
        system = find_system_row(session, plan.cloud, plan.system_id)
        if system is None or not system.modification_enabled:
            raise PlanStateError(
                f"permissions modification is not enabled for {plan.cloud} {plan.system_id} "
                f"(permscope systems enable-modification {plan.system_id})"
            )
    run = _Run(engine, plan, clock, lease)
    run.claim(apply_from(plan), PlanStatus.APPLYING, APPLY)
    steps = run.report([], None).steps  # as the run that held the plan last left them
    connector = connectors(Cloud(plan.cloud), plan.system_id, False, None)
    done: list[int] = []
    for row in steps:
        kind = StepKind(row.kind)
        if kind.manual or row.status == StepStatus.APPLIED.value:
            continue  # re-applying an applied step is a no-op
        prior = row.prior_state
        try:
            if prior is None:
                prior = connector.capture(kind, row.principal, row.target, row.parameters)
            run.step(row.ordinal, prior_state=prior, status=StepStatus.APPLYING.value, error=None)
            connector.apply(kind, row.principal, row.target, row.parameters, prior)
        except StepError as exc:
            run.step(row.ordinal, status=StepStatus.FAILED.value, error=str(exc))
            run.finish(PlanStatus.FAILED, f"step {row.ordinal} ({kind.value} {row.label}): {exc}")
            return run.report(done, str(exc))
        run.step(row.ordinal, status=StepStatus.APPLIED.value, applied_at=clock(), rolled_back_at=None)
        done.append(row.ordinal)
    run.finish(PlanStatus.APPLIED)
    return run.report(done, None)


def rollback_plan(
    engine: Engine,
    actor: ApiPrincipal,
    plan_id: str,
    *,
    connectors: ConnectorFactory,
    dry_run: bool = False,
    clock: Clock = _utc_now,
    lease: timedelta = timedelta(minutes=15),
) -> RunReport:
    """Restore every step that may have changed the cloud, newest first, from its recorded prior state (safe to
    repeat: a restored step is restored again as a no-op; a step never applied is left alone)."""
    record = _load(engine, actor, plan_id, "roll back remediation plans")
    if dry_run:
        return _dry_run(record, connectors, rollback=True)
    plan = record.plan
    if plan.status == PlanStatus.ROLLED_BACK.value:
        return RunReport(plan, record.steps)  # rolling back again changes nothing
    run = _Run(engine, plan, clock, lease)
    run.claim(list(ROLLBACK_FROM), PlanStatus.ROLLING_BACK, ROLLBACK)
    steps = run.report([], None).steps
    connector = connectors(Cloud(plan.cloud), plan.system_id, False, None)
    done: list[int] = []
    for row in reversed(steps):
        kind = StepKind(row.kind)
        touched = row.status in TOUCHED or (
            row.status == StepStatus.FAILED.value and row.prior_state is not None
        )
        if kind.manual or not touched or row.prior_state is None:
            continue  # never applied: nothing to restore
        run.step(row.ordinal, status=StepStatus.ROLLING_BACK.value, error=None)
        try:
            notes = connector.restore(kind, row.principal, row.target, row.parameters, row.prior_state)
        except StepError as exc:
            run.step(row.ordinal, status=StepStatus.FAILED.value, error=str(exc))
            run.finish(
                PlanStatus.FAILED, f"rolling back step {row.ordinal} ({kind.value} {row.label}): {exc}"
            )
            return run.report(done, str(exc))
        run.step(row.ordinal, status=StepStatus.ROLLED_BACK.value, rolled_back_at=clock(), notes=notes)
        done.append(row.ordinal)
    run.finish(PlanStatus.ROLLED_BACK)
    return run.report(done, None)
