"""Permissions on demand under `/identityGovernance/permissionsManagement`: requests, cancelAll, the change
feed, and approvals (approve / reject by PATCHing the approval step, as PIM does)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from permscope.api.deps import authenticate, get_engine, get_session, get_settings
from permscope.api.errors import GraphError, GraphJSONResponse, invalid_request, not_found
from permscope.api.guard import body_cap
from permscope.api.paging import Collection, context_url, entity_response, list_response
from permscope.api.request_schemas import (
    BODY_TOO_LARGE,
    CHANGES,
    REQUEST_ERRORS,
    REQUESTS,
    Approval,
    ApprovalStep,
    ApprovalStepReview,
    PermissionsRequestChange,
    ScheduledPermissionsRequest,
    ScheduledPermissionsRequestCreate,
)
from permscope.api.schemas import CollectionPage
from permscope.core.requests import (
    FilterByCurrentUser,
    RequestAccessError,
    RequestStateError,
    RequestStatus,
    UnsupportedCloudError,
)
from permscope.presentation.requests import approval_to_wire, change_to_wire, request_to_wire, step_to_wire
from permscope.settings import Settings
from permscope.store.tables import ApprovalStepRow, PermissionsRequestRow
from permscope.workflows import requests as workflow
from permscope.workflows.apikeys import ApiPrincipal

PM = "/identityGovernance/permissionsManagement"
LEGACY = "/permissionsManagement"  # older docs' root; accepted, not listed
SPR = "/scheduledPermissionsRequests"
APPROVALS = "/scheduledPermissionsApprovals"
CONTEXT = "identityGovernance/permissionsManagement"  # $metadata path of the entity sets below

routes = APIRouter(tags=["permissionsOnDemand"], responses=REQUEST_ERRORS)


@contextmanager
def graph_errors() -> Iterator[None]:
    """The workflow's refusals as Graph errors (403, 409, 501); input and not-found errors map globally."""
    try:
        yield
    except RequestAccessError as exc:
        raise GraphError(403, "accessDenied", str(exc)) from None
    except RequestStateError as exc:
        raise GraphError(409, "conflict", str(exc)) from None
    except UnsupportedCloudError as exc:
        raise GraphError(501, "notSupported", str(exc)) from None


def get_clock(request: Request) -> Callable[[], datetime]:
    """The app's clock (tests replace `app.state.clock`)."""
    clock: Callable[[], datetime] = getattr(request.app.state, "clock", None) or (lambda: datetime.now(UTC))
    return clock


def get_config(settings: Settings = Depends(get_settings)) -> workflow.RequestConfig:
    """The request policy of the app's settings."""
    return workflow.RequestConfig.from_settings(settings)


def _wake_scheduler(request: Request) -> None:
    runner = getattr(request.app.state, "scheduler", None)
    if runner is not None:
        runner.wake()


def _request_response(
    request: Request, record: workflow.RequestRecord, status: int = 200
) -> GraphJSONResponse:
    body = {
        "@odata.context": context_url(request, f"{CONTEXT}/scheduledPermissionsRequests/$entity"),
        **request_to_wire(record.request, record.step),
    }
    return GraphJSONResponse(body, status_code=status)


# ---------------------------------------------------------------------------------------------- requests


@routes.post(
    SPR,
    status_code=201,
    response_model=ScheduledPermissionsRequest,
    summary="Create a scheduledPermissionsRequest",
    responses=BODY_TOO_LARGE,
)
@body_cap(lambda settings: settings.requests_max_body_bytes)
def create_request(
    body: ScheduledPermissionsRequestCreate,
    request: Request,
    principal: ApiPrincipal = Depends(authenticate),
    engine: Engine = Depends(get_engine),
    clock: Callable[[], datetime] = Depends(get_clock),
    config: workflow.RequestConfig = Depends(get_config),
) -> GraphJSONResponse:
    """Ask for permissions on one authorization system for a while. Needs the requestor (or administrator)
    role on the system. Answers 201 with `statusDetail: submitted` (or `approved` when an auto-approve rule
    admits it). Azure and GCP bodies are parsed and checked, recorded as a request that permscope rejects (so
    the change feed shows them), then refused with 501 naming that request, until their connectors exist."""
    with graph_errors():
        record = workflow.create_request(
            engine, principal, body.model_dump(by_alias=True, exclude_unset=True), config=config, now=clock()
        )
    if record.request.status == RequestStatus.APPROVED.value:
        _wake_scheduler(request)
    return _request_response(request, record, 201)


@routes.get(
    SPR,
    response_model=CollectionPage[ScheduledPermissionsRequest],
    summary="List scheduledPermissionsRequests",
)
def list_requests(
    request: Request,
    principal: ApiPrincipal = Depends(authenticate),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> GraphJSONResponse:
    """The requests the key may read ($filter on statusDetail, createdDateTime, id; $orderby; paging)."""
    return _list(request, session, settings, workflow.requests_query(principal))


def _list(
    request: Request,
    session: Session,
    settings: Settings,
    stmt: Any,
    collection: Collection = REQUESTS,
    tail: str = "scheduledPermissionsRequests",
    serialize: Callable[[Any], dict[str, Any]] = request_to_wire,
    prepare: Callable[[list[Any]], None] | None = None,
) -> GraphJSONResponse:
    """One page of `stmt` under `{PM}/{tail}`, paged as the settings say."""
    return list_response(
        request,
        session,
        collection,
        stmt,
        context=f"{CONTEXT}/{tail}",
        serialize=serialize,
        page_size=settings.page_size,
        max_page_size=settings.max_page_size,
        prepare=prepare,
    )


def _filter_by_current_user(
    on: str,
    request: Request,
    principal: ApiPrincipal = Depends(authenticate),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> GraphJSONResponse:
    """Requests of the caller: on='principal' (it receives them), 'createdBy' (it asked), or 'approver'
    (it may review them)."""
    value = on.strip().strip("'")
    try:
        option = FilterByCurrentUser(value)
    except ValueError:
        names = ", ".join(f"'{o.value}'" for o in FilterByCurrentUser)
        raise invalid_request(f"on={on!r} is not one of {names}") from None
    return _list(request, session, settings, workflow.requests_query(principal, option))


for _prefix in ("", "microsoft.graph.", "graph."):
    routes.add_api_route(
        f"{SPR}/{_prefix}filterByCurrentUser(on={{on}})",
        _filter_by_current_user,
        methods=["GET"],
        response_model=CollectionPage[ScheduledPermissionsRequest],
        summary="List the caller's scheduledPermissionsRequests",
        include_in_schema=_prefix == "",
        name=f"filter_by_current_user_{_prefix.rstrip('.').replace('.', '_') or 'plain'}",
    )


@routes.get(
    SPR + "/{request_id}",
    response_model=ScheduledPermissionsRequest,
    summary="Get a scheduledPermissionsRequest",
)
def get_request(
    request_id: str,
    request: Request,
    principal: ApiPrincipal = Depends(authenticate),
    engine: Engine = Depends(get_engine),
) -> GraphJSONResponse:
    """One request the key may read."""
    record = workflow.get_record(engine, principal, request_id)
    body = request_to_wire(record.request, record.step)
    context = f"{CONTEXT}/scheduledPermissionsRequests/$entity"
    return entity_response(request, body, context=context, selectable=REQUESTS.selectable | set(body))


def _cancel_all(
    request_id: str,
    request: Request,
    principal: ApiPrincipal = Depends(authenticate),
    engine: Engine = Depends(get_engine),
    clock: Callable[[], datetime] = Depends(get_clock),
    config: workflow.RequestConfig = Depends(get_config),
) -> Response:
    """Cancel a request: a submitted one only by its requester; an approved one by the requester or an
    administrator of its system (what was granted is revoked right away)."""
    with graph_errors():
        workflow.cancel(engine, principal, request_id, config=config, now=clock())
    _wake_scheduler(request)
    return Response(status_code=204)


for _prefix in ("", "microsoft.graph."):
    routes.add_api_route(
        SPR + "/{request_id}/" + f"{_prefix}cancelAll",
        _cancel_all,
        methods=["POST"],
        status_code=204,
        summary="Cancel a scheduledPermissionsRequest",
        include_in_schema=_prefix == "",
        name=f"cancel_all_{_prefix.rstrip('.').replace('.', '_') or 'plain'}",
    )


# ----------------------------------------------------------------------------------------- change feed


@routes.get(
    "/permissionsRequestChanges",
    response_model=CollectionPage[PermissionsRequestChange],
    summary="List permissionsRequestChanges (the change feed)",
)
def list_changes(
    request: Request,
    principal: ApiPrincipal = Depends(authenticate),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> GraphJSONResponse:
    """Every transition of the requests the key may read, oldest first. Poll with
    `$filter=modificationDateTime gt {last seen}`: changes commit one at a time with increasing times, so a
    change can never appear later with an earlier time than one already seen."""
    stmt = workflow.changes_query(principal)
    return _list(request, session, settings, stmt, CHANGES, "permissionsRequestChanges", change_to_wire)


@routes.get(
    "/permissionsRequestChanges/{change_id}",
    response_model=PermissionsRequestChange,
    summary="Get a permissionsRequestChange",
)
def get_change(
    change_id: str,
    request: Request,
    principal: ApiPrincipal = Depends(authenticate),
    engine: Engine = Depends(get_engine),
) -> GraphJSONResponse:
    """One change."""
    body = change_to_wire(workflow.get_change(engine, principal, change_id))
    context = f"{CONTEXT}/permissionsRequestChanges/$entity"
    return entity_response(request, body, context=context, selectable=CHANGES.selectable | set(body))


# -------------------------------------------------------------------------------------------- approvals


def _approval(
    principal: ApiPrincipal, row: PermissionsRequestRow, step: ApprovalStepRow | None
) -> dict[str, Any]:
    return approval_to_wire(row.request_id, step, workflow.may_review(principal, row))


@routes.get(APPROVALS, response_model=CollectionPage[Approval], summary="List scheduledPermissionsApprovals")
def list_approvals(
    request: Request,
    principal: ApiPrincipal = Depends(authenticate),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> GraphJSONResponse:
    """The approvals of the requests the key may read (one per request; its id is the request's id)."""
    steps: dict[int, ApprovalStepRow] = {}

    def load_steps(rows: list[PermissionsRequestRow]) -> None:
        steps.update(workflow.steps_of(session, [row.id for row in rows]))  # the page's steps, one query

    def serialize(row: PermissionsRequestRow) -> dict[str, Any]:
        return _approval(principal, row, steps.get(row.id))

    stmt = workflow.requests_query(principal)
    return _list(
        request, session, settings, stmt, REQUESTS, "scheduledPermissionsApprovals", serialize, load_steps
    )


@routes.get(
    APPROVALS + "/{approval_id}", response_model=Approval, summary="Get a scheduledPermissionsApproval"
)
def get_approval(
    approval_id: str,
    request: Request,
    principal: ApiPrincipal = Depends(authenticate),
    engine: Engine = Depends(get_engine),
) -> GraphJSONResponse:
    """The approval of one request, with its step."""
    record = workflow.get_record(engine, principal, approval_id)
    body = _approval(principal, record.request, record.step)
    context = f"{CONTEXT}/scheduledPermissionsApprovals/$entity"
    return entity_response(request, body, context=context, selectable=set(body))


@routes.get(
    APPROVALS + "/{approval_id}/steps",
    response_model=CollectionPage[ApprovalStep],
    summary="List approval steps",
)
def list_steps(
    approval_id: str,
    request: Request,
    principal: ApiPrincipal = Depends(authenticate),
    engine: Engine = Depends(get_engine),
) -> GraphJSONResponse:
    """The steps of one approval (there is one)."""
    record = workflow.get_record(engine, principal, approval_id)
    steps = _approval(principal, record.request, record.step)["steps"]
    context = f"{CONTEXT}/scheduledPermissionsApprovals('{approval_id}')/steps"
    return GraphJSONResponse({"@odata.context": context_url(request, context), "value": steps})


@routes.get(
    APPROVALS + "/{approval_id}/steps/{step_id}", response_model=ApprovalStep, summary="Get an approval step"
)
def get_step(
    approval_id: str,
    step_id: str,
    request: Request,
    principal: ApiPrincipal = Depends(authenticate),
    engine: Engine = Depends(get_engine),
) -> GraphJSONResponse:
    """One approval step."""
    record = workflow.get_record(engine, principal, approval_id)
    if record.step is None or record.step.step_id != step_id:
        raise not_found(f"no approval step {step_id!r} in approval {approval_id!r}")
    body = step_to_wire(record.step, workflow.may_review(principal, record.request))
    context = f"{CONTEXT}/scheduledPermissionsApprovals('{approval_id}')/steps/$entity"
    return entity_response(request, body, context=context, selectable=set(body))


APPROVE_WORDS = {"approve": True, "approved": True, "deny": False, "denied": False}


@routes.patch(
    APPROVALS + "/{approval_id}/steps/{step_id}",
    status_code=204,
    summary="Approve or deny a request",
    responses=BODY_TOO_LARGE,
)
@body_cap(lambda settings: settings.reviews_max_body_bytes)
def review_step(
    approval_id: str,
    step_id: str,
    body: ApprovalStepReview,
    request: Request,
    principal: ApiPrincipal = Depends(authenticate),
    engine: Engine = Depends(get_engine),
    clock: Callable[[], datetime] = Depends(get_clock),
    config: workflow.RequestConfig = Depends(get_config),
) -> Response:
    """`{"reviewResult": "Approve" | "Deny", "justification": "..."}`. Needs the approver (or administrator)
    role on the request's system; nobody reviews a request they asked for or receive."""
    result = (body.reviewResult or "").strip().lower()
    if result not in APPROVE_WORDS:
        raise invalid_request("reviewResult must be Approve (or Approved) or Deny (or Denied)")
    justification = body.justification.strip() if body.justification and body.justification.strip() else None
    with graph_errors():
        workflow.decide(
            engine,
            principal,
            approval_id,
            APPROVE_WORDS[result],
            justification,
            step_id=step_id,
            config=config,
            now=clock(),
        )
    _wake_scheduler(request)
    return Response(status_code=204)


# what app.py includes: the routes under the current root, and again (unlisted) under the older docs' root
router = APIRouter()
router.include_router(routes, prefix=PM)
router.include_router(routes, prefix=LEGACY, include_in_schema=False)
