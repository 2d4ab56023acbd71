"""What the dashboard counts, per authorization system, in SQL: identities by kind, open findings by type and
severity, the riskiest identities, the latest collection run. Every count is a GROUP BY; no table is loaded.

`system_pks=None` means every system (no IN list); the callers turn a key's view (`core.access.Systems`) into the
systems it covers with `scoped_systems`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from permscope.core.access import Systems
from permscope.core.findings import FindingSubject
from permscope.store.access import systems_condition
from permscope.store.findings import SEVERITY_RANK, latest_runs, severity_rank
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


def read_dashboard(session: Session, within: Systems, since: date, riskiest: int = 10) -> DashboardFacts:
    """What the dashboard shows of the systems in `within`, with the trends from `since` (a few GROUP BY queries;
    with every system in view, none names them in an IN list)."""
    found = scoped_systems(session, within)
    pks = [system.id for system in found]
    wanted = None if within.everything else pks
    return DashboardFacts(
        systems=found,
        identity_counts=identity_kind_counts(session, wanted),
        finding_counts=open_finding_counts(session, wanted),
        analyses=latest_runs(session, wanted),
        collection_runs=latest_collection_runs(session, within),
        riskiest=riskiest_identities(session, wanted, riskiest),
        changes=changes_per_day(session, wanted, since),
        distributions=distributions_per_day(session, wanted, since),
    )
