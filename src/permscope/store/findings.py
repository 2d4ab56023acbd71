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
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from operator import itemgetter
from typing import Any, Protocol

import orjson
from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement, SQLColumnExpression

from permscope.core.access import Systems
from permscope.core.findings import ActionSummary, Finding, FindingSubject, PciScore, Severity
from permscope.core.ids import Cloud
from permscope.store.access import systems_condition
from permscope.store.bulk import insert_rows
from permscope.store.homes import SystemView, view_of_row
from permscope.store.pci_history import record_identity_scores
from permscope.store.tables import SEVERITY_RANK as SEVERITY_RANK  # re-exported: the dashboard's ranks
from permscope.store.tables import (
    AnalysisRunRow,
    AuthorizationSystemRow,
    FindingRow,
    IdentityRow,
    ResourceRow,
)
from permscope.store.trends import DayFacts, record_day

CHUNK = 500
UNDIGESTED = frozenset({"pci_factors", "severity_rank"})  # content columns the digest leaves out


class FindingStatus(StrEnum):
    """Which findings a listing shows: open ones (reopened included), resolved ones, those open again after an
    analysis had resolved them, or all. A finding's own state is one of the first three (`state_of`)."""

    OPEN = "open"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    ALL = "all"


class FindingOrder(StrEnum):
    """How a listing is sorted: worst first (severity, then PCI), or most recently first or last seen."""

    SEVERITY = "severity"
    LAST_SEEN = "last-seen"
    FIRST_SEEN = "first-seen"


def state_of(resolved_at: datetime | None, reopened: int) -> FindingStatus:
    """A finding's state: resolved, open again after having been resolved (reopened), or open."""
    if resolved_at is not None:
        return FindingStatus.RESOLVED
    return FindingStatus.REOPENED if reopened else FindingStatus.OPEN


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
    # each identity's PCI (external id -> score) and the system's (`analytics.pci.system_pci`): the PCI
    # history; None when the analysis did not compute them (nothing of the PCI history is written then)
    pci_scores: dict[str, int] | None = None
    system_pci: int | None = None
    as_of: datetime | None = None  # the moment the analysis describes (its settings' now); None: started_at

    @property
    def day_of(self) -> datetime:
        """The moment whose UTC day the analysis counts into the history (`analysis_days`, PCI history)."""
        return self.as_of or self.started_at


@dataclass(frozen=True, slots=True)
class RecordResult:
    """What recording one analysis changed in the store."""

    new: int
    changed: int
    unchanged: int
    resolved: int
    reopened: int
    open_by_type: dict[str, int]
    # what this analysis decided, by fingerprint: the findings it saw first, and those it reopened with how
    # often each has now been reopened (the signals of monitoring are made of these)
    new_fingerprints: tuple[str, ...] = ()
    reopened_times: dict[str, int] = field(default_factory=dict)

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


# enum member -> its value (a lookup costs a fraction of an enum's `value` property, read per finding)
_SUBJECT_KINDS = {member: member.value for member in FindingSubject}
_SEVERITIES = {member: member.value for member in Severity}


def content_of(finding: Finding) -> tuple[dict[str, Any], str]:
    """The stored columns that describe a finding's content, and their digest: SHA-256 of them as JSON, keys
    sorted (stable across runs and backends), `UNDIGESTED` left out (they are added once it is taken).

    The PCI factor breakdown is left out: it explains the score and holds time-relative values (days since
    the last activity) that would make every finding "change" daily. It is rewritten with any other change.
    The severity's rank is left out too: it only repeats the severity (and findings recorded before it was
    stored keep their digests).
    """
    severity = _SEVERITIES[finding.severity]
    action_summary, pci = finding.action_summary, finding.pci
    content: dict[str, Any] = {
        "finding_type": finding.finding_type,
        "subject_kind": _SUBJECT_KINDS[finding.subject],
        "subject_id": finding.subject_id,
        "subject_name": finding.subject_name,
        "severity": severity,
        "summary": finding.summary,
        "properties": finding.properties,
        "evidence": finding.evidence,
        "action_summary": action_summary.to_dict() if action_summary else None,
        "pci_score": pci.score if pci else None,
    }
    raw = orjson.dumps(content, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    content["severity_rank"] = SEVERITY_RANK[severity]  # UNDIGESTED
    content["pci_factors"] = dict(pci.factors) if pci else None
    return content, hashlib.sha256(raw).hexdigest()


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
        fingerprint: (pk, digest, resolved, finding_type, times)
        for pk, fingerprint, digest, resolved, finding_type, times in session.execute(
            select(
                FindingRow.id,
                FindingRow.fingerprint,
                FindingRow.digest,
                FindingRow.resolved_at,
                FindingRow.finding_type,
                FindingRow.reopened,
            ).where(FindingRow.system_pk == system_pk)
        )
    }
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    touched: list[int] = []
    found: set[str] = set()
    open_by_type: dict[str, int] = {}
    reopened: list[int] = []
    reopened_times: dict[str, int] = {}
    for finding in findings:
        key = finding.fingerprint
        if key in found:
            continue
        found.add(key)
        open_by_type[finding.finding_type] = open_by_type.get(finding.finding_type, 0) + 1
        content, digest = content_of(finding)
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
        pk, old_digest, resolved_at, _type, times = known
        if resolved_at is None and old_digest == digest:
            touched.append(pk)
            continue
        row: dict[str, Any] = {"id": pk, "last_seen": seen_at, "resolved_at": None}
        if old_digest != digest:
            row.update(content, digest=digest, snapshot_at=run.snapshot_at)
        updates.append(row)
        if resolved_at is not None:
            reopened.append(pk)
            reopened_times[key] = times + 1
    gone = []
    for key, (pk, _digest, resolved, finding_type, _times) in stored.items():
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
        new_fingerprints=tuple(map(itemgetter("fingerprint"), inserts)),
        reopened_times=reopened_times,
    )
    _replace_run(session, system_pk, run, result)
    session.flush()
    from permscope.store.dashboard import summarize_open  # its queries use this module's (an import cycle)

    summary = summarize_open(session, system_pk)
    latest = session.get(AnalysisRunRow, system_pk)
    if latest is not None:
        latest.open_summary = summary
    day = DayFacts(
        at=run.day_of,
        changes=result.changes,
        open_findings=sum(open_by_type.values()),
        pci_distribution=run.pci_distribution,
        pci_score=run.system_pci,
        open_counts=summary["byType"],
    )
    record_day(session, system_pk, day)
    if run.pci_scores is not None:
        record_identity_scores(session, system_pk, day.day, run.pci_scores)
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


@dataclass(frozen=True, slots=True)
class TimeRange:
    """A half-open time range, `since` <= t < `before`; either end may be left open."""

    since: datetime | None = None
    before: datetime | None = None

    def conditions(self, column: SQLColumnExpression[datetime]) -> list[ColumnElement[bool]]:
        """The SQL conditions of `column` being in the range."""
        found: list[ColumnElement[bool]] = []
        if self.since is not None:
            found.append(column >= self.since)
        if self.before is not None:
            found.append(column < self.before)
        return found


EVER = TimeRange()


@dataclass(frozen=True, slots=True, kw_only=True)
class FindingQuery:
    """Which findings to list: by type, system, cloud, severity, status, PCI, when first and last seen, and
    within the systems a key may read (`scope`; None: every system)."""

    types: Sequence[str] = ()
    system_pks: Sequence[int] | None = None  # None: every system
    status: FindingStatus = FindingStatus.OPEN
    min_pci: int | None = None
    clouds: Sequence[str] = ()
    severities: Sequence[str] = ()
    first_seen: TimeRange = EVER
    last_seen: TimeRange = EVER
    scope: Systems | None = None


def status_conditions(status: FindingStatus) -> list[ColumnElement[bool]]:
    """The SQL form of `state_of` for a listing's status."""
    if status is FindingStatus.OPEN:
        return [FindingRow.resolved_at.is_(None)]
    if status is FindingStatus.RESOLVED:
        return [FindingRow.resolved_at.is_not(None)]
    if status is FindingStatus.REOPENED:
        return [FindingRow.resolved_at.is_(None), FindingRow.reopened > 0]
    return []


def finding_conditions(query: FindingQuery) -> list[ColumnElement[bool]]:
    """The WHERE conditions of a query, over the findings table alone (systems by a subquery)."""
    found = status_conditions(query.status)
    if query.types:
        found.append(FindingRow.finding_type.in_(list(query.types)))
    if query.system_pks is not None:
        found.append(FindingRow.system_pk.in_(list(query.system_pks)))
    if query.severities:  # by rank: the worst-first index serves the filter and the order together
        ranks = sorted({SEVERITY_RANK[name] for name in query.severities if name in SEVERITY_RANK})
        found.append(FindingRow.severity_rank.in_(ranks))
    if query.min_pci is not None:
        found.append(FindingRow.pci_score >= query.min_pci)
    found += query.first_seen.conditions(FindingRow.first_seen)
    found += query.last_seen.conditions(FindingRow.last_seen)
    scoped = query.scope is not None and not query.scope.everything
    if query.clouds or scoped:
        # `system_pk + 0`: no index on the system is used for a cloud or a key's scope, which usually hold many
        # findings; the planner walks the order's index (which carries the system) and checks each finding's
        # system against the few systems' ids, rather than gather and sort every finding of them
        systems = select(AuthorizationSystemRow.id)
        if query.clouds:
            systems = systems.where(AuthorizationSystemRow.cloud.in_(list(query.clouds)))
        if query.scope is not None and scoped:
            systems = systems.where(
                systems_condition(query.scope, AuthorizationSystemRow.cloud, AuthorizationSystemRow.system_id)
            )
        found.append((FindingRow.system_pk + 0).in_(systems.scalar_subquery()))
    return found


def findings_stmt(query: FindingQuery) -> Select[FindingRow]:
    """The findings a query selects (no order)."""
    return select(FindingRow).where(*finding_conditions(query))


def count_findings(session: Session, query: FindingQuery) -> int:
    """How many findings a query selects (one SQL COUNT)."""
    stmt = select(func.count()).select_from(FindingRow).where(*finding_conditions(query))
    return int(session.scalar(stmt) or 0)


def severity_rank() -> SQLColumnExpression[int]:
    """SQL rank of a finding's severity: critical 4, high 3, medium 2, low 1 (`FindingRow.severity_rank`,
    written with the severity, so the index `ix_findings_worst_first` serves the order)."""
    return FindingRow.severity_rank


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


def order_of(order: FindingOrder) -> list[SQLColumnExpression[Any]]:
    """The ORDER BY of a listing's order (each ends with the id, so pages never overlap)."""
    if order is FindingOrder.LAST_SEEN:
        return [FindingRow.last_seen.desc(), FindingRow.id.desc()]
    if order is FindingOrder.FIRST_SEEN:
        return [FindingRow.first_seen.desc(), FindingRow.id.desc()]
    return default_order()


def list_findings(
    session: Session,
    query: FindingQuery,
    *,
    limit: int | None = None,
    offset: int = 0,
    order: FindingOrder = FindingOrder.SEVERITY,
) -> list[FindingRow]:
    """Findings in the order asked (default worst first), paged by `limit` and `offset`: the page's ids first
    (read from the order's index), then their rows, so no sort ever carries whole rows."""
    stmt = select(FindingRow.id).where(*finding_conditions(query)).order_by(*order_of(order)).offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    ids = list(session.execute(stmt).scalars())
    rows: dict[int, FindingRow] = {}
    for part in _chunks(ids):
        rows.update((row.id, row) for row in session.execute(findings_stmt_by_ids(part)).scalars())
    return [rows[pk] for pk in ids if pk in rows]


def findings_stmt_by_ids(ids: Sequence[int]) -> Select[FindingRow]:
    """The findings of these primary keys (no order)."""
    return select(FindingRow).where(FindingRow.id.in_(list(ids)))


RECORD_COLUMNS = (
    FindingRow.id,
    FindingRow.system_pk,
    FindingRow.fingerprint,
    FindingRow.finding_type,
    FindingRow.severity,
    FindingRow.subject_name,
    FindingRow.subject_id,
    FindingRow.pci_score,
    FindingRow.summary,
    FindingRow.first_seen,
    FindingRow.last_seen,
    FindingRow.resolved_at,
    FindingRow.reopened,
)


class RecordSource(Protocol):
    """What a finding record is made from: a stored row, or a row of `RECORD_COLUMNS`."""

    @property
    def fingerprint(self) -> str: ...
    @property
    def finding_type(self) -> str: ...
    @property
    def severity(self) -> str: ...
    @property
    def subject_name(self) -> str: ...
    @property
    def subject_id(self) -> str: ...
    @property
    def pci_score(self) -> int | None: ...
    @property
    def summary(self) -> str: ...
    @property
    def first_seen(self) -> datetime: ...
    @property
    def last_seen(self) -> datetime: ...
    @property
    def resolved_at(self) -> datetime | None: ...
    @property
    def reopened(self) -> int: ...


def finding_record(row: RecordSource, system: AuthorizationSystemRow) -> dict[str, Any]:
    """A stored finding as a flat record (the CLI's table and CSV, the web UI's CSV): its system, what it is,
    and its history."""
    return {
        "fingerprint": row.fingerprint,
        "cloud": system.cloud,
        "system_id": system.system_id,
        "finding_type": row.finding_type,
        "severity": row.severity,
        "subject_name": row.subject_name,
        "subject_id": row.subject_id,
        "pci": row.pci_score,
        "status": state_of(row.resolved_at, row.reopened).value,
        "first_seen": row.first_seen,
        "last_seen": row.last_seen,
        "resolved_at": row.resolved_at,
        "reopened": row.reopened,
        "summary": row.summary,
    }


DETAIL_COLUMNS = (
    FindingRow.subject_kind,
    FindingRow.properties,
    FindingRow.evidence,
    FindingRow.pci_factors,
    FindingRow.snapshot_at,
)


def stream_records(
    session: Session,
    query: FindingQuery,
    order: FindingOrder = FindingOrder.SEVERITY,
    *,
    chunk: int = 1000,
    details: bool = False,
) -> Iterator[dict[str, Any]]:
    """Every finding a query selects as a record, in order, fetched `chunk` rows at a time (a server-side
    cursor on PostgreSQL), so memory stays flat however many there are. With `details`, each record also
    carries its subject kind, contract properties, evidence, PCI factors and snapshot time (`DETAIL_COLUMNS`)."""
    columns = (*RECORD_COLUMNS, *DETAIL_COLUMNS) if details else RECORD_COLUMNS
    stmt = (
        select(*columns)
        .where(*finding_conditions(query))
        .order_by(*order_of(order))
        .execution_options(yield_per=chunk)
    )
    systems: dict[int, AuthorizationSystemRow] = {}
    for part in session.execute(stmt).partitions():
        missing = {row.system_pk for row in part} - set(systems)
        systems.update(systems_by_pk(session, missing))
        for row in part:
            record = finding_record(row, systems[row.system_pk])
            if details:
                record.update(
                    subject_kind=row.subject_kind,
                    properties=dict(row.properties or {}),
                    evidence=dict(row.evidence or {}),
                    pci_factors=dict(row.pci_factors or {}),
                    snapshot_at=row.snapshot_at,
                )
            yield record


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


def finding_within(
    session: Session, fingerprint: str, scope: Systems
) -> tuple[FindingRow, AuthorizationSystemRow] | None:
    """One finding by fingerprint with its system, or None when there is none or its system is outside `scope`
    (a key's view: a hidden finding is answered exactly as a missing one)."""
    found = finding_and_system(session, fingerprint)
    if found is None or not scope.covers(found[1].cloud, found[1].system_id):
        return None
    return found


def open_findings(finding_type: str, cloud: str, scope: Systems) -> Select[FindingRow]:
    """The open findings of one type in the systems of one cloud within `scope` (joined to their systems, so
    filters may name the system's columns)."""
    query = FindingQuery(types=(finding_type,), clouds=(cloud,), scope=scope)
    return findings_stmt(query).join(
        AuthorizationSystemRow, AuthorizationSystemRow.id == FindingRow.system_pk
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
    session: Session, system: SystemView, external_ids: Iterable[str]
) -> dict[str, IdentityRow]:
    """Identities one system sees (stored in it or at its home) by external id (a query per 500 ids)."""
    wanted = sorted(set(external_ids))
    found: dict[str, IdentityRow] = {}
    for start in range(0, len(wanted), CHUNK):
        stmt = select(IdentityRow).where(
            system.identities(), IdentityRow.external_id.in_(wanted[start : start + CHUNK])
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
        view = view_of_row(systems[pk])
        identities = identities_by_ids(session, view, wanted)
        owners = {
            str(identity.attributes.get("owner"))
            for identity in identities.values()
            if str(identity.kind) == "accessKey" and identity.attributes.get("owner")
        }
        identities.update(identities_by_ids(session, view, owners - set(identities)))
        found[pk] = FindingEmbeds(systems[pk], identities, resources_by_ids(session, pk, wanted))
    return found
