"""Alerts in the database: recorded signals (once per key), rules and their channels, alerts (once per rule and
signal), their deliveries (an outbox) and attempts, and muted subjects. Every write happens in the caller's
transaction; inserts that may meet a row made before (the same signal, the same alert) skip it atomically."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, delete, insert, select, true, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from permscope.core.access import Systems
from permscope.core.findings import Severity
from permscope.core.ids import Cloud
from permscope.core.signals import Signal, SignalKind
from permscope.store.access import systems_condition
from permscope.store.homes import SystemView
from permscope.store.tables import (
    AlertChannelRow,
    AlertDeliveryAttemptRow,
    AlertDeliveryRow,
    AlertMuteRow,
    AlertRow,
    AlertRuleChannelRow,
    AlertRuleRow,
    AlertSignalRow,
    AuthorizationSystemRow,
    Base,
    IdentityRow,
)

CHUNK = 500


def key_hash(key: str) -> str:
    """The SHA-256 of a signal's key: what makes it unique (keys hold ARNs longer than an index takes)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _insert_new(
    session: Session, table: type[Base], values: dict[str, Any], unique: Sequence[str]
) -> int | None:
    """Insert a row unless one with the same `unique` columns exists (also one committed meanwhile by another
    process): the new row's id, or None when it existed."""
    dialect = session.get_bind().dialect.name
    builder = postgresql_insert if dialect == "postgresql" else sqlite_insert
    stmt = builder(table).values(**values).on_conflict_do_nothing(index_elements=list(unique))
    found = session.execute(stmt.returning(table.__table__.c.id)).scalar()
    return int(found) if found is not None else None


# ---------------------------------------------------------------------------------------------- signals


def record_signals(session: Session, signals: Iterable[Signal], now: datetime) -> int:
    """Record signals not recorded before (by key); how many were new."""
    made = 0
    for signal in signals:
        values = {
            "key_hash": key_hash(signal.key),
            "key": signal.key,
            "kind": signal.kind.value,
            "cloud": signal.cloud.value,
            "system_id": signal.system_id,
            "subject_id": signal.subject_id,
            "subject_kind": signal.subject_kind,
            "subject_name": signal.subject_name,
            "severity": signal.severity.value,
            "observed_at": signal.observed_at,
            "summary": signal.summary,
            "explanation": signal.explanation,
            "evidence": dict(signal.evidence),
            "recorded_at": now,
            "evaluated_at": None,
        }
        if _insert_new(session, AlertSignalRow, values, ["key_hash"]) is not None:
            made += 1
    return made


def signal_of_row(row: AlertSignalRow) -> Signal:
    """The core signal a recorded row holds."""
    return Signal(
        kind=SignalKind(row.kind),
        key=row.key,
        cloud=Cloud(row.cloud),
        system_id=row.system_id,
        subject_id=row.subject_id,
        subject_kind=row.subject_kind,
        subject_name=row.subject_name,
        severity=Severity(row.severity),
        observed_at=row.observed_at,
        summary=row.summary,
        explanation=row.explanation,
        evidence=dict(row.evidence or {}),
    )


def pending_signals(session: Session, limit: int) -> list[AlertSignalRow]:
    """Signals no evaluation has taken yet, oldest first."""
    stmt = select(AlertSignalRow).where(AlertSignalRow.evaluated_at.is_(None)).order_by(AlertSignalRow.id)
    return list(session.execute(stmt.limit(limit)).scalars())


def signals_since(session: Session, since: datetime, after_id: int, limit: int) -> list[AlertSignalRow]:
    """Signals observed at or after `since` with an id above `after_id`, by id (re-evaluation walks them)."""
    stmt = (
        select(AlertSignalRow)
        .where(AlertSignalRow.observed_at >= since, AlertSignalRow.id > after_id)
        .order_by(AlertSignalRow.id)
        .limit(limit)
    )
    return list(session.execute(stmt).scalars())


def take_signals(session: Session, signal_ids: Sequence[int], now: datetime) -> list[int]:
    """Mark pending signals evaluated at `now`; the ids this transaction took (another evaluator running at the
    same time takes the others: on PostgreSQL it waits for this transaction and then finds them taken)."""
    stmt = (
        update(AlertSignalRow)
        .where(AlertSignalRow.id.in_(list(signal_ids)), AlertSignalRow.evaluated_at.is_(None))
        .values(evaluated_at=now)
        .returning(AlertSignalRow.id)
    )
    return sorted(int(found) for found in session.execute(stmt).scalars()) if signal_ids else []


# ---------------------------------------------------------------------------------------- rules, channels


def rule_rows(session: Session, *, enabled_only: bool = False) -> list[AlertRuleRow]:
    """Alert rules by name."""
    stmt = select(AlertRuleRow).order_by(AlertRuleRow.name)
    if enabled_only:
        stmt = stmt.where(AlertRuleRow.enabled.is_(True))
    return list(session.execute(stmt).scalars())


def rule_named(session: Session, name: str) -> AlertRuleRow | None:
    """One rule by name."""
    return session.execute(select(AlertRuleRow).where(AlertRuleRow.name == name)).scalar_one_or_none()


def channel_named(session: Session, name: str) -> AlertChannelRow | None:
    """One channel by name."""
    return session.execute(select(AlertChannelRow).where(AlertChannelRow.name == name)).scalar_one_or_none()


def channel_rows(session: Session) -> list[AlertChannelRow]:
    """Every channel by name."""
    return list(session.execute(select(AlertChannelRow).order_by(AlertChannelRow.name)).scalars())


def channels_of_rules(session: Session) -> dict[int, list[AlertChannelRow]]:
    """The channels of every rule, by rule id (channels by name)."""
    stmt = (
        select(AlertRuleChannelRow.rule_id, AlertChannelRow)
        .join(AlertChannelRow, AlertChannelRow.id == AlertRuleChannelRow.channel_id)
        .order_by(AlertChannelRow.name)
    )
    found: dict[int, list[AlertChannelRow]] = {}
    for rule_id, channel in session.execute(stmt):
        found.setdefault(rule_id, []).append(channel)
    return found


def set_rule_channels(session: Session, rule_id: int, channel_ids: Iterable[int]) -> None:
    """Make these the rule's channels."""
    session.execute(delete(AlertRuleChannelRow).where(AlertRuleChannelRow.rule_id == rule_id))
    rows = [{"rule_id": rule_id, "channel_id": channel_id} for channel_id in sorted(set(channel_ids))]
    if rows:
        session.execute(insert(AlertRuleChannelRow), rows)


def rules_using(session: Session, channel_id: int) -> list[str]:
    """Names of the rules a channel delivers for."""
    stmt = (
        select(AlertRuleRow.name)
        .join(AlertRuleChannelRow, AlertRuleChannelRow.rule_id == AlertRuleRow.id)
        .where(AlertRuleChannelRow.channel_id == channel_id)
        .order_by(AlertRuleRow.name)
    )
    return list(session.execute(stmt).scalars())


# -------------------------------------------------------------------------------------------- alerts


def insert_alert(session: Session, values: dict[str, Any]) -> int | None:
    """Insert an alert unless this rule already has one for this signal: its primary key, or None."""
    return _insert_new(session, AlertRow, values, ["rule_id", "signal_id"])


def insert_deliveries(session: Session, alert_pk: int, channel_ids: Iterable[int], now: datetime) -> int:
    """Queue an alert for its channels (due now); how many were queued."""
    made = 0
    for channel_id in sorted(set(channel_ids)):
        values = {
            "alert_pk": alert_pk,
            "channel_id": channel_id,
            "status": "pending",
            "attempts": 0,
            "due_at": now,
            "last_error": None,
            "created_at": now,
            "sent_at": None,
        }
        if _insert_new(session, AlertDeliveryRow, values, ["alert_pk", "channel_id"]) is not None:
            made += 1
    return made


def alert_by_id(session: Session, alert_id: str) -> AlertRow | None:
    """One alert by its public id."""
    return session.execute(select(AlertRow).where(AlertRow.alert_id == alert_id)).scalar_one_or_none()


def alerts_stmt(
    systems: Systems,
    *,
    statuses: Sequence[str] = (),
    kinds: Sequence[str] = (),
    severities: Sequence[str] = (),
    clouds: Sequence[str] = (),
    system_ids: Sequence[str] = (),
) -> Select[AlertRow]:
    """Alerts of the systems in `systems` (an alert about no one system only for those who read every one),
    narrowed by the lists given (each empty: any)."""
    conditions: list[ColumnElement[bool]] = [_within(systems)]
    for column, values in (
        (AlertRow.status, statuses),
        (AlertRow.kind, kinds),
        (AlertRow.severity, severities),
        (AlertRow.cloud, clouds),
        (AlertRow.system_id, system_ids),
    ):
        if values:
            conditions.append(column.in_(list(values)))
    return select(AlertRow).where(*conditions)


def _within(systems: Systems) -> ColumnElement[bool]:
    if systems.everything:
        return true()
    return and_(AlertRow.system_id != "", systems_condition(systems, AlertRow.cloud, AlertRow.system_id))


def deliveries_of(
    session: Session, alert_pks: Sequence[int]
) -> dict[int, list[tuple[AlertDeliveryRow, str]]]:
    """The deliveries of some alerts with their channel's name, by alert."""
    found: dict[int, list[tuple[AlertDeliveryRow, str]]] = {}
    for start in range(0, len(alert_pks), CHUNK):
        stmt = (
            select(AlertDeliveryRow, AlertChannelRow.name)
            .join(AlertChannelRow, AlertChannelRow.id == AlertDeliveryRow.channel_id)
            .where(AlertDeliveryRow.alert_pk.in_(list(alert_pks[start : start + CHUNK])))
            .order_by(AlertDeliveryRow.id)
        )
        for delivery, name in session.execute(stmt):
            found.setdefault(delivery.alert_pk, []).append((delivery, name))
    return found


def attempts_of(session: Session, delivery_ids: Sequence[int]) -> dict[int, list[AlertDeliveryAttemptRow]]:
    """The attempts of some deliveries, oldest first."""
    stmt = (
        select(AlertDeliveryAttemptRow)
        .where(AlertDeliveryAttemptRow.delivery_id.in_(list(delivery_ids)))
        .order_by(AlertDeliveryAttemptRow.id)
    )
    found: dict[int, list[AlertDeliveryAttemptRow]] = {}
    for row in session.execute(stmt).scalars():
        found.setdefault(row.delivery_id, []).append(row)
    return found


def due_deliveries(session: Session, now: datetime, limit: int) -> list[tuple[int, int]]:
    """(id, attempts) of the pending deliveries due at `now`, oldest first."""
    stmt = (
        select(AlertDeliveryRow.id, AlertDeliveryRow.attempts)
        .where(AlertDeliveryRow.status == "pending", AlertDeliveryRow.due_at <= now)
        .order_by(AlertDeliveryRow.due_at, AlertDeliveryRow.id)
        .limit(limit)
    )
    return [(int(pk), int(attempts)) for pk, attempts in session.execute(stmt)]


# ----------------------------------------------------------------------------------- mutes and subjects


def subject_mutes(
    session: Session, cloud: str, system_id: str, subject_ids: Iterable[str], at: datetime
) -> dict[str, list[datetime]]:
    """Mutes still running at `at` of some subjects of one system (the key "" holds the system's own)."""
    wanted = sorted(set(subject_ids) | {""})
    stmt = select(AlertMuteRow.subject_id, AlertMuteRow.until).where(
        AlertMuteRow.cloud == cloud,
        AlertMuteRow.system_id == system_id,
        AlertMuteRow.subject_id.in_(wanted),
        AlertMuteRow.until > at,
    )
    found: dict[str, list[datetime]] = {}
    for subject_id, until in session.execute(stmt):
        found.setdefault(subject_id, []).append(until)
    return found


def identity_tags(
    session: Session, cloud: str, system_id: str, external_ids: Iterable[str]
) -> dict[str, dict[str, str]]:
    """The tags of some identities one system sees (from their stored attributes), by external id."""
    stored = select(AuthorizationSystemRow.id, AuthorizationSystemRow.home_pk).where(
        AuthorizationSystemRow.cloud == cloud, AuthorizationSystemRow.system_id == system_id
    )
    system = session.execute(stored).one_or_none()
    if system is None:
        return {}
    view = SystemView(system.id, system.home_pk)
    wanted = sorted(set(external_ids))
    found: dict[str, dict[str, str]] = {}
    for start in range(0, len(wanted), CHUNK):
        stmt = select(IdentityRow.external_id, IdentityRow.attributes).where(
            view.identities(), IdentityRow.external_id.in_(wanted[start : start + CHUNK])
        )
        for external_id, attributes in session.execute(stmt):
            tags = (attributes or {}).get("tags") or (attributes or {}).get("labels") or {}
            if isinstance(tags, dict):
                found[external_id] = {str(k): str(v) for k, v in tags.items()}
    return found
