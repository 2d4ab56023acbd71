"""Scheduled reports' mail in SQL: the delivery of each slot of a report schedule (made once per schedule and slot,
whoever asks first), its attempts, and which report schedules send through a channel. The caller owns the
transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from permscope.core.schedules import ScheduleTask
from permscope.store.tables import ReportDeliveryAttemptRow, ReportDeliveryRow, ScheduleRow


def slot_delivery(
    session: Session, schedule_pk: int, slot: datetime, values: dict[str, Any], now: datetime
) -> ReportDeliveryRow:
    """The delivery of one slot of a report schedule: made pending (due now) with `values` (kind, format,
    channel, recipients) unless it exists, also when another process made it meanwhile."""
    builder = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = (
        builder(ReportDeliveryRow)
        .values(
            schedule_pk=schedule_pk,
            slot=slot,
            status="pending",
            attempts=0,
            due_at=now,
            created_at=now,
            **values,
        )
        .on_conflict_do_nothing(index_elements=["schedule_pk", "slot"])
    )
    session.execute(stmt)
    stmt_found = select(ReportDeliveryRow).where(
        ReportDeliveryRow.schedule_pk == schedule_pk, ReportDeliveryRow.slot == slot
    )
    return session.execute(stmt_found).scalar_one()


def record_attempt(
    session: Session, delivery_id: int, now: datetime, outcome: dict[str, Any], error: str | None
) -> None:
    """Write an attempt's outcome on its delivery (`outcome`: its new columns) and keep the attempt."""
    session.execute(update(ReportDeliveryRow).where(ReportDeliveryRow.id == delivery_id).values(**outcome))
    session.add(
        ReportDeliveryAttemptRow(
            delivery_id=delivery_id, attempted_at=now, succeeded=outcome.get("status") == "sent", error=error
        )
    )


def deliveries_of(
    session: Session, schedule_pk: int, slots: Sequence[datetime]
) -> dict[datetime, ReportDeliveryRow]:
    """The deliveries of some slots of a schedule, by slot."""
    if not slots:
        return {}
    stmt = select(ReportDeliveryRow).where(
        ReportDeliveryRow.schedule_pk == schedule_pk, ReportDeliveryRow.slot.in_(list(slots))
    )
    return {row.slot: row for row in session.execute(stmt).scalars()}


def attempts_of(session: Session, delivery_id: int) -> list[ReportDeliveryAttemptRow]:
    """A delivery's attempts, oldest first."""
    stmt = (
        select(ReportDeliveryAttemptRow)
        .where(ReportDeliveryAttemptRow.delivery_id == delivery_id)
        .order_by(ReportDeliveryAttemptRow.id)
    )
    return list(session.execute(stmt).scalars())


def schedules_sending_through(session: Session, channel: str) -> list[str]:
    """Names of the report schedules that mail through the channel named `channel`."""
    stmt = select(ScheduleRow.name, ScheduleRow.options).where(ScheduleRow.task == ScheduleTask.REPORT.value)
    return sorted(
        name for name, options in session.execute(stmt) if (options or {}).get("channel") == channel
    )
