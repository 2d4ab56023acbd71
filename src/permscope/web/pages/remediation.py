"""Remediation plans: the list, the plan form (from an identity's page), one plan with its steps, evidence,
permissions diff and scripts, the dry-run previews of apply and rollback, and the approve / apply / roll back
forms. Every check is the remediation workflow's own (`workflows.remediation`), as in the API: readers read,
administrators plan, apply and roll back, approvers and administrators other than the author approve."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from permscope.core.access import Systems
from permscope.core.errors import CloudNotBuiltError, InputError, NotFoundError
from permscope.core.ids import Cloud
from permscope.core.remediation import PlanAccessError, PlanRefusedError, PlanStateError, PlanStatus
from permscope.presentation.findings import finding_id
from permscope.presentation.web.remediation import (
    STATUS_CHOICES,
    PlanForm,
    plan_detail,
    plan_row,
    removed_actions_text,
    result_message,
)
from permscope.web.links import (
    finding_url,
    identity_url,
    plan_file_url,
    plan_preview_url,
    plan_url,
    system_url,
)
from permscope.web.paging import Pager, PageRequest, page_request
from permscope.web.render import render
from permscope.web.session import PageError, WebUser, checked_form, signed_in, web_engine, web_settings
from permscope.workflows.access import readable_systems
from permscope.workflows.remediation import apply as runs
from permscope.workflows.remediation import plans

router = APIRouter()

MAX_PLAN_ID = 64
Operation = Literal["apply", "rollback"]
NO_PLAN = "There is no such remediation plan in a system you may read."


def connectors_of(request: Request) -> runs.ConnectorFactory:
    """The remediation connectors (tests may set `app.state.remediation_connectors`, as for the API)."""
    found: runs.ConnectorFactory | None = getattr(request.app.state, "remediation_connectors", None)
    return found or runs.default_connectors(web_settings(request))


def _lease(request: Request) -> timedelta:
    return timedelta(seconds=web_settings(request).remediation_lease_seconds)


def _some(systems: Systems) -> bool:
    return systems.everything or bool(systems.scopes)


# ------------------------------------------------------------------------------------------------- list


@router.get("/remediation")
def list_plans(
    request: Request,
    status: str = Query("", max_length=32, description="one plan status"),
    asked: PageRequest = Depends(page_request),
    user: WebUser = Depends(signed_in),
) -> Response:
    """The plans of the systems the person reads, newest first."""
    if not _some(readable_systems(user.principal)):
        raise PageError(403, "Your key's roles let it read no system's remediation plans.", "Not allowed")
    try:
        wanted = PlanStatus(status) if status else None
    except ValueError:
        names = ", ".join(value for value, _label in STATUS_CHOICES)
        raise PageError(400, f"Status {status!r} is not one of {names}.") from None
    rows, total = plans.plans_page(
        web_engine(request), user.principal, status=wanted, offset=asked.offset, limit=asked.size
    )
    return render(
        request,
        "remediation/list.html",
        user,
        rows=[plan_row(plan, counts) for plan, counts in rows],
        statuses=STATUS_CHOICES,
        status_filter=status,
        pager=Pager.of(request, asked, total),
        plan_href=plan_url,
        identity_href=identity_url,
    )


# ------------------------------------------------------------------------------------------------ create


def _form_page(request: Request, user: WebUser, form: PlanForm, status: int = 200) -> Response:
    cloud = Cloud(form.cloud) if form.cloud in {c.value for c in Cloud} else None
    return render(
        request,
        "remediation/new.html",
        user,
        status=status,
        form=form,
        clouds=[(c.value, c.label) for c in Cloud],
        not_built=plans.not_built(cloud) if cloud is not None else None,
        identity_href=(
            identity_url(form.cloud, form.system_id, form.identity) if cloud and form.system_id else ""
        ),
    )


@router.get("/remediation/new")
def new_plan(
    request: Request,
    cloud: str = Query("aws", max_length=16),
    system: str = Query("", max_length=256),
    identity: str = Query("", max_length=2048),
    user: WebUser = Depends(signed_in),
) -> Response:
    """The plan form (prefilled for an identity from its page), for administrators."""
    if not _some(user.principal.systems_with(plans.ADMINISTERING)):
        raise PageError(403, "Only administrators of a system plan its remediation.", "Not allowed")
    return _form_page(request, user, PlanForm(cloud=cloud, system_id=system, identity=identity))


@router.post("/remediation")
def create_plan(
    request: Request, posted: FormData = Depends(checked_form), user: WebUser = Depends(signed_in)
) -> Response:
    """Plan the identity's remediation through the workflow; a refusal comes back with its reason."""
    form = PlanForm.from_fields(posted)
    try:
        cloud = Cloud(form.cloud)
    except ValueError:
        return _form_page(
            request, user, form.with_problem(f"there is no cloud named {form.cloud[:20]!r}"), 400
        )
    try:
        record = plans.create_plan(
            web_engine(request),
            user.principal,
            cloud=cloud,
            system_id=form.system_id,
            identity_id=form.identity,
            window_days=form.window(),
            safety=plans.safety_of(web_settings(request)),
        )
    except (ValueError, PlanRefusedError, InputError) as exc:
        return _form_page(request, user, form.with_problem(str(exc)), 422)
    except PlanAccessError as exc:
        return _form_page(request, user, form.with_problem(str(exc)), 403)
    except NotFoundError:
        return _form_page(
            request, user, form.with_problem("there is no such system among those you read"), 404
        )
    except CloudNotBuiltError as exc:
        return _form_page(request, user, form.with_problem(str(exc)), 501)
    return RedirectResponse(plan_url(record.plan.plan_id), status_code=303)


# ------------------------------------------------------------------------------------------------ a plan


def _plan_page(
    request: Request,
    user: WebUser,
    plan_id: str,
    *,
    done: str = "",
    preview: tuple[str, list[str]] | None = None,
    error: str = "",
    status: int = 200,
    terraform: bool = False,
) -> Response:
    engine = web_engine(request)
    principal = user.principal
    try:
        record = plans.get_plan(engine, principal, plan_id[:MAX_PLAN_ID])
    except NotFoundError:
        raise PageError(404, NO_PLAN) from None
    plan = record.plan
    terraform_text = terraform_error = ""
    if terraform:
        try:
            terraform_text = plans.plan_terraform(engine, principal, plan.plan_id)
        except (PlanStateError, NotFoundError) as exc:
            terraform_error = str(exc)
    administers = plans.administers(principal, plan.cloud, plan.system_id)
    return render(
        request,
        "remediation/plan.html",
        user,
        status=status,
        detail=plan_detail(plan, record.steps, plans.removed_actions(plan)),
        result=result_message(done, plan, record.steps),
        action_error=error,
        preview=preview,
        may_approve=plans.may_approve(principal, plan),
        administers=administers,
        may_apply=administers and runs.can_apply(plan),
        may_preview_apply=administers and (runs.can_apply(plan) or plan.status == PlanStatus.DRAFT.value),
        may_roll_back=administers and runs.can_roll_back(plan),
        running=runs.running(plan, datetime.now(UTC)),
        apply_script=plans.record_script(record),
        rollback_script=plans.record_script(record, rollback=True),
        terraform_text=terraform_text,
        terraform_error=terraform_error,
        action_href=plan_url(plan.plan_id).split("?")[0],
        preview_href=lambda operation: plan_preview_url(plan.plan_id, operation),
        script_href=lambda name: plan_file_url(plan.plan_id, name),
        terraform_href=plan_url(plan.plan_id, terraform="1") + "#terraform-heading",
        identity_href=identity_url(plan.cloud, plan.system_id, plan.identity_external_id),
        system_href=system_url(plan.cloud, plan.system_id),
        finding_href=lambda fingerprint: finding_url(finding_id(fingerprint)),
    )


# the workflow's refusals of a plan's preview or change, and the status each is shown with
REFUSAL_STATUS: tuple[tuple[type[Exception], int], ...] = (
    (NotFoundError, 404),
    (PlanAccessError, 403),
    (PlanStateError, 409),
    (CloudNotBuiltError, 501),
)
REFUSALS = tuple(kind for kind, _status in REFUSAL_STATUS)


def _refused(request: Request, user: WebUser, plan_id: str, exc: Exception) -> Response:
    """A refusal shown above the plan, as the workflow words it (a plan the person may not read: 404 page)."""
    status = next(code for kind, code in REFUSAL_STATUS if isinstance(exc, kind))
    if status == 404:
        raise PageError(404, NO_PLAN)
    return _plan_page(request, user, plan_id, error=str(exc), status=status)


@router.get("/remediation/{plan_id}")
def show_plan(
    request: Request,
    plan_id: str,
    done: str = Query("", max_length=16),
    terraform: str = Query("", max_length=1),
    user: WebUser = Depends(signed_in),
) -> Response:
    """One plan: its steps and evidence, the diff, the scripts, and the buttons its state and the person allow
    (`?terraform=1` adds the Terraform, which reads the stored inventory)."""
    return _plan_page(request, user, plan_id, done=done, terraform=terraform == "1")


@router.get("/remediation/{plan_id}/preview/{operation}")
def preview_plan(
    request: Request, plan_id: str, operation: Operation, user: WebUser = Depends(signed_in)
) -> Response:
    """The dry run of an apply or a rollback (administrators): the calls it would make, none made, and the
    button that makes them."""
    run = runs.apply_plan if operation == "apply" else runs.rollback_plan
    try:
        report = run(
            web_engine(request),
            user.principal,
            plan_id[:MAX_PLAN_ID],
            connectors=connectors_of(request),
            dry_run=True,
        )
    except REFUSALS as exc:
        return _refused(request, user, plan_id, exc)
    return _plan_page(request, user, plan_id, preview=(operation, report.lines))


@router.get("/remediation/{plan_id}/files/{name}")
def download_file(
    request: Request,
    plan_id: str,
    name: Literal["apply.sh", "rollback.sh", "main.tf", "removed-actions.txt"],
    user: WebUser = Depends(signed_in),
) -> Response:
    """A plan's AWS CLI script (apply or rollback), its Terraform, or every action it removes, as a file."""
    engine = web_engine(request)
    plan_id = plan_id[:MAX_PLAN_ID]
    try:
        if name == "main.tf":
            text = plans.plan_terraform(engine, user.principal, plan_id)
        elif name == "removed-actions.txt":
            plan = plans.get_plan(engine, user.principal, plan_id).plan
            text = removed_actions_text(plan, plans.removed_actions(plan))
        else:
            text = plans.plan_script(engine, user.principal, plan_id, rollback=name == "rollback.sh")
    except NotFoundError:
        raise PageError(404, NO_PLAN) from None
    except PlanStateError as exc:
        raise PageError(409, str(exc), "Not possible now") from None
    short = "".join(char for char in plan_id[:8] if char.isascii() and (char.isalnum() or char == "-"))
    filename = f"permscope-plan-{short}-{name}"
    return PlainTextResponse(text, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


# ------------------------------------------------------------------------------------------------ changes


def _change(request: Request, user: WebUser, plan_id: str, done: str) -> Response:
    """Approve, apply or roll back through the workflow; its refusals shown on the plan's page."""
    engine = web_engine(request)
    plan_id = plan_id[:MAX_PLAN_ID]
    try:
        if done == "approve":
            plans.approve_plan(engine, user.principal, plan_id)
        else:
            run = runs.apply_plan if done == "apply" else runs.rollback_plan
            run(engine, user.principal, plan_id, connectors=connectors_of(request), lease=_lease(request))
    except REFUSALS as exc:
        return _refused(request, user, plan_id, exc)
    return RedirectResponse(plan_url(plan_id, done=done), status_code=303)


@router.post("/remediation/{plan_id}/{change}")
def change_plan(
    request: Request,
    plan_id: str,
    change: Literal["approve", "apply", "rollback"],
    posted: FormData = Depends(checked_form),
    user: WebUser = Depends(signed_in),
) -> Response:
    """Approve (an approver or administrator other than the author), apply or roll back (administrators)."""
    del posted  # checked for its CSRF token; it carries nothing else
    return _change(request, user, plan_id, change)
