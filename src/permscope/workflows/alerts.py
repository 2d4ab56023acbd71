"""Alerts: evaluate recorded signals against the rules (one alert per rule and signal, queued for the rule's
channels), and list, acknowledge and mute them (docs/monitoring.md).

Evaluation takes pending signals a batch at a time and writes, in one transaction per batch, the alerts, their
deliveries and the signals' `evaluated_at`: a process stopped midway leaves each batch done or untouched, and
the unique (rule, signal) pair makes a second evaluation of the same signals (`evaluate --since`, or two
processes at once) add nothing. An alert made while its rule or its subject is muted is recorded as muted and
delivered nowhere.

Who may do what: alerts are read by the keys that read their system's analytics (`workflows.access`); an alert
is acknowledged, and a subject muted, by an approver or administrator of its system (the people who act on
findings, as they review requests); rules and channels are written by admin keys (and the command line).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from permscope.core.access import APPROVING_ROLES, ApiRole, Systems
from permscope.core.alerts import AlertStatus, mute_reason
from permscope.core.errors import AccessDeniedError, InputError, NotFoundError
from permscope.core.signals import Signal
from permscope.store import alerts as store
from permscope.store.odata import INT64
from permscope.store.tables import (
    AlertDeliveryAttemptRow,
    AlertDeliveryRow,
    AlertMuteRow,
    AlertRow,
    AlertSignalRow,
)
from permscope.workflows.access import readable_systems
from permscope.workflows.alert_rules import RuleView, list_rules
from permscope.workflows.apikeys import ApiPrincipal

log = logging.getLogger(__name__)

BATCH = 200


@dataclass(slots=True)
class EvaluationReport:
    """What one evaluation did."""

    signals: int = 0
    alerts: int = 0
    muted: int = 0
    deliveries: int = 0

    def add(self, other: EvaluationReport) -> None:
        """Add another report's counts to this one."""
        self.signals += other.signals
        self.alerts += other.alerts
        self.muted += other.muted
        self.deliveries += other.deliveries


def record_and_evaluate(engine: Engine, signals: Sequence[Signal], now: datetime) -> EvaluationReport:
    """Record signals made outside an analysis (e.g. activity and anomaly detectors), then evaluate them."""
    with Session(engine) as session, session.begin():
        store.record_signals(session, signals, now)
    return evaluate_pending(engine, now)


def evaluate_pending(engine: Engine, now: datetime, batch: int = BATCH) -> EvaluationReport:
    """Evaluate every signal not evaluated yet against the enabled rules."""
    report = EvaluationReport()
    while True:
        with Session(engine) as session, session.begin():
            rows = store.pending_signals(session, batch)
            if not rows:
                return report
            taken = set(store.take_signals(session, [row.id for row in rows], now))
            done = _apply(session, [row for row in rows if row.id in taken], _enabled(session), now)
        report.add(done)


def reevaluate(engine: Engine, since: datetime, now: datetime, batch: int = BATCH) -> EvaluationReport:
    """Evaluate again every signal observed since `since` (e.g. for a rule added after them): alerts that exist
    are not made again, and are never sent twice."""
    report = EvaluationReport()
    after = 0
    while True:
        with Session(engine) as session, session.begin():
            rows = store.signals_since(session, since, after, batch)
            if not rows:
                return report
            after = rows[-1].id
            store.take_signals(session, [row.id for row in rows], now)
            done = _apply(session, rows, _enabled(session), now)
        report.add(done)


def evaluate_quietly(engine: Engine, now: datetime) -> EvaluationReport | None:
    """`evaluate_pending` after an analysis: a failure is logged, never raised (the analysis is stored; the
    scheduler's next pass, or `permscope alerts evaluate`, evaluates what is left)."""
    try:
        return evaluate_pending(engine, now)
    except Exception:
        log.exception("evaluating alert rules after the analysis failed; the signals stay pending")
        return None


def _enabled(session: Session) -> list[RuleView]:
    channels = store.channels_of_rules(session)
    return [
        RuleView(row, [channel.name for channel in channels.get(row.id, [])])
        for row in store.rule_rows(session, enabled_only=True)
    ]


def _apply(
    session: Session, rows: Sequence[AlertSignalRow], rules: list[RuleView], now: datetime
) -> EvaluationReport:
    """Make the alerts (and deliveries) of some signals under some rules, in the caller's transaction."""
    report = EvaluationReport(signals=len(rows))
    if not rows or not rules:
        return report
    cores = {rule.row.id: rule.rule for rule in rules}
    channel_ids = _channel_ids(session)
    tagged = any(rule.row.identity_tags for rule in rules)
    by_system: dict[tuple[str, str], list[AlertSignalRow]] = {}
    for row in rows:
        by_system.setdefault((row.cloud, row.system_id), []).append(row)
    for (cloud, system_id), signals in by_system.items():
        subjects = [row.subject_id for row in signals]
        tags = store.identity_tags(session, cloud, system_id, subjects) if tagged else {}
        mutes = store.subject_mutes(session, cloud, system_id, subjects, now)
        for row in signals:
            signal = store.signal_of_row(row)
            for rule in rules:
                if not cores[rule.row.id].matches(signal, tags.get(row.subject_id)):
                    continue
                reason = mute_reason(
                    rule.row.muted_until, mutes.get(row.subject_id, []) + mutes.get("", []), now
                )
                alert_pk = store.insert_alert(session, _alert_values(row, rule, reason, now))
                if alert_pk is None:
                    continue  # this rule alerted on this signal before
                report.alerts += 1
                if reason is not None:
                    report.muted += 1
                    continue
                report.deliveries += store.insert_deliveries(
                    session, alert_pk, channel_ids.get(rule.row.id, []), now
                )
    return report


def _channel_ids(session: Session) -> dict[int, list[int]]:
    return {
        rule_id: [c.id for c in channels] for rule_id, channels in store.channels_of_rules(session).items()
    }


def _alert_values(row: AlertSignalRow, rule: RuleView, reason: str | None, now: datetime) -> dict[str, Any]:
    return {
        "alert_id": str(uuid.uuid4()),
        "rule_id": rule.row.id,
        "rule_name": rule.row.name,
        "signal_id": row.id,
        "kind": row.kind,
        "cloud": row.cloud,
        "system_id": row.system_id,
        "subject_id": row.subject_id,
        "subject_kind": row.subject_kind,
        "subject_name": row.subject_name,
        "severity": row.severity,
        "observed_at": row.observed_at,
        "summary": row.summary,
        "explanation": row.explanation,
        "status": (AlertStatus.MUTED if reason else AlertStatus.OPEN).value,
        "muted_reason": reason,
        "created_at": now,
        "acknowledged_by": None,
        "acknowledged_at": None,
    }


# ---------------------------------------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class AlertFilter:
    """Which alerts a listing shows (each empty: any)."""

    statuses: Sequence[str] = ()
    kinds: Sequence[str] = ()
    severities: Sequence[str] = ()
    clouds: Sequence[str] = ()
    system_ids: Sequence[str] = ()


def visible_systems(principal: ApiPrincipal) -> Systems:
    """The systems whose alerts a key reads: those whose analytics it reads."""
    return readable_systems(principal)


def list_alerts(
    engine: Engine, principal: ApiPrincipal, wanted: AlertFilter, *, offset: int = 0, limit: int = 100
) -> tuple[list[AlertRow], int]:
    """(a page of the alerts the key reads, newest first; how many there are in all)."""
    stmt = store.alerts_stmt(
        visible_systems(principal),
        statuses=wanted.statuses,
        kinds=wanted.kinds,
        severities=wanted.severities,
        clouds=wanted.clouds,
        system_ids=wanted.system_ids,
    )
    with Session(engine) as session:
        total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
        rows = list(session.execute(stmt.order_by(AlertRow.id.desc()).offset(offset).limit(limit)).scalars())
    return rows, total


@dataclass(frozen=True, slots=True)
class AlertDetail:
    """One alert with its signal's evidence and its deliveries' attempts."""

    alert: AlertRow
    evidence: dict[str, Any]
    deliveries: list[tuple[AlertDeliveryRow, str, list[AlertDeliveryAttemptRow]]]
    may_act: bool


def get_alert(engine: Engine, principal: ApiPrincipal, alert_id: str) -> AlertDetail:
    """One alert the key reads (NotFoundError otherwise, as for a missing one)."""
    with Session(engine) as session:
        row = _readable(session, principal, alert_id)
        signal = session.get(AlertSignalRow, row.signal_id)
        deliveries = store.deliveries_of(session, [row.id]).get(row.id, [])
        attempts = store.attempts_of(session, [delivery.id for delivery, _name in deliveries])
        return AlertDetail(
            row,
            dict(signal.evidence or {}) if signal is not None else {},
            [(delivery, name, attempts.get(delivery.id, [])) for delivery, name in deliveries],
            may_act(principal, row.cloud, row.system_id),
        )


def _readable(session: Session, principal: ApiPrincipal, alert_id: str) -> AlertRow:
    row = store.alert_by_id(session, alert_id.strip()[:64])
    if row is None or not _reads(principal, row.cloud, row.system_id):
        raise NotFoundError(f"no alert {alert_id!r}")
    return row


def _reads(principal: ApiPrincipal, cloud: str, system_id: str) -> bool:
    systems = visible_systems(principal)
    return systems.everything or (system_id != "" and systems.covers(cloud, system_id))


def may_act(principal: ApiPrincipal, cloud: str, system_id: str) -> bool:
    """Whether the key acknowledges alerts and mutes subjects of this system: approver or administrator of it
    (an alert about no one system: an admin key)."""
    if principal.role is ApiRole.ADMIN:
        return True
    return system_id != "" and bool(principal.roles_on(cloud, system_id) & APPROVING_ROLES)


def _require_act(principal: ApiPrincipal, cloud: str, system_id: str) -> None:
    if not may_act(principal, cloud, system_id):
        raise AccessDeniedError(
            f"acknowledging alerts and muting subjects of {cloud} {system_id or '(every system)'} needs the approver "
            "or administrator role on it"
        )


# ------------------------------------------------------------------------------------- acknowledge, mute


def acknowledge(engine: Engine, principal: ApiPrincipal, alert_id: str, now: datetime) -> AlertRow:
    """Acknowledge an alert (again: nothing changes; the first acknowledgement is kept)."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        row = _readable(session, principal, alert_id)
        _require_act(principal, row.cloud, row.system_id)
        if row.status != AlertStatus.ACKNOWLEDGED.value:
            row.status = AlertStatus.ACKNOWLEDGED.value
            row.acknowledged_by = principal.who
            row.acknowledged_at = now
        return row


def mute_subject(
    engine: Engine,
    principal: ApiPrincipal,
    *,
    cloud: str,
    system_id: str,
    subject_id: str,
    until: datetime,
    reason: str,
    now: datetime,
) -> AlertMuteRow:
    """Mute the alerts of one subject of a system (or of the whole system, `subject_id` "") until a time."""
    if until <= now:
        raise InputError("mute", "the end of a mute must be in the future")
    if len(reason) > 2000 or len(subject_id) > 4096 or "\x00" in reason + subject_id + system_id:
        raise InputError("mute", "the reason or the subject is too long or holds a NUL character")
    _require_act(principal, cloud, system_id)
    with Session(engine, expire_on_commit=False) as session, session.begin():
        row = AlertMuteRow(
            cloud=cloud,
            system_id=system_id,
            subject_id=subject_id,
            until=until,
            reason=reason.strip(),
            created_by=principal.who,
            created_at=now,
        )
        session.add(row)
    return row


def mute_alert_subject(
    engine: Engine, principal: ApiPrincipal, alert_id: str, until: datetime, reason: str, now: datetime
) -> AlertMuteRow:
    """Mute the subject of one alert until a time."""
    with Session(engine) as session:
        row = _readable(session, principal, alert_id)
        cloud, system_id, subject_id = row.cloud, row.system_id, row.subject_id
    return mute_subject(
        engine,
        principal,
        cloud=cloud,
        system_id=system_id,
        subject_id=subject_id,
        until=until,
        reason=reason,
        now=now,
    )


def list_mutes(engine: Engine, principal: ApiPrincipal, now: datetime) -> list[AlertMuteRow]:
    """The mutes still running that the key may see, ending soonest first."""
    with Session(engine) as session:
        stmt = (
            select(AlertMuteRow).where(AlertMuteRow.until > now).order_by(AlertMuteRow.until, AlertMuteRow.id)
        )
        return [row for row in session.execute(stmt).scalars() if _reads(principal, row.cloud, row.system_id)]


def remove_mute(engine: Engine, principal: ApiPrincipal, mute_id: int) -> None:
    """End a mute now (an id beyond the store's integers names no mute)."""
    with Session(engine) as session, session.begin():
        row = session.get(AlertMuteRow, mute_id) if INT64[0] <= mute_id <= INT64[1] else None
        if row is None or not _reads(principal, row.cloud, row.system_id):
            raise NotFoundError(f"no mute {mute_id}")
        _require_act(principal, row.cloud, row.system_id)
        session.delete(row)


def rules_for(principal: ApiPrincipal, engine: Engine) -> list[RuleView]:
    """The rules a key may list: every rule, for any key that reads some system's alerts."""
    systems = visible_systems(principal)
    if not systems.everything and not systems.scopes:
        raise AccessDeniedError("listing alert rules needs a role that reads some authorization system")
    return list_rules(engine)
