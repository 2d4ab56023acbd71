"""Findings with history in the store: insert, unchanged, changed, resolved, reopened, listing, atomicity."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from permscope.core.findings import ActionSummary, Finding, FindingSubject, PciScore, Severity
from permscope.core.ids import Cloud
from permscope.core.inventory import AuthorizationSystem, InventoryBatch
from permscope.store.findings import (
    UNDIGESTED,
    FindingQuery,
    FindingStatus,
    RunFacts,
    content_of,
    finding_by_fingerprint,
    latest_runs,
    list_findings,
    record_analysis,
)
from permscope.store.ingest import ingest
from permscope.store.tables import AnalysisRunRow, FindingRow

ACCOUNT = "123456789012"
T0 = datetime(2025, 3, 1, tzinfo=UTC)


def _system(engine: Engine, account: str = ACCOUNT) -> int:
    batch = InventoryBatch(
        system=AuthorizationSystem(cloud=Cloud.AWS, system_id=account, name="a"), source="t"
    )
    return ingest(engine, batch).system_pk


def finding(
    name: str,
    finding_type: str = "inactiveUserFinding",
    *,
    score: int = 50,
    severity: Severity = Severity.MEDIUM,
    summary: str = "not used",
) -> Finding:
    """A user finding built by hand."""
    return Finding(
        finding_type=finding_type,
        cloud=Cloud.AWS,
        system_id=ACCOUNT,
        subject=FindingSubject.IDENTITY,
        subject_id=f"arn:aws:iam::{ACCOUNT}:user/{name}",
        subject_name=name,
        severity=severity,
        summary=summary,
        properties={},
        evidence={"lastActive": None},
        action_summary=ActionSummary(assigned=10, exercised=0, available=100),
        pci=PciScore(score, {"unused": 10}),
    )


def run_at(when: datetime) -> RunFacts:
    """Run facts of an analysis at `when`."""
    return RunFacts(started_at=when, finished_at=when, snapshot_at=when - timedelta(hours=1))


def record(engine: Engine, pk: int, findings: list[Finding], when: datetime, **kw: object) -> object:
    with Session(engine) as session, session.begin():
        return record_analysis(session, pk, findings, run_at(when), **kw)  # type: ignore[arg-type]


def rows(engine: Engine) -> dict[str, FindingRow]:
    with Session(engine, expire_on_commit=False) as session:
        return {row.subject_name: row for row in session.scalars(select(FindingRow))}


def count_rows(engine: Engine) -> tuple[int, int]:
    with Session(engine) as session:
        return (
            int(session.scalar(select(func.count()).select_from(FindingRow)) or 0),
            int(session.scalar(select(func.count()).select_from(AnalysisRunRow)) or 0),
        )


def test_history_insert_unchanged_changed_resolved_reopened(engine: Engine) -> None:
    pk = _system(engine)
    first = record(engine, pk, [finding("alice"), finding("bob")], T0)
    assert (first.new, first.unchanged, first.resolved) == (2, 0, 0)  # type: ignore[attr-defined]
    stored = rows(engine)
    assert stored["alice"].first_seen == T0 and stored["alice"].last_seen == T0
    assert stored["alice"].snapshot_at == T0 - timedelta(hours=1)
    assert stored["alice"].resolved_at is None and stored["alice"].reopened == 0
    assert stored["alice"].pci_score == 50 and stored["alice"].action_summary == {
        "assigned": 10,
        "exercised": 0,
        "available": 100,
    }
    assert count_rows(engine) == (2, 1)

    # the same analysis again: no new rows anywhere, only last_seen moves
    t1 = T0 + timedelta(days=1)
    again = record(engine, pk, [finding("alice"), finding("bob")], t1)
    assert (again.new, again.changed, again.unchanged) == (0, 0, 2)  # type: ignore[attr-defined]
    assert count_rows(engine) == (2, 1)
    stored = rows(engine)
    assert stored["alice"].last_seen == t1 and stored["alice"].first_seen == T0
    assert stored["alice"].snapshot_at == T0 - timedelta(hours=1)  # content unchanged: createdDateTime kept

    # bob's content changes (score), alice disappears
    t2 = T0 + timedelta(days=2)
    changed = record(engine, pk, [finding("bob", score=80)], t2)
    assert (changed.changed, changed.resolved) == (1, 1)  # type: ignore[attr-defined]
    stored = rows(engine)
    assert stored["bob"].pci_score == 80 and stored["bob"].snapshot_at == t2 - timedelta(hours=1)
    assert stored["bob"].first_seen == T0
    assert stored["alice"].resolved_at == t2 and stored["alice"].last_seen == t1
    assert count_rows(engine) == (2, 1)

    # alice comes back: reopened, same row
    t3 = T0 + timedelta(days=3)
    back = record(engine, pk, [finding("alice"), finding("bob", score=80)], t3)
    assert (back.reopened, back.new, back.unchanged) == (1, 0, 1)  # type: ignore[attr-defined]
    stored = rows(engine)
    assert stored["alice"].resolved_at is None and stored["alice"].reopened == 1
    assert stored["alice"].first_seen == T0 and stored["alice"].last_seen == t3
    assert count_rows(engine) == (2, 1)
    with Session(engine) as session:
        run = latest_runs(session)[pk]
        assert run.counts == {"inactiveUserFinding": 2}
        assert run.changes == {"new": 0, "changed": 0, "unchanged": 1, "resolved": 0, "reopened": 1}


def test_untouched_types_keep_their_findings(engine: Engine) -> None:
    pk = _system(engine)
    record(engine, pk, [finding("alice"), finding("bob", "superUserFinding")], T0)
    # inactive findings could not be decided this time (no activity): alice stays open and counted
    result = record(
        engine,
        pk,
        [finding("bob", "superUserFinding")],
        T0 + timedelta(days=1),
        untouched_types={"inactiveUserFinding"},
    )
    assert result.resolved == 0  # type: ignore[attr-defined]
    assert result.open_by_type == {"inactiveUserFinding": 1, "superUserFinding": 1}  # type: ignore[attr-defined]
    stored = rows(engine)
    assert stored["alice"].resolved_at is None and stored["alice"].last_seen == T0


def test_failure_mid_way_writes_nothing(engine: Engine, dump_db: object) -> None:
    pk = _system(engine)
    record(engine, pk, [finding("alice")], T0)
    before = dump_db(engine)  # type: ignore[operator]

    def exploding() -> object:
        yield finding("bob")
        raise RuntimeError("detector broke")

    with pytest.raises(RuntimeError), Session(engine) as session, session.begin():
        record_analysis(session, pk, exploding(), run_at(T0 + timedelta(days=1)))  # type: ignore[arg-type]
    assert dump_db(engine) == before  # type: ignore[operator]


def test_listing_filters_and_order(engine: Engine) -> None:
    pk = _system(engine)
    other = _system(engine, "210987654321")
    record(
        engine,
        pk,
        [
            finding("low", score=10, severity=Severity.LOW),
            finding("high", score=90, severity=Severity.HIGH),
            finding("mid", score=60),
            finding("super", "superUserFinding", score=95, severity=Severity.CRITICAL),
        ],
        T0,
    )
    record(
        engine,
        pk,
        [
            finding("high", score=90, severity=Severity.HIGH),
            finding("mid", score=60),
            finding("super", "superUserFinding", score=95, severity=Severity.CRITICAL),
        ],
        T0 + timedelta(days=1),
    )
    with Session(engine) as session:
        names = [r.subject_name for r in list_findings(session, FindingQuery())]
        assert names == ["super", "high", "mid"]
        resolved = list_findings(session, FindingQuery(status=FindingStatus.RESOLVED))
        assert [r.subject_name for r in resolved] == ["low"]
        assert len(list_findings(session, FindingQuery(status=FindingStatus.ALL))) == 4
        typed = list_findings(session, FindingQuery(types=["inactiveUserFinding"], min_pci=61))
        assert [r.subject_name for r in typed] == ["high"]
        assert list_findings(session, FindingQuery(system_pks=[other])) == []
        paged = list_findings(session, FindingQuery(), limit=1, offset=1)
        assert [r.subject_name for r in paged] == ["high"]
        found = finding_by_fingerprint(session, finding("mid").fingerprint)
        assert found is not None and found.subject_name == "mid"


def test_pci_factors_alone_do_not_change_a_finding(engine: Engine) -> None:
    pk = _system(engine)
    record(engine, pk, [finding("alice")], T0)
    later = finding("alice")
    later.pci = PciScore(50, {"unused": 10, "daysSinceLastActivity": 555})
    result = record(engine, pk, [later], T0 + timedelta(days=1))
    assert (result.changed, result.unchanged) == (0, 1)  # type: ignore[attr-defined]
    assert rows(engine)["alice"].pci_factors == {"unused": 10}


def test_duplicate_fingerprints_in_one_analysis_are_recorded_once(engine: Engine) -> None:
    pk = _system(engine)
    result = record(engine, pk, [finding("alice"), finding("alice", score=99)], T0)
    assert result.new == 1  # type: ignore[attr-defined]
    assert rows(engine)["alice"].pci_score == 50


def test_the_digest_covers_the_content_but_the_undigested_columns() -> None:
    content, digest = content_of(finding("alice"))
    digested = {key: value for key, value in content.items() if key not in UNDIGESTED}
    raw = orjson.dumps(digested, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    assert set(content) >= UNDIGESTED
    assert digest == hashlib.sha256(raw).hexdigest()


def test_the_digest_of_a_finding_never_changes() -> None:
    # stored findings keep the digests earlier versions wrote: a new one would "change" every finding once
    _content, digest = content_of(finding("alice"))
    assert digest == "4c4fa444607bcde03b4b90755930190c10c45cef6fe3fddc7ffa75170fb22b26"
