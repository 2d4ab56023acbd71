"""Alerts: the list (filtered by status, severity and kind; the rules below it), one alert with its evidence and
deliveries, and the acknowledge and mute forms. Every check is the alerts workflow's own, as in the API."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from permscope.core.alerts import AlertStatus
from permscope.core.errors import AccessDeniedError, InputError, NotFoundError
from permscope.core.findings import Severity
from permscope.core.requests import parse_duration
from permscope.core.signals import SignalKind
from permscope.presentation.alerts import alert_to_wire, delivery_to_wire, rule_record
from permscope.web.paging import Pager, PageRequest, page_request
from permscope.web.render import render
from permscope.web.session import PageError, WebUser, checked_form, signed_in, ui_root, web_engine
from permscope.workflows import alerts as workflow

router = APIRouter()
MUTE_CHOICES = [("PT1H", "1 hour"), ("P1D", "1 day"), ("P7D", "7 days"), ("P30D", "30 days")]


def _one_of(value: str | None, allowed: list[str], what: str) -> list[str]:
    if not value:
        return []
    if value not in allowed:
        raise PageError(400, f"There is no {what} {value!r}; choose one of {', '.join(allowed)}.")
    return [value]


@router.get("/alerts")
def list_alerts(
    request: Request,
    status: str | None = Query(None, max_length=32),
    severity: str | None = Query(None, max_length=32),
    kind: str | None = Query(None, max_length=64),
    asked: PageRequest = Depends(page_request),
    user: WebUser = Depends(signed_in),
) -> Response:
    """The alerts of the systems the person reads, newest first, and the rules."""
    wanted = workflow.AlertFilter(
        statuses=_one_of(status, [s.value for s in AlertStatus], "status"),
        severities=_one_of(severity, [s.value for s in Severity], "severity"),
        kinds=_one_of(kind, [k.value for k in SignalKind], "kind"),
    )
    engine = web_engine(request)
    rows, total = workflow.list_alerts(engine, user.principal, wanted, offset=asked.offset, limit=asked.size)
    try:
        rules = [rule_record(view) for view in workflow.rules_for(user.principal, engine)]
    except AccessDeniedError:
        raise PageError(
            403, "Your key reads no authorization system, so it sees no alerts.", "Not allowed"
        ) from None
    return render(
        request,
        "alerts/list.html",
        user,
        rows=[
            {**alert_to_wire(row), "may_act": workflow.may_act(user.principal, row.cloud, row.system_id)}
            for row in rows
        ],
        rules=rules,
        pager=Pager.of(request, asked, total),
        statuses=[(s.value, s.value) for s in AlertStatus],
        severities=[(s.value, s.value) for s in Severity],
        kinds=[(k.value, k.value) for k in SignalKind],
        status_filter=status or "",
        severity_filter=severity or "",
        kind_filter=kind or "",
        mute_choices=MUTE_CHOICES,
    )


@router.get("/alerts/{alert_id}")
def show_alert(request: Request, alert_id: str, user: WebUser = Depends(signed_in)) -> Response:
    """One alert: what happened, why, the evidence, and each delivery's attempts."""
    try:
        detail = workflow.get_alert(web_engine(request), user.principal, alert_id)
    except NotFoundError as exc:
        raise PageError(404, str(exc), "Not found") from None
    return render(
        request,
        "alerts/detail.html",
        user,
        alert=alert_to_wire(detail.alert),
        evidence=orjson.dumps(detail.evidence, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode(),
        deliveries=[delivery_to_wire(d, name, attempts) for d, name, attempts in detail.deliveries],
        may_act=detail.may_act,
        mute_choices=MUTE_CHOICES,
    )


def _back(request: Request, posted: FormData, alert_id: str) -> RedirectResponse:
    """Back to the list the form was on (a path under the UI only), or to the alert."""
    target = posted.get("back")
    root = ui_root(request)
    if isinstance(target, str) and target.startswith(f"{root}/alerts") and "//" not in target:
        return RedirectResponse(target, status_code=303)
    return RedirectResponse(f"{root}/alerts/{alert_id}", status_code=303)


@router.post("/alerts/{alert_id}/acknowledge")
def acknowledge(
    request: Request,
    alert_id: str,
    posted: FormData = Depends(checked_form),
    user: WebUser = Depends(signed_in),
) -> Response:
    """Acknowledge, as an approver or administrator of the alert's system."""
    try:
        workflow.acknowledge(web_engine(request), user.principal, alert_id, datetime.now(UTC))
    except NotFoundError as exc:
        raise PageError(404, str(exc), "Not found") from None
    except AccessDeniedError as exc:
        raise PageError(403, str(exc), "Not allowed") from None
    return _back(request, posted, alert_id)


@router.post("/alerts/{alert_id}/mute")
def mute(
    request: Request,
    alert_id: str,
    posted: FormData = Depends(checked_form),
    user: WebUser = Depends(signed_in),
) -> Response:
    """Mute the alert's subject for the chosen time, as an approver or administrator of its system."""
    duration, reason = posted.get("duration"), posted.get("reason")
    if not isinstance(duration, str) or duration not in dict(MUTE_CHOICES):
        raise PageError(
            400, "Choose how long to mute: " + ", ".join(label for _v, label in MUTE_CHOICES) + "."
        )
    now = datetime.now(UTC)
    try:
        workflow.mute_alert_subject(
            web_engine(request),
            user.principal,
            alert_id,
            now + parse_duration(duration),
            reason if isinstance(reason, str) else "",
            now,
        )
    except NotFoundError as exc:
        raise PageError(404, str(exc), "Not found") from None
    except AccessDeniedError as exc:
        raise PageError(403, str(exc), "Not allowed") from None
    except InputError as exc:
        raise PageError(400, exc.problem) from None
    return _back(request, posted, alert_id)
