"""The `permscope` command: global options and the command groups."""

from __future__ import annotations

import typer

from permscope.cli import (
    activity,
    activity_azure,
    alerts,
    apikeys,
    db,
    demo,
    gcp_activity,
    identities,
    imports,
    remediation_autopilot,
    remediation_generate,
    report,
    scan,
    serve,
    simulate,
    systems,
    who_can,
)
from permscope.cli import collect as collect_commands
from permscope.cli import findings as findings_commands
from permscope.cli import remediation as remediation_commands
from permscope.cli import requests as requests_commands
from permscope.cli import scheduler as scheduler_commands
from permscope.cli import schedules as schedule_commands
from permscope.cli.entry import version_text
from permscope.cli.help import PlainHelpGroup
from permscope.cli.output import CliState

app = typer.Typer(
    cls=PlainHelpGroup,
    name="permscope",
    help="Self-hosted multicloud permissions management (CIEM) for AWS, Azure and GCP.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


def _print_version(value: bool) -> None:
    """`--version`: print the installed version and leave."""
    if value:
        typer.echo(version_text())
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    database_url: str | None = typer.Option(
        None,
        "--database-url",
        help="Database to use for this command (overrides PERMSCOPE_DATABASE_URL), e.g. sqlite:///file.db",
        metavar="URL",
    ),
    _version: bool = typer.Option(
        False, "--version", is_eager=True, callback=_print_version, help="Print the version and exit"
    ),
) -> None:
    """permscope: discover what every identity can do, find excess, and serve a Graph-shaped API."""
    ctx.obj = CliState(database_url=database_url)


imports.app.command("aws-activity")(activity.import_aws_activity)
imports.app.command("azure-activity")(activity_azure.import_azure_activity)
imports.app.command("gcp-activity")(gcp_activity.import_gcp_activity)
app.add_typer(imports.app, name="import")
app.add_typer(activity.usage_app, name="usage")
app.add_typer(collect_commands.app, name="collect")
app.add_typer(systems.app, name="systems")
app.add_typer(identities.app, name="identities")
app.add_typer(apikeys.app, name="apikey")
app.add_typer(db.app, name="db")
app.add_typer(requests_commands.app, name="requests")
remediation_commands.app.command("generate")(remediation_generate.generate_command)
remediation_commands.app.add_typer(remediation_autopilot.app, name="autopilot")
app.add_typer(remediation_commands.app, name="remediation")
app.add_typer(scheduler_commands.app, name="scheduler")
app.add_typer(schedule_commands.app, name="schedules")
app.add_typer(schedule_commands.pci_app, name="pci")
app.add_typer(alerts.app, name="alerts")
app.add_typer(simulate.app, name="simulate")
app.command("serve")(serve.serve)
app.command("demo")(demo.demo)
app.command("analyze")(findings_commands.analyze)
app.add_typer(findings_commands.app, name="findings")
app.command("scan")(scan.scan)
app.command("who-can")(who_can.who_can_command)
app.command("report")(report.report_command)
