"""The dashboard as plain data: per cloud and authorization system, identities by kind, open findings by type
and severity, the PCI distribution (as heat-map rows), the riskiest identities, data-collection status and age,
and the trends of the analyses' history. Built from what `store.dashboard`, `store.findings` and `store.trends`
read; no SQL and no HTML here (the SVG comes from `presentation.web.svg`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from permscope.core.findings import PCI_BANDS, Severity, pci_band
from permscope.core.ids import Cloud
from permscope.presentation.web.svg import HeatRow, Series, heat_map, line_chart
from permscope.store.dashboard import DashboardFacts, FindingCount, RiskyIdentity
from permscope.store.tables import AuthorizationSystemRow
from permscope.store.trends import DayChanges, DayDistribution

SEVERITIES = tuple(reversed([s.value for s in Severity]))  # critical first
BAND_NAMES = tuple(name for name, _low, _high in PCI_BANDS)
BAND_LABELS = {name: f"{name.capitalize()} ({low}-{high})" for name, low, high in PCI_BANDS}
TREND_DAYS = 30
MAX_PCI_LINES = 8
STALE_AFTER = timedelta(days=1)  # collected data older than this is flagged as stale


def age_text(then: datetime | None, now: datetime) -> str:
    """How long ago, in the largest whole unit: `just now`, `5 min ago`, `3 h ago`, `2 d ago`; `never`."""
    if then is None:
        return "never"
    seconds = max(0, int((now - then).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return "just now"


def band_counts(distribution: Mapping[str, Any] | None) -> dict[str, int] | None:
    """Identities per PCI band (human and non-human together) of a stored distribution; None without one."""
    if distribution is None:
        return None
    counts = {}
    for band in BAND_NAMES:
        found = distribution.get(band) or {}
        counts[band] = int(found.get("humanCount", 0)) + int(found.get("nonHumanCount", 0))
    return counts


@dataclass(frozen=True, slots=True)
class SystemStatus:
    """One authorization system as the dashboard lists it."""

    cloud: str
    system_id: str
    name: str
    url: str
    collection_status: str  # online / offline, as the last collection left it
    last_collection_at: datetime | None
    collection_age: str
    stale: bool  # collected more than STALE_AFTER ago (or never)
    last_run_status: str | None  # succeeded / failed: the latest collection or import run
    last_run_error: str | None
    last_run_warnings: int
    analyzed_at: datetime | None
    analysis_age: str
    identities: int
    identities_by_kind: dict[str, int]
    open_findings: int
    findings_by_severity: dict[str, int]
    pci_bands: dict[str, int] | None  # None: never analyzed
    findings_url: str


@dataclass(frozen=True, slots=True)
class CloudTotals:
    """What one cloud adds up to."""

    cloud: str
    label: str
    systems: int
    identities: int
    identities_by_kind: dict[str, int]
    open_findings: int
    findings_by_severity: dict[str, int]
    pci_bands: dict[str, int]
    findings_url: str


@dataclass(frozen=True, slots=True)
class FindingTypeRow:
    """Open findings of one type over the systems shown, by severity."""

    finding_type: str
    total: int
    by_severity: dict[str, int]
    url: str


@dataclass(frozen=True, slots=True)
class RiskyRow:
    """One of the riskiest identities."""

    cloud: str
    system_id: str
    system_name: str
    name: str
    external_id: str
    kind: str
    pci: int | None
    band: str | None
    worst_severity: str
    open_findings: int
    url: str
    findings_url: str


@dataclass(frozen=True, slots=True)
class TrendDay:
    """One day of the findings trend."""

    day: date
    new: int
    resolved: int
    reopened: int
    open_findings: int


@dataclass(frozen=True, slots=True)
class PciTrend:
    """The share of one system's identities in the high PCI band, per day of the chart."""

    label: str
    values: list[float | None]  # one per day of the chart
    points: list[tuple[date, float]]  # the days with a value


@dataclass(frozen=True, slots=True)
class Dashboard:
    """The whole dashboard."""

    now: datetime
    clouds: list[CloudTotals]
    systems: list[SystemStatus]
    finding_types: list[FindingTypeRow]
    severity_totals: dict[str, int]
    riskiest: list[RiskyRow]
    trend_days: list[TrendDay]
    trend_dates: list[date]
    pci_trends: list[PciTrend]
    pci_trends_left_out: int  # systems with a PCI history beyond the MAX_PCI_LINES drawn
    heat_map_svg: str = field(repr=False)
    findings_trend_svg: str = field(repr=False)
    pci_trend_svg: str = field(repr=False)

    @property
    def identities(self) -> int:
        """Identities over every system shown."""
        return sum(cloud.identities for cloud in self.clouds)

    @property
    def open_findings(self) -> int:
        """Open findings over every system shown."""
        return sum(cloud.open_findings for cloud in self.clouds)

    @property
    def high_pci(self) -> int:
        """Identities in the high PCI band over every system shown."""
        return sum(cloud.pci_bands.get("high", 0) for cloud in self.clouds)


@dataclass(frozen=True, slots=True)
class DashboardLinks:
    """How the dashboard links to other pages (the web layer's URL builders)."""

    system: Callable[[str, str], str]
    identity: Callable[[str, str, str], str]
    findings: Callable[..., str]


def system_label(cloud: str, name: str, system_id: str) -> str:
    """`AWS · demo-production (111122223333)`; the id alone when it is the name."""
    label = Cloud(cloud).label
    return f"{label} · {system_id}" if name == system_id else f"{label} · {name} ({system_id})"


def _system_label(system: AuthorizationSystemRow) -> str:
    return system_label(system.cloud, system.name, system.system_id)


def _add(into: dict[str, int], found: Mapping[str, int]) -> None:
    for key, value in found.items():
        into[key] = into.get(key, 0) + value


def _system_status(
    system: AuthorizationSystemRow,
    facts: DashboardFacts,
    by_severity: dict[str, int],
    now: datetime,
    links: DashboardLinks,
) -> SystemStatus:
    kinds = dict(sorted(facts.identity_counts.get(system.id, {}).items()))
    run = facts.collection_runs.get((system.cloud, system.system_id))
    analysis = facts.analyses.get(system.id)
    collected = system.last_collection_at
    return SystemStatus(
        cloud=system.cloud,
        system_id=system.system_id,
        name=system.name,
        url=links.system(system.cloud, system.system_id),
        collection_status=system.collection_status,
        last_collection_at=collected,
        collection_age=age_text(collected, now),
        stale=collected is None or now - collected > STALE_AFTER,
        last_run_status=run.status if run is not None else None,
        last_run_error=run.error if run is not None else None,
        last_run_warnings=len(run.warnings or []) if run is not None else 0,
        analyzed_at=analysis.finished_at if analysis is not None else None,
        analysis_age=age_text(analysis.finished_at if analysis is not None else None, now),
        identities=sum(kinds.values()),
        identities_by_kind=kinds,
        open_findings=sum(by_severity.values()),
        findings_by_severity={s: by_severity.get(s, 0) for s in SEVERITIES},
        pci_bands=band_counts(analysis.pci_distribution) if analysis is not None else None,
        findings_url=links.findings(cloud=system.cloud, system=system.system_id, state="open"),
    )


def _cloud_totals(statuses: Sequence[SystemStatus], links: DashboardLinks) -> list[CloudTotals]:
    totals = []
    for cloud in Cloud:
        mine = [s for s in statuses if s.cloud == cloud.value]
        if not mine:
            continue
        kinds: dict[str, int] = {}
        severities = dict.fromkeys(SEVERITIES, 0)
        bands = dict.fromkeys(BAND_NAMES, 0)
        for status in mine:
            _add(kinds, status.identities_by_kind)
            _add(severities, status.findings_by_severity)
            _add(bands, status.pci_bands or {})
        totals.append(
            CloudTotals(
                cloud=cloud.value,
                label=cloud.label,
                systems=len(mine),
                identities=sum(kinds.values()),
                identities_by_kind=dict(sorted(kinds.items())),
                open_findings=sum(severities.values()),
                findings_by_severity=severities,
                pci_bands=bands,
                findings_url=links.findings(cloud=cloud.value, state="open"),
            )
        )
    return totals


def _type_rows(counts: Sequence[FindingCount], links: DashboardLinks) -> list[FindingTypeRow]:
    by_type: dict[str, dict[str, int]] = {}
    for count in counts:
        _add(by_type.setdefault(count.finding_type, {}), {count.severity: count.count})
    rows = [
        FindingTypeRow(
            finding_type=name,
            total=sum(found.values()),
            by_severity={s: found.get(s, 0) for s in SEVERITIES},
            url=links.findings(type=name, state="open"),
        )
        for name, found in by_type.items()
    ]
    return sorted(rows, key=lambda row: (-row.total, row.finding_type))


def _risky_rows(
    riskiest: Sequence[RiskyIdentity], systems: Mapping[int, AuthorizationSystemRow], links: DashboardLinks
) -> list[RiskyRow]:
    rows = []
    for risky in riskiest:
        system = systems.get(risky.system_pk)
        if system is None:
            continue
        rows.append(
            RiskyRow(
                cloud=system.cloud,
                system_id=system.system_id,
                system_name=system.name,
                name=risky.name,
                external_id=risky.external_id,
                kind=risky.subject_kind,
                pci=risky.pci,
                band=pci_band(risky.pci) if risky.pci is not None else None,
                worst_severity=risky.worst_severity,
                open_findings=risky.open_findings,
                url=links.identity(system.cloud, system.system_id, risky.external_id),
                findings_url=links.findings(cloud=system.cloud, system=system.system_id, state="open"),
            )
        )
    return rows


def _pci_trends(
    dates: Sequence[date],
    distributions: Sequence[DayDistribution],
    systems: Mapping[int, AuthorizationSystemRow],
) -> tuple[list[PciTrend], int]:
    """Per system, the % of its identities in the high band on each day; the systems whose latest share is the
    highest first, at most MAX_PCI_LINES of them (and how many were left out)."""
    position = {day: index for index, day in enumerate(dates)}
    shares: dict[int, list[float | None]] = {}
    for found in distributions:
        if found.day not in position or found.system_pk not in systems:
            continue
        counts = band_counts(found.distribution) or {}
        total = sum(counts.values())
        values = shares.setdefault(found.system_pk, [None] * len(dates))
        values[position[found.day]] = round(100 * counts.get("high", 0) / total, 1) if total else 0.0

    def latest(values: list[float | None]) -> float:
        return next((v for v in reversed(values) if v is not None), 0.0)

    ranked = sorted(shares.items(), key=lambda item: (-latest(item[1]), _system_label(systems[item[0]])))
    trends = [
        PciTrend(
            _system_label(systems[pk]),
            values,
            [(day, value) for day, value in zip(dates, values, strict=True) if value is not None],
        )
        for pk, values in ranked[:MAX_PCI_LINES]
    ]
    return trends, max(0, len(ranked) - MAX_PCI_LINES)


def build_dashboard(facts: DashboardFacts, now: datetime, links: DashboardLinks) -> Dashboard:
    """The dashboard of the systems read (every count already made in SQL; here only sums over systems)."""
    by_pk = {system.id: system for system in facts.systems}
    severities_of: dict[int, dict[str, int]] = {}
    for count in facts.finding_counts:
        if count.system_pk in by_pk:
            _add(severities_of.setdefault(count.system_pk, {}), {count.severity: count.count})
    statuses = [_system_status(s, facts, severities_of.get(s.id, {}), now, links) for s in facts.systems]
    counts = [c for c in facts.finding_counts if c.system_pk in by_pk]
    severity_totals = dict.fromkeys(SEVERITIES, 0)
    for count in counts:
        severity_totals[count.severity] = severity_totals.get(count.severity, 0) + count.count
    first_day = (now - timedelta(days=TREND_DAYS - 1)).date()
    dates = [first_day + timedelta(days=n) for n in range(TREND_DAYS)]
    changes = {day.day: day for day in facts.changes}
    trend_days = [
        TrendDay(day.day, day.new, day.resolved, day.reopened, day.open_findings)
        for day in facts.changes
        if day.day >= first_day
    ]
    pci_trends, left_out = _pci_trends(dates, facts.distributions, by_pk)
    analyzed = [s for s in statuses if s.pci_bands is not None]
    heat_rows = [
        HeatRow(
            system_label(s.cloud, s.name, s.system_id),
            [(s.pci_bands or {}).get(band, 0) for band in BAND_NAMES],
            s.url,
        )
        for s in analyzed
    ]

    def series(name: str, pick: Callable[[DayChanges], int]) -> Series:
        return Series(name, [float(pick(changes[d])) if d in changes else None for d in dates])

    return Dashboard(
        now=now,
        clouds=_cloud_totals(statuses, links),
        systems=statuses,
        finding_types=_type_rows(counts, links),
        severity_totals=severity_totals,
        riskiest=_risky_rows(facts.riskiest, by_pk, links),
        trend_days=trend_days,
        trend_dates=dates,
        pci_trends=pci_trends,
        pci_trends_left_out=left_out,
        heat_map_svg=heat_map(
            heat_rows,
            [BAND_LABELS[band] for band in BAND_NAMES],
            title="PCI distribution per authorization system",
            desc=(
                f"Identities of each of {len(heat_rows)} analyzed authorization systems per Permission Creep "
                "Index band (low 0-33, medium 34-66, high 67-100); darker cells hold a larger share of the "
                "system's identities."
            ),
            ident="pci-heat",
            unit="identities",
        ),
        findings_trend_svg=line_chart(
            dates if trend_days else [],
            [
                series("New", lambda d: d.new),
                series("Resolved", lambda d: d.resolved),
                series("Reopened", lambda d: d.reopened),
            ],
            title=f"Findings new, resolved and reopened per day, last {TREND_DAYS} days",
            desc=(
                f"Per day on which analyses ran between {dates[0].isoformat()} and {dates[-1].isoformat()}: "
                "findings first seen, resolved and reopened, summed over the systems shown."
            ),
            ident="findings-trend",
            y_label="findings",
        ),
        pci_trend_svg=line_chart(
            dates if pci_trends else [],
            [Series(trend.label, trend.values) for trend in pci_trends],
            title=f"Share of identities with a high PCI per system, last {TREND_DAYS} days",
            desc=(
                "Per authorization system and day analyzed, the percentage of its identities whose Permission "
                "Creep Index is high (67-100), as the day's last analysis found it."
            ),
            ident="pci-trend",
            y_label="% high PCI",
            y_max=100.0,
        ),
    )
