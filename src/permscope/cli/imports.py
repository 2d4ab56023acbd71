"""`permscope import`: load exported files (AWS `get-account-authorization-details`, an Azure export folder)
into the store."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from permscope.cli.output import (
    EXIT_NOT_ANALYZED,
    Column,
    OutputFormat,
    engine_of,
    is_database_error,
    print_json,
    render,
    reports_errors,
    stderr,
    stdout,
    table_of,
)
from permscope.core.errors import PermscopeError
from permscope.core.ids import Cloud
from permscope.core.limits import printable

app = typer.Typer(help="Import exported files into the store.", no_args_is_help=True)

COUNT_COLUMNS = (
    Column("users", "Users"),
    Column("groups", "Groups"),
    Column("roles", "Roles"),
    Column("policies", "Policies"),
    Column("inline_policies", "Inline", wide=True),  # in CSV
    Column("attachments", "Attachments", wide=True),
    Column("memberships", "Memberships", wide=True),
)
SEVERITIES = ("critical", "high", "medium", "low")


@contextmanager
def _byte_progress() -> Iterator[Callable[[int, int], None] | None]:
    """A Rich progress bar over the bytes read, only when standard error is a terminal."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

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


def _analyze(engine: Any, system_ids: list[str], cloud: Cloud = Cloud.AWS) -> dict[str, Any]:
    """Analyze the imported systems (each in its own transaction): system id -> its AnalysisReport."""
    from permscope.core.snapshot import AnalysisSettings
    from permscope.workflows.analysis import analyze_system

    if not system_ids:
        return {}
    settings = AnalysisSettings()
    with stderr().status(f"analyzing {len(system_ids)} {cloud.system_noun}(s)"):
        reports = [
            analyze_system(engine, system_id, settings, cloud=cloud).summary() for system_id in system_ids
        ]
    return {report.system_id: report for report in reports}


def _analyze_after(
    engine: Any, records: list[dict[str, Any]], cloud: Cloud = Cloud.AWS
) -> tuple[dict[str, Any], str | None]:
    """`_analyze` after a successful import: its failure (the database locked by another writer, say) is
    returned, not raised, because the import itself is stored and recorded as succeeded."""
    try:
        return _analyze(engine, [record["system_id"] for record in records], cloud), None
    except PermscopeError as exc:
        return {}, str(exc)
    except Exception as exc:
        if is_database_error(exc):
            return {}, f"database: {type(exc).__name__}: {exc}".splitlines()[0]
        raise


def _not_analyzed(error: str | None) -> None:
    """Say that the import is stored but not analyzed, and leave with EXIT_NOT_ANALYZED."""
    if error is None:
        return
    stderr().print(
        f"[yellow]warning[/] the import is stored, but its analysis failed ({printable(error)}); "
        "run `permscope analyze` for its findings",
        highlight=False,
    )
    raise typer.Exit(EXIT_NOT_ANALYZED)


ACTIVITY_HINTS = {  # by system noun: the logs that decide the activity findings, and their import
    "Account": ("CloudTrail logs", "permscope import aws-activity FILES"),
    "Subscription": ("the Activity Log and sign-ins", "permscope import azure-activity FILES"),
    "Project": ("Cloud Audit Logs", "permscope import gcp-activity FILES"),
}


def _next_steps(records: list[dict[str, Any]], analyzed: bool, noun: str = "Account") -> None:
    """What the import left to do: the open findings of each account by severity, or how to get them."""
    from permscope.analytics.registry import DETECTORS

    console = stdout()
    if not analyzed:
        console.print("Not analyzed yet: run `permscope analyze` to find the findings.", highlight=False)
        return
    rows: list[dict[str, Any]] = []
    needs: dict[str, None] = {}
    for record in records:
        analysis = record["analysis"] or {}
        row: dict[str, Any] = {"system_id": record["system_id"], **dict.fromkeys(SEVERITIES, 0)}
        for kind, count in (analysis.get("findings") or {}).items():
            detector = DETECTORS.get(kind)
            severity = detector.severity.value if detector is not None else "low"
            row[severity] += count
        row["total"] = sum(row[severity] for severity in SEVERITIES)
        rows.append(row)
        needs.update(dict.fromkeys((analysis.get("skipped") or {}).values()))
    columns = [
        Column("system_id", noun, word=True),
        *(Column(severity, severity.capitalize()) for severity in (*SEVERITIES, "total")),
    ]
    console.print(table_of(rows, columns, title="Open findings"))
    console.print(
        "List them: `permscope findings list` (--format json for the whole findings).", highlight=False
    )
    for reason in needs:
        console.print(f"[dim]not checked ({reason})[/dim]", highlight=False)
    if any("activity" in reason for reason in needs):
        logs, command = ACTIVITY_HINTS.get(noun, ACTIVITY_HINTS["Account"])
        console.print(f"With {logs}: `{command}`, then `permscope analyze`.", highlight=False)


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
    analyze: bool = typer.Option(
        True,
        "--analyze/--no-analyze",
        help="Analyze the imported accounts at once, as `permscope analyze` does (--no-analyze: import only, "
        "e.g. before importing more files of the same accounts; a few seconds per 10,000 identities)",
    ),
    fmt: OutputFormat = typer.Option(OutputFormat.TABLE, "--format", "-f", help="table, json or csv"),
) -> None:
    """Import AWS CLI outputs (see the README): one run per account they hold; a re-import is idempotent.

    Then the imported accounts are analyzed (unless --no-analyze), so their findings are there to list:
    `permscope findings list`."""
    from permscope.workflows.collection import import_aws_files  # imported late: it loads the AWS machinery

    engine = engine_of(ctx)
    with _byte_progress() as progress:
        reports = import_aws_files(engine, files, account_name=account_name, progress=progress)
    _imported(engine, reports, Cloud.AWS, analyze, fmt)


def _imported(
    engine: Any,
    reports: list[Any],
    cloud: Cloud,
    analyze: bool,
    fmt: OutputFormat,
    counts: Sequence[Column] = COUNT_COLUMNS,
) -> None:
    """Analyze what was imported (unless not asked) and show it: the systems, their counts and warnings."""
    records = [_report_record(report) for report in reports]
    analyses, analysis_error = _analyze_after(engine, records, cloud) if analyze else ({}, None)
    for record in records:
        analysis = analyses.get(record["system_id"]) if analyze else None
        record["analysis"] = analysis.to_dict() if analysis is not None else None
    if fmt is OutputFormat.JSON:
        print_json(records)
        _not_analyzed(analysis_error)
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
        Column("system_id", cloud.system_noun.capitalize(), word=True),
        Column("name", "Name"),
        *counts,
        Column("result", "Result"),
        Column("warnings", "Warnings"),
    ]
    render(fmt, rows, columns, title="Imported", empty=f"the files held no {cloud.system_noun}")
    console = stderr()
    for record in records:
        for warning in record["warnings"][:20]:
            console.print(f"[yellow]warning[/] {record['system_id']}: {warning}", highlight=False)
        if len(record["warnings"]) > 20:
            console.print(f"[yellow]... and {len(record['warnings']) - 20} more warnings[/]")
    if fmt is OutputFormat.TABLE and records and analysis_error is None:
        _next_steps(records, analyze, cloud.system_noun.capitalize())
    _not_analyzed(analysis_error)


AZURE_COUNT_COLUMNS = (
    Column("users", "Users"),
    Column("groups", "Groups"),
    Column("service_principals", "Service principals"),
    Column("managed_identities", "Managed identities"),
    Column("role_definitions", "Role definitions"),
    Column("attachments", "Assignments", wide=True),
    Column("memberships", "Memberships", wide=True),
)
GCP_COUNT_COLUMNS = (
    Column("users", "Users"),
    Column("groups", "Groups"),
    Column("service_accounts", "Service accounts"),
    Column("cloud_roles", "Roles"),
    Column("attachments", "Bindings", wide=True),
    Column("memberships", "Memberships", wide=True),
)


@app.command("azure")
@reports_errors
def import_azure(
    ctx: typer.Context,
    folders: list[Path] = typer.Argument(
        ...,
        help="Azure export folders (one per tenant, written by the script in docs/azure.md), or their part "
        "files (role-assignments.json, users.json, ...; .json.gz too)",
    ),
    subscription_name: str | None = typer.Option(
        None, "--subscription-name", help="Name to give the subscription when the export holds one"
    ),
    analyze: bool = typer.Option(
        True,
        "--analyze/--no-analyze",
        help="Analyze the imported subscriptions at once (as `permscope analyze`)",
    ),
    fmt: OutputFormat = typer.Option(OutputFormat.TABLE, "--format", "-f", help="table, json or csv"),
) -> None:
    """Import an Azure export folder: one run per subscription it holds; a re-import is idempotent.

    Each subscription gets the identities whose role or deny assignments reach it (docs/azure.md), their
    effective permissions, and (unless --no-analyze) its findings."""
    from permscope.workflows.collection import import_files

    engine = engine_of(ctx)
    with _byte_progress() as progress:
        reports = import_files(engine, Cloud.AZURE, folders, system_name=subscription_name, progress=progress)
    _imported(engine, reports, Cloud.AZURE, analyze, fmt, AZURE_COUNT_COLUMNS)


@app.command("gcp")
@reports_errors
def import_gcp(
    ctx: typer.Context,
    folder: list[Path] = typer.Argument(
        ...,
        help="An export folder of one organization (organization.json, folders.json, projects.json, "
        "iam-policies.json, custom-roles.json, deny-policies.json, service-accounts.json, ...: docs/gcp.md), "
        "or its files",
    ),
    analyze: bool = typer.Option(
        True,
        "--analyze/--no-analyze",
        help="Analyze the imported projects at once, as `permscope analyze` does",
    ),
    fmt: OutputFormat = typer.Option(OutputFormat.TABLE, "--format", "-f", help="table, json or csv"),
) -> None:
    """Import a GCP export folder (the gcloud export script's output): one run per project; idempotent."""
    from permscope.workflows.collection import import_files

    engine = engine_of(ctx)
    with _byte_progress() as progress:
        reports = import_files(engine, Cloud.GCP, folder, progress=progress)
    _imported(engine, reports, Cloud.GCP, analyze, fmt, GCP_COUNT_COLUMNS)
