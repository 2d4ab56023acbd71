"""Each report kind as a `ReportDocument`: which sections and tables it has, and their rows, read through
`workflows.reports` (lazily: a table's rows are read when a renderer asks for them)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from permscope.analytics.registry import DETECTORS
from permscope.core.findings import PCI_BANDS
from permscope.presentation.findings import remediation_of
from permscope.presentation.reports.model import Column, ReportDocument, Section, Table
from permscope.presentation.web.findings import SEVERITIES
from permscope.store.dashboard import FindingCount
from permscope.workflows import reports as data
from permscope.workflows.reports import TITLES, PciHistorySource, ReportKind, ReportSystem

SYSTEM_COLUMNS = (Column("Cloud", width=0.6), Column("System", width=1.3))


def _system(system: ReportSystem) -> list[object]:
    return [system.cloud.value, system.system_id]


def _title(finding_type: str) -> str:
    detector = DETECTORS.get(finding_type)
    return detector.title if detector is not None else finding_type


def source_section(
    systems: Sequence[ReportSystem], window: str, counts: Mapping[int, int] | None = None
) -> Section:
    """Where the report's data comes from: each system with its last collection and latest analysis."""
    columns = [
        *SYSTEM_COLUMNS,
        Column("Name", width=1.2),
        Column("Collected", width=1.1),
        Column("Analyzed", width=1.1),
        Column("Window (days)", numeric=True, width=0.6),
    ]
    if counts is not None:
        columns.append(Column("Open findings", numeric=True, width=0.6))

    def rows() -> Iterator[list[object]]:
        for system in systems:
            row = [*_system(system), system.name, system.collected_at, system.analyzed_at, system.window_days]
            if counts is not None:
                row.append(counts.get(system.pk, 0))
            yield row

    return Section(
        "Source",
        paragraphs=[window],
        tables=[Table("Systems", "Authorization systems", columns, rows)],
    )


def _skipped_section(systems: Sequence[ReportSystem], types: Sequence[str] | None) -> Section | None:
    skipped = [
        [*_system(s), finding_type, reason]
        for s in systems
        for finding_type, reason in sorted(s.skipped.items())
        if types is None or finding_type in types
    ]
    if not skipped:
        return None
    columns = [*SYSTEM_COLUMNS, Column("Finding type", width=1.6), Column("Why not checked", width=3.0)]
    return Section(
        "Not checked",
        paragraphs=["The latest analysis could not decide these finding types, for want of data:"],
        tables=[Table("Not checked", "Finding types not checked", columns, lambda: skipped)],
    )


# ------------------------------------------------------------------------------------------------ findings

FINDING_COLUMNS = (
    *SYSTEM_COLUMNS,
    Column("Finding type", width=1.7),
    Column("Severity", width=0.6),
    Column("Identity or resource", width=1.4),
    Column("Id", width=2.2),
    Column("Kind", width=0.8),
    Column("PCI", numeric=True, width=0.4),
    Column("First seen", width=1.0),
    Column("Last seen", width=1.0),
    Column("Summary", width=2.6),
)


def _finding_row(record: Mapping[str, Any]) -> list[object]:
    return [
        record["cloud"],
        record["system_id"],
        record["finding_type"],
        record["severity"],
        record["subject_name"],
        record["subject_id"],
        record["subject_kind"],
        record["pci"],
        record["first_seen"],
        record["last_seen"],
        record["summary"],
    ]


def _by_type_table(tallies: Iterable[FindingCount]) -> Table:
    """Open findings per type and severity over the systems, with each type's title and fix."""
    totals: dict[tuple[str, str], int] = {}
    for tally in tallies:
        key = (tally.finding_type, tally.severity)
        totals[key] = totals.get(key, 0) + tally.count
    rank = {severity.value: position for position, severity in enumerate(SEVERITIES)}
    ordered = sorted(totals.items(), key=lambda item: (rank.get(item[0][1], 9), -item[1], item[0][0]))
    rows = [
        [_title(finding_type), finding_type, severity, count, remediation_of(finding_type)]
        for (finding_type, severity), count in ordered
    ]
    columns = (
        Column("Finding", width=1.5),
        Column("Type", width=1.7),
        Column("Severity", width=0.6),
        Column("Open", numeric=True, width=0.5),
        Column("Fix", width=4.5),
    )
    return Table("By type", "Open findings by type and severity", columns, lambda: rows, per_system=False)


def _severity_facts(tallies: Iterable[FindingCount]) -> list[tuple[str, str]]:
    by_severity = {severity.value: 0 for severity in SEVERITIES}
    for tally in tallies:
        by_severity[tally.severity] = by_severity.get(tally.severity, 0) + tally.count
    total = sum(by_severity.values())
    return [("Open findings", f"{total:,}")] + [
        (severity.capitalize(), f"{count:,}") for severity, count in by_severity.items()
    ]


def findings_document(
    engine: Engine, kind: ReportKind, systems: Sequence[ReportSystem], now: datetime
) -> ReportDocument:
    """The analytics, credentials-findings or external-access report of open findings."""
    types = data.kind_finding_types(kind)
    tallies = [t for t in data.finding_tallies(engine, systems) if types is None or t.finding_type in types]
    counts: dict[int, int] = {}
    for tally in tallies:
        counts[tally.system_pk] = counts.get(tally.system_pk, 0) + tally.count
    window = "Open findings as each system's latest analysis left them."

    def records() -> Iterator[dict[str, Any]]:
        return data.finding_records(engine, systems, types)

    main = Table(
        "Findings",
        "Open findings, worst first",
        FINDING_COLUMNS,
        lambda: (_finding_row(record) for record in records()),
    )
    sections = [
        source_section(systems, window, counts),
        Section("Summary", facts=_severity_facts(tallies), tables=[_by_type_table(tallies)]),
        Section("Findings", tables=[main]),
    ]
    skipped = _skipped_section(systems, types)
    if skipped is not None:
        sections.append(skipped)
    return ReportDocument(kind, TITLES[kind], now, systems, window, sections, main, findings=records)


def _listed(*values: Any) -> list[str]:
    return [str(item) for value in values if isinstance(value, list) for item in value]


def exposure_of(properties: Mapping[str, Any], evidence: Mapping[str, Any]) -> tuple[str, str]:
    """(who from outside, how) of an external-access finding, from its contract properties and evidence."""
    outside = properties.get("systemWithAccess")
    if isinstance(outside, Mapping):
        who = str(outside.get("id") or "")
        if properties.get("trustsAllIdentities"):
            who += " (any identity there)"
        return who, str(properties.get("accessMethods") or "trust")
    if "accessibleSystemIds" in properties:  # a role others may assume: whom its trust names, and how
        kinds = ", ".join(_listed(evidence.get("kinds"))) or "trust policy"
        named = _listed(
            properties.get("accessibleSystemIds"),
            evidence.get("outsidePrincipals"),
            evidence.get("webIdentityProviders"),
            evidence.get("samlProviders"),
        )
        return ", ".join(dict.fromkeys(named)) or kinds, kinds
    ports = properties.get("inboundPorts")
    if isinstance(ports, Mapping):
        listed = ports.get("ports")
        shown = ", ".join(str(p) for p in listed) if isinstance(listed, list) else "all"
        return "the internet", f"inbound ports {shown}"
    accessibility = properties.get("accessibility")
    if accessibility:
        return ("anyone" if accessibility == "public" else str(accessibility)), str(accessibility)
    return "", ""


def external_document(engine: Engine, systems: Sequence[ReportSystem], now: datetime) -> ReportDocument:
    """The cross-account and external access report: the findings document, its table naming who from outside
    and how."""
    base = findings_document(engine, ReportKind.EXTERNAL, systems, now)
    columns = (
        *SYSTEM_COLUMNS,
        Column("Finding type", width=1.7),
        Column("Severity", width=0.6),
        Column("Identity or resource", width=1.5),
        Column("Id", width=2.2),
        Column("Who from outside", width=1.4),
        Column("How", width=1.0),
        Column("First seen", width=1.0),
        Column("Summary", width=2.5),
    )

    def rows() -> Iterator[list[object]]:
        assert base.findings is not None
        for record in base.findings():
            who, how = exposure_of(record["properties"], record["evidence"])
            yield [
                record["cloud"],
                record["system_id"],
                record["finding_type"],
                record["severity"],
                record["subject_name"],
                record["subject_id"],
                who,
                how,
                record["first_seen"],
                record["summary"],
            ]

    main = Table("External access", "Access from outside each system, worst first", columns, rows)
    # the findings document's sections, its table of findings replaced by this one
    sections = [Section("Access", tables=[main]) if s.title == "Findings" else s for s in base.sections]
    return ReportDocument(
        base.kind, base.title, now, systems, base.window, sections, main, findings=base.findings
    )


# ------------------------------------------------------------------------------------------------ PCI

FACTOR_COLUMNS = (
    ("granted", "Granted"),
    ("used", "Used"),
    ("unused", "Unused"),
    ("unusedHighSeverity", "Unused high"),
    ("unusedAllResources", "Unused, all resources"),
    ("unusedHighSeverityAllResources", "Unused high, all resources"),
    ("unusedShare", "Unused share"),
    ("riskVolume", "Risk volume"),
    ("reach", "Reach"),
    ("daysSinceLastActivity", "Days since activity"),
)


def _window(systems: Sequence[ReportSystem], now: datetime) -> str:
    windows = sorted({s.window_days for s in systems})
    days = ", ".join(str(w) for w in windows)
    return (
        f"Activity in the {days} days before each system's latest analysis (or before {now:%Y-%m-%d %H:%M} UTC "
        "for a system never analyzed): what counts as used."
    )


def pci_document(
    engine: Engine, systems: Sequence[ReportSystem], now: datetime, history: PciHistorySource
) -> ReportDocument:
    """Each identity's PCI with its factors, each system's distribution, and the history."""
    window = _window(systems, now)
    columns = (
        *SYSTEM_COLUMNS,
        Column("Identity", width=1.4),
        Column("Id", width=2.2),
        Column("Kind", width=0.8),
        Column("PCI", numeric=True, width=0.4),
        Column("Band", width=0.6),
        *(Column(label, numeric=True, width=0.6) for _key, label in FACTOR_COLUMNS),
    )

    def rows() -> Iterator[list[object]]:
        for line in data.pci_lines(engine, systems, now):
            factors = [line.factors.get(key) for key, _label in FACTOR_COLUMNS]
            yield [
                *_system(line.system),
                line.name,
                line.external_id,
                line.kind,
                line.score,
                line.band,
                *factors,
            ]

    main = Table("Identities", "Permission Creep Index per identity, highest first", columns, rows)
    distribution = Table(
        "Distribution",
        "Identities per PCI band (latest analysis)",
        (*SYSTEM_COLUMNS, Column("Band"), Column("Scores"), Column("Human", numeric=True),
         Column("Non-human", numeric=True)),
        lambda: _distribution_rows(systems),
    )  # fmt: skip
    since = data.history_since(now)
    points = history(engine, systems, since)
    by_pk = {s.pk: s for s in systems}
    system_points = [p for p in points if p.identity is None]
    identity_points = [p for p in points if p.identity is not None]
    band_names = [name for name, _low, _high in PCI_BANDS]
    tables = [
        Table(
            "History",
            "Identities per band, day by day",
            (*SYSTEM_COLUMNS, Column("Day"), *(Column(n.capitalize(), numeric=True) for n in band_names)),
            lambda: [[*_system(by_pk[p.system_pk]), p.day, *(p.bands.get(n, 0) for n in band_names)]
                     for p in system_points],
        )
    ]  # fmt: skip
    if identity_points:
        tables.append(
            Table(
                "Identity history",
                "PCI per identity, day by day",
                (*SYSTEM_COLUMNS, Column("Day"), Column("Identity", width=2.2), Column("PCI", numeric=True)),
                lambda: [[*_system(by_pk[p.system_pk]), p.day, p.identity, p.score] for p in identity_points],
            )
        )
    history_text = (
        f"From {since.isoformat()}: one entry per day on which a system was analyzed."
        if points
        else f"No analysis recorded since {since.isoformat()}."
    )
    sections = [
        source_section(systems, window),
        Section(
            "Distribution",
            paragraphs=["Bands: low 0-33, medium 34-66, high 67-100 (docs/pci.md)."],
            tables=[distribution],
        ),
        Section("Identities", tables=[main]),
        Section("History", paragraphs=[history_text], tables=tables),
    ]
    return ReportDocument(ReportKind.PCI, TITLES[ReportKind.PCI], now, systems, window, sections, main)


def _distribution_rows(systems: Sequence[ReportSystem]) -> list[list[object]]:
    rows: list[list[object]] = []
    for system in systems:
        found = system.pci_distribution
        if found is None:
            continue
        for band, low, high in PCI_BANDS:
            counts = found.get(band) or {}
            rows.append(
                [*_system(system), band, f"{low}-{high}", int(counts.get("humanCount", 0)),
                 int(counts.get("nonHumanCount", 0))]
            )  # fmt: skip
    return rows


# ------------------------------------------------------------------------------------------------ entitlements


def entitlements_document(engine: Engine, systems: Sequence[ReportSystem], now: datetime) -> ReportDocument:
    """Per identity: actions granted, used, unused and last used, by service, and each action used."""
    window = _window(systems, now)
    who = (Column("Identity", width=1.4), Column("Id", width=2.2), Column("Kind", width=0.8))
    counts = (
        Column("Granted", numeric=True, width=0.6),
        Column("Used", numeric=True, width=0.5),
        Column("Unused", numeric=True, width=0.6),
        Column("Unused high", numeric=True, width=0.6),
    )

    def lines() -> Iterator[data.EntitlementLine]:
        return data.entitlement_lines(engine, systems, now)

    def service_rows() -> Iterator[list[object]]:
        for line in lines():
            for use in line.services:
                yield [*_system(line.system), line.name, line.external_id, line.kind, use.service,
                       use.granted, use.used, use.unused, use.unused_high, use.last_used]  # fmt: skip

    def identity_rows() -> Iterator[list[object]]:
        for line in lines():
            yield [*_system(line.system), line.name, line.external_id, line.kind,
                   line.granted, line.used, line.unused, line.unused_high, line.last_used]  # fmt: skip

    def action_rows() -> Iterator[list[object]]:
        for line in lines():
            for use in line.actions:
                yield [*_system(line.system), line.name, line.external_id, use.service, use.action, use.count,
                       use.last_used, "yes" if use.granted else "no"]  # fmt: skip

    main = Table(
        "By service",
        "Granted and used actions per identity and service",
        (*SYSTEM_COLUMNS, *who, Column("Service", width=1.0), *counts, Column("Last used", width=1.0)),
        service_rows,
    )
    identities = Table(
        "Identities",
        "Granted and used actions per identity",
        (*SYSTEM_COLUMNS, *who, *counts, Column("Last active", width=1.0)),
        identity_rows,
    )
    actions = Table(
        "Actions used",
        "Actions used in the window",
        (*SYSTEM_COLUMNS, who[0], who[1], Column("Service", width=0.9), Column("Action", width=2.0),
         Column("Count", numeric=True, width=0.5), Column("Last used", width=1.0), Column("Still granted", width=0.6)),
        action_rows,
    )  # fmt: skip
    sections = [
        source_section(systems, window),
        Section(
            "Identities",
            paragraphs=[
                "Granted: catalogue actions the identity's effective permissions allow. Used: those it "
                "performed in the window. Unused high: unused actions that can modify, delete or manage "
                "permissions. Last active: its last activity known (sign-in, key use or logged call)."
            ],
            tables=[identities],
        ),
        Section("By service", tables=[main]),
        Section("Actions used", tables=[actions]),
    ]
    kind = ReportKind.ENTITLEMENTS
    return ReportDocument(kind, TITLES[kind], now, systems, window, sections, main)


# ------------------------------------------------------------------------------------------------ credentials


def credentials_document(engine: Engine, systems: Sequence[ReportSystem], now: datetime) -> ReportDocument:
    """Every credential with its owner, state, age and last use, and the open findings about credentials."""
    base = findings_document(engine, ReportKind.CREDENTIALS, systems, now)
    columns = (
        *SYSTEM_COLUMNS,
        Column("Credential", width=1.1),
        Column("Id", width=1.9),
        Column("Name", width=0.9),
        Column("Owner", width=1.2),
        Column("Owner id", width=2.0),
        Column("Status", width=0.6),
        Column("Created", width=1.0),
        Column("Age (days)", numeric=True, width=0.5),
        Column("Expires", width=1.0),
        Column("Last used", width=1.0),
        Column("Days unused", numeric=True, width=0.5),
        Column("Open findings", width=1.6),
    )

    def rows() -> Iterator[list[object]]:
        for line in data.credential_lines(engine, systems, now):
            found = line.credential
            yield [
                *_system(line.system),
                found.kind,
                found.credential_id,
                found.name,
                found.owner_name,
                found.owner_id,
                found.status,
                found.created,
                found.age_days(now),
                found.expires,
                found.last_used if found.last_used_known else "not reported",
                found.idle_days(now),
                ", ".join(found_type for found_type in line.findings),
            ]

    main = Table("Credentials", "Access keys and credentials", columns, rows)
    note = (
        "AWS reports when an access key was last used (credential report); Azure and GCP do not report a "
        "secret's, certificate's or key's use, so theirs reads 'not reported'."
    )
    sections = [
        base.sections[0],
        Section("Credentials", paragraphs=[note], tables=[main]),
        *[section for section in base.sections[1:] if section.title != "Source"],
    ]
    kind = ReportKind.CREDENTIALS
    return ReportDocument(
        kind, TITLES[kind], now, systems, base.window, sections, main, findings=base.findings
    )


def report_document(
    engine: Engine,
    kind: ReportKind,
    systems: Sequence[ReportSystem],
    now: datetime,
    history: PciHistorySource = data.stored_pci_history,
) -> ReportDocument:
    """The report of one kind over some systems (`history`: where the PCI report's history comes from)."""
    if kind is ReportKind.PCI:
        return pci_document(engine, systems, now, history)
    if kind is ReportKind.ENTITLEMENTS:
        return entitlements_document(engine, systems, now)
    if kind is ReportKind.CREDENTIALS:
        return credentials_document(engine, systems, now)
    if kind is ReportKind.EXTERNAL:
        return external_document(engine, systems, now)
    return findings_document(engine, kind, systems, now)
