"""The PCI report's history: each system's bands per day and, from the stored PCI history, the scores per day of
the identities whose PCI moved (those whose score never changed are left out)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from dashboard_support import PROD, T0, load_system
from permscope.core.ids import Cloud
from permscope.store.findings import RunFacts, record_analysis
from permscope.store.pci_history import identities_pci_series, identity_pci_series
from permscope.workflows.reports import ReportSystem, analysis_day_history, stored_pci_history

A, B = (f"arn:aws:iam::{PROD}:user/{name}" for name in ("a", "b"))


def _analyze(engine: Engine, pk: int, day: int, scores: dict[str, int]) -> None:
    when = T0 + timedelta(days=day)
    facts = RunFacts(started_at=when, finished_at=when, snapshot_at=when, pci_scores=scores, system_pci=50)
    with Session(engine) as session, session.begin():
        record_analysis(session, pk, [], facts)


def test_moved_identities_have_their_days_and_the_bulk_read_matches_one_by_one(engine: Engine) -> None:
    pk = load_system(engine, Cloud.AWS, PROD, users=2, roles=0)
    for day, scores in enumerate(({A: 10, B: 40}, {A: 10, B: 40}, {A: 70, B: 40})):
        _analyze(engine, pk, day, scores)
    since = T0.date()
    with Session(engine) as session:
        bulk = identities_pci_series(session, pk, since=since)
        assert bulk == {name: identity_pci_series(session, pk, name, since) for name in (A, B)}
    system = ReportSystem(pk, Cloud.AWS, PROD, "prod", None, T0, T0, 90, None)
    points = stored_pci_history(engine, [system], since)
    moved = [(p.identity, (p.day - since).days, p.score) for p in points if p.identity is not None]
    assert moved == [(A, 0, 10), (A, 1, 10), (A, 2, 70)]  # b never moved
    assert [p for p in points if p.identity is None] == analysis_day_history(engine, [system], since)
