"""Autopilot rules under the remediation pages: the rules the person reads, one rule with its runs and what each
did for every identity (linking to the plans), and the Accept / Disable / Run (dry or real) forms. Every check
is the autopilot workflow's own, as in the API: viewers read, approvers and administrators other than the author
accept, approvers and administrators disable, administrators of every system of the rule run it. Rules are
written through the CLI or the API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from permscope.core.access import APPROVING_ROLES, principal_match
from permscope.core.autopilot import RuleState
from permscope.core.errors import CloudNotBuiltError, InputError, NotFoundError
from permscope.core.remediation import PlanAccessError, PlanStateError
from permscope.presentation.web.autopilot import rule_line, rule_result, run_detail
from permscope.store.tables import AutopilotRunRow
from permscope.web.links import autopilot_rule_url, plan_url
from permscope.web.pages.remediation import connectors_of
from permscope.web.render import render
from permscope.web.session import PageError, WebUser, checked_form, signed_in, web_engine, web_settings
from permscope.workflows.access import readable_systems
from permscope.workflows.remediation import autopilot as autopilot_runs
from permscope.workflows.remediation import autopilot_rules as workflow
from permscope.workflows.remediation.plans import ADMINISTERING

router = APIRouter()

MAX_REF = 128
NO_RULE = "There is no such autopilot rule over systems you may read."
REFUSAL_STATUS: tuple[tuple[type[Exception], int], ...] = (
    (PlanAccessError, 403),
    (PlanStateError, 409),
    (InputError, 422),
    (CloudNotBuiltError, 501),
)
REFUSALS = tuple(kind for kind, _status in REFUSAL_STATUS)


@router.get("/remediation/autopilot")
def list_rules(request: Request, user: WebUser = Depends(signed_in)) -> Response:
    """The autopilot rules the person reads, oldest first, each with its last run."""
    systems = readable_systems(user.principal)
    if not (systems.everything or systems.scopes):
        raise PageError(403, "Your key's roles let it read no system's autopilot rules.", "Not allowed")
    engine = web_engine(request)
    rules = workflow.list_rules(engine, user.principal)
    last: dict[str, AutopilotRunRow] = {}
    for view in workflow.list_runs(engine, user.principal):  # newest first
        last.setdefault(view.rule.rule_id, view.run)
    return render(
        request,
        "remediation/rules.html",
        user,
        rules=[rule_line(rule, last.get(rule.rule_id)) for rule in rules],
        rule_href=autopilot_rule_url,
    )


def _rule_page(
    request: Request, user: WebUser, ref: str, *, done: str = "", error: str = "", status: int = 200
) -> Response:
    engine = web_engine(request)
    principal = user.principal
    try:
        rule = workflow.get_rule(engine, principal, ref[:MAX_REF])
    except NotFoundError:
        raise PageError(404, NO_RULE) from None
    scopes = workflow.scopes_of(rule)
    runs = [view.run for view in workflow.list_runs(engine, principal, rule.rule_id)]
    authored = principal_match(principal.who) == principal_match(rule.created_by)
    accepted = rule.state == RuleState.ACCEPTED.value
    return render(
        request,
        "remediation/rule.html",
        user,
        status=status,
        rule=rule_line(rule, runs[0] if runs else None),
        runs=[run_detail(run) for run in runs],
        result=rule_result(done),
        action_error=error,
        may_accept=rule.state == RuleState.PROPOSED.value
        and not authored
        and workflow.holds(principal, scopes, APPROVING_ROLES),
        authored=authored,
        may_disable=rule.state != RuleState.DISABLED.value
        and workflow.holds(principal, scopes, APPROVING_ROLES),
        may_run=accepted and workflow.holds(principal, scopes, ADMINISTERING),
        action_href=autopilot_rule_url(rule.rule_id).split("?")[0],
        plan_href=plan_url,
    )


@router.get("/remediation/autopilot/{rule_id}")
def show_rule(
    request: Request,
    rule_id: str,
    done: str = Query("", max_length=16),
    user: WebUser = Depends(signed_in),
) -> Response:
    """One rule: its facts, its runs with their outcomes per identity, and the buttons the person may use."""
    return _rule_page(request, user, rule_id, done=done)


@router.post("/remediation/autopilot/{rule_id}/{change}")
def change_rule(
    request: Request,
    rule_id: str,
    change: Literal["accept", "disable", "run", "dry-run"],
    posted: FormData = Depends(checked_form),
    user: WebUser = Depends(signed_in),
) -> Response:
    """Accept (an approver or administrator other than the author), disable (approvers and administrators) or
    run, for real or dry (administrators of every system of the rule); refusals shown on the rule's page."""
    del posted  # checked for its CSRF token; it carries nothing else
    engine = web_engine(request)
    ref = rule_id[:MAX_REF]
    try:
        if change == "accept":
            rule = workflow.accept_rule(engine, user.principal, ref)
        elif change == "disable":
            rule = workflow.disable_rule(engine, user.principal, ref)
        else:
            settings = web_settings(request)
            context = autopilot_runs.RunContext(
                settings,
                connectors_of(request),
                lambda: datetime.now(UTC),
                change == "dry-run",
                user.principal.who,
            )
            autopilot_runs.run_rule(engine, user.principal, ref, context)
            rule = workflow.get_rule(engine, user.principal, ref)
    except NotFoundError:
        raise PageError(404, NO_RULE) from None
    except REFUSALS as exc:
        status = next(code for kind, code in REFUSAL_STATUS if isinstance(exc, kind))
        return _rule_page(request, user, ref, error=str(exc), status=status)
    done = "run" if change == "dry-run" else change
    return RedirectResponse(autopilot_rule_url(rule.rule_id, done=done), status_code=303)
