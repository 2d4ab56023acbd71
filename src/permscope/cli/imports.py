"""`permscope import`: load exported files (AWS `get-account-authorization-details`) into the store."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from permscope.cli.output import OutputFormat, engine_of, print_json, render, reports_errors, stderr

app = typer.Typer(help="Import exported files into the store.", no_args_is_help=True)

COUNT_COLUMNS = (
    ("users", "Users"),
    ("groups", "Groups"),
    ("roles", "Roles"),
    ("policies", "Policies"),
    ("inline_policies", "Inline"),
    ("attachments", "Attachments"),
    ("memberships", "Memberships"),
)


@contextmanager
def _byte_progress() -> Iterator[Callable[[int, int], None] | None]:
    """A Rich progress bar over the bytes read, only when standard error is a terminal."""
    if not sys.stderr.isatty():
        yield None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=stderr(), transient=True) as progress:
        task = progress.add_task("reading", total=None)

        def advance(done: int, total: int) -> None:
            description = (
                "reading" if done < total else "importing"
            )  # then transform and write: no steps to show
            progress.update(task, completed=done, total=total, description=description)

        yield advance


def _report_record(report: Any) -> dict[str, Any]:
    return {
        "cloud": str(report.cloud),
        "system_id": report.system_id,
        "name": report.name,
        "run_id": report.run_id,
        "counts": dict(report.counts),
        "changed": report.changed,
        "warnings": list(report.warnings),
    }


@app.command("aws")
@reports_errors
def import_aws(
    ctx: typer.Context,
    files: list[Path] = typer.Argument(
        ...,
        help="AWS CLI outputs (.json, .json.gz, the credential report's .csv), kind recognised by content: "
        "get-account-authorization-details (required per account), credential report, access keys, identity "
        "providers, Access Advisor, organizations, Identity Center; and resource folders",
    ),
    account_name: str | None = typer.Option(None, "--account-name", help="Name to give the account"),
    fmt: OutputFormat = typer.Option(OutputFormat.TABLE, "--format", "-f", help="table, json or csv"),
) -> None:
    """Import AWS CLI outputs (see the README): one run per account they hold; a re-import is idempotent."""
    from permscope.workflows.collection import import_aws_files  # imported late: it loads the AWS machinery

    engine = engine_of(ctx)
    with _byte_progress() as progress:
        reports = import_aws_files(engine, files, account_name=account_name, progress=progress)
    records = [_report_record(report) for report in reports]
    if fmt is OutputFormat.JSON:
        print_json(records)
        return
    rows = [
        {
            "system_id": record["system_id"],
            "name": record["name"],
            **record["counts"],
            "result": "changed" if record["changed"] else "unchanged",
            "warnings": len(record["warnings"]),
        }
        for record in records
    ]
    columns = [
        ("system_id", "Account"),
        ("name", "Name"),
        *COUNT_COLUMNS,
        ("result", "Result"),
        ("warnings", "Warnings"),
    ]
    render(fmt, rows, columns, title="Imported", empty="the files held no account")
    console = stderr()
    for record in records:
        for warning in record["warnings"][:20]:
            console.print(f"[yellow]warning[/] {record['system_id']}: {warning}", highlight=False)
        if len(record["warnings"]) > 20:
            console.print(f"[yellow]... and {len(record['warnings']) - 20} more warnings[/]")
