"""Schedules and their runs in SQL: the schedules, planning a due slot into a scheduler job (once per slot), and
the outcome of each attempt. The caller owns the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from permscope.core.schedules import Timing
from permscope.store.tables import CollectionRunRow, SchedulerJobRow, ScheduleRow

UNFINISHED = ("pending", "running")


def timing_of(row: ScheduleRow) -> Timing:
    """The cron expression or interval, and jitter, of a stored schedule."""
    interval = timedelta(seconds=row.interval_seconds) if row.interval_seconds is not None else None
    return Timing(cron=row.cron, interval=interval, jitter=timedelta(seconds=row.jitter_seconds))


def all_schedules(session: Session) -> Sequence[ScheduleRow]:
    """Every schedule, by name."""
    return list(session.execute(select(ScheduleRow).order_by(ScheduleRow.name)).scalars())


def schedule_named(session: Session, name: str) -> ScheduleRow | None:
    """The schedule of that name."""
    return session.execute(select(ScheduleRow).where(ScheduleRow.name == name)).scalar_one_or_none()


def due_schedule_ids(session: Session, now: datetime) -> list[int]:
    """Enabled schedules whose next slot has come, oldest slot first."""
    stmt = (
        select(ScheduleRow.id)
        .where(ScheduleRow.enabled.is_(True), ScheduleRow.next_run_at <= now)
        .order_by(ScheduleRow.next_run_at, ScheduleRow.id)
    )
    return list(session.execute(stmt).scalars())


def unfinished_job(session: Session, schedule_pk: int) -> SchedulerJobRow | None:
    """The schedule's job still pending or running (a schedule runs one slot at a time), if any."""
    stmt = (
        select(SchedulerJobRow)
        .where(SchedulerJobRow.schedule_pk == schedule_pk, SchedulerJobRow.status.in_(UNFINISHED))
        .order_by(SchedulerJobRow.id)
        .limit(1)
    )
    return session.execute(stmt).scalar_one_or_none()


def advance(session: Session, schedule_pk: int, slot: datetime, following: datetime) -> bool:
    """Move the schedule from `slot` to `following`, only if it is still at `slot` (one UPDATE: of two
    processes planning the same slot, one wins)."""
    result = session.execute(
        update(ScheduleRow)
        .where(ScheduleRow.id == schedule_pk, ScheduleRow.next_run_at == slot, ScheduleRow.enabled.is_(True))
        .values(next_run_at=following)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def add_job(
    session: Session, schedule: ScheduleRow, slot: datetime, due_at: datetime, now: datetime
) -> SchedulerJobRow:
    """The job that runs one slot of a schedule (the unique (schedule, slot) key refuses a second one)."""
    job = SchedulerJobRow(
        schedule_pk=schedule.id,
        scheduled_for=slot,
        kind=schedule.task,
        status="pending",
        due_at=due_at,
        attempts=0,
        created_at=now,
        progress={"done": []},
    )
    session.add(job)
    session.flush()
    return job


def cancel_pending(session: Session, schedule_pk: int, now: datetime) -> int:
    """Cancel the schedule's jobs nobody runs now (a running one finishes its slot); how many."""
    result = session.execute(
        update(SchedulerJobRow)
        .where(
            SchedulerJobRow.schedule_pk == schedule_pk,
            SchedulerJobRow.status == "pending",
            or_(SchedulerJobRow.locked_until.is_(None), SchedulerJobRow.locked_until < now),
        )
        .values(status="canceled", finished_at=now)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def jobs_of(session: Session, schedule_pk: int, limit: int = 20) -> list[SchedulerJobRow]:
    """The schedule's latest jobs, newest slot first."""
    stmt = (
        select(SchedulerJobRow)
        .where(SchedulerJobRow.schedule_pk == schedule_pk)
        .order_by(SchedulerJobRow.scheduled_for.desc(), SchedulerJobRow.id.desc())
        .limit(limit)
    )
    return list(session.execute(stmt).scalars())


def record_attempt(
    session: Session, schedule_pk: int, at: datetime, status: str, error: str | None
) -> ScheduleRow | None:
    """Keep the outcome of one attempt on its schedule: a success clears the failures, a failure counts one."""
    row = session.get(ScheduleRow, schedule_pk)
    if row is None:  # removed while it ran
        return None
    row.last_run_at, row.last_status, row.last_error = at, status, error
    row.consecutive_failures = 0 if status == "succeeded" else row.consecutive_failures + 1
    return row


def last_collection_source(session: Session, cloud: str, system_id: str) -> str | None:
    """Where the system's latest successful collection or import read it from (`file:...`, `live:...`)."""
    stmt = (
        select(CollectionRunRow.source)
        .where(
            CollectionRunRow.cloud == cloud,
            CollectionRunRow.system_id == system_id,
            CollectionRunRow.status == "succeeded",
        )
        .order_by(CollectionRunRow.id.desc())
        .limit(1)
    )
    return session.execute(stmt).scalar_one_or_none()


def due_run_ids(session: Session, now: datetime, limit: int) -> list[int]:
    """Schedules' jobs whose time has come and that nobody holds (or whose holder's lease ran out)."""
    stmt = (
        select(SchedulerJobRow.id)
        .where(
            SchedulerJobRow.schedule_pk.is_not(None),
            SchedulerJobRow.status.in_(UNFINISHED),
            SchedulerJobRow.due_at <= now,
            or_(SchedulerJobRow.locked_until.is_(None), SchedulerJobRow.locked_until < now),
        )
        .order_by(SchedulerJobRow.due_at, SchedulerJobRow.id)
        .limit(limit)
    )
    return list(session.execute(stmt).scalars())
