"""`permscope demo`: load a realistic demo estate into its own database, create a key, and serve."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

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


def permscope_command() -> str:
    """The running `permscope` executable as a path that works pasted anywhere (outside the virtualenv too):
    the script this process was started as, else the one beside this Python, else the bare name."""
    started = Path(sys.argv[0]) if sys.argv and Path(sys.argv[0]).name == "permscope" else None
    for candidate in (started, Path(sys.executable).parent / "permscope"):
        if candidate is not None and candidate.is_file():
            return str(candidate.absolute())
    return "permscope"


QUERY_SAFE = "/(),'*:="  # what OData query values may hold as they are


def _url(base: str, path: str, **query: str) -> str:
    """`base` + `path` with the query's values percent-encoded (an OData `$orderby=... desc` has a space)."""
    encoded = "&".join(f"{name}={quote(value, safe=QUERY_SAFE)}" for name, value in query.items())
    return f"{base}{path}{'?' if encoded else ''}{encoded}"


def example_urls(base: str, reports: list[ImportReport], role: str | None) -> list[str]:
    """The API URLs the demo's curl examples call (`role`'s effective permissions when there is one; the first
    Azure and GCP systems loaded, when they were)."""
    aws = "/external/authorizationSystems/111122223333/microsoft.graph.awsAuthorizationSystem"
    analytics = "/identityGovernance/permissionsAnalytics"
    urls = [
        _url(base, "/external/authorizationSystems"),
        _url(base, "/external/authorizationSystems/111122223333"),
        _url(base, f"{aws}/associatedIdentities/users", **{"$top": "5"}),
        *(
            [
                _url(
                    base,
                    f"{aws}/associatedIdentities/roles(externalId='{role}')/effectivePermissions",
                    services="iam",
                )
            ]
            if role
            else []
        ),
        _url(
            base,
            f"{analytics}/aws/findings/microsoft.graph.superUserFinding",
            **{"$orderby": "permissionsCreepIndex/score desc", "$top": "5"},
        ),
    ]
    for cloud, kind in ((Cloud.AZURE, "servicePrincipals"), (Cloud.GCP, "serviceAccounts")):
        first = next((report.system_id for report in reports if report.cloud is cloud), None)
        if first is not None:
            system = (
                f"/external/authorizationSystems/{first}/microsoft.graph.{cloud.value}AuthorizationSystem"
            )
            urls.append(_url(base, f"{system}/associatedIdentities/{kind}", **{"$top": "5"}))
            urls.append(
                _url(
                    base,
                    f"{analytics}/{cloud.value}/findings/microsoft.graph.superUserFinding",
                    **{"$top": "5"},
                )
            )
    return urls


def shell_word(text: str) -> str:
    """`text` quoted for a POSIX shell, readably: in single quotes, else (a `'` inside) in double quotes when
    nothing in it is special there, else as shlex quotes it."""
    if "'" not in text:
        return f"'{text}'"
    if not any(char in text for char in '$`"\\!'):
        return f'"{text}"'
    return shlex.quote(text)


def instructions(
    base: str, token: str, database_url: str, reports: list[ImportReport], role: str | None
) -> list[str]:
    """What the demo prints: the web UI's URL and the key to sign in with first, then commands that work pasted
    as they are (URLs quoted and encoded for the shell, `permscope` as the path of this executable)."""
    command = f"{shlex.quote(permscope_command())} --database-url {shlex.quote(database_url)}"
    return [
        "",
        f"Web UI:   {base}/   (open it in a browser and sign in with the API key below)",
        f"API key:  {token}",
        "          (an admin key, shown only now; keys printed by earlier demo runs are now disabled)",
        f"API:      {base}   (OpenAPI: {base}/openapi.json with the key; interactive docs: {base}/ui/docs)",
        "",
        "Try:",
        f"  export PERMSCOPE_KEY={shell_word(token)}",
        *(
            f'  curl -H "Authorization: Bearer $PERMSCOPE_KEY" {shell_word(url)}'
            for url in example_urls(base, reports, role)
        ),
        f"  {command} findings list --min-pci 67",
        *([f"  {command} identities show {shell_word(role)} --service iam"] if role else []),
    ]


@reports_errors
def demo(
    ctx: typer.Context,
    host: str | None = typer.Option(None, "--host", help="Address to listen on (default 127.0.0.1)"),
    port: int | None = typer.Option(None, "--port", help="Port to listen on (default 8000)"),
    no_serve: bool = typer.Option(
        False, "--no-serve", help="Load the demo and print the key, but do not serve"
    ),
) -> None:
    """Load a demo estate of AWS, Azure and GCP (a separate database unless --database-url), print the web UI's URL,
    a key to sign in with and commands to try, serve."""
    from permscope.workflows.database import open_engine
    from permscope.workflows.demo import (  # imported late: it generates the estate
        example_role,
        issue_demo_key,
        load_demo,
    )

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
    served = settings.model_copy(update={"host": host, "port": port})
    database = engine.url.render_as_string(hide_password=True)
    for line in instructions(served.api_base_url(), key.token, database, reports, example_role(engine)):
        typer.echo(line)
    if no_serve:
        return
    typer.echo("")
    run_server(engine, settings, host, port)
