"""`permscope apikey`: create (shown once), list and disable API keys."""

from __future__ import annotations

import typer

from permscope.cli.output import OutputFormat, engine_of, fail, render, reports_errors, stderr
from permscope.workflows.apikeys import ApiRole, create_api_key, disable_api_key, list_api_keys

app = typer.Typer(
    help="API keys for the REST API (only a hash of each secret is stored).", no_args_is_help=True
)


@app.command("create")
@reports_errors
def create_command(
    ctx: typer.Context,
    role: ApiRole = typer.Option(..., "--role", "-r", help="admin (everything) or viewer (read only)"),
    name: str = typer.Option("", "--name", "-n", help="A label to recognise the key by"),
) -> None:
    """Create a key and print its token once: it cannot be shown again."""
    key = create_api_key(engine_of(ctx), role, name)
    stderr().print(
        f"[bold yellow]Created {key.role.value} key {key.key_id} ({key.name}). Copy the token now: "
        "it is shown only this once and cannot be recovered.[/]"
    )
    typer.echo(key.token)


@app.command("list")
@reports_errors
def list_command(
    ctx: typer.Context,
    fmt: OutputFormat = typer.Option(OutputFormat.TABLE, "--format", "-f", help="table, json or csv"),
) -> None:
    """List the keys (never their secrets)."""
    records = [
        {
            "key_id": row.key_id,
            "name": row.name,
            "role": row.role,
            "created_at": row.created_at,
            "last_used_at": row.last_used_at,
            "disabled": row.disabled,
        }
        for row in list_api_keys(engine_of(ctx))
    ]
    render(
        fmt,
        records,
        [
            ("key_id", "Key id"),
            ("name", "Name"),
            ("role", "Role"),
            ("created_at", "Created"),
            ("last_used_at", "Last used"),
            ("disabled", "Disabled"),
        ],
        title="API keys",
        empty="no API keys: create one with `permscope apikey create --role viewer`",
    )


@app.command("disable")
@reports_errors
def disable_command(
    ctx: typer.Context, key_id: str = typer.Argument(..., help="The key id `apikey list` shows")
) -> None:
    """Disable a key: requests with its token are refused from now on."""
    if not disable_api_key(engine_of(ctx), key_id):
        fail(f"no API key {key_id!r}")
    typer.echo(f"disabled key {key_id}")
