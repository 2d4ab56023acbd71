"""The authorization-system pages as plain data: the list of systems, and one system's inventory tabs
(identities, policies or roles, resources, services, actions) as tables of cells with their filters and totals.
Built from the rows `store.browse` pages; URLs come from the web layer's builders, passed in (it pages too)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from permscope.core.findings import pci_band
from permscope.core.ids import Cloud
from permscope.presentation.names import short_name
from permscope.presentation.web.dashboard import age_text, band_counts
from permscope.store.browse import ServiceFacts
from permscope.store.dashboard import SubjectRisk
from permscope.store.effective import StoredCounts
from permscope.store.queries import Page
from permscope.store.tables import (
    ActionRow,
    AnalysisRunRow,
    AuthorizationSystemRow,
    IdentityRow,
    PolicyRow,
    ResourceRow,
)

TAB_KEYS = ("identities", "policies", "resources", "services", "actions")
POLICY_TAB_LABELS = {Cloud.AWS: "Policies", Cloud.AZURE: "Role definitions", Cloud.GCP: "Roles"}
TabUrl = Callable[..., str]  # (tab, **query parameters) -> the URL of that tab with those parameters


def tab_label(cloud: Cloud, tab: str) -> str:
    """A tab's heading: the policies tab is named as the cloud names them."""
    return POLICY_TAB_LABELS[cloud] if tab == "policies" else tab.capitalize()


def when(moment: datetime | None) -> str:
    """A time as the tables show it (UTC, to the minute); an em dash for none."""
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment is not None else "—"


@dataclass(frozen=True, slots=True)
class Cell:
    """One table cell: its text, optionally a link, a severity badge, numeric alignment, monospace."""

    text: str
    href: str | None = None
    badge: str | None = None  # a severity or band: the text says it, the class colours it
    numeric: bool = False
    mono: bool = False


@dataclass(frozen=True, slots=True)
class FilterField:
    """A filter of a tab: a text box (`options` None) or a choice among `options` ((value, label) pairs; no
    choice means any)."""

    name: str
    label: str
    value: str
    options: Sequence[tuple[str, str]] | None = None


@dataclass(frozen=True, slots=True)
class InventoryTab:
    """One tab of a system's page: a table with its filters and the total its filters select."""

    key: str
    label: str
    columns: Sequence[str]
    rows: Sequence[Sequence[Cell]]
    filters: Sequence[FilterField]
    total: int
    note: str = ""  # e.g. that services and actions are the cloud's catalogue


def _choices(found: Mapping[str, int]) -> list[tuple[str, str]]:
    """A filter's choices: each value present, labelled with how many rows hold it (no choice means any)."""
    return [(value, f"{value} ({count:,})") for value, count in found.items()]


def _number(value: int | None) -> Cell:
    return Cell("—" if value is None else f"{value:,}", numeric=True)


# ------------------------------------------------------------------------------------------------ the list


@dataclass(frozen=True, slots=True)
class SystemListRow:
    """One authorization system in the list."""

    cloud: str
    cloud_label: str
    system_id: str
    name: str
    parent: str
    url: str | None  # None: the key does not read its inventory (the page would answer 404)
    collection_status: str
    collection_age: str
    identities: int | None  # None: the key does not read this system's inventory
    open_findings: int | None  # None: the key does not read its analytics, or it was never analyzed
    findings_url: str
    pci_bands: dict[str, int] | None


def system_rows(
    systems: Sequence[AuthorizationSystemRow],
    identity_counts: Mapping[int, Mapping[str, int]],
    inventory_read: Collection[int],
    open_counts: Mapping[int, int],
    analyses: Mapping[int, AnalysisRunRow],
    now: datetime,
    system_url: Callable[[str, str], str],
    findings_url: Callable[..., str],
) -> list[SystemListRow]:
    """The rows of the systems list (counts already made in SQL; identities only of the systems in
    `inventory_read`, findings and PCI only of those in `open_counts` and `analyses`)."""
    rows = []
    for system in systems:
        analysis = analyses.get(system.id)
        parent = f"{system.parent_kind or 'parent'} {system.parent_id}" if system.parent_id else ""
        rows.append(
            SystemListRow(
                cloud=system.cloud,
                cloud_label=Cloud(system.cloud).label,
                system_id=system.system_id,
                name=system.name,
                parent=parent,
                url=system_url(system.cloud, system.system_id) if system.id in inventory_read else None,
                collection_status=system.collection_status,
                collection_age=age_text(system.last_collection_at, now),
                identities=(
                    sum(identity_counts.get(system.id, {}).values()) if system.id in inventory_read else None
                ),
                open_findings=open_counts.get(system.id),
                findings_url=findings_url(cloud=system.cloud, system=system.system_id, state="open"),
                pci_bands=band_counts(analysis.pci_distribution) if analysis is not None else None,
            )
        )
    return rows


# ------------------------------------------------------------------------------------------------ the tabs


def identities_tab(
    page: Page[IdentityRow],
    *,
    search: str,
    kind: str,
    kinds: Mapping[str, int],
    risks: Mapping[str, SubjectRisk],
    permissions: Mapping[str, StoredCounts],
    identity_url: Callable[[str], str],
) -> InventoryTab:
    """The identities tab: name (to the identity page, which shows its external id), kind, source, last active,
    granted and high-severity actions (effective permissions), open findings and the highest PCI among them."""
    rows = []
    for row in page.items:
        risk = risks.get(row.external_id)
        counts = permissions.get(row.external_id)
        score = risk.pci if risk is not None else None
        rows.append(
            [
                Cell(row.display_name or short_name(row.external_id), href=identity_url(row.external_id)),
                Cell(row.kind),
                Cell(row.source),
                Cell(when(row.last_active_at)),
                _number(counts.granted if counts is not None else None),
                _number(counts.high_severity if counts is not None else None),
                _number(risk.open_findings if risk is not None else 0),
                Cell(f"{score} ({pci_band(score)})", badge=pci_band(score), numeric=True)
                if score is not None
                else Cell("—", numeric=True),
            ]
        )
    return InventoryTab(
        key="identities",
        label="Identities",
        columns=(
            "Name",
            "Kind",
            "Source",
            "Last active",
            "Granted actions",
            "High-severity actions",
            "Open findings",
            "PCI",
        ),
        rows=rows,
        filters=(
            FilterField("q", "Search name or id", search),
            FilterField("kind", "Kind", kind, _choices(kinds)),
        ),
        total=page.count or 0,
    )


def policies_tab(
    cloud: Cloud,
    page: Page[PolicyRow],
    *,
    search: str,
    kind: str,
    origin: str,
    kinds: Mapping[str, int],
    assignees: Mapping[str, int],
) -> InventoryTab:
    """The policies (AWS), role definitions (Azure) or roles (GCP) tab: name, kind, system or custom, id, how many
    identities it is assigned to, last update."""
    rows = [
        [
            Cell(row.name),
            Cell(row.kind),
            Cell("system" if row.managed_by_cloud else "custom"),
            Cell(row.external_id, mono=True),
            _number(assignees.get(row.external_id, 0)),
            Cell(when(row.updated_at or row.created_at)),
        ]
        for row in page.items
    ]
    return InventoryTab(
        key="policies",
        label=tab_label(cloud, "policies"),
        columns=("Name", "Kind", "Type", "External id", "Assigned identities", "Updated"),
        rows=rows,
        filters=(
            FilterField("q", "Search name or id", search),
            FilterField("kind", "Kind", kind, _choices(kinds)),
            FilterField("origin", "Type", origin, [("system", "system"), ("custom", "custom")]),
        ),
        total=page.count or 0,
    )


def resources_tab(
    page: Page[ResourceRow],
    *,
    search: str,
    resource_type: str,
    service: str,
    types: Mapping[str, int],
    services: Mapping[str, int],
) -> InventoryTab:
    """The resources tab: name, type, service, region, id."""
    rows = [
        [
            Cell(row.display_name or short_name(row.external_id)),
            Cell(row.resource_type),
            Cell(row.service),
            Cell(row.region or "—"),
            Cell(row.external_id, mono=True),
        ]
        for row in page.items
    ]
    return InventoryTab(
        key="resources",
        label="Resources",
        columns=("Name", "Type", "Service", "Region", "External id"),
        rows=rows,
        filters=(
            FilterField("q", "Search name or id", search),
            FilterField("type", "Type", resource_type, _choices(types)),
            FilterField("service", "Service", service, _choices(services)),
        ),
        total=page.count or 0,
    )


def services_tab(
    cloud: Cloud,
    page: Page[ServiceFacts],
    *,
    search: str,
    tab_url: TabUrl,
) -> InventoryTab:
    """The services tab: the cloud catalogue's services, their actions (to the actions tab) and high-severity
    actions, and this system's resources of each (to the resources tab)."""
    rows = []
    for item in page.items:
        name, actions, high, resources = item.name, item.actions, item.high_severity, item.resources
        rows.append(
            [
                Cell(name, mono=True),
                Cell(f"{actions:,}", href=tab_url("actions", service=name), numeric=True),
                Cell(f"{high:,}", href=tab_url("actions", service=name, severity="high"), numeric=True),
                Cell(
                    f"{resources:,}",
                    href=tab_url("resources", service=name) if resources else None,
                    numeric=True,
                ),
            ]
        )
    return InventoryTab(
        key="services",
        label="Services",
        columns=("Service", "Actions", "High-severity actions", "Resources here"),
        rows=rows,
        filters=(FilterField("q", "Search service", search),),
        total=page.count or 0,
        note=f"The services of the {cloud.label} action catalogue, with this {cloud.system_noun}'s resources.",
    )


def actions_tab(
    cloud: Cloud,
    page: Page[ActionRow],
    *,
    search: str,
    service: str,
    severity: str,
    access_level: str,
    severities: Mapping[str, int],
    levels: Mapping[str, int],
) -> InventoryTab:
    """The actions tab: the cloud catalogue's actions with service, access level, severity, resource types."""
    rows = []
    for row in page.items:
        types = [str(t) for t in row.resource_types or []]
        shown = ", ".join(types[:3]) + (f" and {len(types) - 3} more" if len(types) > 3 else "")
        rows.append(
            [
                Cell(row.external_id, mono=True),
                Cell(row.service),
                Cell(row.access_level),
                Cell(row.severity, badge=row.severity),
                Cell(shown or "—"),
            ]
        )
    return InventoryTab(
        key="actions",
        label="Actions",
        columns=("Action", "Service", "Access level", "Severity", "Resource types"),
        rows=rows,
        filters=(
            FilterField("q", "Search action", search),
            FilterField("service", "Service", service),
            FilterField("severity", "Severity", severity, _choices(severities)),
            FilterField("level", "Access level", access_level, _choices(levels)),
        ),
        total=page.count or 0,
        note=f"The {cloud.label} action catalogue (the same for every {cloud.system_noun}).",
    )
