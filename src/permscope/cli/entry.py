"""The `permscope` executable: `permscope simulate ...` starts without loading the other command groups.

Every other command goes to the full Typer app (`permscope.cli.main.app`). The simulator is often run in
scripts and pipelines, one process per batch, and needs neither the database nor the API: loading the other
groups (SQLAlchemy, Alembic, FastAPI, boto3 helpers) would cost it more than a second of start-up.
"""

from __future__ import annotations

import sys


def run() -> None:
    """Dispatch to the simulator's own app for `permscope simulate ...`, else to the full app."""
    if len(sys.argv) > 1 and sys.argv[1] == "simulate":
        import typer

        from permscope.cli.simulate import app as simulate_app

        only_simulate = typer.Typer(add_completion=False, pretty_exceptions_show_locals=False)
        only_simulate.add_typer(simulate_app, name="simulate")
        only_simulate(args=sys.argv[1:], prog_name="permscope")
        return
    from permscope.cli.main import app

    app()
