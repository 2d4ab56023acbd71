"""`permscope remediation autopilot`: rules that remove what matched identities did not use for N days, once
someone other than their author accepted them: add, accept, disable, list, show, run (or --dry-run) and the runs.
The command line has the database, so it acts as an administrator named by --as."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import typer

from permscope.cli.output import (
    Column,
    OutputFormat,
    engine_of,
    fail,
    print_json,
    render,
    reports_errors,
    state,
    stdout,
)
from permscope.cli.remediation import AS_OPTION, _actor

if TYPE_CHECKING:
    from permscope.store.tables import AutopilotRuleRow, AutopilotRunRow

app = typer.Typer(
    help="Autopilot rules: for matched identities, remove what was unused for N days once an approver accepted "
    "the rule; every change is recorded, alerted (remediation.autoApplied) and can be rolled back.",
    no_args_is_help=True,
)
RULE_COLUMNS = [
    Column("name", "Rule"),
    Column("systems", "Systems", text=True),
    Column("identities", "Identities", text=True),
    Column("unusedDays", "N days", word=True),
    Column("generate", "Generate", word=True),
    Column("state", "State", word=True),
    Column("createdBy", "Author"),
    Column("acceptedBy", "Accepted by"),
    Column("id", "Id", wide=True),
]
RUN_COLUMNS = [
    Column("started", "Started"),
    Column("rule", "Rule"),
    Column("runBy", "Run by"),
    Column("dryRun", "Dry run", word=True),
    Column("status", "Status", word=True),
    Column("made", "Made", word=True),
    Column("applied", "Applied", word=True),
    Column("skipped", "Skipped", word=True),
    Column("failed", "Failed", word=True),
    Column("id", "Run", wide=True),
]
ITEM_COLUMNS = [
    Column("systemId", "System", word=True),
    Column("identity", "Identity", name=True),
    Column("outcome", "Outcome", word=True),
    Column("planId", "Plan"),
    Column("reason", "Reason", text=True),
]


def _print_rule(rule: AutopilotRuleRow, fmt: OutputFormat) -> None:
    from permscope.presentation.autopilot import rule_row, rule_to_wire

    if fmt is OutputFormat.JSON:
        print_json(rule_to_wire(rule))
        return
    render(fmt, [rule_row(rule)], RULE_COLUMNS)


def _print_run(run: AutopilotRunRow, rule: AutopilotRuleRow, fmt: OutputFormat) -> None:
    from permscope.presentation.autopilot import run_to_wire

    if fmt is OutputFormat.JSON:
        print_json(run_to_wire(run, rule))
        return
    render(fmt, list(run.items), ITEM_COLUMNS, empty="no system or identity matched")
    stdout().print(
        f"Run {run.run_id} of {rule.name}{' (dry run)' if run.dry_run else ''}: {run.status}; "
        f"{run.made} plan(s) made, {run.applied} applied, {run.skipped} skipped, {run.failed} failed",
        markup=False,
    )
    if run.error:
        fail(f"the run stopped: {run.error}")
    if run.failed:
        raise typer.Exit(1)


@app.command("add")
@reports_errors
def add_command(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="A name for the rule"),
    systems: list[str] = typer.Option(
        ..., "--system", help="CLOUD:SYSTEM_ID, or CLOUD:* for every system of the cloud (repeat)"
    ),
    identities: list[str] = typer.Option(
        ...,
        "--identity",
        help="A glob over identity ids (ARN, object id, member) or names (repeat); * for all",
    ),
    kinds: list[str] = typer.Option(
        [], "--kind", help="Only identities of this kind: user, role, ... (repeat)"
    ),
    tag: str | None = typer.Option(None, "--tag", help="Only identities carrying this tag: KEY or KEY=VALUE"),
    unused_days: int = typer.Option(90, "--unused-days", help="N: remove what was unused for N days"),
    generate: bool = typer.Option(
        False,
        "--generate/--no-generate",
        help="Allow a generated least-privilege replacement (default: removals only)",
    ),
    who: str | None = AS_OPTION,
    fmt: OutputFormat = typer.Option(OutputFormat.TABLE, "--format", "-f", help="table or json"),
) -> None:
    """Write a rule (proposed: it runs only once someone other than its author accepted it)."""
    from permscope.core.autopilot import check_spec
    from permscope.workflows.remediation.autopilot_rules import add_rule

    spec = check_spec(name, systems, identities, kinds, tag, unused_days, generate)
    rule = add_rule(engine_of(ctx), _actor(who), spec, settings=state(ctx).settings())
    _print_rule(rule, fmt)


@app.command("accept")
@reports_errors
def accept_command(
    ctx: typer.Context,
    rule: str = typer.Argument(..., help="The rule's name or id"),
    who: str | None = AS_OPTION,
) -> None:
    """Accept a proposed rule (an approver or administrator other than its author)."""
    from permscope.workflows.remediation.autopilot_rules import accept_rule

    found = accept_rule(engine_of(ctx), _actor(who), rule)
    stdout().print(f"Autopilot rule {found.name} accepted by {found.accepted_by}", markup=False)


@app.command("disable")
@reports_errors
def disable_command(
    ctx: typer.Context,
    rule: str = typer.Argument(..., help="The rule's name or id"),
    who: str | None = AS_OPTION,
) -> None:
    """Disable a rule: it never runs again (the plans it applied stay; roll each back if needed)."""
    from permscope.workflows.remediation.autopilot_rules import disable_rule

    found = disable_rule(engine_of(ctx), _actor(who), rule)
    stdout().print(f"Autopilot rule {found.name} disabled by {found.disabled_by}", markup=False)


@app.command("list")
@reports_errors
def list_command(
    ctx: typer.Context,
    fmt: OutputFormat = typer.Option(OutputFormat.TABLE, "--format", "-f", help="table, json or csv"),
) -> None:
    """Every autopilot rule, oldest first."""
    from permscope.presentation.autopilot import rule_row, rule_to_wire
    from permscope.workflows.remediation.autopilot_rules import list_rules

    found = list_rules(engine_of(ctx), _actor(None))
    if fmt is OutputFormat.JSON:
        print_json([rule_to_wire(rule) for rule in found])
        return
    render(fmt, [rule_row(rule) for rule in found], RULE_COLUMNS, empty="no autopilot rules")


@app.command("show")
@reports_errors
def show_command(
    ctx: typer.Context,
    rule: str = typer.Argument(..., help="The rule's name or id"),
    fmt: OutputFormat = typer.Option(OutputFormat.TABLE, "--format", "-f", help="table or json"),
) -> None:
    """One rule."""
    from permscope.workflows.remediation.autopilot_rules import get_rule

    _print_rule(get_rule(engine_of(ctx), _actor(None), rule), fmt)


@app.command("run")
@reports_errors
def run_command(
    ctx: typer.Context,
    rule: str = typer.Argument(..., help="The rule's name or id"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Make the plans as drafts; apply nothing"),
    who: str | None = AS_OPTION,
    fmt: OutputFormat = typer.Option(OutputFormat.TABLE, "--format", "-f", help="table or json"),
) -> None:
    """Run an accepted rule now: plan, approve (as its acceptor) and apply for each matched identity. Exit 1
    when the rule is not accepted or a plan's apply failed."""
    from permscope.workflows.remediation.apply import default_connectors
    from permscope.workflows.remediation.autopilot import RunContext, run_rule
    from permscope.workflows.remediation.autopilot_rules import get_rule

    settings = state(ctx).settings()
    engine, actor = engine_of(ctx), _actor(who)
    context = RunContext(
        settings, default_connectors(settings), lambda: datetime.now(UTC), dry_run, actor.who
    )
    run = run_rule(engine, actor, rule, context)
    _print_run(run, get_rule(engine, actor, rule), fmt)


@app.command("runs")
@reports_errors
def runs_command(
    ctx: typer.Context,
    rule: str | None = typer.Argument(None, help="One rule's name or id (default: every rule)"),
    fmt: OutputFormat = typer.Option(OutputFormat.TABLE, "--format", "-f", help="table, json or csv"),
) -> None:
    """The runs of the rules, newest first: what each made, applied, skipped and failed."""
    from permscope.presentation.autopilot import run_row, run_to_wire
    from permscope.workflows.remediation.autopilot_rules import list_runs

    found = list_runs(engine_of(ctx), _actor(None), rule)
    if fmt is OutputFormat.JSON:
        print_json([run_to_wire(view.run, view.rule) for view in found])
        return
    render(fmt, [run_row(view.run, view.rule) for view in found], RUN_COLUMNS, empty="no autopilot runs")
