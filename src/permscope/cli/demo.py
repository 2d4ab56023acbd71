"""`permscope demo`: load a realistic demo estate into its own database, create a key, and serve."""

from __future__ import annotations

from pathlib import Path

import typer
from platformdirs import user_data_dir

from permscope.cli.output import reports_errors, state, stderr
from permscope.cli.serve import run_server


def demo_database_url() -> str:
    """The demo's own SQLite file, so demo data never mixes with real data."""
    return f"sqlite:///{Path(user_data_dir('permscope', appauthor=False)) / 'demo.sqlite3'}"


@reports_errors
def demo(
    ctx: typer.Context,
    host: str | None = typer.Option(None, "--host", help="Address to listen on (default 127.0.0.1)"),
    port: int | None = typer.Option(None, "--port", help="Port to listen on (default 8000)"),
    no_serve: bool = typer.Option(
        False, "--no-serve", help="Load the demo and print the key, but do not serve"
    ),
) -> None:
    """Load demo AWS accounts (a separate database unless --database-url), print a key and curl examples, serve."""
    from permscope.workflows.database import open_engine
    from permscope.workflows.demo import issue_demo_key, load_demo  # imported late: it generates the estate

    cli_state = state(ctx)
    settings = cli_state.settings()
    if not cli_state.database_url:
        settings = settings.model_copy(update={"database_url": demo_database_url()})
    host, port = host or settings.host, port or settings.port
    engine = open_engine(settings)
    console = stderr()
    console.print(f"loading the demo estate into {engine.url.render_as_string(hide_password=True)} ...")
    for report in load_demo(engine):
        counts = report.counts
        console.print(
            f"  {report.name} ({report.system_id}): {counts.get('users', 0)} users, "
            f"{counts.get('groups', 0)} groups, {counts.get('roles', 0)} roles, {counts.get('policies', 0)} policies"
            f" [dim]({'changed' if report.changed else 'unchanged'})[/dim]",
            highlight=False,
        )
    key = issue_demo_key(engine)
    base = f"http://{host}:{port}"
    typer.echo(f"\nAPI:      {base}   (OpenAPI: {base}/openapi.json, with the key)")
    typer.echo(f"API key:  {key.token}")
    typer.echo("          (an admin key, shown only now; keys printed by earlier demo runs are now disabled)")
    typer.echo("\nTry:")
    typer.echo(f'  export PERMSCOPE_KEY="{key.token}"')
    typer.echo(f'  curl -H "Authorization: Bearer $PERMSCOPE_KEY" {base}/external/authorizationSystems')
    typer.echo(
        f'  curl -H "Authorization: Bearer $PERMSCOPE_KEY" {base}/external/authorizationSystems/111122223333'
    )
    typer.echo(
        f'  curl -H "Authorization: Bearer $PERMSCOPE_KEY" '
        f"'{base}/external/authorizationSystems/111122223333/microsoft.graph.awsAuthorizationSystem"
        "/associatedIdentities/users?$top=5'"
    )
    typer.echo(
        f'  curl -H "Authorization: Bearer $PERMSCOPE_KEY" '
        f'"{base}/external/authorizationSystems/111122223333/microsoft.graph.awsAuthorizationSystem'
        "/associatedIdentities/roles(externalId='arn:aws:iam::111122223333:role/platform-readonly')"
        '/effectivePermissions?services=iam"'
    )
    typer.echo(
        f'  curl -H "Authorization: Bearer $PERMSCOPE_KEY" '
        f"'{base}/identityGovernance/permissionsAnalytics/aws/findings/microsoft.graph.superUserFinding"
        "?$orderby=permissionsCreepIndex/score desc&$top=5'"
    )
    typer.echo(
        "  permscope --database-url "
        f"{engine.url.render_as_string(hide_password=True)} findings list --min-pci 67"
    )
    typer.echo(
        "  permscope --database-url "
        f"{engine.url.render_as_string(hide_password=True)} identities show "
        "arn:aws:iam::111122223333:role/platform-readonly --service iam"
    )
    if no_serve:
        return
    typer.echo("")
    run_server(engine, settings, host, port)
