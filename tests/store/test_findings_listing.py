"""Listing findings across clouds (the web UI's list and CSV): each filter narrows, key scopes hide systems, the
orders, COUNT agrees with the rows, records stream in order, and the listing indexes exist."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from permscope.core.access import Systems
from permscope.core.findings import Finding, FindingSubject, PciScore, Severity
from permscope.core.ids import Cloud
from permscope.core.inventory import AuthorizationSystem, InventoryBatch
from permscope.store.findings import (
    FindingOrder,
    FindingQuery,
    FindingStatus,
    RunFacts,
    TimeRange,
    count_findings,
    finding_conditions,
    finding_within,
    list_findings,
    order_of,
    record_analysis,
    state_of,
    stream_records,
)
from permscope.store.ingest import ingest
from permscope.store.tables import FindingRow

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
AWS_ID, AZURE_ID, GCP_ID = "123456789012", "0b1f6471-1bf0-4dda-aec3-111111111111", "demo-project"


def _system(engine: Engine, cloud: Cloud, system_id: str) -> int:
    batch = InventoryBatch(system=AuthorizationSystem(cloud=cloud, system_id=system_id, name="n"), source="t")
    return ingest(engine, batch).system_pk


def _finding(
    cloud: Cloud, system_id: str, name: str, finding_type: str, severity: Severity, score: int | None
) -> Finding:
    return Finding(
        finding_type=finding_type,
        cloud=cloud,
        system_id=system_id,
        subject=FindingSubject.IDENTITY,
        subject_id=f"{system_id}/{name}",
        subject_name=name,
        severity=severity,
        summary=f"{name} is {finding_type}",
        properties={},
        evidence={},
        pci=PciScore(score, {}) if score is not None else None,
    )


def _record(engine: Engine, pk: int, findings: list[Finding], when: datetime) -> None:
    with Session(engine) as session, session.begin():
        record_analysis(session, pk, findings, RunFacts(started_at=when, finished_at=when, snapshot_at=when))


@pytest.fixture
def estate(engine: Engine) -> dict[str, int]:
    """Three clouds' systems; in AWS a finding resolved, one reopened, one first seen later."""
    aws = _system(engine, Cloud.AWS, AWS_ID)
    azure = _system(engine, Cloud.AZURE, AZURE_ID)
    gcp = _system(engine, Cloud.GCP, GCP_ID)
    a = Cloud.AWS
    bob = _finding(a, AWS_ID, "bob", "superUserFinding", Severity.HIGH, 90)
    old = _finding(a, AWS_ID, "old", "inactiveUserFinding", Severity.MEDIUM, 40)
    back = _finding(a, AWS_ID, "back", "inactiveUserFinding", Severity.MEDIUM, None)
    late = _finding(a, AWS_ID, "late", "inactiveUserFinding", Severity.LOW, 10)
    _record(engine, aws, [bob, old, back], T0)
    _record(engine, aws, [bob], T0 + timedelta(days=1))  # old and back resolved
    _record(engine, aws, [bob, back, late], T0 + timedelta(days=2))  # back reopened, late new
    _record(
        engine, azure, [_finding(Cloud.AZURE, AZURE_ID, "eve", "superUserFinding", Severity.HIGH, 95)], T0
    )
    _record(engine, gcp, [_finding(Cloud.GCP, GCP_ID, "sam", "inactiveUserFinding", Severity.LOW, 20)], T0)
    return {"aws": aws, "azure": azure, "gcp": gcp}


def _names(engine: Engine, query: FindingQuery, order: FindingOrder = FindingOrder.SEVERITY) -> list[str]:
    with Session(engine) as session:
        rows = list_findings(session, query, order=order)
        assert count_findings(session, query) == len(rows)  # COUNT agrees with the rows, filter by filter
        records = list(stream_records(session, query, order, chunk=2))
        assert [r["subject_name"] for r in records] == [r.subject_name for r in rows]
        return [row.subject_name for row in rows]


def test_each_filter_narrows(engine: Engine, estate: dict[str, int]) -> None:
    assert _names(engine, FindingQuery()) == ["eve", "bob", "back", "sam", "late"]  # worst first; no PCI last
    assert _names(engine, FindingQuery(clouds=["azure", "gcp"])) == ["eve", "sam"]
    assert _names(engine, FindingQuery(system_pks=[estate["aws"]])) == ["bob", "back", "late"]
    assert _names(engine, FindingQuery(types=["superUserFinding"])) == ["eve", "bob"]
    assert _names(engine, FindingQuery(severities=["low"])) == ["sam", "late"]
    assert _names(engine, FindingQuery(severities=["high", "low"])) == ["eve", "bob", "sam", "late"]
    assert _names(engine, FindingQuery(severities=["critical"])) == []
    assert _names(engine, FindingQuery(severities=["bogus"])) == []
    assert _names(engine, FindingQuery(status=FindingStatus.RESOLVED)) == ["old"]
    assert _names(engine, FindingQuery(status=FindingStatus.REOPENED)) == ["back"]
    assert len(_names(engine, FindingQuery(status=FindingStatus.ALL))) == 6
    later = TimeRange(since=T0 + timedelta(days=2))
    assert _names(engine, FindingQuery(first_seen=later)) == ["late"]
    assert _names(engine, FindingQuery(last_seen=later)) == ["bob", "back", "late"]
    earlier = TimeRange(before=T0 + timedelta(days=1))
    assert _names(engine, FindingQuery(last_seen=earlier, status=FindingStatus.ALL)) == ["eve", "old", "sam"]
    assert _names(engine, FindingQuery(first_seen=TimeRange(T0, T0 + timedelta(seconds=1)))) == [
        "eve",
        "bob",
        "back",
        "sam",
    ]


def test_a_scope_hides_other_systems(engine: Engine, estate: dict[str, int]) -> None:
    assert _names(engine, FindingQuery(scope=Systems(scopes=(("azure", AZURE_ID),)))) == ["eve"]
    assert _names(engine, FindingQuery(scope=Systems(scopes=(("gcp", "*"), ("aws", "nope"))))) == ["sam"]
    assert _names(engine, FindingQuery(scope=Systems())) == []
    assert len(_names(engine, FindingQuery(scope=Systems(everything=True)))) == 5
    # a scope and a cloud filter together: only what both allow
    assert _names(engine, FindingQuery(clouds=["aws"], scope=Systems(scopes=(("azure", "*"),)))) == []
    with Session(engine) as session:
        bob = list_findings(session, FindingQuery(types=["superUserFinding"], clouds=["aws"]))[0]
        assert finding_within(session, bob.fingerprint, Systems(everything=True)) is not None
        assert finding_within(session, bob.fingerprint, Systems(scopes=(("azure", "*"),))) is None
        assert finding_within(session, "0" * 64, Systems(everything=True)) is None


def test_orders_and_paging(engine: Engine, estate: dict[str, int]) -> None:
    everything = FindingQuery(status=FindingStatus.ALL)
    assert _names(engine, everything, FindingOrder.FIRST_SEEN)[0] == "late"
    # newest last seen first; equal times by the newest row first
    assert _names(engine, everything, FindingOrder.LAST_SEEN) == ["late", "back", "bob", "sam", "eve", "old"]
    with Session(engine) as session:
        pages = [
            [r.subject_name for r in list_findings(session, everything, limit=2, offset=offset)]
            for offset in (0, 2, 4, 6)
        ]
    assert [len(p) for p in pages] == [2, 2, 2, 0]
    assert [name for page in pages for name in page] == _names(engine, everything)  # no overlap, no gap


def test_records_say_the_state(engine: Engine, estate: dict[str, int]) -> None:
    with Session(engine) as session:
        records = {
            r["subject_name"]: r for r in stream_records(session, FindingQuery(status=FindingStatus.ALL))
        }
    assert {name: r["status"] for name, r in records.items()} == {
        "eve": "open",
        "bob": "open",
        "back": "reopened",
        "sam": "open",
        "late": "open",
        "old": "resolved",
    }
    assert records["eve"]["cloud"] == "azure" and records["eve"]["system_id"] == AZURE_ID
    assert records["back"]["reopened"] == 1 and records["old"]["resolved_at"] == T0 + timedelta(days=1)
    assert state_of(None, 0) is FindingStatus.OPEN and state_of(T0, 3) is FindingStatus.RESOLVED


def test_listing_indexes_exist(engine: Engine) -> None:
    catalog = (
        "SELECT indexname FROM pg_indexes WHERE tablename = 'findings'"
        if engine.dialect.name == "postgresql"
        else "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'findings'"
    )
    with engine.connect() as connection:
        names = set(connection.execute(text(catalog)).scalars())
    wanted = {"ix_findings_worst_first", "ix_findings_last_seen", "ix_findings_first_seen"}
    assert wanted <= names


def test_the_worst_first_page_reads_the_index_not_a_sort(sqlite_engine: Engine) -> None:
    """On SQLite the plan is stable at any size: the first page of every open finding walks the index."""
    conditions = finding_conditions(FindingQuery(scope=Systems(scopes=(("aws", "*"),))))
    stmt = select(FindingRow.id).where(*conditions).order_by(*order_of(FindingOrder.SEVERITY)).limit(50)
    compiled = stmt.compile(sqlite_engine, compile_kwargs={"literal_binds": True})
    with sqlite_engine.connect() as connection:
        plan = " ".join(str(row[-1]) for row in connection.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
    assert "COVERING INDEX ix_findings_worst_first" in plan and "TEMP B-TREE" not in plan, plan


def test_the_rank_follows_the_severity(engine: Engine, estate: dict[str, int]) -> None:
    with Session(engine) as session:
        found = {
            row.severity: row.severity_rank
            for row in list_findings(session, FindingQuery(status=FindingStatus.ALL))
        }
    assert found == {"high": 3, "medium": 2, "low": 1}
