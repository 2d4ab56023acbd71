"""The dashboard (`GET /ui/`): per cloud and authorization system, identities by kind, open findings by type and
severity, the PCI heat map, the riskiest identities, data-collection status and age, and the trends. A key sees
the systems whose analytics it reads (`workflows.access.readable_systems`), as the API's analytics do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup
from sqlalchemy.orm import Session

from permscope.presentation.web.dashboard import (
    BAND_LABELS,
    BAND_NAMES,
    SEVERITIES,
    TREND_DAYS,
    DashboardLinks,
    build_dashboard,
)
from permscope.store.dashboard import read_dashboard
from permscope.web.links import findings_url, identity_url, system_url
from permscope.web.render import render
from permscope.web.session import WebUser, signed_in, web_engine
from permscope.workflows.access import readable_systems

router = APIRouter()

LINKS = DashboardLinks(system=system_url, identity=identity_url, findings=findings_url)
RISKIEST = 10


@router.get("/", response_class=HTMLResponse, summary="Dashboard")
def dashboard(request: Request, user: WebUser = Depends(signed_in)) -> HTMLResponse:
    """The dashboard of the systems the signed-in key reads."""
    within = readable_systems(user.principal)
    now = datetime.now(UTC)
    since = (now - timedelta(days=TREND_DAYS - 1)).date()
    with Session(web_engine(request)) as session:
        view = build_dashboard(read_dashboard(session, within, since, RISKIEST), now, LINKS)
    return render(
        request,
        "dashboard/index.html",
        user,
        view=view,
        open_findings_url=findings_url(state="open"),
        reads_any=within.everything or bool(within.scopes),
        severities=SEVERITIES,
        bands=BAND_NAMES,
        band_labels=BAND_LABELS,
        # built by presentation.web.svg, which escapes every text and attribute it writes
        heat_map=Markup(view.heat_map_svg),  # noqa: S704
        findings_trend=Markup(view.findings_trend_svg),  # noqa: S704
        pci_trend=Markup(view.pci_trend_svg),  # noqa: S704
    )
