"""`permscope scan`: analyze AWS CLI exports at once, without a database, and write a summary and a report."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from permscope.cli.analysis_options import (
    KEY_MAX_AGE_DAYS,
    KEY_UNUSED_DAYS,
    OVERPROVISIONED_RATIO,
    WINDOW_DAYS,
    analysis_settings,
)
from permscope.cli.output import (
    EXIT_FINDINGS,
    STDOUT,
    WIDE_HELP,
    Column,
    contract_json_text,
    reports_errors,
    state,
    stderr,
    stdout,
    table_of,
)
from permscope.core.ids import Cloud

if TYPE_CHECKING:
    from permscope.workflows.scan import ScanResult

DEFAULT_REPORT = Path("permscope-report.html")
SEVERITIES = ("critical", "high", "medium", "low")
MAX_WARNINGS = 10  # import warnings printed in the summary (the HTML report lists them all)


class ScanFormat(StrEnum):
    """What `scan` writes."""

    TABLE = "table"
    JSON = "json"
    SARIF = "sarif"
    HTML = "html"


class FailOn(StrEnum):
    """The least severity that makes `scan --fail-on` exit with EXIT_FINDINGS."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


def failing_findings(result: ScanResult, least: FailOn) -> int:
    """How many findings are at or above the severity `least`."""
    wanted = SEVERITIES[: SEVERITIES.index(least.value) + 1]
    return sum(1 for reported in result.findings if reported.finding.severity.value in wanted)


ACCOUNT_COLUMNS = [
    Column("system_id", "Account", word=True),
    Column("name", "Name"),
    *(
        Column(key, key.capitalize(), word=True)
        for key in ("users", "groups", "roles", "policies", "findings")
    ),
]
TYPE_COLUMNS = [
    Column("type", "Finding type", word=True),
    *(Column(severity, severity.capitalize(), word=True) for severity in (*SEVERITIES, "total")),
]
RISKIEST_COLUMNS = [
    Column("pci", "PCI", word=True),
    Column("external_id", "Identity", name=True, detail="where"),
    Column("kind", "Kind", wide=True),
    Column("system_id", "Account", wide=True),
    Column("granted", "Granted"),
    Column("high_severity", "High severity"),
    Column("findings", "Findings", wide=True),
]


def _summary(result: ScanResult, wide: bool) -> None:
    """The tables of the table format: accounts, findings by type, riskiest identities, what was skipped."""
    console = stdout()
    per_account: dict[str, int] = {}
    for reported in result.findings:
        per_account[reported.finding.system_id] = per_account.get(reported.finding.system_id, 0) + 1
    accounts = [
        {
            "system_id": account.system_id,
            "name": account.name,
            **{key: account.counts.get(key, 0) for key in ("users", "groups", "roles", "policies")},
            "findings": per_account.get(account.system_id, 0),
        }
        for account in result.accounts
    ]
    console.print(table_of(accounts, ACCOUNT_COLUMNS, title="Accounts scanned", wide=wide))
    by_type = [
        {"type": kind, **{s: counts.get(s, "") for s in SEVERITIES}, "total": sum(counts.values())}
        for kind, counts in result.counts_by_type().items()
    ]
    if by_type:
        console.print(table_of(by_type, TYPE_COLUMNS, title="Findings by type and severity", wide=wide))
    else:
        console.print("No findings.")
    if result.riskiest:
        from permscope.workflows.clouds import system_noun

        nouns = {account.system_id: system_noun(account.system.cloud) for account in result.accounts}
        risky = [
            {
                "pci": f"{view.pci.score} {view.pci.band}" if view.pci else "",
                "external_id": view.external_id,
                "kind": view.kind,
                "system_id": view.system_id,
                "granted": view.granted,
                "high_severity": view.high_severity,
                "findings": len(view.findings),
                "where": f"{nouns[view.system_id]} {view.system_id}, {len(view.findings)} finding(s)"
                + (f" ({view.display_name})" if view.display_name not in view.external_id else ""),
            }
            for view in result.riskiest
        ]
        title = "Riskiest identities (Permission Creep Index)"
        console.print(table_of(risky, RISKIEST_COLUMNS, title=title, wide=wide))
    skipped: dict[str, list[str]] = {}
    for account in result.accounts:
        for item in account.skipped:
            types = skipped.setdefault(item.reason, [])
            if item.finding_type not in types:
                types.append(item.finding_type)
    for reason, types in skipped.items():
        console.print(f"[yellow]not checked[/] ({reason}): {', '.join(types)}", highlight=False)
    warnings = [warning for account in result.accounts for warning in account.warnings]
    for warning in warnings[:MAX_WARNINGS]:
        console.print(f"[yellow]warning[/]: {warning}", highlight=False, soft_wrap=True)
    if len(warnings) > MAX_WARNINGS:
        console.print(
            f"[yellow]{len(warnings) - MAX_WARNINGS} more warning(s)[/] in the report", highlight=False
        )


def _write(text: str, output: Path | None) -> None:
    """Write to a file, or to standard output when `output` is None or `-`."""
    if output is None or str(output) == STDOUT:
        sys.stdout.write(text)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")


def _cloud(name: str) -> Cloud:
    """The --cloud value (aws, azure or gcp)."""
    if name.lower() not in ("aws", "azure", "gcp"):
        raise typer.BadParameter(f"{name!r}: aws, azure or gcp", param_hint="--cloud")
    return Cloud(name.lower())


@reports_errors
def scan(
    ctx: typer.Context,
    files: list[Path] = typer.Argument(
        ...,
        help="AWS CLI outputs, as `permscope import aws` takes them: get-account-authorization-details "
        "(required per account), credential report, access keys, Access Advisor, organizations, Identity "
        "Center, resource folders",
    ),
    fmt: ScanFormat = typer.Option(
        ScanFormat.TABLE,
        "--format",
        "-f",
        help="table: a summary on standard output and the HTML report in a file; json: the findings in the "
        "API's shapes and what was not checked; sarif: SARIF 2.1.0 for code-scanning tools; html: the report only",
    ),
    output: Path | None = typer.Option(
        None,
        "--output",
        "-o",
        help=f"Where to write (- for standard output): the HTML report for table and html (default "
        f"./{DEFAULT_REPORT}), the JSON or SARIF for json and sarif (default standard output)",
        metavar="FILE",
    ),
    fail_on: FailOn | None = typer.Option(
        None,
        "--fail-on",
        help=f"Exit with code {EXIT_FINDINGS} when a finding of this severity or worse is found (for CI)",
        case_sensitive=False,
    ),
    wide: bool = typer.Option(False, "--wide", "-w", help=WIDE_HELP),
    cloud: str = typer.Option(
        "aws",
        "--cloud",
        help="aws (AWS CLI outputs), azure (an Azure export folder: docs/azure.md) or gcp (a GCP export folder: docs/gcp.md)",
        case_sensitive=False,
    ),
    window_days: int = WINDOW_DAYS,
    key_max_age_days: int = KEY_MAX_AGE_DAYS,
    key_unused_days: int = KEY_UNUSED_DAYS,
    overprovisioned_ratio: float = OVERPROVISIONED_RATIO,
) -> None:
    """Analyze exported files at once: findings, escalation paths and the Permission Creep Index.

    Nothing is stored: the files are analyzed in memory, and only the report (or the JSON) is written.

    With the global --database-url the files are imported into that database and analyzed there instead.

    Exit codes: 0 done; 2 a file cannot be read; 3 with --fail-on, a finding of that severity or worse.
    """
    from permscope.core.gc_pause import collector_paused
    from permscope.workflows.scan import scan_files

    if fmt is ScanFormat.TABLE and output is not None and str(output) == STDOUT:
        raise typer.BadParameter(
            "the table is already on standard output: use --format html (or json, sarif) with -o -",
            param_hint="--output",
        )
    settings = analysis_settings(window_days, key_max_age_days, key_unused_days, overprovisioned_ratio)
    with collector_paused():  # the whole command: the scan's heap is large and acyclic (see collector_paused)
        result = scan_files(files, settings, state(ctx).database_url, cloud=_cloud(cloud))
        _output(result, fmt, output, wide)
    if fail_on is not None:
        failing = failing_findings(result, fail_on)
        if failing:
            stderr().print(f"{failing} finding(s) of severity {fail_on.value} or worse", highlight=False)
            raise typer.Exit(EXIT_FINDINGS)


def _output(result: ScanResult, fmt: ScanFormat, output: Path | None, wide: bool) -> None:
    """Write what `--format` asks for: the JSON, or the HTML report (and, for table, the summary)."""
    from permscope.presentation.report import render_html

    if fmt is ScanFormat.JSON:
        from permscope.presentation.findings import scan_to_wire

        _write(contract_json_text(scan_to_wire(result)), output)
        return
    if fmt is ScanFormat.SARIF:
        from permscope.presentation.sarif import scan_to_sarif

        _write(contract_json_text(scan_to_sarif(result)), output)
        return
    target = output or DEFAULT_REPORT
    _write(render_html(result), target)
    if fmt is ScanFormat.TABLE:
        _summary(result, wide)
        seconds = sum(result.timings.values())
        stdout().print(
            f"{len(result.findings)} findings, analyzed in {seconds:.1f} s. HTML report: {target.resolve()}",
            highlight=False,
            soft_wrap=True,
        )
    elif str(target) != STDOUT:
        stderr().print(f"HTML report: {target.resolve()}", highlight=False)
