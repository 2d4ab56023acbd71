"""The identity explorer: search every cloud's identities, one identity's page (granted versus used, PCI,
findings, escalation graph, what it acts as), and "why can it do this?" answered by the engine."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup
from sqlalchemy.orm import Session

from permscope.core.access import REQUESTING_ROLES, Systems
from permscope.core.errors import InputError, NotFoundError
from permscope.core.ids import Cloud
from permscope.core.inventory import IdentityKind
from permscope.presentation.findings import finding_id
from permscope.presentation.web.identity import (
    PCI_HISTORY_DAYS,
    acting_as,
    decision_view,
    escalation_view,
    finding_views,
    granted_vs_used,
    pci_history_svg,
    pci_view,
)
from permscope.presentation.web.remediation import WINDOW_CHOICES, IdentityRemediation, plan_row
from permscope.store.identity_search import IdentitySearch, search_identities
from permscope.store.systems import systems
from permscope.store.tables import AuthorizationSystemRow
from permscope.web.links import (
    finding_url,
    findings_url,
    identity_url,
    plan_url,
    plans_url,
    request_new_url,
    system_url,
    why_url,
)
from permscope.web.paging import Pager, PageRequest, page_request
from permscope.web.render import render
from permscope.web.session import PageError, WebUser, signed_in, web_engine, web_settings
from permscope.workflows.access import inventory_systems, readable_systems
from permscope.workflows.identity_explorer import identity_facts, visible_identity, why
from permscope.workflows.pci_history import pci_history
from permscope.workflows.remediation import plans as remediation

router = APIRouter()

MAX_TEXT = 512  # longest search text, action or resource taken
MAX_WINDOW_DAYS = 3650
SERVICE_ROWS = 25  # services an identity's page lists unless all are asked for (an admin holds 400)
WHY_FIELDS = ("action", "resource")
WINDOWS = (30, 90, 180, 365, 730)  # activity windows offered on an identity's page, in days
IDENTITY_PLANS = 10  # an identity's latest plans listed on its page


@dataclass(frozen=True, slots=True)
class WhyForm:
    """The "why can it do this?" form: what was asked, and the error of each field."""

    action: str = ""
    resource: str = ""
    action_error: str = ""
    resource_error: str = ""
    error: str = ""  # what is wrong with the question itself (e.g. a GCP group is no request's principal)

    def refused(self, exc: InputError) -> WhyForm:
        """The form with the engine's refusal shown by the field it names (its source, or the part of the
        request its problem names: `request.resource: ...`), else above the fields."""
        part, _, rest = exc.problem.partition(": ")
        field = exc.source if exc.source in WHY_FIELDS else part.removeprefix("request.")
        message = rest if field in WHY_FIELDS and exc.source not in WHY_FIELDS else exc.problem
        message = f"{message[:1].upper()}{message[1:]}" + ("" if message.endswith(".") else ".")
        return replace(
            self,
            action_error=message if field == "action" else "",
            resource_error=message if field == "resource" else "",
            error="" if field in WHY_FIELDS else message,
        )


def _within(request: Request, user: WebUser) -> Systems:
    """The systems whose inventory this person may read (the API's rule)."""
    return inventory_systems(user.principal, web_settings(request).inventory_open_to_all_keys)


def _cloud(name: str) -> Cloud:
    try:
        return Cloud(name)
    except ValueError:
        raise PageError(404, f"There is no cloud named {name!r}.") from None


def _text(value: str, what: str) -> str:
    if len(value) > MAX_TEXT:
        raise PageError(400, f"The {what} is longer than {MAX_TEXT} characters.")
    return value.strip()


def _remediation(
    request: Request, user: WebUser, cloud: Cloud, system_id: str, external_id: str
) -> IdentityRemediation:
    """The identity's latest plans (for those who read them) and whether this person may plan one."""
    readable = readable_systems(user.principal).covers(cloud.value, system_id)
    rows, total = (
        remediation.plans_page(
            web_engine(request),
            user.principal,
            identity=(cloud.value, system_id, external_id),
            limit=IDENTITY_PLANS,
        )
        if readable
        else ([], 0)
    )
    not_built = remediation.not_built(cloud)
    default = web_settings(request).usage_window_days
    return IdentityRemediation(
        readable=readable,
        plans=[plan_row(plan, counts) for plan, counts in rows],
        total=total,
        not_built=not_built,
        may_plan=not_built is None and remediation.administers(user.principal, cloud.value, system_id),
        window_days=default,
        windows=tuple(sorted({*WINDOW_CHOICES, default})),
    )


@router.get("/identities", name="identities")
def search_page(
    request: Request,
    q: str = "",
    cloud: str = "",
    system: str = "",
    kind: str = "",
    asked: PageRequest = Depends(page_request),
    user: WebUser = Depends(signed_in),
) -> HTMLResponse:
    """Identities of every cloud found by name or external id, filtered by cloud, system and kind."""
    within = _within(request, user)
    search = IdentitySearch(
        text=_text(q, "search text"),
        cloud=cloud or None,
        system_id=system or None,
        kind=kind or None,
        within=within,
    )
    with Session(web_engine(request)) as session:
        total, hits = search_identities(session, search, limit=asked.size, offset=asked.offset)
        shown_systems = [
            (row.cloud, row.system_id, row.name)
            for row in session.scalars(
                systems(cloud or None, within).order_by(
                    AuthorizationSystemRow.cloud, AuthorizationSystemRow.system_id
                )
            )
        ]
    return render(
        request,
        "identities/search.html",
        user,
        q=search.text,
        cloud=cloud,
        system=system,
        kind=kind,
        clouds=[(item.value, item.label) for item in Cloud],
        systems=[
            (system_id, f"{name} ({cloud_name}, {system_id})")
            for cloud_name, system_id, name in shown_systems
        ],
        kinds=[(item.value, item.value) for item in IdentityKind],
        hits=[(hit, identity_url(hit.cloud, system or hit.system_id, hit.external_id)) for hit in hits],
        pager=Pager.of(request, asked, total),
    )


@router.get("/identities/{cloud}/{system_id}", name="identity")
def identity_page(
    request: Request,
    cloud: str,
    system_id: str,
    id: str = "",
    service: str = "",
    acting: str = "",
    services: str = "",
    window: int | None = Query(None, ge=1, le=MAX_WINDOW_DAYS, description="Activity window in days"),
    user: WebUser = Depends(signed_in),
) -> HTMLResponse:
    """One identity: granted versus used, PCI, findings, escalation graph, what it acts as (worked out with the
    page in a small system, on demand, `?acting=1`, in a large one), the why form."""
    chosen = _cloud(cloud)
    settings = web_settings(request)
    if not id:
        raise PageError(400, "Name the identity: ?id=<its external id>.")
    try:
        facts = identity_facts(
            web_engine(request),
            chosen,
            system_id,
            _text(id, "identity id"),
            within=_within(request, user),
            window_days=window or settings.usage_window_days,
            as_of=settings.usage_as_of,
            with_acting=True if acting == "1" else None,
        )
    except NotFoundError:
        raise PageError(404, "There is no such identity in a system you may read.") from None
    system = facts.system
    kept_window = str(window) if window else None
    try:  # analytics: for the keys that read the system's analytics, as the PCI and findings above
        history = pci_history(
            web_engine(request),
            system.system_id,
            now=datetime.now(UTC),
            days=PCI_HISTORY_DAYS,
            cloud=chosen.value,
            identity=facts.identity.external_id,
            within=readable_systems(user.principal),
        ).points
    except NotFoundError:
        history = []

    def link(external_id: str) -> str:
        return identity_url(chosen.value, system.system_id, external_id)

    return render(
        request,
        "identities/identity.html",
        user,
        facts=facts,
        cloud=chosen,
        usage=granted_vs_used(facts, service or None),
        pci=pci_view(facts.findings),
        pci_history=history,
        pci_history_days=PCI_HISTORY_DAYS,
        # built by presentation.web.svg, which escapes every text and attribute it writes
        pci_history_svg=Markup(pci_history_svg(history, facts.identity.display_name)) if history else None,  # noqa: S704
        findings=finding_views(facts),
        finding_href=lambda fingerprint: finding_url(finding_id(fingerprint)),
        escalation=escalation_view(facts, href=link),
        acting=acting_as(facts),
        link=link,
        acting_href=identity_url(
            chosen.value, system.system_id, facts.identity.external_id, acting="1", window=kept_window
        )
        + "#acting-heading",
        windows=sorted({*WINDOWS, window or settings.usage_window_days}),
        all_services=services == "all",
        service_rows=SERVICE_ROWS,
        all_services_href=identity_url(
            chosen.value, system.system_id, facts.identity.external_id, services="all", window=kept_window
        ),
        service_link=lambda name: identity_url(
            chosen.value, system.system_id, facts.identity.external_id, service=name, window=kept_window
        ),
        why_action=why_url(chosen.value, system.system_id, facts.identity.external_id).split("?")[0],
        form=WhyForm(),
        findings_href=findings_url(cloud=chosen.value, system=system.system_id),
        system_href=system_url(chosen.value, system.system_id),
        request_href=request_new_url(chosen.value, system.system_id, facts.identity.external_id),
        may_request=bool(user.principal.roles_on(chosen.value, system.system_id) & REQUESTING_ROLES),
        remediation=_remediation(request, user, chosen, system.system_id, facts.identity.external_id),
        plan_href=plan_url,
        plans_href=plans_url(),
    )


@router.get("/identities/{cloud}/{system_id}/why", name="identity_why")
def why_page(
    request: Request,
    cloud: str,
    system_id: str,
    id: str = "",
    action: str = "",
    resource: str = "",
    user: WebUser = Depends(signed_in),
) -> HTMLResponse:
    """May this identity do this action on this resource? The engine's decision and its explanation; a bad
    action or resource is shown by its field (400), never an error page."""
    chosen = _cloud(cloud)
    engine = web_engine(request)
    within = _within(request, user)
    try:
        system, identity = visible_identity(engine, chosen, system_id, id, within)
    except NotFoundError:
        raise PageError(404, "There is no such identity in a system you may read.") from None
    form = WhyForm(action=action.strip()[:MAX_TEXT], resource=resource.strip()[:MAX_TEXT])
    answer = None
    status = 200
    if form.action or form.resource or "action" in request.query_params:
        try:
            decided = why(engine, chosen, system.system_id, identity.external_id, form.action, form.resource,
                          within=within)  # fmt: skip
            answer = decision_view(decided)
        except InputError as exc:
            status, form = 400, form.refused(exc)
        except NotFoundError as exc:
            status = 400
            form = WhyForm(action=form.action, resource=form.resource, resource_error=str(exc))
    return render(
        request,
        "identities/why.html",
        user,
        status=status,
        cloud=chosen,
        system=system,
        identity=identity,
        form=form,
        answer=answer,
        why_action=why_url(chosen.value, system.system_id, identity.external_id).split("?")[0],
        identity_href=identity_url(chosen.value, system.system_id, identity.external_id),
    )
