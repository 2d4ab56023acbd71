"""Findings with history: record one analysis of a system in one transaction, and the reads of findings.

`record_analysis` compares what an analysis found with the stored findings of the system by fingerprint:
a new fingerprint is inserted; a known one with the same content digest only has `last_seen` moved (no new
row, no other column written); changed content is updated in place; a stored open finding the analysis did
not find is resolved (`resolved_at`); a resolved one found again is reopened (`resolved_at` cleared,
`reopened` + 1). The latest run of the system (`analysis_runs`, one row per system) is replaced in the same
transaction. The caller owns the transaction: when anything fails, nothing of the analysis is written.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

import orjson
from sqlalchemy import Select, case, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement, SQLColumnExpression

from permscope.core.access import Systems
from permscope.core.findings import ActionSummary, Finding, FindingSubject, PciScore, Severity
from permscope.core.ids import Cloud
from permscope.store.access import systems_condition
from permscope.store.bulk import insert_rows
from permscope.store.tables import (
    AnalysisRunRow,
    AuthorizationSystemRow,
    FindingRow,
    IdentityRow,
    ResourceRow,
)
from permscope.store.trends import record_day

CHUNK = 500
SEVERITY_RANK = {"critical": 4, "high": 3, "medium": 2, "low": 1}


class FindingStatus(StrEnum):
    """Which findings a listing shows."""

    OPEN = "open"
    RESOLVED = "resolved"
    ALL = "all"


@dataclass(frozen=True, slots=True, kw_only=True)
class RunFacts:
    """What the workflow knows about one analysis besides its findings."""

    started_at: datetime
    finished_at: datetime
    snapshot_at: datetime
    checked: dict[str, int] = field(default_factory=dict)  # subject kind -> how many were examined
    skipped: dict[str, str] = field(default_factory=dict)  # finding type -> reason in words
    errors: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    pci_distribution: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class RecordResult:
    """What recording one analysis changed in the store."""

    new: int
    changed: int
    unchanged: int
    resolved: int
    reopened: int
    open_by_type: dict[str, int]

    @property
    def changes(self) -> dict[str, int]:
        """The counts as a JSON object."""
        return {
            "new": self.new,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "resolved": self.resolved,
            "reopened": self.reopened,
        }


def content_of(finding: Finding) -> dict[str, Any]:
    """The stored columns that describe a finding's content (what the digest covers)."""
    return {
        "finding_type": finding.finding_type,
        "subject_kind": finding.subject.value,
        "subject_id": finding.subject_id,
        "subject_name": finding.subject_name,
        "severity": finding.severity.value,
        "summary": finding.summary,
        "properties": finding.properties,
        "evidence": finding.evidence,
        "action_summary": finding.action_summary.to_dict() if finding.action_summary else None,
        "pci_score": finding.pci.score if finding.pci else None,
        "pci_factors": dict(finding.pci.factors) if finding.pci else None,
    }


def content_digest(content: dict[str, Any]) -> str:
    """SHA-256 of the content, keys sorted (stable across runs and backends).

    The PCI factor breakdown is left out: it explains the score and holds time-relative values (days since
    the last activity) that would make every finding "change" daily. It is rewritten with any other change.
    """
    digested = {key: value for key, value in content.items() if key != "pci_factors"}
    raw = orjson.dumps(digested, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    return hashlib.sha256(raw).hexdigest()


def _chunks(items: Sequence[int]) -> list[Sequence[int]]:
    return [items[start : start + CHUNK] for start in range(0, len(items), CHUNK)]


def record_analysis(
    session: Session,
    system_pk: int,
    findings: Iterable[Finding],
    run: RunFacts,
    *,
    untouched_types: Collection[str] = (),
) -> RecordResult:
    """Write one analysis of a system: findings with history, and the system's latest run (see module doc).

    Stored findings of `untouched_types` (types the analysis could not decide: skipped, or their detector
    failed) that it did not find stay as they are, open or resolved. Findings with the same fingerprint in
    one analysis are recorded once (the first one). Everything happens in the caller's transaction.
    """
    seen_at = run.started_at
    stored = {
        fingerprint: (pk, digest, resolved, finding_type)
        for pk, fingerprint, digest, resolved, finding_type in session.execute(
            select(
                FindingRow.id,
                FindingRow.fingerprint,
                FindingRow.digest,
                FindingRow.resolved_at,
                FindingRow.finding_type,
            ).where(FindingRow.system_pk == system_pk)
        )
    }
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    touched: list[int] = []
    found: set[str] = set()
    open_by_type: dict[str, int] = {}
    reopened: list[int] = []
    for finding in findings:
        key = finding.fingerprint
        if key in found:
            continue
        found.add(key)
        open_by_type[finding.finding_type] = open_by_type.get(finding.finding_type, 0) + 1
        content = content_of(finding)
        digest = content_digest(content)
        known = stored.get(key)
        if known is None:
            inserts.append(
                {
                    "system_pk": system_pk,
                    "fingerprint": key,
                    **content,
                    "first_seen": seen_at,
                    "last_seen": seen_at,
                    "resolved_at": None,
                    "reopened": 0,
                    "snapshot_at": run.snapshot_at,
                    "digest": digest,
                }
            )
            continue
        pk, old_digest, resolved_at, _type = known
        if resolved_at is None and old_digest == digest:
            touched.append(pk)
            continue
        row: dict[str, Any] = {"id": pk, "last_seen": seen_at, "resolved_at": None}
        if old_digest != digest:
            row.update(content, digest=digest, snapshot_at=run.snapshot_at)
        updates.append(row)
        if resolved_at is not None:
            reopened.append(pk)
    gone = []
    for key, (pk, _digest, resolved, finding_type) in stored.items():
        if key in found or resolved is not None:
            continue
        if finding_type in untouched_types:
            open_by_type[finding_type] = open_by_type.get(finding_type, 0) + 1
        else:
            gone.append(pk)

    insert_rows(session, FindingRow, inserts)
    for part in _chunks(touched):
        session.execute(update(FindingRow).where(FindingRow.id.in_(part)).values(last_seen=seen_at))
    for part in _chunks(gone):
        session.execute(update(FindingRow).where(FindingRow.id.in_(part)).values(resolved_at=seen_at))
    _update_by_pk(session, updates, reopened)
    result = RecordResult(
        new=len(inserts),
        changed=sum(1 for u in updates if "digest" in u),
        unchanged=len(touched),
        resolved=len(gone),
        reopened=len(reopened),
        open_by_type=dict(sorted(open_by_type.items())),
    )
    _replace_run(session, system_pk, run, result)
    record_day(session, system_pk, seen_at, result.changes, sum(open_by_type.values()), run.pci_distribution)
    session.flush()
    from permscope.store.dashboard import summarize_open  # its queries use this module's (an import cycle)

    latest = session.get(AnalysisRunRow, system_pk)
    if latest is not None:
        latest.open_summary = summarize_open(session, system_pk)
    session.flush()
    return result


def _update_by_pk(session: Session, updates: list[dict[str, Any]], reopened_ids: list[int]) -> None:
    """Changed and reopened findings, grouped by the columns they set (one executemany per group)."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in updates:
        groups.setdefault(tuple(sorted(row)), []).append(row)
    for rows in groups.values():
        session.execute(update(FindingRow), rows)
    for part in _chunks(sorted(reopened_ids)):
        session.execute(
            update(FindingRow).where(FindingRow.id.in_(part)).values(reopened=FindingRow.reopened + 1)
        )


def _replace_run(session: Session, system_pk: int, run: RunFacts, result: RecordResult) -> None:
    values = {
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "snapshot_at": run.snapshot_at,
        "counts": result.open_by_type,
        "changes": result.changes,
        "checked": dict(run.checked),
        "skipped": dict(run.skipped),
        "errors": list(run.errors),
        "settings": dict(run.settings),
        "pci_distribution": run.pci_distribution,
    }
    row = session.get(AnalysisRunRow, system_pk)
    if row is None:
        session.add(AnalysisRunRow(system_pk=system_pk, **values))
    else:
        for name, value in values.items():
            setattr(row, name, value)


# --------------------------------------------------------------------------------------------------- reads


@dataclass(frozen=True, slots=True, kw_only=True)
class FindingQuery:
    """Which findings to list: by type, system, status and PCI."""

    types: Sequence[str] = ()
    system_pks: Sequence[int] | None = None  # None: every system
    status: FindingStatus = FindingStatus.OPEN
    min_pci: int | None = None


def findings_stmt(query: FindingQuery) -> Select[FindingRow]:
    """The findings a query selects (no order)."""
    stmt = select(FindingRow)
    if query.types:
        stmt = stmt.where(FindingRow.finding_type.in_(list(query.types)))
    if query.system_pks is not None:
        stmt = stmt.where(FindingRow.system_pk.in_(list(query.system_pks)))
    if query.status is FindingStatus.OPEN:
        stmt = stmt.where(FindingRow.resolved_at.is_(None))
    elif query.status is FindingStatus.RESOLVED:
        stmt = stmt.where(FindingRow.resolved_at.is_not(None))
    if query.min_pci is not None:
        stmt = stmt.where(FindingRow.pci_score >= query.min_pci)
    return stmt


def severity_rank() -> ColumnElement[int]:
    """SQL rank of a finding's severity: critical 4, high 3, medium 2, low 1."""
    return case(*((FindingRow.severity == name, rank) for name, rank in SEVERITY_RANK.items()), else_=0)


def default_order() -> list[SQLColumnExpression[Any]]:
    """Worst first: severity, then PCI (highest first, none last), type, subject name, id."""
    return [
        severity_rank().desc(),
        FindingRow.pci_score.is_(None),
        FindingRow.pci_score.desc(),
        FindingRow.finding_type,
        FindingRow.subject_name,
        FindingRow.id,
    ]


def list_findings(
    session: Session, query: FindingQuery, *, limit: int | None = None, offset: int = 0
) -> list[FindingRow]:
    """Findings in the default order (worst first), paged by `limit` and `offset`."""
    stmt = findings_stmt(query).order_by(*default_order()).offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.execute(stmt).scalars())


def finding_by_fingerprint(session: Session, fingerprint: str) -> FindingRow | None:
    """One finding by its fingerprint (unique per system; the system id is part of it)."""
    return session.execute(
        select(FindingRow).where(FindingRow.fingerprint == fingerprint).order_by(FindingRow.id).limit(1)
    ).scalar_one_or_none()


def finding_and_system(
    session: Session, fingerprint: str
) -> tuple[FindingRow, AuthorizationSystemRow] | None:
    """One finding by fingerprint with its system, or None."""
    row = finding_by_fingerprint(session, fingerprint)
    system = session.get(AuthorizationSystemRow, row.system_pk) if row is not None else None
    return (row, system) if row is not None and system is not None else None


def open_findings(finding_type: str, cloud: str, scope: Systems) -> Select[FindingRow]:
    """The open findings of one type in the systems of one cloud within `scope` (joined to their systems, so
    filters may name the system's columns)."""
    return (
        select(FindingRow)
        .join(AuthorizationSystemRow, AuthorizationSystemRow.id == FindingRow.system_pk)
        .where(
            FindingRow.finding_type == finding_type,
            AuthorizationSystemRow.cloud == cloud,
            FindingRow.resolved_at.is_(None),
            systems_condition(scope, AuthorizationSystemRow.cloud, AuthorizationSystemRow.system_id),
        )
    )


def pci_distributions(cloud: str, scope: Systems) -> Select[AnalysisRunRow]:
    """The latest analysis of each system of one cloud within `scope` that has a PCI distribution."""
    return (
        select(AnalysisRunRow)
        .join(AuthorizationSystemRow, AuthorizationSystemRow.id == AnalysisRunRow.system_pk)
        .where(
            AuthorizationSystemRow.cloud == cloud,
            AnalysisRunRow.pci_distribution.is_not(None),
            systems_condition(scope, AuthorizationSystemRow.cloud, AuthorizationSystemRow.system_id),
        )
    )


def summary_counts(
    session: Session, finding_type: str, checked_kind: str, system_pks: Sequence[int]
) -> tuple[int, int]:
    """(subjects of `checked_kind` the latest analyses checked, open findings of the type) over the systems;
    an analysis that skipped the type checked none."""
    runs = latest_runs(session, system_pks)
    total = sum(
        int((run.checked or {}).get(checked_kind, 0))
        for run in runs.values()
        if finding_type not in (run.skipped or {})
    )
    return total, open_counts(session, finding_type, system_pks)


def latest_runs(session: Session, system_pks: Sequence[int] | None = None) -> dict[int, AnalysisRunRow]:
    """The latest analysis of each system (of those given), by system primary key."""
    stmt = select(AnalysisRunRow)
    if system_pks is not None:
        stmt = stmt.where(AnalysisRunRow.system_pk.in_(list(system_pks)))
    return {row.system_pk: row for row in session.execute(stmt).scalars()}


def open_counts(session: Session, finding_type: str, system_pks: Sequence[int]) -> int:
    """How many open findings of one type the systems have."""
    return int(
        session.scalar(
            select(func.count()).where(
                FindingRow.finding_type == finding_type,
                FindingRow.system_pk.in_(list(system_pks)),
                FindingRow.resolved_at.is_(None),
            )
        )
        or 0
    )


def systems_by_pk(session: Session, system_pks: Iterable[int]) -> dict[int, AuthorizationSystemRow]:
    """Systems by primary key (one query)."""
    wanted = sorted(set(system_pks))
    if not wanted:
        return {}
    stmt = select(AuthorizationSystemRow).where(AuthorizationSystemRow.id.in_(wanted))
    return {row.id: row for row in session.execute(stmt).scalars()}


def identities_by_ids(
    session: Session, system_pk: int, external_ids: Iterable[str]
) -> dict[str, IdentityRow]:
    """Identities of one system by external id (a query per 500 ids)."""
    wanted = sorted(set(external_ids))
    found: dict[str, IdentityRow] = {}
    for start in range(0, len(wanted), CHUNK):
        stmt = select(IdentityRow).where(
            IdentityRow.system_pk == system_pk, IdentityRow.external_id.in_(wanted[start : start + CHUNK])
        )
        found.update((row.external_id, row) for row in session.execute(stmt).scalars())
    return found


def resources_by_ids(session: Session, system_pk: int, external_ids: Iterable[str]) -> dict[str, ResourceRow]:
    """Resources of one system by external id (a query per 500 ids)."""
    wanted = sorted(set(external_ids))
    found: dict[str, ResourceRow] = {}
    for start in range(0, len(wanted), CHUNK):
        stmt = select(ResourceRow).where(
            ResourceRow.system_pk == system_pk, ResourceRow.external_id.in_(wanted[start : start + CHUNK])
        )
        found.update((row.external_id, row) for row in session.execute(stmt).scalars())
    return found


# ------------------------------------------------------------------------------- stored findings as core objects


def finding_of_row(row: FindingRow, cloud: str, system_id: str) -> Finding:
    """The core finding a stored row holds."""
    return Finding(
        finding_type=row.finding_type,
        cloud=Cloud(cloud),
        system_id=system_id,
        subject=FindingSubject(row.subject_kind),
        subject_id=row.subject_id,
        subject_name=row.subject_name,
        severity=Severity(row.severity),
        summary=row.summary,
        properties=dict(row.properties or {}),
        evidence=dict(row.evidence or {}),
        action_summary=ActionSummary(**row.action_summary) if row.action_summary else None,
        pci=PciScore(row.pci_score, dict(row.pci_factors or {})) if row.pci_score is not None else None,
    )


@dataclass(frozen=True, slots=True)
class FindingEmbeds:
    """What stored findings of one system embed: the system, its identities and resources by external id."""

    system: AuthorizationSystemRow
    identities: dict[str, IdentityRow]
    resources: dict[str, ResourceRow]


def embedded_ids(rows: Iterable[FindingRow]) -> set[str]:
    """Every external id a page of findings embeds (subjects, key owners, VM roles): what to load for it."""
    found: set[str] = set()
    for row in rows:
        found.add(row.subject_id)
        for source in (row.properties or {}, row.evidence or {}):
            for key in ("owner", "role"):
                value = source.get(key)
                if isinstance(value, str) and value:
                    found.add(value)
    return found


def embeds_for(session: Session, rows: Sequence[FindingRow]) -> dict[int, FindingEmbeds]:
    """Per system of a page of stored findings, what they embed: loaded in a few queries, not per row."""
    by_system: dict[int, list[FindingRow]] = {}
    for row in rows:
        by_system.setdefault(row.system_pk, []).append(row)
    systems = systems_by_pk(session, by_system)
    found: dict[int, FindingEmbeds] = {}
    for pk, system_rows in by_system.items():
        wanted = embedded_ids(system_rows)
        identities = identities_by_ids(session, pk, wanted)
        owners = {
            str(identity.attributes.get("owner"))
            for identity in identities.values()
            if str(identity.kind) == "accessKey" and identity.attributes.get("owner")
        }
        identities.update(identities_by_ids(session, pk, owners - set(identities)))
        found[pk] = FindingEmbeds(systems[pk], identities, resources_by_ids(session, pk, wanted))
    return found
