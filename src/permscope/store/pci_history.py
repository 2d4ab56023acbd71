"""PCI history: each identity's PCI per UTC day (`identity_pci_days`, a row only when the score changed) and
each system's PCI and open findings per type and severity per day (`analysis_days`), written with each analysis
and read for any window.

A series is read as the days the system was analyzed in the window, each with the score the day's last
analysis left (an identity's row holds until its next one). The caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.orm import Session

from permscope.store.bulk import insert_rows
from permscope.store.tables import AnalysisDayRow, IdentityPciDayRow

Point = tuple[date, int]


def _held_before(session: Session, system_pk: int, day: date) -> dict[str, int | None]:
    """The score each identity held before `day`: its latest earlier row's (None: it was gone)."""
    table = IdentityPciDayRow
    latest = (
        select(table.identity_external_id, func.max(table.day).label("last_day"))
        .where(table.system_pk == system_pk, table.day < day)
        .group_by(table.identity_external_id)
        .subquery()
    )
    stmt = (
        select(table.identity_external_id, table.score)
        .join(
            latest,
            (table.identity_external_id == latest.c.identity_external_id) & (table.day == latest.c.last_day),
        )
        .where(table.system_pk == system_pk)
    )
    return {ext: score for ext, score in session.execute(stmt)}


def record_identity_scores(session: Session, system_pk: int, day: date, scores: Mapping[str, int]) -> int:
    """Keep the identities' PCI of `day` (this analysis's, replacing an earlier one of the same day): the day
    has a row for each identity whose score differs from the one it held before the day (None: it is gone), and
    none for the others. How many rows were written or removed."""
    before = _held_before(session, system_pk, day)
    stmt = select(IdentityPciDayRow.identity_external_id, IdentityPciDayRow.score).where(
        IdentityPciDayRow.system_pk == system_pk, IdentityPciDayRow.day == day
    )
    today: dict[str, int | None] = {ext: score for ext, score in session.execute(stmt)}
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    removed: list[str] = []
    for ext in sorted({*scores, *before, *today}):
        score = scores.get(ext)
        if score == before.get(ext):  # unchanged since before the day (or gone and still gone)
            if ext in today:
                removed.append(ext)
            continue
        row = {"system_pk": system_pk, "identity_external_id": ext, "day": day, "score": score}
        if ext not in today:
            inserts.append(row)
        elif today[ext] != score:
            updates.append(row)
    insert_rows(session, IdentityPciDayRow, inserts)
    if updates:
        session.execute(update(IdentityPciDayRow), updates)
    for start in range(0, len(removed), 500):
        session.execute(
            delete(IdentityPciDayRow).where(
                IdentityPciDayRow.system_pk == system_pk,
                IdentityPciDayRow.day == day,
                IdentityPciDayRow.identity_external_id.in_(removed[start : start + 500]),
            )
        )
    return len(inserts) + len(updates) + len(removed)


def _window(column: Any, since: date | None, until: date | None) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if since is not None:
        conditions.append(column >= since)
    if until is not None:
        conditions.append(column <= until)
    return conditions


def analysis_days_of(session: Session, system_pk: int, since: date | None, until: date | None) -> list[date]:
    """The days the system was analyzed in the window, oldest first."""
    stmt = (
        select(AnalysisDayRow.day)
        .where(AnalysisDayRow.system_pk == system_pk, *_window(AnalysisDayRow.day, since, until))
        .order_by(AnalysisDayRow.day)
    )
    return list(session.execute(stmt).scalars())


def identity_pci_series(
    session: Session, system_pk: int, external_id: str, since: date | None = None, until: date | None = None
) -> list[Point]:
    """One identity's PCI on each day its system was analyzed from `since` to `until` (inclusive; open ends
    for None), oldest first; days it did not exist are left out."""
    stmt = (
        select(IdentityPciDayRow.day, IdentityPciDayRow.score)
        .where(
            IdentityPciDayRow.system_pk == system_pk,
            IdentityPciDayRow.identity_external_id == external_id,
            *_window(IdentityPciDayRow.day, None, until),
        )
        .order_by(IdentityPciDayRow.day)
    )
    changes: list[tuple[date, int | None]] = [(day, score) for day, score in session.execute(stmt)]
    if not changes:
        return []
    return _held_on(changes, analysis_days_of(session, system_pk, since, until))


def _held_on(changes: Sequence[tuple[date, int | None]], days: Sequence[date]) -> list[Point]:
    """The score held on each of `days` (both oldest first), from the rows that changed it."""
    points: list[Point] = []
    position, held = 0, None
    for day in days:
        while position < len(changes) and changes[position][0] <= day:
            held = changes[position][1]
            position += 1
        if held is not None:
            points.append((day, held))
    return points


def identities_pci_series(
    session: Session, system_pk: int, since: date | None = None, until: date | None = None
) -> dict[str, list[Point]]:
    """Every identity's PCI series of one system (as `identity_pci_series` gives one), by external id."""
    stmt = (
        select(IdentityPciDayRow.identity_external_id, IdentityPciDayRow.day, IdentityPciDayRow.score)
        .where(IdentityPciDayRow.system_pk == system_pk, *_window(IdentityPciDayRow.day, None, until))
        .order_by(IdentityPciDayRow.identity_external_id, IdentityPciDayRow.day)
    )
    changes: dict[str, list[tuple[date, int | None]]] = {}
    for external_id, day, score in session.execute(stmt):
        changes.setdefault(external_id, []).append((day, score))
    days = analysis_days_of(session, system_pk, since, until)
    series = {external_id: _held_on(rows, days) for external_id, rows in changes.items()}
    return {external_id: points for external_id, points in series.items() if points}


def system_pci_series(
    session: Session, system_pk: int, since: date | None = None, until: date | None = None
) -> list[Point]:
    """A system's PCI on each day it was analyzed from `since` to `until` (inclusive), oldest first."""
    stmt = (
        select(AnalysisDayRow.day, AnalysisDayRow.pci_score)
        .where(
            AnalysisDayRow.system_pk == system_pk,
            AnalysisDayRow.pci_score.is_not(None),
            *_window(AnalysisDayRow.day, since, until),
        )
        .order_by(AnalysisDayRow.day)
    )
    return [(day, score) for day, score in session.execute(stmt) if score is not None]


@dataclass(frozen=True, slots=True)
class DaySystemPci:
    """One system's PCI as its last analysis of one day left it."""

    system_pk: int
    day: date
    score: int


def systems_pci_per_day(
    session: Session, system_pks: Sequence[int] | None, since: date
) -> list[DaySystemPci]:
    """The PCI of the systems (every one when None) per day from `since` (days without analysis, or analyzed
    before the PCI was kept, absent), by system then day."""
    conditions = [AnalysisDayRow.day >= since, AnalysisDayRow.pci_score.is_not(None)]
    if system_pks is not None:
        conditions.append(AnalysisDayRow.system_pk.in_(list(system_pks)))
    stmt = (
        select(AnalysisDayRow.system_pk, AnalysisDayRow.day, AnalysisDayRow.pci_score)
        .where(*conditions)
        .order_by(AnalysisDayRow.system_pk, AnalysisDayRow.day)
    )
    return [DaySystemPci(pk, day, score) for pk, day, score in session.execute(stmt) if score is not None]


@dataclass(frozen=True, slots=True)
class DayFindingCount:
    """How many findings of one type and severity one system had open after its last analysis of one day."""

    system_pk: int
    day: date
    finding_type: str
    severity: str
    count: int


def finding_counts_per_day(
    session: Session, system_pks: Sequence[int] | None, since: date | None = None, until: date | None = None
) -> list[DayFindingCount]:
    """Open findings per system, day, type and severity in the window (days analyzed before these counts were
    kept are absent), by system, day, type then severity."""
    conditions = [AnalysisDayRow.open_counts.is_not(None), *_window(AnalysisDayRow.day, since, until)]
    if system_pks is not None:
        conditions.append(AnalysisDayRow.system_pk.in_(list(system_pks)))
    stmt = (
        select(AnalysisDayRow.system_pk, AnalysisDayRow.day, AnalysisDayRow.open_counts)
        .where(*conditions)
        .order_by(AnalysisDayRow.system_pk, AnalysisDayRow.day)
    )
    found = []
    for pk, day, counts in session.execute(stmt):
        for finding_type, by_severity in sorted((counts or {}).items()):
            for severity, count in sorted(by_severity.items()):
                found.append(DayFindingCount(pk, day, finding_type, severity, int(count)))
    return found
