"""`permscope serve`: run the REST API (uvicorn)."""

from __future__ import annotations

import typer
import uvicorn
from sqlalchemy import Engine

from permscope.cli.output import engine_of, reports_errors, state
from permscope.settings import Settings


def run_server(engine: Engine, settings: Settings, host: str, port: int) -> None:
    """Serve the API of `engine` on host:port until interrupted."""
    from permscope.api.app import create_app  # imported late: commands that do not serve stay quick

    api = create_app(engine=engine, settings=settings)
    typer.echo(
        f"permscope API on http://{host}:{port} (OpenAPI at http://{host}:{port}/openapi.json); Ctrl+C stops it"
    )
    uvicorn.run(api, host=host, port=port, log_level="info")


@reports_errors
def serve(
    ctx: typer.Context,
    host: str | None = typer.Option(None, "--host", help="Address to listen on (default 127.0.0.1)"),
    port: int | None = typer.Option(None, "--port", help="Port to listen on (default 8000)"),
) -> None:
    """Serve the REST API on 127.0.0.1:8000 (or --host/--port, or PERMSCOPE_HOST/PERMSCOPE_PORT)."""
    settings = state(ctx).settings()
    run_server(engine_of(ctx), settings, host or settings.host, port or settings.port)
