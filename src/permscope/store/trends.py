"""The history of analyses per system and UTC day (`analysis_days`): written with each analysis, read as the
dashboard's trends (findings new, resolved and reopened per day; PCI bands per system per day)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from permscope.store.tables import AnalysisDayRow


def record_day(
    session: Session,
    system_pk: int,
    at: datetime,
    changes: dict[str, int],
    open_findings: int,
    pci_distribution: dict[str, Any] | None,
) -> None:
    """Count one analysis of a system (run at `at`) into its day: changes add up, the state is the latest."""
    day = at.astimezone(UTC).date()
    row = session.get(AnalysisDayRow, (system_pk, day))
    if row is None:
        session.add(
            AnalysisDayRow(
                system_pk=system_pk,
                day=day,
                analyses=1,
                new=changes.get("new", 0),
                resolved=changes.get("resolved", 0),
                reopened=changes.get("reopened", 0),
                open_findings=open_findings,
                pci_distribution=pci_distribution,
                last_analysis_at=at,
            )
        )
        return
    row.analyses += 1
    row.new += changes.get("new", 0)
    row.resolved += changes.get("resolved", 0)
    row.reopened += changes.get("reopened", 0)
    if at >= row.last_analysis_at:
        row.open_findings = open_findings
        row.pci_distribution = pci_distribution
        row.last_analysis_at = at


@dataclass(frozen=True, slots=True)
class DayChanges:
    """What the analyses of one day changed over a set of systems."""

    day: date
    new: int
    resolved: int
    reopened: int
    open_findings: int  # open after each system's last analysis of that day (systems analyzed that day)


def _of(system_pks: Sequence[int] | None, since: date) -> list[ColumnElement[bool]]:
    conditions = [AnalysisDayRow.day >= since]
    if system_pks is not None:
        conditions.append(AnalysisDayRow.system_pk.in_(list(system_pks)))
    return conditions


def changes_per_day(session: Session, system_pks: Sequence[int] | None, since: date) -> list[DayChanges]:
    """Per day from `since` on which one of the systems (every one when None) was analyzed, the summed changes,
    oldest first."""
    stmt = (
        select(
            AnalysisDayRow.day,
            func.sum(AnalysisDayRow.new),
            func.sum(AnalysisDayRow.resolved),
            func.sum(AnalysisDayRow.reopened),
            func.sum(AnalysisDayRow.open_findings),
        )
        .where(*_of(system_pks, since))
        .group_by(AnalysisDayRow.day)
        .order_by(AnalysisDayRow.day)
    )
    return [
        DayChanges(day, int(new or 0), int(resolved or 0), int(reopened or 0), int(open_ or 0))
        for day, new, resolved, reopened, open_ in session.execute(stmt)
    ]


@dataclass(frozen=True, slots=True)
class DayDistribution:
    """One system's PCI distribution as its last analysis of one day left it."""

    system_pk: int
    day: date
    distribution: dict[str, Any]


def distributions_per_day(
    session: Session, system_pks: Sequence[int] | None, since: date
) -> list[DayDistribution]:
    """The PCI distributions of the systems (every one when None) per day from `since` (days without analysis
    absent), by system then day."""
    stmt = (
        select(AnalysisDayRow.system_pk, AnalysisDayRow.day, AnalysisDayRow.pci_distribution)
        .where(*_of(system_pks, since), AnalysisDayRow.pci_distribution.is_not(None))
        .order_by(AnalysisDayRow.system_pk, AnalysisDayRow.day)
    )
    return [DayDistribution(pk, day, dict(found)) for pk, day, found in session.execute(stmt)]
