"""The migration that adds the analyses' history per day fills it from the latest analysis each system already
has, and its downgrade removes it (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from sqlalchemy import Engine, MetaData, inspect, select, text

from permscope.store.engine import downgrade, upgrade

REVISION, PREVIOUS = "0010", "0009"
STARTED = datetime(2026, 11, 3, 23, 59, tzinfo=UTC)


def test_upgrade_fills_one_day_per_analyzed_system_and_downgrade_removes_it(
    unmigrated_engine: Engine,
) -> None:
    engine = unmigrated_engine
    upgrade(engine, PREVIOUS)
    tables = MetaData()
    tables.reflect(engine, only=["authorization_systems", "analysis_runs", "findings"])
    systems, runs, findings = (
        tables.tables[name] for name in ("authorization_systems", "analysis_runs", "findings")
    )
    with engine.begin() as connection:
        for pk in (1, 2):
            connection.execute(
                systems.insert().values(
                    id=pk, cloud="aws", system_id=f"11112222333{pk}", name=f"s{pk}", collection_status="online",
                    modification_enabled=False, created_at=STARTED, attributes={},
                )
            )  # fmt: skip
        connection.execute(
            runs.insert().values(
                system_pk=1, started_at=STARTED, finished_at=STARTED, snapshot_at=STARTED,
                counts={"inactiveUserFinding": 3, "superUserFinding": 2},
                changes={"new": 4, "changed": 0, "unchanged": 1, "resolved": 2, "reopened": 1},
                checked={}, skipped={}, errors=[], settings={},
                pci_distribution={"high": {"humanCount": 1, "nonHumanCount": 0}},
            )
        )  # fmt: skip
        for n, (subject, kind, severity, pci, resolved) in enumerate(
            [
                ("alice", "identity", "high", 40, None),
                ("alice", "identity", "critical", 40, None),
                ("bob", "identity", "low", 90, None),
                ("carol", "identity", "critical", 99, STARTED),  # resolved: not counted
                ("bucket", "storageBucket", "critical", None, None),  # no identity
            ]
        ):
            connection.execute(
                findings.insert().values(
                    system_pk=1, fingerprint=f"f{n}", finding_type="t" if n else "u", subject_kind=kind,
                    subject_id=subject, subject_name=subject.capitalize(), severity=severity, summary="s",
                    properties={}, evidence={}, pci_score=pci, first_seen=STARTED, last_seen=STARTED,
                    resolved_at=resolved, reopened=0, snapshot_at=STARTED, digest="d",
                )
            )  # fmt: skip
    upgrade(engine, REVISION)
    with engine.connect() as connection:
        summary = connection.execute(text("SELECT open_summary FROM analysis_runs")).scalar_one()
    summary = json.loads(summary) if isinstance(summary, str) else summary
    assert summary["byType"] == {"u": {"high": 1}, "t": {"critical": 2, "low": 1}}
    assert [
        (r["externalId"], r["pci"], r["worstSeverity"], r["openFindings"]) for r in summary["riskiest"]
    ] == [
        ("bob", 90, "low", 1),
        ("alice", 40, "critical", 2),
    ]
    days = MetaData()
    days.reflect(engine, only=["analysis_days"])
    with engine.connect() as connection:
        rows = connection.execute(select(days.tables["analysis_days"])).mappings().all()
    assert len(rows) == 1  # system 2 was never analyzed
    row = dict(rows[0])
    assert (row["system_pk"], row["analyses"], row["new"], row["resolved"], row["reopened"]) == (
        1,
        1,
        4,
        2,
        1,
    )
    assert row["day"] == date(2026, 11, 3) and row["open_findings"] == 5
    assert row["pci_distribution"] == {"high": {"humanCount": 1, "nonHumanCount": 0}}
    assert "ix_findings_subject" in {index["name"] for index in inspect(engine).get_indexes("findings")}
    downgrade(engine, PREVIOUS)
    inspector = inspect(engine)
    assert "analysis_days" not in inspector.get_table_names()
    assert "open_summary" not in {column["name"] for column in inspector.get_columns("analysis_runs")}
    assert "ix_findings_subject" not in {index["name"] for index in inspector.get_indexes("findings")}
