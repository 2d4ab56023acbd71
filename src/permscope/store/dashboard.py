"""What the dashboard counts, per authorization system, in SQL: identities by kind, open findings by type and
severity, the riskiest identities, the latest collection run. Every count is a GROUP BY; no table is loaded.

Open findings change only when an analysis is recorded, so each analysis keeps its system's open findings
counted per type and severity, and its riskiest identities, with its run (`summarize_open`, written by
`store.findings.record_analysis`); the dashboard adds those up per system instead of grouping a million findings
on every view. `system_pks=None` means every system (no IN list).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from permscope.core.access import Systems
from permscope.core.findings import FindingSubject
from permscope.store.access import systems_condition
from permscope.store.findings import (
    EVER,
    SEVERITY_RANK,
    FindingQuery,
    FindingStatus,
    latest_runs,
    severity_rank,
)
from permscope.store.pci_history import DaySystemPci, systems_pci_per_day
from permscope.store.summaries import identity_kind_counts
from permscope.store.systems import systems
from permscope.store.tables import AnalysisRunRow, AuthorizationSystemRow, CollectionRunRow, FindingRow
from permscope.store.trends import DayChanges, DayDistribution, changes_per_day, distributions_per_day

# the subjects of findings that are identities (an identity page exists for them), not buckets or networks
IDENTITY_SUBJECTS = (
    FindingSubject.IDENTITY,
    FindingSubject.SERVERLESS_FUNCTION,
    FindingSubject.COMPUTE_INSTANCE,
    FindingSubject.GROUP,
    FindingSubject.ROLE,
    FindingSubject.ACCESS_KEY,
)
SEVERITY_OF_RANK = {rank: name for name, rank in SEVERITY_RANK.items()}
RISKIEST_KEPT = 25  # riskiest identities kept per system: the dashboard's list is the best of every system's


def scoped_systems(session: Session, within: Systems) -> list[AuthorizationSystemRow]:
    """The systems in a key's view, by cloud then id."""
    stmt = systems(within=within).order_by(AuthorizationSystemRow.cloud, AuthorizationSystemRow.system_id)
    return list(session.execute(stmt).scalars())


def _open_in(system_pks: Sequence[int] | None) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [FindingRow.resolved_at.is_(None)]
    if system_pks is not None:
        conditions.append(FindingRow.system_pk.in_(list(system_pks)))
    return conditions


@dataclass(frozen=True, slots=True)
class FindingCount:
    """How many open findings of one type and severity one system has."""

    system_pk: int
    finding_type: str
    severity: str
    count: int


def open_finding_counts(session: Session, system_pks: Sequence[int] | None) -> list[FindingCount]:
    """The open findings per system, type and severity (one GROUP BY)."""
    stmt = (
        select(FindingRow.system_pk, FindingRow.finding_type, FindingRow.severity, func.count())
        .where(*_open_in(system_pks))
        .group_by(FindingRow.system_pk, FindingRow.finding_type, FindingRow.severity)
    )
    return [FindingCount(pk, kind, severity, int(n)) for pk, kind, severity, n in session.execute(stmt)]


@dataclass(frozen=True, slots=True)
class RiskyIdentity:
    """An identity with open findings: its highest PCI, its worst severity, how many findings it has."""

    system_pk: int
    subject_kind: str
    external_id: str
    name: str
    pci: int | None
    worst_severity: str
    open_findings: int


def riskiest_identities(
    session: Session, system_pks: Sequence[int] | None, limit: int = 10
) -> list[RiskyIdentity]:
    """The identities with open findings, riskiest first: highest PCI (none last), then worst severity, then most
    findings, then name."""
    pci = func.max(FindingRow.pci_score)
    worst = func.max(severity_rank())
    count = func.count()
    name = func.max(FindingRow.subject_name)
    stmt = (
        select(
            FindingRow.system_pk,
            func.max(FindingRow.subject_kind),
            FindingRow.subject_id,
            name,
            pci,
            worst,
            count,
        )
        .where(*_open_in(system_pks), FindingRow.subject_kind.in_([s.value for s in IDENTITY_SUBJECTS]))
        .group_by(FindingRow.system_pk, FindingRow.subject_id)
        .order_by(pci.is_(None), pci.desc(), worst.desc(), count.desc(), name, FindingRow.subject_id)
        .limit(limit)
    )
    return [
        RiskyIdentity(pk, kind, subject, subject_name, score, SEVERITY_OF_RANK.get(int(rank), "low"), int(n))
        for pk, kind, subject, subject_name, score, rank, n in session.execute(stmt)
    ]


@dataclass(frozen=True, slots=True)
class SubjectRisk:
    """One identity's open findings: how many, and the highest PCI among them."""

    open_findings: int
    pci: int | None


def subject_risks(session: Session, system_pk: int, external_ids: Sequence[str]) -> dict[str, SubjectRisk]:
    """The open findings of a page of identities of one system, by external id (one query, by index)."""
    if not external_ids:
        return {}
    stmt = (
        select(FindingRow.subject_id, func.count(), func.max(FindingRow.pci_score))
        .where(
            FindingRow.system_pk == system_pk,
            FindingRow.subject_id.in_(list(dict.fromkeys(external_ids))),
            FindingRow.resolved_at.is_(None),
        )
        .group_by(FindingRow.subject_id)
    )
    return {subject: SubjectRisk(int(n), score) for subject, n, score in session.execute(stmt)}


def latest_collection_runs(session: Session, within: Systems) -> dict[tuple[str, str], CollectionRunRow]:
    """The latest collection or import run of each system in a key's view, by (cloud, system id)."""
    latest: Select[int] = (
        select(func.max(CollectionRunRow.id))
        .where(systems_condition(within, CollectionRunRow.cloud, CollectionRunRow.system_id))
        .group_by(CollectionRunRow.cloud, CollectionRunRow.system_id)
    )
    stmt = select(CollectionRunRow).where(CollectionRunRow.id.in_(latest.scalar_subquery()))
    return {(row.cloud, row.system_id): row for row in session.execute(stmt).scalars()}


def summarize_open(session: Session, system_pk: int) -> dict[str, Any]:
    """One system's open findings as its latest analysis keeps them: counts per type and severity, and its
    RISKIEST_KEPT riskiest identities (JSON)."""
    by_type: dict[str, dict[str, int]] = {}
    for found in open_finding_counts(session, [system_pk]):
        by_type.setdefault(found.finding_type, {})[found.severity] = found.count
    riskiest = [
        {
            "kind": risky.subject_kind,
            "externalId": risky.external_id,
            "name": risky.name,
            "pci": risky.pci,
            "worstSeverity": risky.worst_severity,
            "openFindings": risky.open_findings,
        }
        for risky in riskiest_identities(session, [system_pk], RISKIEST_KEPT)
    ]
    return {"byType": dict(sorted(by_type.items())), "riskiest": riskiest}


@dataclass(frozen=True, slots=True)
class OpenSummary:
    """A system's open findings as its latest analysis counted them."""

    counts: list[FindingCount]
    riskiest: list[RiskyIdentity]

    @property
    def total(self) -> int:
        """Open findings of the system."""
        return sum(found.count for found in self.counts)


def open_summary_of(run: AnalysisRunRow | None) -> OpenSummary | None:
    """The open summary a system's latest analysis stored; None when it was never analyzed."""
    if run is None or run.open_summary is None:
        return None
    stored = run.open_summary
    counts = [
        FindingCount(run.system_pk, finding_type, severity, int(count))
        for finding_type, found in (stored.get("byType") or {}).items()
        for severity, count in found.items()
    ]
    riskiest = [
        RiskyIdentity(
            run.system_pk,
            str(item["kind"]),
            str(item["externalId"]),
            str(item["name"]),
            None if item.get("pci") is None else int(item["pci"]),
            str(item["worstSeverity"]),
            int(item["openFindings"]),
        )
        for item in stored.get("riskiest") or []
    ]
    return OpenSummary(counts, riskiest)


def summarized_open_count(session: Session, query: FindingQuery) -> int | None:
    """How many findings a listing's query selects, read from its systems' latest analyses when it asks for open
    findings by cloud, system, type and severity only: the sum of their open summaries, which each analysis
    writes in the transaction that records its findings, so the sum is the COUNT the findings table would give
    (without reading hundreds of thousands of them). None for any other query, or when an analysis kept no
    summary (then the caller counts the findings)."""
    if (
        query.status is not FindingStatus.OPEN
        or query.min_pci is not None
        or query.first_seen != EVER
        or query.last_seen != EVER
    ):
        return None
    stmt = select(AuthorizationSystemRow.id)
    if query.clouds:
        stmt = stmt.where(AuthorizationSystemRow.cloud.in_(list(query.clouds)))
    if query.scope is not None and not query.scope.everything:
        stmt = stmt.where(
            systems_condition(query.scope, AuthorizationSystemRow.cloud, AuthorizationSystemRow.system_id)
        )
    if query.system_pks is not None:
        stmt = stmt.where(AuthorizationSystemRow.id.in_(list(query.system_pks)))
    types = set(query.types)
    severities = {name for name in query.severities if name in SEVERITY_RANK}  # the ranks the listing filters
    total = 0
    for run in latest_runs(session, list(session.scalars(stmt))).values():
        summary = open_summary_of(run)
        if summary is None:
            return None
        total += sum(
            found.count
            for found in summary.counts
            if (not types or found.finding_type in types)
            and (not query.severities or found.severity in severities)
        )
    return total


def risk_order(risky: RiskyIdentity) -> tuple[bool, int, int, int, str, str]:
    """`riskiest_identities`' order in Python: highest PCI (none last), worst severity, most findings, name."""
    return (
        risky.pci is None,
        -(risky.pci or 0),
        -SEVERITY_RANK.get(risky.worst_severity, 0),
        -risky.open_findings,
        risky.name,
        risky.external_id,
    )


@dataclass(frozen=True, slots=True)
class DashboardFacts:
    """Everything the dashboard shows, as read for the systems of one key's view."""

    systems: Sequence[AuthorizationSystemRow]
    identity_counts: Mapping[int, Mapping[str, int]]
    finding_counts: Sequence[FindingCount]
    analyses: Mapping[int, AnalysisRunRow]
    collection_runs: Mapping[tuple[str, str], CollectionRunRow]
    riskiest: Sequence[RiskyIdentity]
    changes: Sequence[DayChanges]
    distributions: Sequence[DayDistribution]
    system_pci: Sequence[DaySystemPci]  # each system's PCI per day analyzed (`store.pci_history`)


def read_dashboard(session: Session, within: Systems, since: date, riskiest: int = 10) -> DashboardFacts:
    """What the dashboard shows of the systems in `within`, with the trends from `since`: a few queries, each
    over systems (findings are read through their latest analyses' summaries)."""
    found = scoped_systems(session, within)
    wanted = None if within.everything else [system.id for system in found]
    analyses = latest_runs(session, wanted)
    summaries = [summary for run in analyses.values() if (summary := open_summary_of(run)) is not None]
    ranked = sorted((risky for summary in summaries for risky in summary.riskiest), key=risk_order)
    return DashboardFacts(
        systems=found,
        identity_counts=identity_kind_counts(session, wanted),
        finding_counts=[count for summary in summaries for count in summary.counts],
        analyses=analyses,
        collection_runs=latest_collection_runs(session, within),
        riskiest=ranked[:riskiest],
        changes=changes_per_day(session, wanted, since),
        distributions=distributions_per_day(session, wanted, since),
        system_pci=systems_pci_per_day(session, wanted, since),
    )
