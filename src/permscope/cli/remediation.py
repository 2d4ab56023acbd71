"""`permscope remediation`: plan the removal of what an identity does not use (with the permissions diff, an AWS
CLI script or Terraform), approve a plan, apply it (or print its calls with --dry-run), roll it back exactly,
list and show plans. The command line has the database, so it acts as an administrator named by --as (a plan is
approved by someone other than its author)."""

from __future__ import annotations

import getpass
from datetime import timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import typer

from permscope.cli.output import (
    Column,
    OutputFormat,
    engine_of,
    print_json,
    render,
    reports_errors,
    state,
    stderr,
    stdout,
)

if TYPE_CHECKING:
    from permscope.workflows.apikeys import ApiPrincipal
    from permscope.workflows.remediation.apply import RunReport
    from permscope.workflows.remediation.plans import PlanRecord

app = typer.Typer(
    help="Remediation: least privilege generated from activity; plans that remove unused grants and credentials, with dry-run, apply and exact rollback.",
    no_args_is_help=True,
)
AS_OPTION = typer.Option(None, "--as", help="Who acts (author / approver); default local:<your user name>")


class PlanFormat(StrEnum):
    """How `remediation plan` and `show` print a plan."""

    TABLE = "table"
    JSON = "json"
    SCRIPT = "script"
    TERRAFORM = "terraform"


STEP_COLUMNS = [
    Column("#", "#", word=True),
    Column("kind", "Kind"),
    Column("target", "Target", name=True),
    Column("status", "Status", word=True),
    Column("lastUsed", "Last used"),
    Column("unused", "Unused", word=True),
    Column("pci", "PCI", word=True),
    Column("resolves", "Resolves", text=True),
]
DIFF_COLUMNS = [
    Column("service", "Service", word=True),
    Column("before", "Before", word=True),
    Column("after", "After", word=True),
    Column("removed", "Removed actions", text=True),
]
PLAN_COLUMNS = [
    Column("id", "Plan"),
    Column("system", "System", word=True),
    Column("identity", "Identity"),
    Column("status", "Status", word=True),
    Column("steps", "Steps", word=True),
    Column("pci", "PCI", word=True),
    Column("createdBy", "Created by"),
    Column("created", "Created", wide=True),
]


def _actor(name: str | None) -> ApiPrincipal:
    from permscope.workflows.requests import local_actor

    return local_actor(name or f"local:{getpass.getuser()}")


def _print(ctx: typer.Context, record: PlanRecord, fmt: PlanFormat, actor: ApiPrincipal) -> None:
    from permscope.presentation.remediation import diff_rows, generation_lines, plan_to_wire, step_row
    from permscope.workflows.remediation import plans

    plan = record.plan
    if fmt is PlanFormat.JSON:
        print_json(plan_to_wire(plan, record.steps))
        return
    if fmt is PlanFormat.SCRIPT:
        stdout().print(plans.plan_script(engine_of(ctx), actor, plan.plan_id), markup=False, highlight=False)
        return
    if fmt is PlanFormat.TERRAFORM:
        stdout().print(
            plans.plan_terraform(engine_of(ctx), actor, plan.plan_id), markup=False, highlight=False
        )
        return
    evidence = plan.evidence
    before, after = evidence.get("pciBefore", {}), evidence.get("pciAfter", {})
    out = stdout()
    out.print(f"Plan {plan.plan_id} ({plan.status}) for {plan.identity_external_id}", markup=False)
    out.print(
        f"{plan.cloud} {plan.system_id}, window {plan.window_days} days; PCI {before.get('score')} -> "
        f"{after.get('score')}; granted {evidence.get('diff', {}).get('grantedBefore')} -> "
        f"{evidence.get('diff', {}).get('grantedAfter')} actions",
        markup=False,
    )
    named = evidence.get("finding")
    if named:
        verdict = "resolves it" if named.get("resolved") else "does not resolve it"
        out.print(
            f"For finding {named['findingType']} ({named['fingerprint']}): the plan {verdict}", markup=False
        )
    resolves = ", ".join(entry["findingType"] for entry in evidence.get("resolves") or [])
    if resolves:
        out.print(f"Resolves: {resolves}", markup=False)
    render(OutputFormat.TABLE, [step_row(step) for step in record.steps], STEP_COLUMNS, title="Steps")
    render(OutputFormat.TABLE, diff_rows(evidence), DIFF_COLUMNS, title="Granted before -> after, by service")
    for kept in evidence.get("kept") or []:
        out.print(f"kept {kept['kind']} {kept['target']}: {kept['reason']}", markup=False)
    for line in generation_lines(evidence, record.steps):
        out.print(line, markup=False, highlight=False)


@app.command("plan")
@reports_errors
def plan_command(
    ctx: typer.Context,
    system: str | None = typer.Option(
        None,
        "--system",
        help="The authorization system (AWS account id, Azure subscription id, GCP project id)",
    ),
    identity: str | None = typer.Option(
        None,
        "--identity",
        help="The identity's id (an IAM user or role ARN, an Entra object id, a GCP member such as user:EMAIL)",
    ),
    finding: str | None = typer.Option(
        None,
        "--finding",
        help="Plan for the identity a finding is about (its id), instead of --system/--identity",
    ),
    cloud: str = typer.Option("aws", "--cloud", help="aws, azure or gcp"),
    window_days: int = typer.Option(90, "--window-days", help="Activity window: unused means unused in it"),
    generate: bool = typer.Option(
        True,
        "--generate/--no-generate",
        help="Replace the broad grants kept because used with a policy generated from the activity",
    ),
    replace_all: bool = typer.Option(
        False,
        "--replace-all",
        help="Generate for every grant kept because used, even one without unused actions",
    ),
    fmt: PlanFormat = typer.Option(
        PlanFormat.TABLE, "--format", "-f", help="table, json, script or terraform"
    ),
    who: str | None = AS_OPTION,
) -> None:
    """Plan the remediation of one identity, or of the identity of a finding (a draft; `approve`, then
    `apply`)."""
    from permscope.core.errors import InputError
    from permscope.core.ids import Cloud
    from permscope.presentation.findings import finding_fingerprint
    from permscope.workflows.remediation import plans

    actor = _actor(who)
    options: dict[str, Any] = {
        "window_days": window_days,
        "safety": plans.safety_of(state(ctx).settings()),
        "generate": generate,
        "replace_all": replace_all,
    }
    if finding is not None:
        if system is not None or identity is not None:
            raise InputError("--finding", "give either --finding or --system with --identity, not both")
        fingerprint = finding_fingerprint(finding)
        if fingerprint is None:
            raise InputError("--finding", f"{finding!r} is not a finding id")
        record = plans.create_plan_for_finding(engine_of(ctx), actor, fingerprint=fingerprint, **options)
    else:
        if system is None or identity is None:
            raise InputError("--identity", "give --system and --identity (or --finding)")
        try:
            chosen = Cloud(cloud.lower())
        except ValueError:
            raise InputError("--cloud", f"{cloud!r} is not aws, azure or gcp") from None
        record = plans.create_plan(
            engine_of(ctx), actor, cloud=chosen, system_id=system, identity_id=identity, **options
        )
    _print(ctx, record, fmt, actor)
    if fmt is PlanFormat.TABLE:
        stderr().print(
            f"Approve it (as someone else): permscope remediation approve {record.plan.plan_id} --as NAME"
        )


@app.command("show")
@reports_errors
def show_command(
    ctx: typer.Context,
    plan_id: str = typer.Argument(..., help="The plan id"),
    fmt: PlanFormat = typer.Option(
        PlanFormat.TABLE, "--format", "-f", help="table, json, script or terraform"
    ),
) -> None:
    """One plan with its steps, evidence and diff (or as a script or Terraform)."""
    from permscope.workflows.remediation import plans

    actor = _actor(None)
    _print(ctx, plans.get_plan(engine_of(ctx), actor, plan_id), fmt, actor)


@app.command("list")
@reports_errors
def list_command(
    ctx: typer.Context,
    fmt: OutputFormat = typer.Option(OutputFormat.TABLE, "--format", "-f", help="table, json or csv"),
) -> None:
    """Every remediation plan, oldest first."""
    from permscope.presentation.remediation import plan_row, plan_to_wire
    from permscope.workflows.remediation import plans

    found = plans.list_plans(engine_of(ctx), _actor(None))
    if fmt is OutputFormat.JSON:
        print_json([plan_to_wire(plan, counts=counts) for plan, counts in found])
        return
    render(
        fmt, [plan_row(plan, counts) for plan, counts in found], PLAN_COLUMNS, empty="no remediation plans"
    )


@app.command("approve")
@reports_errors
def approve_command(
    ctx: typer.Context, plan_id: str = typer.Argument(..., help="The plan id"), who: str | None = AS_OPTION
) -> None:
    """Approve a draft plan (someone other than its author)."""
    from permscope.workflows.remediation import plans

    record = plans.approve_plan(engine_of(ctx), _actor(who), plan_id)
    stdout().print(f"Plan {plan_id} approved by {record.plan.approved_by}", markup=False)


def _report(report: RunReport, verb: str) -> None:
    out = stdout()
    if report.lines:
        out.print("\n".join(report.lines), markup=False, highlight=False)
        return
    for step in report.steps:
        if step.ordinal in report.done:
            out.print(f"step {step.ordinal}: {step.kind} {step.label}: {step.status}", markup=False)
        for note in step.notes or []:
            out.print(f"  note: {note}", markup=False)
    if report.error:
        from permscope.cli.output import fail

        fail(f"{verb} stopped: {report.plan.error}; run the same command again to resume")
    out.print(f"Plan {report.plan.plan_id}: {report.plan.status}", markup=False)


@app.command("apply")
@reports_errors
def apply_command(
    ctx: typer.Context,
    plan_id: str = typer.Argument(..., help="The plan id"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the cloud calls instead of making them"),
    who: str | None = AS_OPTION,
) -> None:
    """Apply an approved plan through the cloud's connector (resumes one that stopped midway)."""
    from permscope.workflows.remediation.apply import apply_plan, default_connectors

    settings = state(ctx).settings()
    report = apply_plan(
        engine_of(ctx),
        _actor(who),
        plan_id,
        connectors=default_connectors(settings),
        dry_run=dry_run,
        lease=timedelta(seconds=settings.remediation_lease_seconds),
    )
    _report(report, "apply")


@app.command("rollback")
@reports_errors
def rollback_command(
    ctx: typer.Context,
    plan_id: str = typer.Argument(..., help="The plan id"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the cloud calls instead of making them"),
    who: str | None = AS_OPTION,
) -> None:
    """Restore exactly what the plan changed, from the prior state each step recorded (safe to repeat)."""
    from permscope.workflows.remediation.apply import default_connectors, rollback_plan

    settings = state(ctx).settings()
    report = rollback_plan(
        engine_of(ctx),
        _actor(who),
        plan_id,
        connectors=default_connectors(settings),
        dry_run=dry_run,
        lease=timedelta(seconds=settings.remediation_lease_seconds),
    )
    _report(report, "rollback")
