"""`permscope apikey`: create (shown once), list and disable API keys, and give or take per-system roles."""

from __future__ import annotations

import typer

from permscope.cli.output import OutputFormat, engine_of, fail, render, reports_errors, stderr
from permscope.core.access import ApiRole

# permscope.workflows.apikeys (SQLAlchemy) is imported by each command: `permscope --help` needs none of it

SCOPE_HELP = "A per-system role ROLE:CLOUD:SYSTEM (requestor, approver, administrator, viewer), e.g. approver:aws:123456789012; * for any"

app = typer.Typer(
    help="API keys for the REST API (only a hash of each secret is stored).", no_args_is_help=True
)


@app.command("create")
@reports_errors
def create_command(
    ctx: typer.Context,
    role: ApiRole | None = typer.Option(
        None,
        "--role",
        "-r",
        help="admin (everything), viewer (read only) or scoped (only its --grant roles; the default with --grant)",
    ),
    name: str = typer.Option("", "--name", "-n", help="A label to recognise the key by"),
    principal: str | None = typer.Option(
        None,
        "--principal",
        help="Who the key acts for (createdBy, approvals, self-approval check); default: --name",
    ),
    grant: list[str] = typer.Option([], "--grant", "-g", help=SCOPE_HELP + " (repeatable)"),
) -> None:
    """Create a key and print its token once: it cannot be shown again."""
    from permscope.workflows.apikeys import KeyScope, create_api_key

    scopes = [KeyScope.parse(text) for text in grant]
    if role is None:
        if not scopes:
            fail("give --role admin|viewer, or per-system roles with --grant", 2)
        role = ApiRole.SCOPED
    key = create_api_key(engine_of(ctx), role, name, principal=principal, scopes=scopes)
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
    from permscope.workflows.apikeys import key_scopes, list_api_keys

    engine = engine_of(ctx)
    scopes = key_scopes(engine)
    records = [
        {
            "key_id": row.key_id,
            "name": row.name,
            "principal": row.principal or row.name,
            "role": row.role,
            "system_roles": ", ".join(scopes.get(row.key_id, [])),
            "created_at": row.created_at,
            "last_used_at": row.last_used_at,
            "disabled": row.disabled,
        }
        for row in list_api_keys(engine)
    ]
    render(
        fmt,
        records,
        [
            ("key_id", "Key id"),
            ("name", "Name"),
            ("principal", "Principal"),
            ("role", "Role"),
            ("system_roles", "System roles"),
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
    from permscope.workflows.apikeys import disable_api_key

    if not disable_api_key(engine_of(ctx), key_id):
        fail(f"no API key {key_id!r}")
    typer.echo(f"disabled key {key_id}")


@app.command("add-role")
@reports_errors
def add_role_command(
    ctx: typer.Context,
    key_id: str = typer.Argument(..., help="The key id `apikey list` shows"),
    scope: str = typer.Argument(..., help=SCOPE_HELP),
) -> None:
    """Give a key a role on an authorization system."""
    from permscope.workflows.apikeys import KeyScope, add_key_scope

    parsed = KeyScope.parse(scope)
    added = add_key_scope(engine_of(ctx), key_id, parsed)
    typer.echo(f"key {key_id} {'now has' if added else 'already had'} {parsed}")


@app.command("remove-role")
@reports_errors
def remove_role_command(
    ctx: typer.Context,
    key_id: str = typer.Argument(..., help="The key id `apikey list` shows"),
    scope: str = typer.Argument(..., help=SCOPE_HELP),
) -> None:
    """Take a role on an authorization system from a key."""
    from permscope.workflows.apikeys import KeyScope, remove_key_scope

    parsed = KeyScope.parse(scope)
    if not remove_key_scope(engine_of(ctx), key_id, parsed):
        fail(f"key {key_id} does not have {parsed}")
    typer.echo(f"key {key_id} no longer has {parsed}")
