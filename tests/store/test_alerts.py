"""The alert tables' guarantees: a signal is recorded once per key (however long), an alert once per rule and
signal, a delivery once per alert and channel, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from permscope.core.findings import Severity
from permscope.core.ids import Cloud
from permscope.core.signals import Signal, SignalKind
from permscope.store import alerts as store
from permscope.store.tables import AlertChannelRow, AlertRuleRow, AlertSignalRow

NOW = datetime(2026, 12, 1, tzinfo=UTC)
LONG = "arn:aws:iam::111122223333:role/" + "x" * 3000


def test_signals_alerts_and_deliveries_are_made_once(engine: Engine) -> None:
    signal = Signal(SignalKind.FINDING_NEW, f"finding.new:{LONG}", Cloud.AWS, "111", LONG, "role", "r",
                    Severity.HIGH, NOW, "s", evidence={"findingType": "t"})  # fmt: skip
    with Session(engine) as session, session.begin():
        assert store.record_signals(session, [signal, signal], NOW) == 1
        assert store.record_signals(session, [signal], NOW) == 0
        row = session.scalars(select(AlertSignalRow)).one()
        assert store.signal_of_row(row) == signal
        rule = AlertRuleRow(name="r", enabled=True, kinds=["finding.new"], clouds=[], system_ids=[],
                            identity_kinds=[], identity_tags=[], min_severity="low", finding_types=[],
                            parameters={}, muted_until=None, created_by="a", created_at=NOW, updated_at=NOW)  # fmt: skip
        channel = AlertChannelRow(
            name="c", kind="webhook", settings={}, sealed="x", created_by="a", created_at=NOW
        )
        session.add_all([rule, channel])
        session.flush()
        values = {"rule_id": rule.id, "rule_name": "r", "signal_id": row.id, "kind": row.kind, "cloud": "aws",
                  "system_id": "111", "subject_id": LONG, "subject_kind": "role", "subject_name": "r",
                  "severity": "high", "observed_at": NOW, "summary": "s", "explanation": "", "status": "open",
                  "muted_reason": None, "created_at": NOW, "acknowledged_by": None, "acknowledged_at": None}  # fmt: skip
        first = store.insert_alert(session, {**values, "alert_id": "a1"})
        assert first is not None
        assert store.insert_alert(session, {**values, "alert_id": "a2"}) is None
        assert store.insert_deliveries(session, first, [channel.id, channel.id], NOW) == 1
        assert store.insert_deliveries(session, first, [channel.id], NOW) == 0
        assert [attempts for _id, attempts in store.due_deliveries(session, NOW, 10)] == [0]
        assert store.take_signals(session, [row.id], NOW) == [row.id]
        assert store.take_signals(session, [row.id], NOW) == []
        assert store.pending_signals(session, 10) == []
        assert int(session.scalar(select(func.count()).select_from(AlertSignalRow)) or 0) == 1
