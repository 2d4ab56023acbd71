"""`permscope serve`: run the REST API (uvicorn), with the permissions-on-demand scheduler in-process."""

from __future__ import annotations

import typer
import uvicorn
from sqlalchemy import Engine

from permscope.cli.output import engine_of, reports_errors, state
from permscope.settings import Settings


def run_server(engine: Engine, settings: Settings, host: str, port: int, *, scheduler: bool = True) -> None:
    """Serve the API of `engine` on host:port until interrupted; the scheduler runs beside it unless disabled
    (here or with PERMSCOPE_SCHEDULER_ENABLED=false, e.g. when `permscope scheduler run --loop` runs elsewhere)."""
    from permscope.api.app import create_app  # imported late: commands that do not serve stay quick
    from permscope.workflows.scheduler import Scheduler, SchedulerThread

    api = create_app(engine=engine, settings=settings)
    runner = None
    if scheduler and settings.scheduler_enabled:
        runner = SchedulerThread(Scheduler(engine, settings=settings), settings.scheduler_interval_seconds)
        api.state.scheduler = runner.start()
        typer.echo(
            f"scheduler: in-process, a pass every {settings.scheduler_interval_seconds:g} s (--no-scheduler stops it)"
        )
    typer.echo(
        f"permscope API on http://{host}:{port} (OpenAPI at http://{host}:{port}/openapi.json); Ctrl+C stops it"
    )
    try:
        uvicorn.run(api, host=host, port=port, log_level="info")
    finally:
        if runner is not None:
            runner.stop()


@reports_errors
def serve(
    ctx: typer.Context,
    host: str | None = typer.Option(None, "--host", help="Address to listen on (default 127.0.0.1)"),
    port: int | None = typer.Option(None, "--port", help="Port to listen on (default 8000)"),
    no_scheduler: bool = typer.Option(
        False, "--no-scheduler", help="Do not run the permissions-on-demand scheduler in this process"
    ),
) -> None:
    """Serve the REST API on 127.0.0.1:8000 (or --host/--port, or PERMSCOPE_HOST/PERMSCOPE_PORT)."""
    settings = state(ctx).settings()
    run_server(
        engine_of(ctx), settings, host or settings.host, port or settings.port, scheduler=not no_scheduler
    )
