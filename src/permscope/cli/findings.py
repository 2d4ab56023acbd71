"""`permscope analyze` (run the detectors over stored accounts) and `permscope findings list`."""

from __future__ import annotations

import sys
from datetime import datetime
from enum import StrEnum
from typing import Any

import typer
from rich.table import Table

from permscope.cli.analysis_options import (
    KEY_MAX_AGE_DAYS,
    KEY_UNUSED_DAYS,
    OVERPROVISIONED_RATIO,
    WINDOW_DAYS,
    analysis_settings,
)
from permscope.cli.output import (
    EXIT_BAD_INPUT,
    MAX_ROWS,
    WIDE_HELP,
    Column,
    OutputFormat,
    contract_json_text,
    engine_of,
    fail,
    print_json,
    render,
    reports_errors,
    stderr,
    stdout,
)

app = typer.Typer(help="Findings of permissions analytics, with their history.", no_args_is_help=True)

LIST_COLUMNS = [
    Column("severity", "Severity", word=True),
    Column("pci", "PCI", word=True),
    Column("system_id", "Account", word=True),
    Column("finding_type", "Type", wide=True, word=True),
    Column("subject_id", "Finding", name=True, detail="why", wide_header="Subject"),
    Column("status", "Status", wide=True, word=True),
    Column("first_seen", "First seen", wide=True),
    Column("last_seen", "Last seen", wide=True),
    Column("summary", "Why", wide=True, text=True),
]


class ReportFormat(StrEnum):
    """How `analyze` prints its report."""

    TABLE = "table"
    JSON = "json"


@reports_errors
def analyze(
    ctx: typer.Context,
    system: list[str] = typer.Option(
        [], "--system", "-s", help="An AWS account id to analyze (repeatable); default: every stored account"
    ),
    window_days: int = WINDOW_DAYS,
    key_max_age_days: int = KEY_MAX_AGE_DAYS,
    key_unused_days: int = KEY_UNUSED_DAYS,
    overprovisioned_ratio: float = OVERPROVISIONED_RATIO,
    as_of: datetime | None = typer.Option(
        None, "--as-of", help="Analyze as of this time (default now; UTC when no zone is given)"
    ),
    fmt: ReportFormat = typer.Option(ReportFormat.TABLE, "--format", "-f", help="table or json"),
) -> None:
    """Analyze stored AWS accounts: findings per type are recorded with their history (first seen, last
    seen, resolved, reopened). Prints per account the open findings per type and what was skipped and why."""
    from permscope.workflows.analysis import analyze_all

    settings = analysis_settings(window_days, key_max_age_days, key_unused_days, overprovisioned_ratio, as_of)
    engine = engine_of(ctx)
    reports = analyze_all(engine, settings, system_ids=system or None)
    if fmt is ReportFormat.JSON:
        print_json({"analyses": [report.to_dict() for report in reports]})
        return
    if not reports:
        stderr().print("[dim]no AWS accounts are stored: import or collect one first[/dim]")
        return
    console = stdout()
    for report in reports:
        changes = report.changes
        console.print(
            f"[bold]AWS account {report.system_id}[/bold]: {report.total} open findings "
            f"({changes['new']} new, {changes['changed']} changed, {changes['unchanged']} unchanged, "
            f"{changes['resolved']} resolved, {changes['reopened']} reopened) in {report.seconds:.2f} s"
        )
        if report.open_by_type:
            table = Table(header_style="bold")
            table.add_column("Finding type")
            table.add_column("Open", justify="right")
            for name, count in sorted(report.open_by_type.items()):
                table.add_row(name, str(count))
            console.print(table)
        if report.skipped:
            skipped = Table(title="Skipped", header_style="bold")
            skipped.add_column("Finding type")
            skipped.add_column("Why")
            for name, reason in sorted(report.skipped.items()):
                skipped.add_row(name, reason)
            console.print(skipped)
        for error in report.errors:
            stderr().print(f"[red]detector failed[/red] {error}")


def known_finding_type(name: str) -> str:
    """The finding type `name` names (any case, with or without `#microsoft.graph.`); leaves with exit code 2
    listing the finding types when it names none."""
    from permscope.analytics.registry import DETECTORS
    from permscope.presentation.findings import finding_type_named

    found = finding_type_named(name)
    if found is None:
        fail(f"--type: {name!r} is not a finding type; the finding types are {', '.join(sorted(DETECTORS))}",
             EXIT_BAD_INPUT)  # fmt: skip
    return found


@app.command("list")
@reports_errors
def list_command(
    ctx: typer.Context,
    system: list[str] = typer.Option([], "--system", "-s", help="Only this AWS account (repeatable)"),
    finding_type: list[str] = typer.Option(
        [], "--type", "-t", help="Only this finding type, e.g. superUserFinding (repeatable; any case)"
    ),
    status: str = typer.Option("open", "--status", help="open, reopened, resolved or all"),
    min_pci: int | None = typer.Option(
        None, "--min-pci", min=0, max=100, help="Only findings whose PCI is at least this"
    ),
    limit: int | None = typer.Option(
        None, "--limit", min=1, max=MAX_ROWS, help="At most this many (worst first)"
    ),
    fmt: OutputFormat = typer.Option(OutputFormat.TABLE, "--format", "-f", help="table, json or csv"),
    wide: bool = typer.Option(False, "--wide", "-w", help=WIDE_HELP),
) -> None:
    """List stored findings, worst first. JSON is {"findings": [...]} in the API contract's shape.

    The table names each subject short (`role/Admin`); --wide shows full ARNs, the type and the dates."""
    from permscope.presentation.stored_findings import stored_findings_to_wire
    from permscope.store.findings import FindingStatus
    from permscope.workflows.analysis import list_stored_findings

    try:
        wanted = FindingStatus(status.lower())
    except ValueError:
        raise typer.BadParameter("expected open, reopened, resolved or all", param_hint="--status") from None
    types = [known_finding_type(name) for name in finding_type]
    listing = list_stored_findings(
        engine_of(ctx),
        system_ids=system,
        types=types,
        status=wanted,
        min_pci=min_pci,
        limit=limit,
        embeds=fmt is OutputFormat.JSON,
    )
    if fmt is OutputFormat.JSON:
        wire = stored_findings_to_wire(listing.rows, listing.embeds or {})
        sys.stdout.write(contract_json_text({"findings": wire}))
        return
    if fmt is OutputFormat.CSV:
        _csv(listing.records)
        return
    records = [{**record, "why": _why(record)} for record in listing.records]
    accounts = sorted({record["system_id"] for record in records})
    columns, title = LIST_COLUMNS, "Findings"
    if len(accounts) == 1 and not wide:  # one account: said once, in the title
        columns = [column for column in LIST_COLUMNS if column.key != "system_id"]
        title = f"Findings in {accounts[0]}"
    render(fmt, records, columns, title=title, empty="no findings match", wide=wide)


def _why(record: dict[str, Any]) -> str:
    """What a finding says in the table: its type's title, then its summary without the subject's name it
    starts with (the Subject column shows it)."""
    from permscope.analytics.registry import DETECTORS

    summary, name = str(record["summary"]), str(record["subject_name"])
    if name and summary.startswith(name + " "):
        summary = summary[len(name) + 1 :]
    detector = DETECTORS.get(str(record["finding_type"]))
    return f"{detector.title}: {summary}" if detector is not None else summary


def _csv(records: list[dict[str, Any]]) -> None:
    """Every record field, dates in ISO 8601 (the CSV the web UI exports too)."""
    from permscope.presentation.stored_findings import findings_csv

    sys.stdout.writelines(findings_csv(records))
