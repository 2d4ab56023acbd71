"""Remediation plans under `/remediation` (permscope's extension beside the Graph contract; docs/remediation.md):
make a plan for an identity, list and read plans, a plan's status and scripts, approve, apply (or dry-run) and
roll back.

Who may: plans are read by keys that read the system's analytics (viewer, approver, administrator; any other
answers 404 as a missing plan); made, applied and rolled back by the system's administrators; approved by its
approvers and administrators other than the plan's author. A cloud without remediation rules answers 501.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from permscope.api.deps import authenticate, get_engine, get_session, get_settings
from permscope.api.errors import GraphError, GraphJSONResponse, not_found
from permscope.api.guard import body_cap
from permscope.api.paging import context_url, entity_response, list_response
from permscope.api.remediation_schemas import (
    REMEDIATION_ERRORS,
    RemediationPlan,
    RemediationPlanCreate,
    RemediationPlanStatus,
    RemediationScript,
)
from permscope.api.routing import GraphRoute
from permscope.api.schemas import CollectionPage
from permscope.core.ids import Cloud
from permscope.core.remediation import PlanAccessError, PlanRefusedError, PlanStateError
from permscope.presentation.findings import finding_fingerprint
from permscope.presentation.remediation import plan_to_wire
from permscope.settings import Settings
from permscope.store import remediation as store
from permscope.store.collections import REMEDIATION_PLANS
from permscope.workflows.apikeys import ApiPrincipal
from permscope.workflows.remediation import apply as runs
from permscope.workflows.remediation import plans as workflow

R = "/remediation"
BODY_BYTES = 16_384
router = APIRouter(prefix=R, tags=["remediation"], responses=REMEDIATION_ERRORS, route_class=GraphRoute)
ENTITY = "remediation/plans/$entity"


@contextmanager
def remediation_errors() -> Iterator[None]:
    """The workflow's refusals as Graph errors (403, 409, 422); not-found and 501 map globally."""
    try:
        yield
    except PlanAccessError as exc:
        raise GraphError(403, "accessDenied", str(exc)) from None
    except PlanStateError as exc:
        raise GraphError(409, "conflict", str(exc)) from None
    except PlanRefusedError as exc:
        raise GraphError(422, "invalidRequest", str(exc)) from None


def get_clock(request: Request) -> Callable[[], datetime]:
    """The app's clock (tests replace `app.state.clock`)."""
    clock: Callable[[], datetime] = getattr(request.app.state, "clock", None) or (lambda: datetime.now(UTC))
    return clock


def get_connectors(request: Request, settings: Settings = Depends(get_settings)) -> runs.ConnectorFactory:
    """The remediation connectors (tests replace `app.state.remediation_connectors`)."""
    found: runs.ConnectorFactory | None = getattr(request.app.state, "remediation_connectors", None)
    return found or runs.default_connectors(settings)


def _plan(
    request: Request, record: workflow.PlanRecord, status: int = 200, **extra: Any
) -> GraphJSONResponse:
    body = {**plan_to_wire(record.plan, record.steps), **extra}
    if status != 200:
        return GraphJSONResponse({"@odata.context": context_url(request, ENTITY), **body}, status_code=status)
    return entity_response(request, body, context=ENTITY, selectable=set(body))


@router.post(
    "/plans", status_code=201, response_model=RemediationPlan, summary="Plan an identity's remediation"
)
@body_cap(lambda settings: BODY_BYTES)
def create_plan(
    body: RemediationPlanCreate,
    request: Request,
    principal: ApiPrincipal = Depends(authenticate),
    engine: Engine = Depends(get_engine),
    settings: Settings = Depends(get_settings),
    clock: Callable[[], datetime] = Depends(get_clock),
) -> GraphJSONResponse:
    """Plan the removal of what the identity (or the identity of `findingId`) did not use in the window, with a
    policy generated from its activity in place of the broad grants it used (a draft; administrators of the
    system). 422 for a finding about no identity (a bucket, a group): plans are made per identity."""
    options: dict[str, Any] = {
        "window_days": body.windowDays,
        "safety": workflow.safety_of(settings),
        "generate": body.generate,
        "replace_all": body.replaceAll,
        "now": clock(),
    }
    with remediation_errors():
        if body.findingId is not None:
            fingerprint = finding_fingerprint(body.findingId)
            if fingerprint is None:
                raise not_found(f"no finding {body.findingId!r}")
            record = workflow.create_plan_for_finding(engine, principal, fingerprint=fingerprint, **options)
        else:
            assert body.authorizationSystemId is not None and body.identityId is not None  # the model checks
            record = workflow.create_plan(
                engine,
                principal,
                cloud=Cloud(body.authorizationSystemType.lower()),
                system_id=body.authorizationSystemId,
                identity_id=body.identityId,
                **options,
            )
    return _plan(request, record, status=201)


@router.get("/plans", response_model=CollectionPage[RemediationPlan], summary="List remediation plans")
def list_plans(
    request: Request,
    principal: ApiPrincipal = Depends(authenticate),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> GraphJSONResponse:
    """The plans of the systems the key reads ($filter on status, system, identity, author, time; paging)."""
    counts: dict[int, dict[str, int]] = {}

    def prepare(rows: list[Any]) -> None:
        counts.update(store.step_counts(session, [row.id for row in rows]))

    return list_response(
        request,
        session,
        REMEDIATION_PLANS,
        store.plans_stmt(workflow.readable(principal)),
        context="remediation/plans",
        serialize=lambda row: plan_to_wire(row, counts=counts.get(row.id, {})),
        page_size=settings.page_size,
        max_page_size=settings.max_page_size,
        prepare=prepare,
    )


@router.get("/plans/{plan_id}", response_model=RemediationPlan, summary="Get a plan with its steps")
def get_plan(
    plan_id: str,
    request: Request,
    principal: ApiPrincipal = Depends(authenticate),
    engine: Engine = Depends(get_engine),
) -> GraphJSONResponse:
    """One plan with its steps, their evidence and prior states, and the plan's evidence (diff, PCI)."""
    return _plan(request, workflow.get_plan(engine, principal, plan_id))


@router.get("/plans/{plan_id}/status", response_model=RemediationPlanStatus, summary="A plan's status")
def plan_status(
    plan_id: str,
    request: Request,
    principal: ApiPrincipal = Depends(authenticate),
    engine: Engine = Depends(get_engine),
    clock: Callable[[], datetime] = Depends(get_clock),
) -> GraphJSONResponse:
    """Where the plan is: its status, whether a run holds it, its steps counted by status."""
    record = workflow.get_plan(engine, principal, plan_id)
    plan = record.plan
    body = {
        "id": plan.plan_id,
        "status": plan.status,
        "lastOperation": plan.last_operation,
        "error": plan.error,
        "running": runs.running(plan, clock()),
        "stepCounts": plan_to_wire(plan, record.steps)["stepCounts"],
    }
    return entity_response(request, body, context="remediation/planStatus/$entity", selectable=set(body))


@router.get("/plans/{plan_id}/script", response_model=RemediationScript, summary="A plan as a script")
def plan_script(
    plan_id: str,
    request: Request,
    format: Literal["cli", "terraform"] = Query("cli", description="cli (AWS CLI shell) or terraform"),
    rollback: bool = Query(False, description="cli: the commands that undo the plan"),
    principal: ApiPrincipal = Depends(authenticate),
    engine: Engine = Depends(get_engine),
) -> GraphJSONResponse:
    """The plan's steps as an AWS CLI script (or its undoing), or Terraform describing the after state."""
    with remediation_errors():
        if format == "terraform":
            text = workflow.plan_terraform(engine, principal, plan_id)
        else:
            text = workflow.plan_script(engine, principal, plan_id, rollback=rollback)
    body = {"id": plan_id, "format": format, "rollback": rollback and format == "cli", "text": text}
    return entity_response(request, body, context="remediation/planScript/$entity", selectable=set(body))


@router.post("/plans/{plan_id}/approve", response_model=RemediationPlan, summary="Approve a draft plan")
def approve_plan(
    plan_id: str,
    request: Request,
    principal: ApiPrincipal = Depends(authenticate),
    engine: Engine = Depends(get_engine),
    clock: Callable[[], datetime] = Depends(get_clock),
) -> GraphJSONResponse:
    """Approve: approvers and administrators of the system, never the plan's author."""
    with remediation_errors():
        record = workflow.approve_plan(engine, principal, plan_id, clock())
    return _plan(request, record)


def _run(
    request: Request,
    report: runs.RunReport,
) -> GraphJSONResponse:
    body: dict[str, Any] = plan_to_wire(report.plan, report.steps)
    if report.lines:
        body["dryRunCalls"] = report.lines
    return entity_response(request, body, context=ENTITY, selectable=set(body))


@router.post("/plans/{plan_id}/apply", response_model=RemediationPlan, summary="Apply a plan (or dry-run it)")
def apply_plan(
    plan_id: str,
    request: Request,
    dry_run: bool = Query(False, alias="dryRun", description="list the calls instead of making them"),
    principal: ApiPrincipal = Depends(authenticate),
    engine: Engine = Depends(get_engine),
    settings: Settings = Depends(get_settings),
    connectors: runs.ConnectorFactory = Depends(get_connectors),
    clock: Callable[[], datetime] = Depends(get_clock),
) -> GraphJSONResponse:
    """Apply an approved plan through the cloud's connector (administrators); a failed step leaves the plan
    `failed` with the error, and applying again resumes."""
    with remediation_errors():
        report = runs.apply_plan(
            engine,
            principal,
            plan_id,
            connectors=connectors,
            dry_run=dry_run,
            clock=clock,
            lease=timedelta(seconds=settings.remediation_lease_seconds),
        )
    return _run(request, report)


@router.post("/plans/{plan_id}/rollback", response_model=RemediationPlan, summary="Roll a plan back exactly")
def rollback_plan(
    plan_id: str,
    request: Request,
    dry_run: bool = Query(False, alias="dryRun", description="list the calls instead of making them"),
    principal: ApiPrincipal = Depends(authenticate),
    engine: Engine = Depends(get_engine),
    settings: Settings = Depends(get_settings),
    connectors: runs.ConnectorFactory = Depends(get_connectors),
    clock: Callable[[], datetime] = Depends(get_clock),
) -> GraphJSONResponse:
    """Restore what the plan changed from each step's recorded prior state (administrators; safe to repeat)."""
    with remediation_errors():
        report = runs.rollback_plan(
            engine,
            principal,
            plan_id,
            connectors=connectors,
            dry_run=dry_run,
            clock=clock,
            lease=timedelta(seconds=settings.remediation_lease_seconds),
        )
    return _run(request, report)
