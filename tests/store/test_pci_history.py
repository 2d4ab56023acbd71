"""PCI history: each identity's PCI kept per day only when it changed (one row per identity and day at most, a
second analysis of a day rewriting it), read back as a series over any window; the system's PCI and its open
findings per type and severity per day."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from dashboard_support import PROD, SANDBOX, T0, finding, load_system
from permscope.core.findings import Severity
from permscope.core.ids import Cloud
from permscope.store.findings import RunFacts, record_analysis
from permscope.store.pci_history import (
    DayFindingCount,
    finding_counts_per_day,
    identity_pci_series,
    system_pci_series,
    systems_pci_per_day,
)
from permscope.store.tables import IdentityPciDayRow

A, B, C = (f"arn:aws:iam::{PROD}:user/{name}" for name in ("a", "b", "c"))


def _analyze(
    engine: Engine, pk: int, when: datetime, scores: dict[str, int], findings: list | None = None
) -> None:
    facts = RunFacts(
        started_at=when,
        finished_at=when,
        snapshot_at=when,
        pci_scores=scores,
        system_pci=round(sum(scores.values()) / len(scores)) if scores else None,
    )
    with Session(engine) as session, session.begin():
        record_analysis(session, pk, findings or [], facts)


def _rows(engine: Engine, pk: int) -> list[tuple[str, int | None]]:
    with Session(engine) as session:
        stmt = select(IdentityPciDayRow.identity_external_id, IdentityPciDayRow.day, IdentityPciDayRow.score)
        rows = session.execute(
            stmt.where(IdentityPciDayRow.system_pk == pk).order_by(
                IdentityPciDayRow.day, IdentityPciDayRow.identity_external_id
            )
        )
        return [(ext.rsplit("/", 1)[1], (day - T0.date()).days, score) for ext, day, score in rows]  # type: ignore[misc]


def test_only_changes_are_kept_and_the_series_carries_them_forward(engine: Engine) -> None:
    pk = load_system(engine, Cloud.AWS, PROD, users=3, roles=0)
    days = [T0 + timedelta(days=n) for n in range(5)]
    _analyze(engine, pk, days[0], {A: 80, B: 10})
    _analyze(engine, pk, days[1], {A: 80, B: 10})  # nothing changed: no row
    _analyze(engine, pk, days[2], {A: 60, B: 10, C: 5})  # a fell, c appeared
    _analyze(engine, pk, days[3], {A: 60, C: 5})  # b is gone
    _analyze(engine, pk, days[4], {A: 70, B: 20, C: 5})  # b is back
    assert _rows(engine, pk) == [
        ("a", 0, 80), ("b", 0, 10),
        ("a", 2, 60), ("c", 2, 5),
        ("b", 3, None),
        ("a", 4, 70), ("b", 4, 20),
    ]  # fmt: skip
    d = [day.date() for day in days]
    with Session(engine) as session:
        assert identity_pci_series(session, pk, A) == [
            (d[0], 80),
            (d[1], 80),
            (d[2], 60),
            (d[3], 60),
            (d[4], 70),
        ]
        assert identity_pci_series(session, pk, B, d[1], d[4]) == [(d[1], 10), (d[2], 10), (d[4], 20)]
        assert identity_pci_series(session, pk, C, d[0], d[1]) == []  # not there yet
        assert identity_pci_series(session, pk, "arn:aws:iam::111122223333:user/nobody") == []
        assert system_pci_series(session, pk, d[1], d[3]) == [(d[1], 45), (d[2], 25), (d[3], 32)]
        assert [(p.day, p.score) for p in systems_pci_per_day(session, None, d[3])] == [
            (d[3], 32),
            (d[4], 32),
        ]


def test_a_second_analysis_of_a_day_rewrites_that_days_row(engine: Engine) -> None:
    pk = load_system(engine, Cloud.AWS, PROD, users=2, roles=0)
    _analyze(engine, pk, T0, {A: 50})
    _analyze(engine, pk, T0 + timedelta(days=1), {A: 70, B: 30})
    _analyze(engine, pk, T0 + timedelta(days=1, hours=5), {A: 75, B: 30})  # rewritten, not added
    assert _rows(engine, pk) == [("a", 0, 50), ("a", 1, 75), ("b", 1, 30)]
    _analyze(engine, pk, T0 + timedelta(days=1, hours=9), {A: 50})  # back to the day before's: no row needed
    assert _rows(engine, pk) == [("a", 0, 50)]
    with Session(engine) as session:
        count = session.scalar(select(func.count()).select_from(IdentityPciDayRow))
        assert identity_pci_series(session, pk, A) == [(T0.date(), 50), ((T0 + timedelta(days=1)).date(), 50)]
        assert identity_pci_series(session, pk, B) == []
    assert count == 1


def test_histories_of_systems_stay_apart(engine: Engine) -> None:
    prod = load_system(engine, Cloud.AWS, PROD, users=1, roles=0)
    sandbox = load_system(engine, Cloud.AWS, SANDBOX, users=1, roles=0)
    _analyze(engine, prod, T0, {A: 90})
    _analyze(engine, sandbox, T0, {A: 10})  # the same external id in another system
    with Session(engine) as session:
        assert identity_pci_series(session, prod, A) == [(T0.date(), 90)]
        assert identity_pci_series(session, sandbox, A) == [(T0.date(), 10)]
        assert {p.system_pk: p.score for p in systems_pci_per_day(session, [prod, sandbox], T0.date())} == {
            prod: 90,
            sandbox: 10,
        }


def test_open_findings_per_type_and_severity_per_day(engine: Engine) -> None:
    pk = load_system(engine, Cloud.AWS, PROD, users=3, roles=0)
    a_high = finding(PROD, A, "a", severity=Severity.HIGH)
    b_high = finding(PROD, B, "b", severity=Severity.HIGH)
    c_low = finding(PROD, C, "c", severity=Severity.LOW)
    _analyze(engine, pk, T0, {A: 1}, [a_high, b_high])
    _analyze(engine, pk, T0 + timedelta(days=1), {A: 1}, [a_high, c_low])
    with Session(engine) as session:
        counts = finding_counts_per_day(session, [pk])
        later = finding_counts_per_day(session, None, since=(T0 + timedelta(days=1)).date())
    kind = a_high.finding_type
    d0, d1 = T0.date(), (T0 + timedelta(days=1)).date()
    assert counts == [
        DayFindingCount(pk, d0, kind, "high", 2),
        DayFindingCount(pk, d1, kind, "high", 1),
        DayFindingCount(pk, d1, kind, "low", 1),
    ]
    assert later == counts[1:]
