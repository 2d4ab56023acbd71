"""`permscope identities`: the identities of one authorization system."""

from __future__ import annotations

import dataclasses

import typer

from permscope.cli.output import OutputFormat, engine_of, render, reports_errors
from permscope.core.inventory import IdentityKind
from permscope.store.summaries import list_identities

app = typer.Typer(
    help="Identities: users, groups, roles, service principals, service accounts, ...", no_args_is_help=True
)


@app.command("list")
@reports_errors
def list_command(
    ctx: typer.Context,
    system: str = typer.Option(
        ..., "--system", "-s", help="The system's id: AWS account id, subscription, project"
    ),
    kind: IdentityKind | None = typer.Option(None, "--kind", "-k", help="Only identities of this kind"),
    cloud: str | None = typer.Option(
        None, "--cloud", help="aws, azure or gcp, when the id exists in several"
    ),
    fmt: OutputFormat = typer.Option(OutputFormat.TABLE, "--format", "-f", help="table, json or csv"),
) -> None:
    """List the identities of one authorization system."""
    identities = list_identities(
        engine_of(ctx), system, cloud=cloud.lower() if cloud else None, kind=kind.value if kind else None
    )
    render(
        fmt,
        [dataclasses.asdict(identity) for identity in identities],
        [
            ("kind", "Kind"),
            ("display_name", "Name"),
            ("external_id", "External id"),
            ("source", "Source"),
            ("created_at", "Created"),
            ("last_active_at", "Last active"),
        ],
        title=f"Identities of {system}",
        empty="no identities match",
    )
