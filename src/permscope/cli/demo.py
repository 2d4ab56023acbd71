"""`permscope demo`: load a realistic demo estate into its own database, create a key, and serve."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from platformdirs import user_data_dir
from rich.markup import escape

from permscope.cli.output import reports_errors, state, stderr
from permscope.cli.serve import run_server
from permscope.core.ids import Cloud

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from permscope.workflows.collection import ImportReport


def demo_database_url() -> str:
    """The demo's own SQLite file, so demo data never mixes with real data."""
    return f"sqlite:///{Path(user_data_dir('permscope', appauthor=False)) / 'demo.sqlite3'}"


def demo_folder(engine: Engine) -> Path:
    """Where the demo's generated export files are kept (to scan or import them again by hand): next to the
    SQLite file, else in the user data directory."""
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).parent / "demo-estate"
    return Path(user_data_dir("permscope", appauthor=False)) / "demo-estate"


COUNTS = {  # what each cloud's line says: (count key, word)
    Cloud.AWS: (("users", "users"), ("groups", "groups"), ("roles", "roles"), ("policies", "policies")),
    Cloud.AZURE: (
        ("users", "users"),
        ("groups", "groups"),
        ("service_principals", "service principals"),
        ("managed_identities", "managed identities"),
    ),
    Cloud.GCP: (("users", "users"), ("groups", "groups"), ("service_accounts", "service accounts")),
}


def _summary(report: ImportReport) -> str:
    counts = ", ".join(f"{report.counts.get(key, 0)} {word}" for key, word in COUNTS[report.cloud])
    return escape(f"  {report.cloud.value} {report.name} ({report.system_id}): {counts}")


@reports_errors
def demo(
    ctx: typer.Context,
    host: str | None = typer.Option(None, "--host", help="Address to listen on (default 127.0.0.1)"),
    port: int | None = typer.Option(None, "--port", help="Port to listen on (default 8000)"),
    no_serve: bool = typer.Option(
        False, "--no-serve", help="Load the demo and print the key, but do not serve"
    ),
) -> None:
    """Load a demo estate of AWS, Azure and GCP (a separate database unless --database-url), print a key and curl
    examples, serve."""
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
    folder = demo_folder(engine)
    reports = load_demo(
        engine,
        folder=folder,
        skipped=lambda cloud, why: console.print(
            escape(f"  {cloud.value}: skipped ({why})"), highlight=False
        ),
    )
    for report in reports:
        console.print(
            f"{_summary(report)} [dim]({'changed' if report.changed else 'unchanged'})[/dim]",
            markup=True,
            highlight=False,
        )
    console.print(escape(f"generated export files (to scan or import again): {folder}"), highlight=False)
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
    for cloud, kind in ((Cloud.AZURE, "servicePrincipals"), (Cloud.GCP, "serviceAccounts")):
        first = next((report.system_id for report in reports if report.cloud is cloud), None)
        if first is not None:
            typer.echo(
                f'  curl -H "Authorization: Bearer $PERMSCOPE_KEY" '
                f"'{base}/external/authorizationSystems/{first}/microsoft.graph.{cloud.value}AuthorizationSystem"
                f"/associatedIdentities/{kind}?$top=5'"
            )
            typer.echo(
                f'  curl -H "Authorization: Bearer $PERMSCOPE_KEY" '
                f"'{base}/identityGovernance/permissionsAnalytics/{cloud.value}/findings"
                "/microsoft.graph.superUserFinding?$top=5'"
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
