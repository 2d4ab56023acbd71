"""Migration 0013 adds the index of findings per state, system, type and severity and its downgrade drops it;
SQLite then counts a system's open findings from the index alone."""

from __future__ import annotations

from sqlalchemy import Engine, func, inspect, select, text
from sqlalchemy.orm import Session

from permscope.store.engine import downgrade, upgrade
from permscope.store.tables import FindingRow

INDEXES = {
    "findings": ("ix_findings_open_by_system", ["resolved_at", "system_pk", "finding_type", "severity"]),
}


def _indexes(engine: Engine, table: str) -> dict[str, list[str]]:
    return {index["name"]: list(index["column_names"]) for index in inspect(engine).get_indexes(table)}


def test_upgrade_adds_the_indexes_and_downgrade_drops_them(unmigrated_engine: Engine) -> None:
    upgrade(unmigrated_engine, "0012")
    for table, (name, _columns) in INDEXES.items():
        assert name not in _indexes(unmigrated_engine, table)
    upgrade(unmigrated_engine, "0013")
    for table, (name, columns) in INDEXES.items():
        assert _indexes(unmigrated_engine, table)[name] == columns
    downgrade(unmigrated_engine, "0012")
    for table, (name, _columns) in INDEXES.items():
        assert name not in _indexes(unmigrated_engine, table)


def test_open_findings_of_a_system_are_counted_from_the_index(unmigrated_engine: Engine) -> None:
    upgrade(unmigrated_engine, "0013")
    if unmigrated_engine.dialect.name != "sqlite":  # PostgreSQL's plan depends on its statistics
        return
    stmt = (
        select(FindingRow.finding_type, FindingRow.severity, func.count())
        .where(FindingRow.resolved_at.is_(None), FindingRow.system_pk == 1)
        .group_by(FindingRow.finding_type, FindingRow.severity)
    )
    sql = str(stmt.compile(unmigrated_engine, compile_kwargs={"literal_binds": True}))
    with Session(unmigrated_engine) as session:
        plan = " ".join(str(row[-1]) for row in session.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
    assert "COVERING INDEX ix_findings_open_by_system" in plan, plan
