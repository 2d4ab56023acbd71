"""Remediation plans in SQL: add a plan with its steps, read them, claim a plan's lease for an apply or a
rollback (one runner at a time; a runner that died is taken over once its lease ran out), record a step's prior
state and outcome, and the reads the planner needs (an identity's usage at any time, how long the system's
activity has been observed, open findings)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.orm import Session

from permscope.core.access import Systems
from permscope.store.access import systems_condition
from permscope.store.tables import (
    FindingRow,
    IdentityActivityRow,
    RemediationPlanRow,
    RemediationStepRow,
    UsageRow,
)


def add_plan(session: Session, plan: RemediationPlanRow, steps: Sequence[RemediationStepRow]) -> None:
    """Insert a plan and its steps (numbered from 1 in the order given)."""
    session.add(plan)
    session.flush()
    for ordinal, step in enumerate(steps, start=1):
        step.plan_pk, step.ordinal = plan.id, ordinal
        session.add(step)
    session.flush()


def get_plan(session: Session, plan_id: str) -> RemediationPlanRow | None:
    """One plan by its id."""
    stmt = select(RemediationPlanRow).where(RemediationPlanRow.plan_id == plan_id)
    return session.execute(stmt).scalar_one_or_none()


def steps_of(session: Session, plan_pk: int) -> list[RemediationStepRow]:
    """A plan's steps in order."""
    stmt = (
        select(RemediationStepRow)
        .where(RemediationStepRow.plan_pk == plan_pk)
        .order_by(RemediationStepRow.ordinal)
    )
    return list(session.execute(stmt).scalars())


def step_counts(session: Session, plan_pks: Sequence[int]) -> dict[int, dict[str, int]]:
    """Per plan, its steps counted by status (one query)."""
    found: dict[int, dict[str, int]] = {pk: {} for pk in plan_pks}
    if not plan_pks:
        return found
    stmt = (
        select(RemediationStepRow.plan_pk, RemediationStepRow.status, func.count())
        .where(RemediationStepRow.plan_pk.in_(list(plan_pks)))
        .group_by(RemediationStepRow.plan_pk, RemediationStepRow.status)
    )
    for plan_pk, status, count in session.execute(stmt):
        found[plan_pk][status] = int(count)
    return found


def plans_stmt(systems: Systems) -> Select[Any]:
    """The plans of some systems, oldest first (the API's listing pages it)."""
    condition = systems_condition(systems, RemediationPlanRow.cloud, RemediationPlanRow.system_id)
    return select(RemediationPlanRow).where(condition).order_by(RemediationPlanRow.id)


def claim(
    session: Session,
    plan_pk: int,
    statuses: Sequence[str],
    *,
    status: str,
    runner: str,
    now: datetime,
    until: datetime,
) -> bool:
    """Take the plan's lease for a run when it is in one of `statuses` and no live runner holds it (one UPDATE,
    so two runners never both win); the plan moves to `status`."""
    stmt = (
        update(RemediationPlanRow)
        .where(
            RemediationPlanRow.id == plan_pk,
            RemediationPlanRow.status.in_(list(statuses)),
            or_(RemediationPlanRow.locked_until.is_(None), RemediationPlanRow.locked_until < now),
        )
        .values(status=status, locked_by=runner, locked_until=until, updated_at=now, error=None)
        .execution_options(synchronize_session=False)
    )
    claimed: bool = session.execute(stmt).rowcount == 1  # type: ignore[attr-defined]
    session.expire_all()
    return claimed


def identity_usage(session: Session, system_pk: int, identity_id: str) -> list[tuple[str, datetime]]:
    """(action, last used) of every action the identity used, whenever (the usage aggregate per action)."""
    stmt = (
        select(UsageRow.action, func.max(UsageRow.last_seen))
        .where(UsageRow.system_pk == system_pk, UsageRow.identity_external_id == identity_id)
        .group_by(UsageRow.action)
    )
    return [(str(action), last) for action, last in session.execute(stmt)]


def observed_since(session: Session, system_pk: int) -> datetime | None:
    """The earliest activity recorded for the system (None: no activity was ever imported)."""
    stmt = select(func.min(IdentityActivityRow.first_seen)).where(IdentityActivityRow.system_pk == system_pk)
    found: datetime | None = session.execute(stmt).scalar_one_or_none()
    return found


def open_findings_by_subject(session: Session, system_pk: int) -> dict[str, list[tuple[str, str]]]:
    """(type, subject) of every open finding of the system, by subject, each subject's by type (as
    `open_findings` orders them)."""
    stmt = (
        select(FindingRow.finding_type, FindingRow.subject_id)
        .where(FindingRow.system_pk == system_pk, FindingRow.resolved_at.is_(None))
        .order_by(FindingRow.subject_id, FindingRow.finding_type)
    )
    found: dict[str, list[tuple[str, str]]] = {}
    for finding_type, subject in session.execute(stmt):
        found.setdefault(str(subject), []).append((str(finding_type), str(subject)))
    return found
