"""`permscope report KIND`: a monitoring report of one or more systems as CSV, XLSX, PDF or OCSF JSON lines."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import typer

from permscope.cli.output import engine_of, reports_errors

KINDS_HELP = "analytics, pci, entitlements, credentials or external"


@reports_errors
def report_command(
    ctx: typer.Context,
    kind: str = typer.Argument(..., help=f"The report: {KINDS_HELP}", metavar="KIND"),
    system: list[str] = typer.Option(
        ..., "--system", "-s", help="An authorization system id (repeat for several), or 'all'", metavar="ID"
    ),
    fmt: str = typer.Option(
        "csv", "--format", "-f", help="csv, xlsx, pdf or ocsf (findings as OCSF JSON lines)"
    ),
    output: Path | None = typer.Option(
        None,
        "--output",
        "-o",
        help="File to write ('-': standard output). Default: CSV and OCSF to standard output, XLSX and PDF to "
        "a file named after the report in the current folder",
        dir_okay=False,
    ),
    cloud: str | None = typer.Option(None, "--cloud", help="aws, azure or gcp, when an id exists in several"),
) -> None:
    """Write a report: the Permissions Analytics Report (analytics), the Permission Creep Index per identity
    with its history (pci), entitlements and usage per identity (entitlements), access keys and credentials
    (credentials), or cross-account and external access (external)."""
    from permscope.core.access import Systems
    from permscope.core.errors import InputError
    from permscope.core.ids import Cloud
    from permscope.presentation.reports.files import STREAMED, prepare_report, report_chunks, write_report
    from permscope.workflows.reports import parse_format, parse_kind

    found_kind = parse_kind(kind)
    found_format = parse_format(fmt, found_kind)
    try:
        found_cloud = Cloud.parse(cloud) if cloud else None
    except ValueError:
        raise InputError("--cloud", f"{cloud!r} is not a cloud; use aws, azure or gcp") from None
    prepared = prepare_report(
        engine_of(ctx), found_kind, found_format, system, within=Systems(everything=True), cloud=found_cloud
    )
    to_stdout = output == Path("-") or (output is None and found_format in STREAMED)
    if to_stdout:
        if found_format in STREAMED:
            for chunk in report_chunks(prepared):
                sys.stdout.buffer.write(chunk)
        else:  # XLSX and PDF are written whole: through a temporary file
            with tempfile.TemporaryDirectory(prefix="permscope-report-") as folder:
                path = Path(folder) / prepared.filename
                write_report(prepared, path)
                sys.stdout.buffer.write(path.read_bytes())
        sys.stdout.buffer.flush()
        return
    path = output if output is not None else Path.cwd() / prepared.filename
    write_report(prepared, path)
    typer.echo(f"wrote {path} ({path.stat().st_size:,} bytes)", err=True)
