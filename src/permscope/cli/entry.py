"""The `permscope` executable: `permscope simulate ...` and `permscope scan ...` start without loading the
other command groups, and end without tearing their heap down; `permscope --version` answers without any.

Every other command goes to the full Typer app (`permscope.cli.main.app`), whose commands import the
database, API and settings layers (SQLAlchemy, Alembic, FastAPI, pydantic) only when they run. The simulator
is often run in scripts and pipelines, one process per batch: even so, building every other command group
would add to its start-up.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    import typer


def run() -> None:
    """Dispatch to the simulator's own app for `permscope simulate ...`, else to the full app."""
    if sys.argv[1:] == ["--version"]:  # nothing else to parse: answer before loading any command
        print(version_text())
        return
    if len(sys.argv) > 1 and sys.argv[1] == "simulate":
        _simulate()
    if len(sys.argv) > 1 and sys.argv[1] == "scan":  # no database, no API: start without them too
        _scan()
    from permscope.cli.main import app

    app()


def version_text() -> str:
    """What `permscope --version` prints: the installed distribution's version."""
    from importlib.metadata import version

    return f"permscope {version('permscope')}"


def _simulate() -> NoReturn:
    """Run `permscope simulate` alone, and leave as `_run_alone` says (a batch keeps every policy it read)."""
    import typer

    from permscope.cli.help import PlainHelpGroup
    from permscope.cli.simulate import app as simulate_app

    only_simulate = typer.Typer(cls=PlainHelpGroup, add_completion=False, pretty_exceptions_show_locals=False)
    only_simulate.add_typer(simulate_app, name="simulate")
    _run_alone(only_simulate)


def _scan() -> NoReturn:
    """Run `permscope scan` alone, and leave as `_run_alone` says."""
    import typer

    from permscope.cli.help import PlainHelpGroup
    from permscope.cli.scan import scan

    only_scan = typer.Typer(cls=PlainHelpGroup, add_completion=False, pretty_exceptions_show_locals=False)
    only_scan.command("scan")(scan)
    only_scan.callback()(lambda: None)  # keeps `scan` a sub-command, as in the full app
    _run_alone(only_scan)


def _run_alone(command: typer.Typer) -> NoReturn:
    """Run one command's app with the cyclic garbage collector paused, then leave without tearing the heap down.

    Freeing the millions of objects of a large scan one by one took half a second after every output was
    written and flushed. The collector stays paused to the end: the commands pause it while they work (see
    core/gc_pause.py), and turning it back on before leaving made it sweep everything they had allocated (up
    to 3.5 s after a scan of 20,000 principals) in a process that ends the moment after.
    """
    import gc

    code: int = 0
    gc.disable()  # collector_paused leaves it off when it finds it off
    try:
        command(args=sys.argv[1:], prog_name="permscope")
    except SystemExit as leaving:
        if isinstance(leaving.code, str):
            sys.stderr.write(leaving.code + "\n")
            code = 1
        else:
            code = leaving.code or 0
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
