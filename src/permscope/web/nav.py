"""The UI's navigation: each entry shown only when its page group is served and the person may use it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from permscope.core.access import Systems
from permscope.settings import Settings
from permscope.workflows.access import inventory_systems, listed_systems, readable_systems
from permscope.workflows.apikeys import ApiPrincipal


def _some(systems: Systems) -> bool:
    return systems.everything or bool(systems.scopes)


def _anyone(principal: ApiPrincipal, settings: Settings) -> bool:
    return True


def _lists_systems(principal: ApiPrincipal, settings: Settings) -> bool:
    return _some(listed_systems(principal, settings.inventory_open_to_all_keys))


def _reads_inventory(principal: ApiPrincipal, settings: Settings) -> bool:
    return _some(inventory_systems(principal, settings.inventory_open_to_all_keys))


def _reads_analytics(principal: ApiPrincipal, settings: Settings) -> bool:
    return _some(readable_systems(principal))


@dataclass(frozen=True, slots=True)
class NavEntry:
    """A link of the navigation: its label, its path under the UI's mount, and who may use it."""

    label: str
    path: str
    allowed: Callable[[ApiPrincipal, Settings], bool]


@dataclass(frozen=True, slots=True)
class NavLink:
    """An entry as one page shows it."""

    label: str
    href: str
    current: bool


NAVIGATION = (
    NavEntry("Dashboard", "/", _anyone),
    NavEntry("Systems", "/systems", _lists_systems),
    NavEntry("Identities", "/identities", _reads_inventory),
    NavEntry("Findings", "/findings", _reads_analytics),
    NavEntry(
        "Requests", "/requests", _lists_systems
    ),  # any role on a system: requestors ask, approvers review
    NavEntry("Remediation", "/remediation", _reads_analytics),  # plans are read where analytics are
    NavEntry("Alerts", "/alerts", _reads_analytics),
    NavEntry("API docs", "/docs", _anyone),
)


def navigation(
    principal: ApiPrincipal, settings: Settings, served: frozenset[str], root: str, path: str
) -> list[NavLink]:
    """The links `principal` sees on the page at `path` (full path), among the `served` page paths."""
    links = []
    for entry in NAVIGATION:
        if entry.path not in served or not entry.allowed(principal, settings):
            continue
        href = f"{root}{entry.path}"
        here = path == href if entry.path == "/" else path == href or path.startswith(f"{href}/")
        links.append(NavLink(entry.label, href, here))
    return links
