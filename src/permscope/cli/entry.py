"""The `permscope` executable: `permscope simulate ...` and `permscope scan ...` start without loading the
other command groups.

Every other command goes to the full Typer app (`permscope.cli.main.app`). The simulator is often run in
scripts and pipelines, one process per batch, and needs neither the database nor the API: loading the other
groups (SQLAlchemy, Alembic, FastAPI, boto3 helpers) would cost it more than a second of start-up.
"""

from __future__ import annotations

import os
import sys
from typing import NoReturn


def run() -> None:
    """Dispatch to the simulator's own app for `permscope simulate ...`, else to the full app."""
    if len(sys.argv) > 1 and sys.argv[1] == "simulate":
        import typer

        from permscope.cli.simulate import app as simulate_app

        only_simulate = typer.Typer(add_completion=False, pretty_exceptions_show_locals=False)
        only_simulate.add_typer(simulate_app, name="simulate")
        only_simulate(args=sys.argv[1:], prog_name="permscope")
        return
    if len(sys.argv) > 1 and sys.argv[1] == "scan":  # no database, no API: start without them too
        _scan()
    from permscope.cli.main import app

    app()


def _scan() -> NoReturn:
    """Run `permscope scan` alone, then leave without tearing the heap down: freeing the millions of objects
    of a large scan one by one took half a second after every output was written and flushed.

    The cyclic garbage collector stays paused to the end: the command pauses it while it works, and turning
    it back on before leaving made it sweep everything the scan had allocated (up to 3.5 s on 20,000
    principals) for a process that ends the moment after.
    """
    import gc

    import typer

    from permscope.cli.scan import scan

    only_scan = typer.Typer(add_completion=False, pretty_exceptions_show_locals=False)
    only_scan.command("scan")(scan)
    only_scan.callback()(lambda: None)  # keeps `scan` a sub-command, as in the full app
    code: int = 0
    gc.disable()  # collector_paused (cli/scan.py) leaves it off when it finds it off
    try:
        only_scan(args=sys.argv[1:], prog_name="permscope")
    except SystemExit as leaving:
        if isinstance(leaving.code, str):
            sys.stderr.write(leaving.code + "\n")
            code = 1
        else:
            code = leaving.code or 0
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
