"""`permscope db`: the database schema (Alembic revisions, applied programmatically)."""

from __future__ import annotations

import typer

from permscope.cli.output import reports_errors, state
from permscope.core.errors import ConfigurationError

# permscope.store.engine (SQLAlchemy, Alembic) is imported where it is used: `permscope --help` needs none of it

app = typer.Typer(help="Database schema: show and upgrade the revision.", no_args_is_help=True)


def _revisions(ctx: typer.Context) -> tuple[str, str | None, str]:
    from permscope.store.engine import current_revision, head_revision, make_engine

    url = state(ctx).settings().database_url
    engine = make_engine(url)
    try:
        return url, current_revision(engine), head_revision()
    except Exception as exc:  # the driver's errors differ per backend; all mean the same to the user
        raise ConfigurationError(f"cannot open the database: {exc}") from exc
    finally:
        engine.dispose()


@app.command("upgrade")
@reports_errors
def upgrade_command(ctx: typer.Context) -> None:
    """Bring the schema to the newest revision (an empty database is created)."""
    from permscope.store.engine import current_revision, make_engine, upgrade

    url, before, head = _revisions(ctx)
    engine = make_engine(url)
    try:
        upgrade(engine)
        after = current_revision(engine)
    finally:
        engine.dispose()
    typer.echo(f"revision before: {before or '(empty database)'}")
    typer.echo(f"revision after:  {after}")
    typer.echo("already up to date" if before == head else "upgraded")


@app.command("current")
@reports_errors
def current_command(ctx: typer.Context) -> None:
    """Show the database's schema revision and the newest one this version knows."""
    _url, current, head = _revisions(ctx)
    typer.echo(f"current: {current or '(empty database)'}")
    typer.echo(f"head:    {head}")
    if current != head:
        typer.echo(
            "the database needs an upgrade: run `permscope db upgrade` (other commands do it themselves)"
        )
