"""The analyses' history per system and day: written with each analysis, read as trends."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from dashboard_support import PROD, SANDBOX, T0, analyze, arn, distribution, finding, load_system
from permscope.core.ids import Cloud
from permscope.store.tables import AnalysisDayRow
from permscope.store.trends import DayChanges, changes_per_day, distributions_per_day


def _user(n: int) -> str:
    return arn(PROD, "user", f"user-{n:02d}")


def test_each_analysis_adds_its_changes_to_its_day(engine: Engine) -> None:
    prod = load_system(engine, Cloud.AWS, PROD, users=3, roles=0)
    a, b, c = (finding(PROD, _user(n), f"u{n}") for n in range(3))
    day1, day2, day3 = T0, T0 + timedelta(days=1), T0 + timedelta(days=2)
    analyze(engine, prod, [a, b], day1, distribution(2, 0, 0))  # a, b new
    analyze(engine, prod, [a], day1 + timedelta(hours=3), distribution(1, 0, 1))  # b resolved, same day
    analyze(engine, prod, [a, b, c], day2, distribution(0, 1, 2))  # b reopened, c new
    analyze(engine, prod, [], day3)  # all resolved, no distribution
    with Session(engine) as session:
        rows = list(session.scalars(select(AnalysisDayRow).order_by(AnalysisDayRow.day)))
        changes = changes_per_day(session, [prod], T0.date())
        later = changes_per_day(session, None, day2.date())
        distributions = distributions_per_day(session, [prod], T0.date())
    assert [(r.day, r.analyses, r.new, r.resolved, r.reopened, r.open_findings) for r in rows] == [
        (day1.date(), 2, 2, 1, 0, 1),
        (day2.date(), 1, 1, 0, 1, 3),
        (day3.date(), 1, 0, 3, 0, 0),
    ]
    assert rows[0].pci_distribution == distribution(1, 0, 1)  # the day's last analysis
    assert rows[0].last_analysis_at == day1 + timedelta(hours=3)
    assert changes == [
        DayChanges(day1.date(), 2, 1, 0, 1),
        DayChanges(day2.date(), 1, 0, 1, 3),
        DayChanges(day3.date(), 0, 3, 0, 0),
    ]
    assert [d.day for d in later] == [day2.date(), day3.date()]
    assert [(d.day, d.distribution) for d in distributions] == [
        (day1.date(), distribution(1, 0, 1)),
        (day2.date(), distribution(0, 1, 2)),
    ]  # day 3 had no distribution


def test_changes_of_several_systems_add_up_per_day(engine: Engine) -> None:
    prod = load_system(engine, Cloud.AWS, PROD, users=2, roles=0)
    sandbox = load_system(engine, Cloud.AWS, SANDBOX, users=1, roles=0)
    analyze(engine, prod, [finding(PROD, _user(0), "a"), finding(PROD, _user(1), "b")], T0)
    analyze(
        engine, sandbox, [finding(SANDBOX, arn(SANDBOX, "user", "user-00"), "c")], T0 + timedelta(hours=1)
    )
    with Session(engine) as session:
        both = changes_per_day(session, [prod, sandbox], T0.date())
        one = changes_per_day(session, [sandbox], T0.date())
        none = changes_per_day(session, [], T0.date())
        too_late = changes_per_day(session, None, T0.date() + timedelta(days=1))
    assert both == [DayChanges(T0.date(), 3, 0, 0, 3)]
    assert one == [DayChanges(T0.date(), 1, 0, 0, 1)]
    assert none == [] and too_late == []


def test_a_day_is_the_utc_day_of_the_analysis(engine: Engine) -> None:
    prod = load_system(engine, Cloud.AWS, PROD, users=1, roles=0)
    late = T0.replace(hour=23, minute=30)
    analyze(engine, prod, [finding(PROD, _user(0), "a")], late)
    analyze(engine, prod, [], late + timedelta(hours=1))  # after midnight UTC: the next day
    with Session(engine) as session:
        days = changes_per_day(session, [prod], T0.date())
    assert [(d.day, d.new, d.resolved) for d in days] == [
        (T0.date(), 1, 0),
        (T0.date() + timedelta(days=1), 0, 1),
    ]
