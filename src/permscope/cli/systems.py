"""`permscope systems`: the authorization systems (AWS accounts, Azure subscriptions, GCP projects) known."""

from __future__ import annotations

import dataclasses

import typer

from permscope.cli.output import OutputFormat, engine_of, render, reports_errors
from permscope.store.summaries import list_systems

app = typer.Typer(
    help="Authorization systems: AWS accounts, Azure subscriptions, GCP projects.", no_args_is_help=True
)

KIND_COLUMNS = ("user", "group", "role")


@app.command("list")
@reports_errors
def list_command(
    ctx: typer.Context,
    fmt: OutputFormat = typer.Option(OutputFormat.TABLE, "--format", "-f", help="table, json or csv"),
) -> None:
    """List every authorization system with its identity counts."""
    records = []
    for system in list_systems(engine_of(ctx)):
        record = dataclasses.asdict(system)
        for kind in KIND_COLUMNS:
            record[f"{kind}s"] = system.by_kind.get(kind, 0)
        records.append(record)
    render(
        fmt,
        records,
        [
            ("cloud", "Cloud"),
            ("system_id", "System id"),
            ("name", "Name"),
            ("collection_status", "Status"),
            ("last_collection_at", "Last collected"),
            ("identities", "Identities"),
            *((f"{kind}s", f"{kind.title()}s") for kind in KIND_COLUMNS),
        ],
        title="Authorization systems",
        empty="no authorization systems yet: run `permscope import aws FILE` or `permscope demo`",
    )
