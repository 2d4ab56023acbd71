"""`permscope systems`: the authorization systems (AWS accounts, Azure subscriptions, GCP projects) known."""

from __future__ import annotations

import dataclasses

import typer

from permscope.cli.output import OutputFormat, engine_of, render, reports_errors, stdout

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
    from permscope.store.summaries import list_systems  # SQLAlchemy: loaded by the commands, not for `--help`

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


def _set_modification(ctx: typer.Context, system_id: str, enabled: bool) -> None:
    from permscope.workflows.requests import set_modification  # permissions on demand (issue 6)

    set_modification(engine_of(ctx), system_id, enabled)
    word = "enabled" if enabled else "disabled"
    typer.echo(f"permissions modification {word} for {system_id}")


@app.command("enable-modification")
@reports_errors
def enable_modification_command(
    ctx: typer.Context,
    system_id: str = typer.Argument(..., help="The authorizationSystemId, e.g. an account id"),
) -> None:
    """Allow permissions on demand to change this system's permissions (grants and revocations)."""
    _set_modification(ctx, system_id, True)


@app.command("disable-modification")
@reports_errors
def disable_modification_command(
    ctx: typer.Context,
    system_id: str = typer.Argument(..., help="The authorizationSystemId, e.g. an account id"),
) -> None:
    """Stop new grants in this system (approved requests fail to grant; revocations still happen)."""
    _set_modification(ctx, system_id, False)


@app.command("remove")
@reports_errors
def remove_command(
    ctx: typer.Context,
    system_id: str = typer.Argument(..., help="The authorizationSystemId, e.g. an account id"),
    cloud: str | None = typer.Option(
        None, "--cloud", help="aws, azure or gcp, when the id exists in several"
    ),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation"),
) -> None:
    """Remove an authorization system and all its rows (inventory, usage, effective permissions, findings,
    collection runs, past permissions requests) in one transaction. API key scopes and auto-approve rules
    naming it stay. Refused while it has permissions requests submitted or approved."""
    from permscope.core.ids import Cloud
    from permscope.workflows.removal import removal_plan, remove_system

    engine = engine_of(ctx)
    try:
        chosen = Cloud.parse(cloud) if cloud else None
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--cloud") from None
    plan = removal_plan(engine, system_id, chosen)
    rows = ", ".join(f"{count} {table}" for table, count in sorted(plan.rows.items())) or "no other rows"
    stdout().print(f"{plan.cloud} {plan.system_id} ({plan.name}): {rows}", highlight=False, soft_wrap=True)
    if not yes and not typer.confirm(
        f"Remove {plan.cloud} {plan.system_id} and all these rows?", default=False
    ):
        raise typer.Exit(1)
    done = remove_system(engine, system_id, chosen)
    typer.echo(f"removed {done.cloud} {done.system_id}: {sum(done.rows.values())} rows")
