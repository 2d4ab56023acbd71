"""`permscope scheduler`: run the permissions-on-demand scheduler (one pass, or in a loop), preview what it
would do (dry run: the AWS calls are printed, not made), and show its pending work."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import typer

from permscope.cli.output import OutputFormat, engine_of, render, reports_errors, state

if TYPE_CHECKING:  # the settings and the workflows (pydantic, SQLAlchemy) are imported by the commands
    from sqlalchemy import Engine

    from permscope.settings import Settings
    from permscope.workflows.scheduler import TickReport

app = typer.Typer(help="The scheduler that grants at start time and revokes at expiry.", no_args_is_help=True)


def _settings(ctx: typer.Context, endpoint_url: str | None, grant_role: str | None) -> Settings:
    settings = state(ctx).settings()
    update = {k: v for k, v in {"aws_endpoint_url": endpoint_url, "aws_grant_role": grant_role}.items() if v}
    return settings.model_copy(update=update) if update else settings


def _print(report: TickReport) -> None:
    for request_id in report.granted:
        typer.echo(f"granted  {request_id}")
    for request_id in report.revoked:
        typer.echo(f"revoked  {request_id}")
    for failure in report.failed:
        typer.echo(f"FAILED   {failure}", err=True)
    for line in report.schedule_runs:
        typer.echo(f"schedule {line}")
    for error in report.schedule_errors:
        typer.echo(f"FAILED   schedule {error}", err=True)
    if report.notifications_sent or report.notification_failures:
        typer.echo(f"webhook  {report.notifications_sent} sent, {report.notification_failures} failed")
    if report.alerts_made or report.alerts_sent or report.alert_failures:
        typer.echo(
            f"alerts   {report.alerts_made} made, {report.alerts_sent} delivered, {report.alert_failures} failed"
        )


def _print_next(engine: Engine) -> None:
    """Say that nothing was due, and when the next job is (on stderr: stdout stays the report)."""
    from permscope.workflows.requests import scheduler_jobs

    upcoming = scheduler_jobs(engine)
    if not upcoming:
        typer.echo("nothing due; no pending jobs", err=True)
        return
    job, request = upcoming[0]
    due = job.due_at.isoformat(timespec="seconds")
    typer.echo(f"nothing due; next: {job.kind} of {request.request_id} at {due}", err=True)


ENDPOINT_OPTION = typer.Option(
    None, "--endpoint-url", help="AWS endpoint (e.g. a moto server); PERMSCOPE_AWS_ENDPOINT_URL"
)
ROLE_OPTION = typer.Option(
    None, "--grant-role", help="Role to assume per account, {account_id} replaced; PERMSCOPE_AWS_GRANT_ROLE"
)


@app.command("run")
@reports_errors
def run_command(
    ctx: typer.Context,
    loop: bool = typer.Option(False, "--loop", help="Keep running (a pass every --interval seconds)"),
    interval: float | None = typer.Option(None, "--interval", help="Seconds between passes with --loop"),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Print the AWS calls due jobs would make; change nothing"
    ),
    endpoint_url: str | None = ENDPOINT_OPTION,
    grant_role: str | None = ROLE_OPTION,
) -> None:
    """Run due grants, revocations and webhook messages once (or forever with --loop)."""
    from permscope.presentation.reports.files import make_report_file
    from permscope.workflows.request_clouds import default_connectors
    from permscope.workflows.scheduler import Scheduler, preview_due, utcnow

    settings = _settings(ctx, endpoint_url, grant_role)
    engine = engine_of(ctx)
    if dry_run:
        connectors = default_connectors(settings, dry_run=True, echo=typer.echo)
        shown = preview_due(engine, connectors, utcnow(), typer.echo)
        typer.echo(f"# dry run: {shown} due job(s); nothing was changed", err=True)
        return
    scheduler = Scheduler(engine, settings=settings, reports=make_report_file)
    pause = interval if interval is not None else settings.scheduler_interval_seconds
    while True:
        report = scheduler.run_once()
        _print(report)
        if report.deferred:
            typer.echo(f"waiting  {report.deferred} job(s) wait for another request's cloud call", err=True)
        elif not loop and not report.busy:
            _print_next(engine)
        if (report.failed or report.schedule_errors) and not loop:
            raise typer.Exit(1)
        if not loop:
            return
        time.sleep(pause)


@app.command("status")
@reports_errors
def status_command(
    ctx: typer.Context,
    all_jobs: bool = typer.Option(False, "--all", help="Finished jobs too"),
    fmt: OutputFormat = typer.Option(OutputFormat.TABLE, "--format", "-f", help="table, json or csv"),
) -> None:
    """The scheduler's jobs: what is due when, attempts, the last error."""
    from permscope.workflows.requests import scheduler_jobs

    records = [
        {
            "job": job.id,
            "kind": job.kind,
            "status": job.status,
            "due": job.due_at,
            "attempts": job.attempts,
            "request": request.request_id,
            "grant": request.occurrence_status,
            "error": job.last_error,
        }
        for job, request in scheduler_jobs(engine_of(ctx), unfinished_only=not all_jobs)
    ]
    columns = [
        (key, key.title())
        for key in ("job", "kind", "status", "due", "attempts", "request", "grant", "error")
    ]
    render(fmt, records, columns, title="Scheduler jobs", empty="no pending scheduler jobs")
