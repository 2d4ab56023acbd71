"""`permscope serve`: run the REST API (uvicorn), with the permissions-on-demand scheduler in-process."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from permscope.cli.output import engine_of, reports_errors, state
from permscope.core.errors import InputError

if TYPE_CHECKING:  # uvicorn, pydantic and SQLAlchemy are imported when a command serves, not for `--help`
    from sqlalchemy import Engine

    from permscope.settings import Settings


def run_server(engine: Engine, settings: Settings, host: str, port: int, *, scheduler: bool = True) -> None:
    """Serve the API and the web UI (at /ui) of `engine` on host:port until interrupted; the scheduler runs beside it unless disabled
    (here or with PERMSCOPE_SCHEDULER_ENABLED=false, e.g. when `permscope scheduler run --loop` runs elsewhere).
    Links are built from `settings.public_url` (default http://host:port); X-Forwarded-* headers are trusted
    only from `settings.forwarded_allow_ips`."""
    import uvicorn

    from permscope.presentation.reports.files import make_report_file
    from permscope.server import create_server  # imported late: commands that do not serve stay quick
    from permscope.workflows.scheduler import Scheduler, SchedulerThread

    settings = settings.model_copy(update={"host": host, "port": port})
    server = create_server(engine=engine, settings=settings)
    runner = schedules_runner = None
    if scheduler and settings.scheduler_enabled:
        work = Scheduler(engine, settings=settings, reports=make_report_file)  # it mails scheduled reports
        runner = SchedulerThread(
            work, settings.scheduler_interval_seconds, lambda: work.run_once(schedules=False)
        )
        runner.start()
        # the schedules' runs (collections, analyses) in a thread of their own: they never delay a revocation
        schedules_runner = SchedulerThread(work, settings.scheduler_interval_seconds, work.run_due_schedules)
        schedules_runner.start()
        for app in (server, server.state.api, server.state.web):  # the API's and the UI's routes wake it
            app.state.scheduler = runner
        typer.echo(
            f"scheduler: in-process, a pass every {settings.scheduler_interval_seconds:g} s (--no-scheduler stops it)"
        )
    typer.echo(
        f"permscope web UI on http://{host}:{port}/ and API on http://{host}:{port} "
        f"(OpenAPI at http://{host}:{port}/openapi.json); Ctrl+C stops it"
    )
    if settings.public_url:
        typer.echo(f"links point to {settings.public_url}")
    elif host in ("0.0.0.0", "::"):  # noqa: S104 - comparing, not binding
        typer.echo(
            f"links point to {settings.api_base_url()}: give --public-url (PERMSCOPE_PUBLIC_URL) for clients"
        )
    proxies = settings.forwarded_allow_ips
    try:
        uvicorn.run(
            server,
            host=host,
            port=port,
            log_level="info",
            proxy_headers=bool(proxies),
            forwarded_allow_ips=proxies or "",
        )
    finally:
        for thread in (runner, schedules_runner):
            if thread is not None:
                thread.stop()


@reports_errors
def serve(
    ctx: typer.Context,
    host: str | None = typer.Option(None, "--host", help="Address to listen on (default 127.0.0.1)"),
    port: int | None = typer.Option(None, "--port", help="Port to listen on (default 8000)"),
    public_url: str | None = typer.Option(
        None,
        "--public-url",
        help="URL clients reach the API at, for @odata links (default http://HOST:PORT; PERMSCOPE_PUBLIC_URL)",
    ),
    forwarded_allow_ips: str | None = typer.Option(
        None,
        "--forwarded-allow-ips",
        help="Proxies whose X-Forwarded-* headers are trusted, comma-separated (default none; "
        "PERMSCOPE_FORWARDED_ALLOW_IPS)",
    ),
    no_scheduler: bool = typer.Option(
        False, "--no-scheduler", help="Do not run the permissions-on-demand scheduler in this process"
    ),
) -> None:
    """Serve the web UI and the REST API on 127.0.0.1:8000 (or --host/--port, or PERMSCOPE_HOST/PERMSCOPE_PORT)."""
    from pydantic import ValidationError

    from permscope.settings import Settings

    settings = state(ctx).settings()
    overrides = {"public_url": public_url, "forwarded_allow_ips": forwarded_allow_ips}
    given = {name: value for name, value in overrides.items() if value is not None}
    if given:
        try:
            settings = Settings.model_validate({**settings.model_dump(), **given})
        except ValidationError as exc:
            problems = "; ".join(str(error["msg"]) for error in exc.errors())
            raise InputError("serve", problems) from None
    run_server(
        engine_of(ctx), settings, host or settings.host, port or settings.port, scheduler=not no_scheduler
    )
