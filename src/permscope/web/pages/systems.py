"""Authorization systems: the list (`GET /ui/systems`) and one system's inventory (`GET /ui/systems/{cloud}/{id}`)
with the tabs identities, policies (roles), resources, services and actions, each searched, filtered and paged
in SQL. The list shows the systems where the key holds any role and one system's inventory needs the key to read
it, exactly as the API's `workflows.access` rules say (a system outside them answers 404 as a missing one)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from permscope.core.access import Systems
from permscope.core.ids import Cloud
from permscope.presentation.web.dashboard import BAND_NAMES, band_counts
from permscope.presentation.web.systems import (
    TAB_KEYS,
    InventoryTab,
    actions_tab,
    identities_tab,
    policies_tab,
    resources_tab,
    services_tab,
    system_rows,
    tab_label,
)
from permscope.store import browse
from permscope.store.dashboard import latest_collection_runs, open_summary_of, subject_risks
from permscope.store.effective import permission_counts
from permscope.store.findings import latest_runs
from permscope.store.summaries import identity_kind_counts
from permscope.store.systems import find_system
from permscope.store.tables import AuthorizationSystemRow
from permscope.web.links import findings_url, identity_url, system_url
from permscope.web.pages.reports import report_links
from permscope.web.paging import Pager, PageRequest, page_request
from permscope.web.render import render
from permscope.web.session import PageError, WebUser, signed_in, web_engine, web_settings
from permscope.workflows.access import inventory_systems, listed_systems, readable_systems

router = APIRouter()

SEARCH_HELP = "Case-insensitive text the name or id contains"
STATUSES = ("online", "offline")


def _window(asked: PageRequest) -> browse.Window:
    return (asked.offset, asked.size)


@router.get("/systems", response_class=HTMLResponse, summary="Authorization systems")
def systems_list(
    request: Request,
    user: WebUser = Depends(signed_in),
    asked: PageRequest = Depends(page_request),
    q: str = Query("", max_length=200, description=SEARCH_HELP),
    cloud: str = Query("", max_length=256),
    status: str = Query("", max_length=256),
) -> HTMLResponse:
    """The authorization systems the key holds a role on, by cloud then id, with their identities, open
    findings and PCI bands where the key reads them."""
    if cloud and cloud not in {c.value for c in Cloud}:
        raise PageError(400, f"Unknown cloud {cloud!r}: choose aws, azure or gcp.")
    if status and status not in STATUSES:
        raise PageError(400, f"Unknown collection status {status!r}: choose online or offline.")
    settings = web_settings(request)
    listed = listed_systems(user.principal, settings.inventory_open_to_all_keys)
    inventory = inventory_systems(user.principal, settings.inventory_open_to_all_keys)
    analytics = readable_systems(user.principal)
    with Session(web_engine(request)) as session:
        page = browse.systems_page(session, listed, search=q, cloud=cloud, status=status, page=_window(asked))
        readable = [row.id for row in page.items if analytics.covers(row.cloud, row.system_id)]
        inventory_read = [row.id for row in page.items if inventory.covers(row.cloud, row.system_id)]
        counts = identity_kind_counts(session, inventory_read)
        analyses = latest_runs(session, readable)
        open_counts = {
            pk: summary.total for pk, run in analyses.items() if (summary := open_summary_of(run)) is not None
        }
        rows = system_rows(
            page.items,
            counts,
            set(inventory_read),
            open_counts,
            analyses,
            datetime.now(UTC),
            system_url,
            findings_url,
        )
    return render(
        request,
        "systems/list.html",
        user,
        rows=rows,
        pager=Pager.of(request, asked, page.count or 0),
        q=q,
        cloud=cloud,
        collection=status,  # not `status`: render() takes that as the HTTP status
        clouds=[(c.value, c.label) for c in Cloud],
        statuses=[(s, s) for s in STATUSES],
        bands=BAND_NAMES,
    )


def _system(
    request: Request, user: WebUser, cloud: str, system_id: str
) -> tuple[Cloud, AuthorizationSystemRow]:
    """The system of the path, when the key reads its inventory; 404 otherwise (as a missing one)."""
    missing = PageError(
        404, f"There is no authorization system {system_id!r} in {cloud!r} that you may read."
    )
    try:
        which = Cloud(cloud)
    except ValueError:
        raise missing from None
    settings = web_settings(request)
    within = inventory_systems(user.principal, settings.inventory_open_to_all_keys)
    with Session(web_engine(request)) as session:
        row = find_system(session, system_id, which.value, within)
        if row is None or row.system_id != system_id:  # the UI names systems by their raw id only
            raise missing
        session.expunge(row)
    return which, row


def _tab_url(cloud: str, system_id: str) -> Any:
    def url(tab: str, **query: str) -> str:
        kept = {"tab": tab, **{key: value for key, value in query.items() if value}}
        return f"{system_url(cloud, system_id)}?{urlencode(kept)}"

    return url


def _tab(
    session: Session,
    which: Cloud,
    system: AuthorizationSystemRow,
    tab: str,
    asked: PageRequest,
    params: dict[str, str],
) -> InventoryTab:
    """One tab of a system's page, read and built."""
    window, q = _window(asked), params["q"]
    if tab == "identities":
        found = browse.identities_page(session, system.id, search=q, kind=params["kind"], page=window)
        ids = [row.external_id for row in found.items]
        return identities_tab(
            found,
            search=q,
            kind=params["kind"],
            kinds=browse.identity_kinds(session, system.id),
            risks=subject_risks(session, system.id, ids),
            permissions=permission_counts(session, system.id, ids) if ids else {},
            identity_url=lambda external_id: identity_url(which.value, system.system_id, external_id),
        )
    if tab == "policies":
        policies = browse.policies_page(
            session, system.id, search=q, kind=params["kind"], origin=params["origin"], page=window
        )
        return policies_tab(
            which,
            policies,
            search=q,
            kind=params["kind"],
            origin=params["origin"],
            kinds=browse.policy_kinds(session, system.id),
            assignees=browse.assignee_counts(session, system.id, [row.external_id for row in policies.items]),
        )
    if tab == "resources":
        resources = browse.resources_page(
            session, system.id, search=q, resource_type=params["type"], service=params["service"], page=window
        )
        return resources_tab(
            resources,
            search=q,
            resource_type=params["type"],
            service=params["service"],
            types=browse.resource_types(session, system.id),
            services=browse.resource_services(session, system.id),
        )
    if tab == "services":
        services = browse.services_page(session, which.value, system.id, search=q, page=window)
        return services_tab(which, services, search=q, tab_url=_tab_url(which.value, system.system_id))
    actions = browse.actions_page(
        session,
        which.value,
        search=q,
        service=params["service"],
        severity=params["severity"],
        access_level=params["level"],
        page=window,
    )
    return actions_tab(
        which,
        actions,
        search=q,
        service=params["service"],
        severity=params["severity"],
        access_level=params["level"],
        severities=browse.action_severities(session, which.value),
        levels=browse.action_levels(session, which.value),
    )


@router.get("/systems/{cloud}/{system_id}", response_class=HTMLResponse, summary="One authorization system")
def system_page(
    request: Request,
    cloud: str,
    system_id: str,
    user: WebUser = Depends(signed_in),
    asked: PageRequest = Depends(page_request),
    tab: str = Query("identities", max_length=32),
    q: str = Query("", max_length=200, description=SEARCH_HELP),
    kind: str = Query("", max_length=256),
    origin: str = Query("", max_length=256),
    type: str = Query("", max_length=256),
    service: str = Query("", max_length=256),
    severity: str = Query("", max_length=256),
    level: str = Query("", max_length=256),
) -> HTMLResponse:
    """One system: its data collection and analysis, and one inventory tab."""
    if tab not in TAB_KEYS:
        raise PageError(400, f"Unknown tab {tab!r}: choose one of {', '.join(TAB_KEYS)}.")
    which, system = _system(request, user, cloud, system_id)
    params = {"q": q, "kind": kind, "origin": origin, "type": type, "service": service, "severity": severity,
              "level": level}  # fmt: skip
    analytics = readable_systems(user.principal).covers(which.value, system.system_id)
    with Session(web_engine(request)) as session:
        shown = _tab(session, which, system, tab, asked, params)
        kinds = identity_kind_counts(session, [system.id]).get(system.id, {})
        analysis = latest_runs(session, [system.id]).get(system.id) if analytics else None
        summary = open_summary_of(analysis)
        run = latest_collection_runs(session, Systems(scopes=((which.value, system.system_id),))).get(
            (which.value, system.system_id)
        )
    tab_url = _tab_url(which.value, system.system_id)
    return render(
        request,
        "systems/system.html",
        user,
        system=system,
        cloud=which,
        tab=shown,
        tabs=[(key, tab_label(which, key), tab_url(key)) for key in TAB_KEYS],
        form_action=system_url(which.value, system.system_id),
        pager=Pager.of(request, asked, shown.total),
        identities_by_kind=dict(sorted(kinds.items())),
        analysis=analysis,
        pci_bands=band_counts(analysis.pci_distribution) if analysis is not None else None,
        bands=BAND_NAMES,
        open_findings=summary.total if summary is not None else None,
        findings_url=findings_url(cloud=which.value, system=system.system_id, state="open"),
        run=run,
        collected=system.last_collection_at,
        reports=report_links(which.value, system.system_id) if analytics else None,
    )
