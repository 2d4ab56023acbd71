"""`permscope identities`: the identities of one authorization system."""

from __future__ import annotations

import csv
import dataclasses
import sys
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from permscope.cli.output import (
    WIDE_HELP,
    Column,
    OutputFormat,
    engine_of,
    print_json,
    render,
    reports_errors,
    stdout,
)
from permscope.core.inventory import IdentityKind

if TYPE_CHECKING:  # the store and the workflows (SQLAlchemy) are imported by the commands, not for `--help`
    from permscope.workflows.explanation import ActionPermission, IdentityPermissions

STATUS_WORDS = {
    "allResources": "all resources",
    "specificResources": "specific resources",
    "conditional": "only under conditions",
    "notGranted": "not granted",
}

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
    wide: bool = typer.Option(False, "--wide", "-w", help=WIDE_HELP),
) -> None:
    """List the identities of one authorization system (short names; --wide for full ARNs)."""
    from permscope.store.summaries import list_identities

    identities = list_identities(
        engine_of(ctx), system, cloud=cloud.lower() if cloud else None, kind=kind.value if kind else None
    )
    render(
        fmt,
        [dataclasses.asdict(identity) for identity in identities],
        [
            Column("kind", "Kind", wide=True),
            Column("display_name", "Name", wide=True),
            Column("external_id", "Identity", name=True),
            Column("source", "Source", wide=True),
            Column("created_at", "Created", wide=True),
            Column("last_active_at", "Last active", word=True),
            Column("granted", "Granted"),
            Column("high_severity", "High severity"),
        ],
        title=f"Identities of {system}",
        empty="no identities match",
        wide=wide,
    )


def describe_reason(reason: dict[str, Any]) -> str:
    """One reason of an action's verdict as a short sentence (e.g. `allowed by AdminAccess statement 1`)."""
    verbs = {
        "allows": "allowed by",
        "limits": "limited by",
        "denies": "denied by",
        "doesNotAllow": "not allowed by",
    }
    words = [verbs.get(reason["role"], reason["role"]), reason["layer"]]
    if reason.get("policyName"):
        words.append(repr(reason["policyName"]))
    if reason.get("statement"):
        words.append(reason["statement"])
    if reason.get("via"):
        words.append(f"via {reason['via']}")
    if reason.get("conditionKeys"):
        words.append("if " + ", ".join(reason["conditionKeys"]))
    return " ".join(words)


def _scope(action: ActionPermission) -> str:
    if action.status == "notGranted":
        return ""
    if action.not_resources:
        return "all except " + ", ".join(action.not_resources)
    return ", ".join(action.resources)


def _action_record(action: ActionPermission, service: str) -> dict[str, Any]:
    return {
        "service": service,
        "action": action.action,
        "access_level": action.access_level,
        "severity": action.severity,
        "status": action.status,
        "scope": _scope(action),
        "condition_keys": ", ".join(action.condition_keys),
        "why": "; ".join(describe_reason(reason.to_dict()) for reason in action.reasons),
    }


def _print_table(found: IdentityPermissions, show_actions: bool) -> None:
    console = stdout()
    counts = found.counts
    console.print(
        f"[bold]{found.display_name}[/bold] ({found.kind}) {found.external_id}\n"
        f"granted [bold]{counts.granted}[/bold] actions: {counts.all_resources} on all resources, "
        f"{counts.specific_resources} on specific resources, {counts.conditional} only under conditions; "
        f"{counts.high_severity} high severity; {found.not_granted} allowed by a policy but removed by a deny, "
        f"the boundary or an SCP. Organization (SCPs) known: {'yes' if found.organization_known else 'no'}."
    )
    summary = Table(title="Effective permissions by service", header_style="bold")
    for header in (
        "Service",
        "Granted",
        "High severity",
        "All resources",
        "Specific",
        "Conditional",
        "Removed",
    ):
        summary.add_column(header, justify="left" if header == "Service" else "right")
    for service in found.services:
        statuses = [action.status for action in service.actions]
        summary.add_row(
            service.service,
            str(service.granted),
            str(service.high_severity),
            str(statuses.count("allResources")),
            str(statuses.count("specificResources")),
            str(statuses.count("conditional")),
            str(statuses.count("notGranted")),
        )
    console.print(summary)
    if show_actions:
        detail = Table(title="Actions and why", header_style="bold")
        for header in ("Action", "Access level", "Status", "Scope", "Why"):
            detail.add_column(header, overflow="fold")
        for service in found.services:
            for action in service.actions:
                record = _action_record(action, service.service)
                detail.add_row(
                    record["action"],
                    record["access_level"],
                    STATUS_WORDS.get(record["status"], record["status"]),
                    record["scope"],
                    record["why"],
                )
        console.print(detail)
    else:
        console.print("[dim]add --actions (or --service NAME) to list every action with its reasons[/dim]")
    for problem in found.problems:
        console.print(f"[yellow]warning:[/yellow] {problem}")
    if found.unknown_actions:
        console.print(f"[yellow]actions not in the catalogue:[/yellow] {', '.join(found.unknown_actions)}")


@app.command("show")
@reports_errors
def show_command(
    ctx: typer.Context,
    external_id: str = typer.Argument(
        ..., metavar="ID", help="The identity's ARN (AWS user, group or role) or Entra object id (Azure)"
    ),
    system: str | None = typer.Option(
        None,
        "--system",
        "-s",
        help="The AWS account id (default: the account in the ARN) or Azure subscription",
    ),
    cloud: str = typer.Option("aws", "--cloud", help="aws or azure"),
    service: list[str] | None = typer.Option(
        None, "--service", help="Only these service prefixes (repeatable), e.g. --service s3 --service iam"
    ),
    actions: bool = typer.Option(False, "--actions", help="In a table, list every action with its reasons"),
    fmt: OutputFormat = typer.Option(OutputFormat.TABLE, "--format", "-f", help="table, json or csv"),
) -> None:
    """What one identity can effectively do, by service, with access level, scope and why."""
    from permscope.core.errors import InputError
    from permscope.core.ids import Cloud
    from permscope.workflows.explanation import identity_permissions
    from permscope.workflows.identities import system_of_identity

    try:
        which = Cloud(cloud.lower())
    except ValueError:
        raise InputError("--cloud", f"{cloud!r} is not aws, azure or gcp") from None
    account = system_of_identity(external_id, system, which)
    found = identity_permissions(engine_of(ctx), account, external_id, services=service or None, cloud=which)
    if fmt is OutputFormat.JSON:
        print_json(found.to_dict())
    elif fmt is OutputFormat.CSV:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        columns = [
            "service",
            "action",
            "access_level",
            "severity",
            "status",
            "scope",
            "condition_keys",
            "why",
        ]
        writer.writerow(columns)
        for group in found.services:
            for action in group.actions:
                record = _action_record(action, group.service)
                writer.writerow([record[column] for column in columns])
    else:
        _print_table(found, actions or bool(service))
