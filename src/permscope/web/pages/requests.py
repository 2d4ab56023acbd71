"""Permissions requests: the lists (my requests, waiting for my approval, all), the new-request form, one request
with its approval step, change feed and grant/revoke status, and the approve / reject / cancel forms. Every check
is the request workflow's own (`workflows.requests`), as in the API."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from permscope.core.errors import InputError, NotFoundError
from permscope.core.requests import (
    RequestAccessError,
    RequestStateError,
    RequestStatus,
    UnsupportedCloudError,
)
from permscope.presentation.request_draft import draft_body
from permscope.presentation.web.requests import (
    CLOUD_CHOICES,
    IDENTITY_TYPE_CHOICES,
    TAB_FILTERS,
    TAB_LABELS,
    WHAT_CHOICES,
    RequestForm,
    RequestTab,
    parse_status,
    parse_tab,
    request_detail,
    request_row,
    tabs_for,
)
from permscope.web.links import identity_url, request_url, requests_url
from permscope.web.paging import Pager, PageRequest, page_request
from permscope.web.render import render
from permscope.web.session import PageError, WebUser, checked_form, signed_in, web_engine, web_settings
from permscope.workflows import requests as workflow

router = APIRouter()


def _config(request: Request) -> workflow.RequestConfig:
    return workflow.RequestConfig.from_settings(web_settings(request))


def _wake_scheduler(request: Request) -> None:
    """Run the in-process scheduler's pass now (`permscope serve` hands it to the UI), so a grant or a
    revocation a page just made due happens at once."""
    runner = getattr(request.app.state, "scheduler", None)
    if runner is not None:
        runner.wake()


@contextmanager
def refusals() -> Iterator[None]:
    """The workflow's refusals as pages: not allowed 403, not found 404, the wrong state 409."""
    try:
        yield
    except RequestAccessError as exc:
        raise PageError(403, str(exc), "Not allowed") from None
    except NotFoundError as exc:
        raise PageError(404, str(exc), "Not found") from None
    except RequestStateError as exc:
        raise PageError(409, str(exc), "Not possible now") from None


# ------------------------------------------------------------------------------------------------- lists


@router.get("/requests")
def list_requests(
    request: Request,
    tab: str | None = Query(None, max_length=32, description="mine, approval or all"),
    status: str | None = Query(None, max_length=32, description="one statusDetail"),
    asked: PageRequest = Depends(page_request),
    user: WebUser = Depends(signed_in),
) -> Response:
    """The requests the person may read, by tab, newest first."""
    principal = user.principal
    tabs = tabs_for(
        approves=workflow.approves_somewhere(principal), reads_others=workflow.reads_others(principal)
    )
    chosen = parse_tab(tab, tabs)
    if chosen is None:
        known = tab in {t.value for t in RequestTab}
        raise PageError(
            403 if known else 400,
            "Your key's roles do not give you this list." if known else f"There is no tab {tab!r}.",
        )
    on, fixed = TAB_FILTERS[chosen]
    try:
        wanted = fixed or parse_status(status)
    except ValueError as exc:
        raise PageError(400, str(exc)) from None
    records, total = workflow.records_page(
        web_engine(request), principal, on=on, status=wanted, offset=asked.offset, limit=asked.size
    )
    return render(
        request,
        "requests/list.html",
        user,
        tabs=[(t, TAB_LABELS[t], requests_url(tab=t.value)) for t in tabs],
        tab=chosen,
        status_filter=wanted.value if wanted else "",
        status_fixed=fixed is not None,
        statuses=[(s.value, s.value) for s in RequestStatus],
        rows=[request_row(record) for record in records],
        pager=Pager.of(request, asked, total),
        may_request=workflow.requests_somewhere(principal),
    )


# ------------------------------------------------------------------------------------------------ create


def _form_page(request: Request, user: WebUser, form: RequestForm, status: int = 200) -> Response:
    return render(
        request,
        "requests/new.html",
        user,
        status=status,
        form=form,
        clouds=CLOUD_CHOICES,
        whats=WHAT_CHOICES,
        identity_types=IDENTITY_TYPE_CHOICES,
        identity_href=(
            identity_url(form.cloud, form.system_id, form.identity)
            if form.identity and form.system_id
            else ""
        ),
        max_now_hours=web_settings(request).requests_max_hours_now,
        max_scheduled_days=web_settings(request).requests_max_days_scheduled,
    )


def _may_request(user: WebUser) -> None:
    if not workflow.requests_somewhere(user.principal):
        raise PageError(
            403,
            "Your key holds the requestor or administrator role on no authorization system.",
            "Not allowed",
        )


@router.get("/requests/new")
def new_request(
    request: Request,
    cloud: str = Query("", max_length=16),
    system: str = Query("", max_length=256),
    identity: str = Query("", max_length=2048),
    user: WebUser = Depends(signed_in),
) -> Response:
    """The new-request form (prefilled for an identity from its page)."""
    _may_request(user)
    return _form_page(request, user, RequestForm.prefilled(cloud, system, identity))


@router.post("/requests")
def create_request(
    request: Request, posted: FormData = Depends(checked_form), user: WebUser = Depends(signed_in)
) -> Response:
    """Submit the form through the request workflow; its input errors come back by the field."""
    form = RequestForm.from_fields(posted)
    try:
        record = workflow.create_request(
            web_engine(request), user.principal, draft_body(form.draft()), config=_config(request)
        )
    except InputError as exc:
        return _form_page(request, user, form.with_error(exc), status=422)
    except RequestAccessError as exc:
        return _form_page(request, user, form.with_problem(str(exc)), status=403)
    except UnsupportedCloudError as exc:
        return _form_page(request, user, form.with_problem(str(exc)), status=501)
    if record.request.status == RequestStatus.APPROVED.value:  # an auto-approve rule admitted it
        _wake_scheduler(request)
    return RedirectResponse(request_url(record.request.request_id), status_code=303)


# ------------------------------------------------------------------------------------------------ detail


@router.get("/requests/{request_id}")
def show_request(request: Request, request_id: str, user: WebUser = Depends(signed_in)) -> Response:
    """One request, its approval step, its change feed and the grant/revoke status of its occurrence."""
    return _detail_page(request, user, request_id)


def _detail_page(
    request: Request, user: WebUser, request_id: str, *, error: str = "", status: int = 200
) -> Response:
    with refusals():
        record = workflow.get_record(web_engine(request), user.principal, request_id[:64], detail=True)
    detail = request_detail(
        record,
        may_review=workflow.may_review(user.principal, record.request),
        may_cancel=workflow.cancel_allowed(user.principal, record.request)[0],
    )
    return render(
        request,
        "requests/detail.html",
        user,
        status=status,
        detail=detail,
        review_error=error,
        action_href=request_url(record.request.request_id),
        identity_href=identity_url(detail.row.cloud, detail.row.system_id, detail.row.identity),
    )


def _decide(request: Request, user: WebUser, request_id: str, posted: FormData, approve: bool) -> Response:
    justification = posted.get("justification")
    try:
        with refusals():
            workflow.decide(
                web_engine(request),
                user.principal,
                request_id,
                approve,
                justification if isinstance(justification, str) else None,
                config=_config(request),
            )
    except InputError as exc:
        return _detail_page(request, user, request_id, error=exc.problem, status=422)
    _wake_scheduler(request)
    return RedirectResponse(request_url(request_id), status_code=303)


@router.post("/requests/{request_id}/cancel")
def cancel_request(
    request: Request,
    request_id: str,
    posted: FormData = Depends(checked_form),
    user: WebUser = Depends(signed_in),
) -> Response:
    """Cancel: a pending request by its requester, an approved one by the requester or an administrator."""
    del posted  # checked for its CSRF token; it carries nothing else
    with refusals():
        workflow.cancel(web_engine(request), user.principal, request_id, config=_config(request))
    _wake_scheduler(request)
    return RedirectResponse(request_url(request_id), status_code=303)


# after /cancel: a path of its own is not a verdict
VERDICTS = {"approve": True, "reject": False}


@router.post("/requests/{request_id}/{verdict}")
def review_request(
    request: Request,
    request_id: str,
    verdict: Literal["approve", "reject"],
    posted: FormData = Depends(checked_form),
    user: WebUser = Depends(signed_in),
) -> Response:
    """Approve or reject, as an approver of the request's system who neither asked for it nor receives it."""
    return _decide(request, user, request_id, posted, VERDICTS[verdict])
