"""What the monitoring reports say, read from the store (docs/monitoring.md, "Reports"): the systems a report
covers with their collection and analysis times, and per kind the lines it lists, as iterators that read a
system at a time so an export of a large estate never sits in memory.

Kinds: `analytics` (the Permissions Analytics Report: open findings by type and severity with their
identities), `pci` (each identity's Permission Creep Index with its factors, the system's distribution and its
history), `entitlements` (granted, used and unused actions per identity and service, last use), `credentials`
(access keys, application secrets and certificates, service-account keys) and `external` (cross-account,
external and public access). The PCI and entitlements of a system are worked out from its stored snapshot
with the settings of its latest analysis (window and time), so they agree with the distribution that analysis
stored; a system never analyzed uses the default window and the present time.

Rendering lives above, in `presentation.reports`; `ReportFileMaker` is the type of its one entry point that
code in this layer (scheduled delivery) is handed by the entry points, since workflows never import
presentation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from permscope.analytics.credentials import Credential, credentials
from permscope.analytics.pci import pci_of
from permscope.analytics.registry import detectors
from permscope.analytics.subjects import last_seen, permissions, subjects, used_bits
from permscope.clouds.base import built_clouds
from permscope.core.access import Systems
from permscope.core.bitsets import indexes_of
from permscope.core.errors import InputError
from permscope.core.findings import DEFAULT_WINDOW_DAYS, PCI_BANDS, FindingSubject
from permscope.core.ids import Cloud
from permscope.core.snapshot import AnalysisSettings, SystemSnapshot
from permscope.store.dashboard import FindingCount, open_finding_counts, scoped_systems
from permscope.store.findings import FindingQuery, FindingStatus, latest_runs, stream_records
from permscope.store.pci_history import identities_pci_series
from permscope.store.snapshot import stored_identities
from permscope.store.systems import get_system
from permscope.store.tables import AnalysisRunRow, AuthorizationSystemRow
from permscope.store.trends import distributions_per_day
from permscope.workflows.analysis import load_snapshot

ALL_SYSTEMS = "all"
HISTORY_DAYS = 90  # the PCI history a report shows
# the detectors whose findings are the external-access report, and those of the credentials report
EXTERNAL_DETECTORS = (
    "externalSystemAccess",
    "externallyAccessibleBucket",
    "externallyAccessibleGcpBucket",
    "externallyAccessibleAzureBlobContainer",
    "openSecurityGroup",
    "openNetworkAzureSecurityGroup",
)
CREDENTIAL_DETECTORS = ("accessKeys",)
CREDENTIAL_KINDS = ("user", "accessKey", "servicePrincipal", "managedIdentity", "serviceAccount")


class ReportKind(StrEnum):
    """What a report is about."""

    ANALYTICS = "analytics"
    PCI = "pci"
    ENTITLEMENTS = "entitlements"
    CREDENTIALS = "credentials"
    EXTERNAL = "external"


class ReportFormat(StrEnum):
    """How a report is written: a spreadsheet's CSV or XLSX, a PDF to read, or OCSF JSON lines for a SIEM."""

    CSV = "csv"
    XLSX = "xlsx"
    PDF = "pdf"
    OCSF = "ocsf"


TITLES = {
    ReportKind.ANALYTICS: "Permissions Analytics Report",
    ReportKind.PCI: "Permission Creep Index",
    ReportKind.ENTITLEMENTS: "Entitlements and usage",
    ReportKind.CREDENTIALS: "Access keys and credentials",
    ReportKind.EXTERNAL: "Cross-account and external access",
}
ABOUT = {  # what each report holds, in a sentence (a mailed report's body says it)
    ReportKind.ANALYTICS: "the open findings of each system by type and severity, with their identities and the fix "
    "of each type",
    ReportKind.PCI: "each identity's Permission Creep Index with its factors, each system's distribution per band, "
    "and their history",
    ReportKind.ENTITLEMENTS: "per identity and service: the actions granted, used in the activity window, unused, "
    "unused of high severity, and when last used",
    ReportKind.CREDENTIALS: "access keys, application secrets and certificates, service-account keys: their status, "
    "age, expiry, last use and the findings about them",
    ReportKind.EXTERNAL: "cross-account, external and public access: who from outside may act here, and how",
}
FINDING_KINDS = (ReportKind.ANALYTICS, ReportKind.CREDENTIALS, ReportKind.EXTERNAL)  # those OCSF can carry


def parse_kind(text: str) -> ReportKind:
    """A report kind by name; InputError naming the kinds otherwise."""
    try:
        return ReportKind(text.strip().lower())
    except ValueError:
        names = ", ".join(kind.value for kind in ReportKind)
        raise InputError("kind", f"{text!r} is no report kind; use one of {names}") from None


def parse_format(text: str, kind: ReportKind) -> ReportFormat:
    """A format by name, checked against the kind (OCSF carries findings: only the kinds that list them)."""
    try:
        found = ReportFormat(text.strip().lower())
    except ValueError:
        names = ", ".join(fmt.value for fmt in ReportFormat)
        raise InputError("format", f"{text!r} is no report format; use one of {names}") from None
    if found is ReportFormat.OCSF and kind not in FINDING_KINDS:
        kinds = ", ".join(k.value for k in FINDING_KINDS)
        raise InputError("format", f"ocsf carries findings: the {kind.value} report lists none (use {kinds})")
    return found


def kind_finding_types(kind: ReportKind) -> tuple[str, ...] | None:
    """The finding types a report lists: those of its detectors; None for every type (the analytics report)."""
    wanted = {ReportKind.EXTERNAL: EXTERNAL_DETECTORS, ReportKind.CREDENTIALS: CREDENTIAL_DETECTORS}.get(kind)
    if wanted is None:
        return None
    return tuple(t for d in detectors() if d.name in wanted for t in d.finding_types)


# ------------------------------------------------------------------------------------------------ systems


@dataclass(frozen=True, slots=True)
class ReportSystem:
    """One system a report covers, and where its data comes from."""

    pk: int
    cloud: Cloud
    system_id: str
    name: str
    collected_at: datetime | None  # the last collection or import
    analyzed_at: datetime | None  # the end of the latest analysis (None: never analyzed)
    as_of: datetime | None  # the time the latest analysis judged from (its `now`)
    window_days: int  # the activity window of the latest analysis (the default when never analyzed)
    pci_distribution: dict[str, Any] | None
    checked: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, str] = field(
        default_factory=dict
    )  # finding type -> why the analysis did not decide it

    @property
    def label(self) -> str:
        """Cloud, id and name, as a heading names it."""
        name = f" ({self.name})" if self.name and self.name != self.system_id else ""
        return f"{self.cloud.label} {self.system_id}{name}"

    def settings(self, now: datetime) -> AnalysisSettings:
        """The analysis settings its PCI and entitlements are computed with: the latest analysis' window and time
        (`now` when never analyzed)."""
        return AnalysisSettings(window_days=self.window_days, now=self.as_of or now)


def _report_system(row: AuthorizationSystemRow, run: AnalysisRunRow | None) -> ReportSystem:
    settings = run.settings if run is not None else {}
    as_of = settings.get("now")
    return ReportSystem(
        pk=row.id,
        cloud=Cloud(row.cloud),
        system_id=row.system_id,
        name=row.name,
        collected_at=row.last_collection_at,
        analyzed_at=run.finished_at if run is not None else None,
        as_of=datetime.fromisoformat(as_of) if isinstance(as_of, str) else None,
        window_days=int(settings.get("windowDays") or DEFAULT_WINDOW_DAYS),
        pci_distribution=run.pci_distribution if run is not None else None,
        checked={str(k): int(v) for k, v in (run.checked if run is not None else {}).items()},
        skipped={str(k): str(v) for k, v in (run.skipped if run is not None else {}).items()},
    )


def report_systems(
    engine: Engine, selectors: Sequence[str], within: Systems, cloud: Cloud | None = None
) -> list[ReportSystem]:
    """The systems named (raw or base64 ids, in `cloud` when given), or with `all` every system in `within` of a
    cloud permscope has built; NotFoundError for an unknown or hidden one (alike), InputError for none."""
    wanted = [text.strip() for text in selectors if text.strip()]
    if not wanted:
        raise InputError("system", f"name an authorization system, or {ALL_SYSTEMS!r}")
    with Session(engine) as session:
        if any(text.lower() == ALL_SYSTEMS for text in wanted):
            built = {c.value for c in built_clouds()}
            rows = [
                row
                for row in scoped_systems(session, within)
                if row.cloud in built and (cloud is None or row.cloud == cloud.value)
            ]
        else:
            found = [get_system(session, text, cloud.value if cloud else None, within) for text in wanted]
            rows = list({row.id: row for row in found}.values())
        if not rows:
            raise InputError("system", "no authorization system to report on")
        runs = latest_runs(session, [row.id for row in rows])
        return [_report_system(row, runs.get(row.id)) for row in rows]


# ------------------------------------------------------------------------------------------------ findings


def finding_tallies(engine: Engine, systems: Sequence[ReportSystem]) -> list[FindingCount]:
    """Open findings per system, type and severity (one GROUP BY)."""
    with Session(engine) as session:
        return open_finding_counts(session, [s.pk for s in systems])


def finding_records(
    engine: Engine, systems: Sequence[ReportSystem], types: Sequence[str] | None = None
) -> Iterator[dict[str, Any]]:
    """The open findings of the systems (of `types` when given), worst first, as detailed records
    (`store.findings.stream_records`), read a chunk at a time."""
    query = FindingQuery(system_pks=[s.pk for s in systems], types=types or (), status=FindingStatus.OPEN)
    with Session(engine) as session:
        yield from stream_records(session, query, details=True)


# ------------------------------------------------------------------------------------------------ PCI


@dataclass(frozen=True, slots=True)
class PciLine:
    """One identity's Permission Creep Index as its system's snapshot gives it."""

    system: ReportSystem
    external_id: str
    name: str
    kind: str
    score: int
    band: str
    factors: dict[str, Any]


def _snapshots(
    engine: Engine, systems: Sequence[ReportSystem], now: datetime
) -> Iterator[tuple[ReportSystem, SystemSnapshot]]:
    """Each system's stored snapshot in turn (one in memory at a time)."""
    for system in systems:
        _pk, snapshot = load_snapshot(engine, system.system_id, system.settings(now), system.cloud)
        yield system, snapshot


def pci_lines(engine: Engine, systems: Sequence[ReportSystem], now: datetime) -> Iterator[PciLine]:
    """Every identity (function, instance) of the systems with its PCI and factors, highest first per system."""
    for system, snapshot in _snapshots(engine, systems, now):
        lines = []
        for subject in subjects(snapshot):
            score = pci_of(snapshot, subject.external_id)
            lines.append(
                PciLine(system, subject.external_id, subject.name, subject.kind, score.score, score.band,
                        dict(score.factors))
            )  # fmt: skip
        lines.sort(key=lambda line: (-line.score, line.name.lower(), line.external_id))
        yield from lines


@dataclass(frozen=True, slots=True)
class PciHistoryPoint:
    """One day of PCI history: of a whole system (`identity` None: identities per band) or, where a per-identity
    history is kept, of one identity (`score`)."""

    system_pk: int
    day: date
    bands: dict[str, int]
    identity: str | None = None
    score: int | None = None


PciHistorySource = Callable[[Engine, Sequence[ReportSystem], date], list[PciHistoryPoint]]


def analysis_day_history(
    engine: Engine, systems: Sequence[ReportSystem], since: date
) -> list[PciHistoryPoint]:
    """The PCI history of the systems from `since`: identities per band as each day's last analysis left them
    (`analysis_days`). The PCI report's history section reads whatever `PciHistorySource` it is given; a
    per-identity daily history plugs in there beside this one."""
    with Session(engine) as session:
        days = distributions_per_day(session, [s.pk for s in systems], since)
    return [
        PciHistoryPoint(
            day.system_pk,
            day.day,
            {
                band: int((day.distribution.get(band) or {}).get("humanCount", 0))
                + int((day.distribution.get(band) or {}).get("nonHumanCount", 0))
                for band, _low, _high in PCI_BANDS
            },
        )
        for day in days
    ]


def stored_pci_history(engine: Engine, systems: Sequence[ReportSystem], since: date) -> list[PciHistoryPoint]:
    """`analysis_day_history`, and each day's score of every identity whose PCI moved from `since` on
    (`store.pci_history`: identities whose score stayed the same all along are left out)."""
    points = analysis_day_history(engine, systems, since)
    with Session(engine) as session:
        for system in systems:
            for identity, series in sorted(identities_pci_series(session, system.pk, since=since).items()):
                if len({score for _day, score in series}) > 1:
                    points += [PciHistoryPoint(system.pk, day, {}, identity, score) for day, score in series]
    return points


def history_since(now: datetime, days: int = HISTORY_DAYS) -> date:
    """The first day of a report's history."""
    return (now - timedelta(days=days)).astimezone(UTC).date()


# ------------------------------------------------------------------------------------------------ entitlements


@dataclass(frozen=True, slots=True)
class ServiceUse:
    """One service of one identity: actions granted, used in the window, unused (high-severity among them)."""

    service: str
    granted: int
    used: int
    unused: int
    unused_high: int
    last_used: datetime | None


@dataclass(frozen=True, slots=True)
class ActionUse:
    """One action an identity used in the window: how often, when last, and whether it still holds it."""

    action: str
    service: str
    count: int
    last_used: datetime
    granted: bool


@dataclass(frozen=True, slots=True)
class EntitlementLine:
    """One identity's entitlements and their use."""

    system: ReportSystem
    external_id: str
    name: str
    kind: str
    granted: int
    used: int
    unused: int
    unused_high: int
    last_used: datetime | None  # its last activity known (last-active date or latest usage)
    services: tuple[ServiceUse, ...]
    actions: tuple[ActionUse, ...]


class _Catalogue:
    """Per snapshot: each action's service, and the services' counts of a set of actions (cached by set)."""

    def __init__(self, snapshot: SystemSnapshot) -> None:
        self.index = snapshot.index
        self.high = snapshot.index.high_severity
        self.separator = snapshot.index.catalog.separator
        self.service_of = [action.service for action in snapshot.index.catalog.actions]
        self._counts: dict[int, dict[str, int]] = {}

    def per_service(self, bits: int) -> dict[str, int]:
        """How many of the actions of `bits` each service holds."""
        found = self._counts.get(bits)
        if found is None:
            found = {}
            for position in indexes_of(bits):
                service = self.service_of[position]
                found[service] = found.get(service, 0) + 1
            if len(self._counts) < 4096:  # identities share their permissions: keep the common sets
                self._counts[bits] = found
        return found

    def service_named(self, action: str) -> tuple[str, int | None]:
        """(service, bit) of an action name; an action outside the catalogue is named by its prefix."""
        position = self.index.index_of(action)
        if position is not None:
            return self.service_of[position], position
        return action.split(self.separator, 1)[0].lower(), None


def _actions_used(
    snapshot: SystemSnapshot, catalogue: _Catalogue, principal: str, granted: int
) -> list[ActionUse]:
    merged: dict[str, list[Any]] = {}
    start = snapshot.settings.window_start
    for usage in snapshot.usages or ():
        if usage.identity_external_id != principal or usage.last_seen < start:
            continue
        entry = merged.setdefault(usage.action.lower(), [usage.action, 0, usage.last_seen])
        entry[1] += usage.count
        entry[2] = max(entry[2], usage.last_seen)
    found = []
    for name, count, last in merged.values():
        service, position = catalogue.service_named(name)
        known = catalogue.index.action(position).external_id if position is not None else name
        holds = position is not None and bool(granted >> position & 1)
        found.append(ActionUse(known, service, count, last, holds))
    return sorted(found, key=lambda use: (use.service, use.action.lower()))


def _usage_by_identity(snapshot: SystemSnapshot) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for usage in snapshot.usages or ():
        found.setdefault(usage.identity_external_id, []).append(usage)
    return found


def entitlement_lines(
    engine: Engine, systems: Sequence[ReportSystem], now: datetime
) -> Iterator[EntitlementLine]:
    """Every identity (function, instance) of the systems with what it holds and uses, by service and action,
    by name."""
    for _system, snapshot in _snapshots(engine, systems, now):
        catalogue = _Catalogue(snapshot)
        for subject in sorted(subjects(snapshot), key=lambda s: (s.name.lower(), s.external_id)):
            yield _entitlements(_system, snapshot, catalogue, subject.external_id, subject.name, subject.kind)


def _entitlements(
    system: ReportSystem,
    snapshot: SystemSnapshot,
    catalogue: _Catalogue,
    external_id: str,
    name: str,
    kind: str,
) -> EntitlementLine:
    found = permissions(snapshot, external_id)
    granted = found.granted if found is not None else 0
    used = used_bits(snapshot, external_id) & granted
    unused = granted & ~used
    actions = _actions_used(snapshot, catalogue, snapshot.principal_of(external_id), granted)
    granted_by = catalogue.per_service(granted)
    used_by = catalogue.per_service(used)
    high_by = catalogue.per_service(unused & catalogue.high)
    last_by: dict[str, datetime] = {}
    for use in actions:
        last_by[use.service] = max(last_by.get(use.service, use.last_used), use.last_used)
    services = tuple(
        ServiceUse(
            service,
            granted_by.get(service, 0),
            used_by.get(service, 0),
            granted_by.get(service, 0) - used_by.get(service, 0),
            high_by.get(service, 0),
            last_by.get(service),
        )
        for service in sorted(set(granted_by) | set(last_by))
    )
    return EntitlementLine(
        system=system,
        external_id=external_id,
        name=name,
        kind=kind,
        granted=granted.bit_count(),
        used=used.bit_count(),
        unused=unused.bit_count(),
        unused_high=(unused & catalogue.high).bit_count(),
        last_used=last_seen(snapshot, external_id),
        services=services,
        actions=tuple(actions),
    )


# ------------------------------------------------------------------------------------------------ credentials


@dataclass(frozen=True, slots=True)
class CredentialLine:
    """One credential of a system, with the open findings about it (their types)."""

    system: ReportSystem
    credential: Credential
    findings: tuple[str, ...]


def credential_lines(
    engine: Engine, systems: Sequence[ReportSystem], now: datetime
) -> Iterator[CredentialLine]:
    """Every credential of the systems' identities (`analytics.credentials`), by owner, each with the open
    findings whose subject it is."""
    types = kind_finding_types(ReportKind.CREDENTIALS) or ()
    for system in systems:
        with Session(engine) as session:
            identities = stored_identities(session, system.pk, CREDENTIAL_KINDS)
            query = FindingQuery(system_pks=[system.pk], types=types, status=FindingStatus.OPEN)
            about: dict[str, list[str]] = {}
            for record in stream_records(session, query, details=True):
                if record["subject_kind"] == FindingSubject.ACCESS_KEY.value:
                    about.setdefault(record["subject_id"], []).append(record["finding_type"])
        for credential in credentials(system.cloud, identities, now):
            yield CredentialLine(system, credential, tuple(sorted(about.get(credential.credential_id, ()))))


# ------------------------------------------------------------------------------------------------ files


@dataclass(frozen=True, slots=True)
class ReportFile:
    """A report written to a file: where, the name to give it (an attachment's), and its media type."""

    path: Path
    filename: str
    media_type: str


class ReportFileMaker(Protocol):
    """Writes one report to a file (`presentation.reports.make_report_file`): what scheduled delivery calls,
    handed to it by the entry point that starts the scheduler."""

    def __call__(
        self,
        engine: Engine,
        kind: ReportKind,
        fmt: ReportFormat,
        systems: Sequence[str],
        *,
        within: Systems,
        cloud: Cloud | None = None,
        folder: Path | None = None,
    ) -> ReportFile: ...
