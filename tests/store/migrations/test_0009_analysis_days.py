"""The migration that adds the analyses' history per day fills it from the latest analysis each system already
has, and its downgrade removes it (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import Engine, MetaData, inspect, select

from permscope.store.engine import downgrade, upgrade

REVISION, PREVIOUS = "0009", "0008"
STARTED = datetime(2026, 11, 3, 23, 59, tzinfo=UTC)


def test_upgrade_fills_one_day_per_analyzed_system_and_downgrade_removes_it(
    unmigrated_engine: Engine,
) -> None:
    engine = unmigrated_engine
    upgrade(engine, PREVIOUS)
    tables = MetaData()
    tables.reflect(engine, only=["authorization_systems", "analysis_runs"])
    systems, runs = tables.tables["authorization_systems"], tables.tables["analysis_runs"]
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
    upgrade(engine, REVISION)
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
    assert "ix_findings_subject" not in {index["name"] for index in inspector.get_indexes("findings")}
