"""Autopilot rules under `/remediation/autopilot` (permscope's extension; docs/remediation.md, "Autopilot
rules"): write, list, read, accept, disable and run rules, and list their runs.

Who may, on every system a rule covers: administrators write and run rules; approvers and administrators other
than the author accept them; approvers and administrators disable them; viewers read them (a rule the key may not
read answers 404). A wrong body answers 422 naming the field; a rule's state 409.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import Engine

from permscope.api.autopilot_schemas import (
    AUTOPILOT_ERRORS,
    AutopilotRule,
    AutopilotRuleCreate,
    AutopilotRuleList,
    AutopilotRun,
    AutopilotRunList,
)
from permscope.api.deps import authenticate, get_engine, get_settings
from permscope.api.errors import GraphError, GraphJSONResponse
from permscope.api.guard import body_cap
from permscope.api.paging import context_url, entity_response
from permscope.api.routes.remediation import get_clock, get_connectors, remediation_errors
from permscope.api.routing import GraphRoute
from permscope.core.autopilot import check_spec
from permscope.core.errors import InputError
from permscope.presentation.autopilot import rule_to_wire, run_to_wire
from permscope.settings import Settings
from permscope.store.tables import AutopilotRuleRow, AutopilotRunRow
from permscope.workflows.apikeys import ApiPrincipal
from permscope.workflows.remediation import apply as runs
from permscope.workflows.remediation import autopilot as autopilot_runs
from permscope.workflows.remediation import autopilot_rules as workflow

R = "/remediation/autopilot"
BODY_BYTES = 65_536
RULE = "remediation/autopilot/rules/$entity"
RUN = "remediation/autopilot/runs/$entity"
router = APIRouter(prefix=R, tags=["remediation"], responses=AUTOPILOT_ERRORS, route_class=GraphRoute)


@contextmanager
def autopilot_errors() -> Iterator[None]:
    """The remediation refusals (403, 409), and a wrong field as 422 naming it."""
    try:
        with remediation_errors():
            yield
    except InputError as exc:
        raise GraphError(422, "invalidRequest", f"{exc.source}: {exc.problem}") from None


def _rule(request: Request, rule: AutopilotRuleRow, status: int = 200) -> GraphJSONResponse:
    body = rule_to_wire(rule)
    if status != 200:
        return GraphJSONResponse({"@odata.context": context_url(request, RULE), **body}, status_code=status)
    return entity_response(request, body, context=RULE, selectable=set(body))


def _run(request: Request, run: AutopilotRunRow, rule: AutopilotRuleRow) -> GraphJSONResponse:
    body = run_to_wire(run, rule)
    return entity_response(request, body, context=RUN, selectable=set(body))


@router.post("/rules", status_code=201, response_model=AutopilotRule, summary="Write an autopilot rule")
@body_cap(lambda settings: BODY_BYTES)
def create_rule(
    body: AutopilotRuleCreate,
    request: Request,
    principal: ApiPrincipal = Depends(authenticate),
    engine: Engine = Depends(get_engine),
    settings: Settings = Depends(get_settings),
    clock: Callable[[], datetime] = Depends(get_clock),
) -> GraphJSONResponse:
    """A rule, proposed (administrators of every system it covers); it runs once someone else accepts it."""
    with autopilot_errors():
        spec = check_spec(
            body.name,
            body.systems,
            body.identities,
            body.identityKinds,
            body.tag,
            body.unusedDays,
            body.generate,
        )
        rule = workflow.add_rule(engine, principal, spec, settings=settings, now=clock())
    return _rule(request, rule, status=201)


@router.get("/rules", response_model=AutopilotRuleList, summary="List autopilot rules")
def list_rules(
    request: Request, principal: ApiPrincipal = Depends(authenticate), engine: Engine = Depends(get_engine)
) -> GraphJSONResponse:
    """The rules the key reads, oldest first."""
    values = [rule_to_wire(rule) for rule in workflow.list_rules(engine, principal)]
    return GraphJSONResponse(
        {"@odata.context": context_url(request, "remediation/autopilot/rules"), "value": values}
    )


@router.get("/rules/{rule_id}", response_model=AutopilotRule, summary="Get an autopilot rule")
def get_rule(
    rule_id: str,
    request: Request,
    principal: ApiPrincipal = Depends(authenticate),
    engine: Engine = Depends(get_engine),
) -> GraphJSONResponse:
    """One rule, by id or name."""
    return _rule(request, workflow.get_rule(engine, principal, rule_id))


@router.post("/rules/{rule_id}/accept", response_model=AutopilotRule, summary="Accept a proposed rule")
def accept_rule(
    rule_id: str,
    request: Request,
    principal: ApiPrincipal = Depends(authenticate),
    engine: Engine = Depends(get_engine),
    clock: Callable[[], datetime] = Depends(get_clock),
) -> GraphJSONResponse:
    """Accept: approvers and administrators of every system of the rule, never its author."""
    with autopilot_errors():
        rule = workflow.accept_rule(engine, principal, rule_id, clock())
    return _rule(request, rule)


@router.post("/rules/{rule_id}/disable", response_model=AutopilotRule, summary="Disable a rule")
def disable_rule(
    rule_id: str,
    request: Request,
    principal: ApiPrincipal = Depends(authenticate),
    engine: Engine = Depends(get_engine),
    clock: Callable[[], datetime] = Depends(get_clock),
) -> GraphJSONResponse:
    """Disable: the rule never runs again (approvers and administrators); applied plans stay applied."""
    with autopilot_errors():
        rule = workflow.disable_rule(engine, principal, rule_id, clock())
    return _rule(request, rule)


@router.post("/rules/{rule_id}/run", response_model=AutopilotRun, summary="Run an accepted rule now")
def run_rule(
    rule_id: str,
    request: Request,
    dry_run: bool = Query(False, alias="dryRun", description="make the plans as drafts; apply nothing"),
    principal: ApiPrincipal = Depends(authenticate),
    engine: Engine = Depends(get_engine),
    settings: Settings = Depends(get_settings),
    connectors: runs.ConnectorFactory = Depends(get_connectors),
    clock: Callable[[], datetime] = Depends(get_clock),
) -> GraphJSONResponse:
    """Plan, approve (as the rule's acceptor) and apply for every identity the rule matches (administrators of
    every system of the rule); 409 unless the rule is accepted."""
    context = autopilot_runs.RunContext(settings, connectors, clock, dry_run, principal.who)
    with autopilot_errors():
        run = autopilot_runs.run_rule(engine, principal, rule_id, context)
        rule = workflow.get_rule(engine, principal, rule_id)
    return _run(request, run, rule)


@router.get("/runs", response_model=AutopilotRunList, summary="List autopilot runs")
def list_runs(
    request: Request,
    rule: str | None = Query(None, max_length=128, description="one rule's id or name"),
    principal: ApiPrincipal = Depends(authenticate),
    engine: Engine = Depends(get_engine),
) -> GraphJSONResponse:
    """The runs of the rules the key reads (or of one), newest first: what each made, applied, skipped, failed."""
    values = [run_to_wire(view.run, view.rule) for view in workflow.list_runs(engine, principal, rule)]
    return GraphJSONResponse(
        {"@odata.context": context_url(request, "remediation/autopilot/runs"), "value": values}
    )
