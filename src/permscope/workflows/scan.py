"""`permscope scan`: analyze exported files without a database and gather what the summary and report show.

The files are read and transformed exactly as `permscope import aws` does (the cloud's `read_files`: same
recognition of file kinds, same errors naming the file), but nothing is written: each system's `InventoryBatch`
becomes a `SystemSnapshot` directly (the analytics layer never needed the store), its effective permissions are
computed in memory and the registered detectors run on it. Skipping the database is what keeps a scan of 17,500 identities within seconds:
a fresh store costs the schema migrations, the 20,000-action catalogue and every row written and read back.
With `database_url`, the files are instead imported into that store and analyzed there (`analyze_system`), so the
findings persist with their history.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import attrgetter
from pathlib import Path
from typing import Any

from permscope.analytics.analyze import analyze
from permscope.analytics.pci import pci_distribution, pci_of
from permscope.analytics.registry import DETECTORS
from permscope.analytics.subjects import permissions as subject_permissions
from permscope.analytics.subjects import subjects
from permscope.clouds.base import plugin
from permscope.core.catalog import ActionIndex
from permscope.core.escalation import TechniqueInfo
from permscope.core.findings import Finding, FindingSubject, PciScore, Severity
from permscope.core.gc_pause import collector_paused
from permscope.core.ids import Cloud
from permscope.core.inventory import AuthorizationSystem, Identity, Resource, batch_counts
from permscope.core.permissions import EffectivePermissions
from permscope.core.sessions import analysis_session
from permscope.core.snapshot import AnalysisSettings, SystemSnapshot
from permscope.environment import file_limits
from permscope.workflows.snapshots import batch_snapshot

_SERVICE = attrgetter("service")
DETAILED = 1000  # flagged identities whose grants are counted by service (the report's full sections)
SEVERITY_ORDER = {Severity.CRITICAL: 0, Severity.HIGH: 1, Severity.MEDIUM: 2, Severity.LOW: 3}
IDENTITY_SUBJECTS = frozenset(
    {FindingSubject.IDENTITY, FindingSubject.SERVERLESS_FUNCTION, FindingSubject.COMPUTE_INSTANCE}
)


@dataclass(frozen=True, slots=True)
class SkippedType:
    """A finding type the scan could not decide, and why (the data its detector needs was not in the files)."""

    finding_type: str
    reason: str


@dataclass(frozen=True, slots=True)
class ServiceGrant:
    """What an identity holds in one service: granted actions, of which high severity."""

    service: str
    granted: int
    high_severity: int


@dataclass(slots=True, kw_only=True)
class IdentityView:
    """One identity (or function / instance) as the report shows it: what it can do, used, and why flagged."""

    system_id: str
    external_id: str
    display_name: str
    kind: str
    pci: PciScore
    granted: int
    high_severity: int
    services: list[ServiceGrant] | None  # by service; None beyond the DETAILED riskiest (not counted)
    used: list[str] | None  # actions used in the window; None when the files held no activity
    findings: list[int] = field(default_factory=list)  # positions in ScanResult.findings

    @property
    def risk(self) -> tuple[int, int, int]:
        """Sort key, riskiest first: PCI, then granted high-severity actions, then findings."""
        return (-self.pci.score, -self.high_severity, -len(self.findings))


@dataclass(slots=True, kw_only=True)
class ReportedFinding:
    """One finding, its snapshot's time, and what a person reads (summary, evidence, remediation)."""

    finding: Finding
    created: datetime
    title: str
    remediation: str


@dataclass(slots=True, kw_only=True)
class ScanAccount:
    """One scanned account: counts of what it holds, warnings, checks skipped, the PCI distribution, and what
    its findings embed (the account, its identities and resources by external id)."""

    system_id: str
    name: str
    counts: dict[str, int]
    warnings: list[str]
    skipped: list[SkippedType]
    pci_distribution: dict[str, Any] | None  # band -> {"humanCount", "nonHumanCount"}; None without a PCI
    has_activity: bool
    has_resources: bool
    system: AuthorizationSystem
    identities: Mapping[str, Identity]
    resources: Mapping[str, Resource]


@dataclass(slots=True, kw_only=True)
class ScanResult:
    """Everything a scan found: accounts, findings (riskiest first), flagged identities, timings per phase."""

    created: datetime
    files: list[str]
    accounts: list[ScanAccount]
    findings: list[ReportedFinding]
    identities: list[IdentityView]  # flagged identities, worst finding first, then by PCI
    riskiest: list[IdentityView]  # the riskiest identities by PCI, flagged or not (for the summary)
    timings: dict[str, float]
    techniques: Mapping[str, TechniqueInfo] = field(default_factory=dict)  # escalation techniques by id

    def counts_by_type(self) -> dict[str, dict[str, int]]:
        """finding type -> severity -> count, types in descending count."""
        found: dict[str, dict[str, int]] = {}
        for reported in self.findings:
            finding = reported.finding
            by_severity = found.setdefault(finding.finding_type, {})
            by_severity[finding.severity.value] = by_severity.get(finding.severity.value, 0) + 1
        return dict(sorted(found.items(), key=lambda item: (-sum(item[1].values()), item[0])))


class _Timer:
    """Seconds spent per phase, summed over accounts."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started


class _ServiceCounter:
    """Granted actions per service of an effective-permissions set; equal sets (one per policy combination,
    shared by identities) are counted once.

    The services are tried a block at a time (about the square root of their number per block, see
    `_ServiceBlock`): a set that holds nothing of a block skips its services, so a set holding a few services'
    actions costs a few dozen operations on the catalogue-wide integers instead of one per service (the same
    counts)."""

    def __init__(self, index: ActionIndex) -> None:
        self.index = index
        self.services = sorted({service.lower() for service in set(map(_SERVICE, index.catalog.actions))})
        self._grants: dict[int, ServiceGrant] = {}  # sort key -> the grant (see `_ServiceBlock.keys`)
        size = max(1, math.isqrt(len(self.services)))
        self._blocks = [
            _ServiceBlock(index, self.services, first, first + size, self._grants)
            for first in range(0, len(self.services), size)
        ]
        self._cache: dict[int, list[ServiceGrant]] = {}
        self._bytes = (index.size + 7) // 8  # a set's little-endian bytes, which blocks slice

    def of(self, permissions: EffectivePermissions) -> list[ServiceGrant]:
        """The set's grants by service, most high-severity actions first (then most granted, then by name)."""
        granted = permissions.granted
        found = self._cache.get(granted)
        if found is None:
            keys: list[int] = []
            data = granted.to_bytes(max(self._bytes, (granted.bit_length() + 7) >> 3), "little")
            for block in self._blocks:
                keys.extend(block.keys(data))
            keys.sort()
            grants = self._grants
            found = self._cache[granted] = [grants[key] for key in keys]
        return found


class _ServiceBlock:
    """A few services counted together: their actions shifted down to the block's first bit, and a set's part
    read from the bytes the block spans, so each count works on integers the size of the block, not of the
    catalogue; the counts of a part are kept (sets mostly hold a block alike, through the same managed
    policies: an administrator's services are counted once, not once per administrator).

    A grant is known by its sort key, one integer ordering as (-high severity, -granted, service name) does:
    sorting integers costs a fraction of sorting tuples."""

    __slots__ = ("_counted", "_grants", "_mask", "_services", "_shift", "_size", "_span")

    def __init__(
        self, index: ActionIndex, services: list[str], first: int, end: int, grants: dict[int, ServiceGrant]
    ) -> None:
        union = 0
        for service in services[first:end]:
            union |= index.service_bits(service)
        low = (union & -union).bit_length() - 1 if union else 0
        self._mask = union >> low
        self._span = slice(low >> 3, (low + self._mask.bit_length() + 7) >> 3)  # the bytes holding the block
        self._shift = low & 7
        high = (index.high_severity >> low) & self._mask
        self._services: list[
            tuple[int, str, int, int]
        ] = []  # rank in `services`, name, actions, high severity
        for rank, service in enumerate(services[first:end], start=first):
            bits = index.service_bits(service) >> low
            self._services.append((rank, service, bits, bits & high))
        self._size = (index.size + 1, len(services))  # the bounds of the counts and of the ranks
        self._grants = grants
        self._counted: dict[int, list[int]] = {}

    def keys(self, data: bytes) -> list[int]:
        """The sort keys of the grants of the block's services in a set, given as little-endian bytes (each
        grant kept in `grants`)."""
        part = (int.from_bytes(data[self._span], "little") >> self._shift) & self._mask
        if not part:
            return []
        found = self._counted.get(part)
        if found is None:
            found = self._counted[part] = []
            counts, ranks = self._size
            for rank, service, bits, high in self._services:
                held = part & bits
                if held:
                    grant = ServiceGrant(service, held.bit_count(), (held & high).bit_count())
                    key = ((counts - grant.high_severity) * counts + counts - grant.granted) * ranks + rank
                    self._grants[key] = grant
                    found.append(key)
        return found


def _view(snapshot: SystemSnapshot, external_id: str, name: str, kind: str) -> IdentityView:
    """The view of one identity; its grants by service are counted later, only where the report shows them."""
    permissions = subject_permissions(snapshot, external_id)  # the root user holds everything
    granted = permissions.granted if permissions is not None else 0
    return IdentityView(
        system_id=snapshot.system_id,
        external_id=external_id,
        display_name=name,
        kind=kind,
        pci=pci_of(snapshot, external_id),
        granted=granted.bit_count(),
        high_severity=(granted & snapshot.index.high_severity).bit_count(),
        services=None,
        used=sorted(snapshot.exercised(external_id)) if snapshot.has_activity else None,
    )


def _count_services(views: Iterable[IdentityView], snapshots: Mapping[str, SystemSnapshot]) -> None:
    """Fill in the grants by service of these views (equal permission sets are counted once)."""
    counters: dict[int, _ServiceCounter] = {}
    for view in views:
        if view.services is not None:
            continue
        snapshot = snapshots[view.system_id]
        counter = counters.get(id(snapshot.index))
        if counter is None:
            counter = counters[id(snapshot.index)] = _ServiceCounter(snapshot.index)
        permissions = subject_permissions(snapshot, view.external_id)
        view.services = counter.of(permissions) if permissions is not None else []


def _finding_order(reported: ReportedFinding) -> tuple[int, int, str, str]:
    finding = reported.finding
    score = finding.pci.score if finding.pci is not None else 0
    return (SEVERITY_ORDER.get(finding.severity, 9), -score, finding.finding_type, finding.subject_name)


@dataclass(slots=True, kw_only=True)
class _Analyzed:
    """One account analyzed, from the files in memory or from a store."""

    snapshot: SystemSnapshot
    counts: dict[str, int]
    warnings: list[str]
    findings: list[Finding]
    skipped: dict[str, str]
    errors: list[str]


def _in_memory(
    cloud: Cloud,
    paths: Sequence[str | Path],
    settings: AnalysisSettings,
    timer: _Timer,
    progress: Callable[[int, int], None] | None,
) -> Iterator[_Analyzed]:
    """Read and transform the files as `import aws` does, then analyze each system without a store."""
    with timer.phase("read"):
        found = plugin(cloud).read_files(paths, progress=progress, limits=file_limits())
    with timer.phase("catalogue"):
        plugin(cloud).action_index()
    for batch in found.batches:
        snapshot = batch_snapshot(batch, settings)
        with timer.phase("effective"):
            for identity in snapshot.identities:
                snapshot.result(identity.external_id)
        with timer.phase("analyze"):
            outcome = analyze(snapshot)
        errors = [f"detector {name} failed: {error}" for name, error in outcome.errors.items()]
        yield _Analyzed(
            snapshot=snapshot,
            counts=batch_counts(batch),
            warnings=[*found.warnings, *batch.warnings],
            findings=outcome.findings,
            skipped=dict(outcome.skipped),
            errors=errors,
        )


def _in_store(
    cloud: Cloud,
    paths: Sequence[str | Path],
    settings: AnalysisSettings,
    database_url: str,
    timer: _Timer,
    progress: Callable[[int, int], None] | None,
) -> Iterator[_Analyzed]:
    """Import the files into a store and analyze each account there (findings persist with history)."""
    from permscope.store.engine import open_database
    from permscope.workflows.analysis import analyze_system
    from permscope.workflows.collection import import_files

    with timer.phase("open store"):
        engine = open_database(database_url)
    try:
        with timer.phase("import"):
            reports = import_files(engine, cloud, paths, progress=progress)
        for report in reports:
            with timer.phase("analyze"):
                analysis = analyze_system(engine, report.system_id, settings, cloud=cloud)
            snapshot = analysis.snapshot
            assert snapshot is not None  # analyze_system keeps the snapshot it analyzed
            yield _Analyzed(
                snapshot=snapshot,
                counts=dict(report.counts),
                warnings=list(report.warnings),
                findings=list(analysis.findings),
                skipped=dict(analysis.skipped),
                errors=list(analysis.errors),
            )
    finally:
        engine.dispose()


def _reported(finding: Finding, created: datetime) -> ReportedFinding:
    detector = DETECTORS.get(finding.finding_type)
    return ReportedFinding(
        finding=finding,
        created=created,
        title=detector.title if detector else finding.finding_type,
        remediation=detector.remediation if detector else "",
    )


def scan_files(
    paths: Sequence[str | Path],
    settings: AnalysisSettings | None = None,
    database_url: str | None = None,
    *,
    riskiest: int = 10,
    detailed: int = DETAILED,
    progress: Callable[[int, int], None] | None = None,
    cloud: Cloud = Cloud.AWS,
) -> ScanResult:
    """Read, analyze and gather the files of `permscope scan` (see the module's docstring).

    `riskiest` users, roles, functions and instances by PCI are listed for the summary; the grants by service
    are counted for them and the `detailed` riskiest flagged identities. Without `database_url` nothing is
    written anywhere; with it, the files are imported into that store and
    analyzed there. Raises InputError naming the file when a file cannot be read or holds no account (exit
    code 2 in the CLI).
    """
    with collector_paused(), analysis_session():
        return _scan(cloud, paths, settings or AnalysisSettings(), database_url, riskiest, detailed, progress)


def _scan(
    cloud: Cloud,
    paths: Sequence[str | Path],
    settings: AnalysisSettings,
    database_url: str | None,
    riskiest: int,
    detailed: int,
    progress: Callable[[int, int], None] | None,
) -> ScanResult:
    timer = _Timer()
    analyzed = (
        _in_memory(cloud, paths, settings, timer, progress)
        if database_url is None
        else _in_store(cloud, paths, settings, database_url, timer, progress)
    )
    snapshots: dict[str, SystemSnapshot] = {}
    accounts: list[ScanAccount] = []
    findings: list[ReportedFinding] = []
    views: dict[tuple[str, str], IdentityView] = {}
    candidates: list[IdentityView] = []
    for account in analyzed:
        snapshot = snapshots[account.snapshot.system_id] = account.snapshot
        with timer.phase("gather"):
            reported = [_reported(f, snapshot.taken_at) for f in account.findings]
            for position, reported_finding in enumerate(reported, start=len(findings)):
                finding = reported_finding.finding
                if finding.subject not in IDENTITY_SUBJECTS:
                    continue
                key = (snapshot.system_id, finding.subject_id)
                view = views.get(key)
                if view is None:
                    view = views[key] = _view(
                        snapshot, finding.subject_id, finding.subject_name, _kind(snapshot, finding)
                    )
                view.findings.append(position)
            candidates.extend(_riskiest(snapshot, views, riskiest))
            distribution = pci_distribution(snapshot)
        findings.extend(reported)
        accounts.append(
            ScanAccount(
                system_id=snapshot.system_id,
                name=snapshot.system.name,
                counts=account.counts,
                warnings=[*account.warnings, *account.errors],
                skipped=[SkippedType(kind, reason) for kind, reason in account.skipped.items()],
                pci_distribution=distribution,
                has_activity=snapshot.has_activity,
                has_resources=snapshot.has_resources,
                system=snapshot.system,
                identities=snapshot.identities_by_id,
                resources=snapshot.resources_by_id,
            )
        )
    with timer.phase("gather"):
        order = sorted(range(len(findings)), key=lambda position: _finding_order(findings[position]))
        moved = {old: new for new, old in enumerate(order)}
        findings = [findings[position] for position in order]
        for view in views.values():
            view.findings = sorted(moved[position] for position in view.findings)
        flagged = sorted(views.values(), key=lambda view: (_worst(view, findings), *view.risk))
        top = sorted(candidates, key=lambda view: view.risk)[:riskiest]
        _count_services([*flagged[:detailed], *top], snapshots)
    return ScanResult(
        created=settings.now.astimezone(UTC),
        files=[str(path) for path in paths],
        accounts=accounts,
        findings=findings,
        identities=flagged,
        riskiest=top,
        timings=dict(timer.seconds),
        techniques=plugin(cloud).escalation_techniques(),
    )


def _worst(view: IdentityView, findings: Sequence[ReportedFinding]) -> int:
    """The rank of the most severe finding of an identity (0: critical)."""
    return min((SEVERITY_ORDER.get(findings[p].finding.severity, 9) for p in view.findings), default=9)


def _kind(snapshot: SystemSnapshot, finding: Finding) -> str:
    identity = snapshot.identities_by_id.get(finding.subject_id)
    if identity is not None:
        return identity.kind.value
    return finding.subject.value


def _riskiest(
    snapshot: SystemSnapshot, views: dict[tuple[str, str], IdentityView], limit: int
) -> list[IdentityView]:
    """The `limit` subjects (users, roles, functions, instances) of an account with the highest PCI."""
    scored = []
    for subject in subjects(snapshot):
        scored.append((-pci_of(snapshot, subject.external_id).score, subject.name, subject))
    scored.sort(key=lambda item: (item[0], item[1]))
    found = []
    for _score, _name, subject in scored[:limit]:
        key = (snapshot.system_id, subject.external_id)
        view = views.get(key) or _view(snapshot, subject.external_id, subject.name, subject.kind)
        found.append(view)
    return found
