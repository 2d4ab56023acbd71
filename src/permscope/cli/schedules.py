"""`permscope schedules`: collection, analysis and mailed reports on a schedule (cron or interval, with jitter),
run by the scheduler (`permscope serve`, or `permscope schedules run-due`); and `permscope pci history`."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime, timedelta
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
    stdout,
)
from permscope.core.access import ANY
from permscope.core.errors import InputError
from permscope.core.requests import parse_duration
from permscope.core.schedules import ScheduleTask

if TYPE_CHECKING:
    from permscope.core.schedules import Timing

app = typer.Typer(
    help="Schedules: collect and analyze authorization systems, or mail reports, on a cron expression or an interval.",
    no_args_is_help=True,
)
pci_app = typer.Typer(help="The Permission Creep Index over time.", no_args_is_help=True)

COLUMNS = [
    Column("name", "Name", word=True),
    Column("task", "Task", word=True),
    Column("scope", "Scope"),
    Column("when", "When"),
    Column("source", "Source / report", wide=True),
    Column("enabled", "Enabled", word=True),
    Column("next_run_at", "Next run"),
    Column("last_run_at", "Last run"),
    Column("last_status", "Last status", word=True),
    Column("consecutive_failures", "Failures", word=True),
    Column("last_error", "Last error", text=True),
]


def _now() -> datetime:
    return datetime.now(UTC)


def _duration(text: str | None, option: str) -> timedelta | None:
    if text is None:
        return None
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise InputError(option, str(exc)) from None


def _timing(cron: str | None, every: str | None, jitter: str | None) -> Timing:
    from permscope.core.schedules import Timing

    return Timing(
        cron=cron,
        interval=_duration(every, "--every"),
        jitter=_duration(jitter, "--jitter") or timedelta(0),
    )


def _options(values: list[str] | None) -> dict[str, Any]:
    """`--option key=value` pairs (`a,b` for a list); the names are the cloud's collection options."""
    found: dict[str, Any] = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError("--option", f"{item!r} is not KEY=VALUE (e.g. role_name=PermscopeCollector)")
        found[key.strip().replace("-", "_")] = [v for v in value.split(",") if v] if "," in value else value
    return found


@app.command("add")
@reports_errors
def add_command(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="A name for the schedule"),
    task: ScheduleTask = typer.Option(
        ScheduleTask.COLLECT,
        "--task",
        help="collect (then analyze), analyze, report (mail a report), or autopilot (every accepted autopilot rule)",
    ),
    system: str = typer.Option(ANY, "--system", help="The authorizationSystemId; * (default) for every one"),
    cloud: str = typer.Option(ANY, "--cloud", help="aws, azure or gcp; * (default) for every cloud"),
    cron: str | None = typer.Option(None, "--cron", help="A cron expression in UTC, e.g. '0 3 * * *'"),
    every: str | None = typer.Option(None, "--every", help="An interval instead: ISO 8601, e.g. PT15M, P1D"),
    jitter: str | None = typer.Option(
        None, "--jitter", help="Start each run up to this much later, e.g. PT30S"
    ),
    source: str = typer.Option(
        "auto", "--source", help="Collections: auto (where each system was last read), files, live or demo"
    ),
    paths: list[str] | None = typer.Option(None, "--from", help="--source files: export files or folders"),
    options: list[str] | None = typer.Option(
        None,
        "--option",
        help="--source live: a collection option KEY=VALUE (e.g. role_name=Reader); repeatable",
    ),
    folder: str | None = typer.Option(None, "--folder", help="--source demo: the demo estate's folder"),
    analyze: bool = typer.Option(
        True, "--analyze/--no-analyze", help="Collections: analyze what was collected"
    ),
    report: str | None = typer.Option(
        None, "--report", help="--task report: analytics, pci, entitlements, credentials or external"
    ),
    report_format: str | None = typer.Option(
        None, "--report-format", help="--task report: pdf (default), xlsx, csv or ocsf (findings for a SIEM)"
    ),
    channel: str | None = typer.Option(
        None,
        "--channel",
        help="--task report: the e-mail alert channel to send through (its SMTP server and sender); "
        "default: the only one",
    ),
    to: list[str] | None = typer.Option(
        None, "--to", help="--task report: a recipient's address (default: the channel's); repeatable"
    ),
    fmt: OutputFormat = typer.Option(OutputFormat.TABLE, "--format", "-f", help="table, json or csv"),
) -> None:
    """Add a schedule (enabled; its first run at the first slot after now). A report schedule mails a report
    (`permscope report`) through an e-mail alert channel (`permscope alerts channels add-email`)."""
    from permscope.workflows.schedules import NewSchedule, add_schedule

    new = NewSchedule(
        name=name,
        task=task,
        timing=_timing(cron, every, jitter),
        cloud=cloud,
        system_id=system,
        source=source,
        paths=tuple(paths or ()),
        live=_options(options),
        analyze=analyze,
        folder=folder,
        report=report,
        report_format=report_format,
        channel=channel,
        recipients=tuple(to or ()),
    )
    view = add_schedule(engine_of(ctx), new, created_by=getpass.getuser(), now=_now())
    _show(fmt, [view])


def _show(fmt: OutputFormat, views: list[Any]) -> None:
    if fmt is OutputFormat.JSON:
        print_json([view.to_dict() for view in views])
        return

    def moment(value: datetime | None) -> str:
        return value.isoformat(timespec="seconds") if value is not None else ""

    records = [
        {key: getattr(view, key) for key in ("name", "task", "scope", "when", "source", "enabled")}
        | {"next_run_at": moment(view.next_run_at), "last_run_at": moment(view.last_run_at)}
        | {
            "last_status": view.last_status or "",
            "consecutive_failures": view.consecutive_failures,
            "last_error": view.last_error,
        }
        for view in views
    ]
    render(
        fmt, records, COLUMNS, title="Schedules", empty="no schedules: add one with `permscope schedules add`"
    )


@app.command("list")
@reports_errors
def list_command(
    ctx: typer.Context,
    fmt: OutputFormat = typer.Option(OutputFormat.TABLE, "--format", "-f", help="table, json or csv"),
) -> None:
    """Every schedule: when it runs next, how its last run went, how many attempts failed in a row."""
    from permscope.workflows.schedules import list_schedules

    _show(fmt, list_schedules(engine_of(ctx)))


@app.command("runs")
@reports_errors
def runs_command(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The schedule's name"),
    fmt: OutputFormat = typer.Option(OutputFormat.TABLE, "--format", "-f", help="table, json or csv"),
) -> None:
    """A schedule's latest runs: the slot, status, attempts and error of each."""
    from permscope.workflows.schedules import schedule_runs

    records = [
        {
            "slot": run.slot,
            "due": run.due_at,
            "status": run.status,
            "attempts": run.attempts,
            "finished": run.finished_at,
            "done": ", ".join(run.done),
            "delivery": run.delivery or "",
            "error": run.error,
        }
        for run in schedule_runs(engine_of(ctx), name)
    ]
    columns = [Column("slot", "Slot"), Column("status", "Status", word=True), Column("attempts", "Attempts"),
               Column("finished", "Finished"), Column("done", "Done", wide=True), Column("delivery", "Mail", text=True),
               Column("error", "Error", text=True)]  # fmt: skip
    render(fmt, records, columns, title=f"Runs of {name}", empty="no runs yet")


def _toggle(ctx: typer.Context, name: str, enabled: bool) -> None:
    from permscope.workflows.schedules import set_enabled

    view = set_enabled(engine_of(ctx), name, enabled, now=_now())
    when = f"; next run {view.next_run_at.isoformat(timespec='seconds')}" if view.next_run_at else ""
    typer.echo(f"schedule {view.name} {'enabled' if enabled else 'disabled'}{when}")


@app.command("enable")
@reports_errors
def enable_command(ctx: typer.Context, name: str = typer.Argument(..., help="The schedule's name")) -> None:
    """Enable a schedule (its next slot counted from now)."""
    _toggle(ctx, name, True)


@app.command("disable")
@reports_errors
def disable_command(ctx: typer.Context, name: str = typer.Argument(..., help="The schedule's name")) -> None:
    """Disable a schedule (a pending run is canceled; a run in progress finishes)."""
    _toggle(ctx, name, False)


@app.command("remove")
@reports_errors
def remove_command(ctx: typer.Context, name: str = typer.Argument(..., help="The schedule's name")) -> None:
    """Remove a schedule and the record of its runs."""
    from permscope.workflows.schedules import remove_schedule

    remove_schedule(engine_of(ctx), name)
    typer.echo(f"schedule {name} removed")


@app.command("run-due")
@reports_errors
def run_due_command(ctx: typer.Context) -> None:
    """Run the schedules whose time has come, once (the scheduler of `permscope serve` does it continuously;
    `permscope scheduler run --loop` too); grants and revocations are left to the scheduler. Exits 1 when a run
    failed."""
    from permscope.presentation.reports.files import make_report_file
    from permscope.workflows.scheduler import Scheduler

    scheduler = Scheduler(engine_of(ctx), settings=state(ctx).settings(), reports=make_report_file)
    report = scheduler.run_due_schedules()
    for line in report.schedule_runs:
        typer.echo(line)
    for error in report.schedule_errors:
        typer.echo(f"FAILED   {error}", err=True)
    if not report.schedule_runs:
        planned = f"{report.planned} run(s) planned, to start after their jitter" if report.planned else ""
        typer.echo(planned or "no schedule was due", err=True)
    if report.schedule_errors:
        raise typer.Exit(1)


@pci_app.command("history")
@reports_errors
def history_command(
    ctx: typer.Context,
    system: str = typer.Option(..., "--system", help="The authorizationSystemId"),
    identity: str | None = typer.Option(
        None, "--identity", help="An identity's external id (ARN, id, email)"
    ),
    days: int = typer.Option(30, "--days", min=1, help="How many days back, today included"),
    cloud: str | None = typer.Option(
        None, "--cloud", help="aws, azure or gcp, when the id exists in several"
    ),
    fmt: OutputFormat = typer.Option(OutputFormat.TABLE, "--format", "-f", help="table, json or csv"),
) -> None:
    """A system's PCI per day analyzed (with its open findings), or one identity's PCI per day."""
    from permscope.workflows.pci_history import pci_history

    history = pci_history(engine_of(ctx), system, now=_now(), days=days, cloud=cloud, identity=identity)
    if fmt is OutputFormat.JSON:
        print_json(history.to_dict())
        return
    open_by_day: dict[Any, int] = {}
    for found in history.findings:
        open_by_day[found.day] = open_by_day.get(found.day, 0) + found.count
    records = [
        {"day": day.isoformat(), "pci": score, "open_findings": open_by_day.get(day)}
        for day, score in history.points
    ]
    columns = [Column("day", "Day", word=True), Column("pci", "PCI", word=True)]
    if identity is None:
        columns.append(Column("open_findings", "Open findings", word=True))
    subject = (
        identity if identity is not None else f"{history.cloud} {history.system_id} ({history.system_name})"
    )
    title = f"PCI of {subject}, {history.since.isoformat()} to {history.until.isoformat()}"
    if fmt is OutputFormat.TABLE and not records:
        stdout().print(f"{title}: no analysis recorded a PCI in this window", highlight=False)
        return
    render(fmt, records, columns, title=title)
