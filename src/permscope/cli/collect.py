"""`permscope collect`: read live clouds into the store (AWS through boto3, Azure through the Azure SDK, GCP
through Google's client libraries)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import typer

from permscope.cli.activity import DATE_FORMATS
from permscope.cli.output import (
    EXIT_ERROR,
    OutputFormat,
    engine_of,
    print_json,
    render,
    reports_errors,
    stderr,
)
from permscope.core.ids import Cloud

app = typer.Typer(help="Collect live cloud accounts into the store.", no_args_is_help=True)

COLUMNS = (
    ("system_id", "Account"),
    ("name", "Name"),
    ("status", "Status"),
    ("users", "Users"),
    ("groups", "Groups"),
    ("roles", "Roles"),
    ("policies", "Policies"),
    ("organization_policies", "SCP/RCP"),
    ("access_keys", "Keys"),
    ("sso_identities", "SSO"),
    ("resources", "Resources"),
    ("activity_events", "Events"),
    ("usage_rows", "Usage rows"),
    ("result", "Result"),
    ("warnings", "Warnings"),
)


@contextmanager
def _account_progress() -> Iterator[Callable[[int, int], None] | None]:
    """A Rich progress bar over the accounts collected, only when standard error is a terminal."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("collecting"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=stderr(), transient=True) as progress:
        task = progress.add_task("accounts", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield advance


def _split(values: list[str] | None) -> list[str] | None:
    """Values given repeated or comma-separated (`--regions a,b --regions c`)."""
    if not values:
        return None
    items = [item.strip() for value in values for item in value.split(",") if item.strip()]
    return items or None


@app.command("aws")
@reports_errors
def collect_aws(
    ctx: typer.Context,
    profile: str | None = typer.Option(None, "--profile", help="AWS profile (default: the standard chain)"),
    role_name: str = typer.Option(
        "PermscopeCollector", "--role-name", help="Read-only role assumed in each member account"
    ),
    external_id: str | None = typer.Option(
        None, "--external-id", help="ExternalId the member roles' trust policies require"
    ),
    accounts: list[str] | None = typer.Option(
        None, "--accounts", help="Accounts to collect (default: every active account of the organization)"
    ),
    regions: list[str] | None = typer.Option(
        None, "--regions", help="Regions to read resources in (default: each account's enabled regions)"
    ),
    endpoint_url: str | None = typer.Option(
        None,
        "--endpoint-url",
        metavar="URL",
        help="Send every AWS call to this endpoint (e.g. a moto server)",
    ),
    home_region: str | None = typer.Option(
        None, "--region", help="Region of the global APIs and Identity Center (default: the profile's)"
    ),
    skip: list[str] | None = typer.Option(
        None,
        "--skip",
        help="Parts not to collect: organization, identity-center, credential-report, access-keys, "
        "identity-providers, access-advisor, resources",
    ),
    max_accounts: int = typer.Option(4, "--max-accounts", min=1, help="Accounts read at the same time"),
    max_regions: int = typer.Option(
        4, "--max-regions", min=1, help="Regions read at the same time per account"
    ),
    max_attempts: int = typer.Option(
        10, "--max-attempts", min=1, help="Attempts per call (adaptive retries)"
    ),
    cloudtrail_s3: list[str] | None = typer.Option(
        None,
        "--cloudtrail-s3",
        metavar="s3://BUCKET/PREFIX",
        help="A CloudTrail bucket (standard or organization-trail layout) whose logs of the collected "
        "accounts become usage; read as the collected account that owns it, else as the caller; repeatable",
    ),
    lookup_events: bool = typer.Option(
        False,
        "--lookup-events",
        help="Read management events from LookupEvents in every collected account and region (its role)",
    ),
    activity_start: datetime | None = typer.Option(
        None, "--activity-start", formats=DATE_FORMATS, help="Activity from (UTC; default: 90 days ago)"
    ),
    activity_end: datetime | None = typer.Option(
        None, "--activity-end", formats=DATE_FORMATS, help="Activity until (UTC; default: now)"
    ),
    fmt: OutputFormat = typer.Option(OutputFormat.TABLE, "--format", "-f", help="table, json or csv"),
) -> None:
    """Collect AWS accounts read-only: IAM, credential report, organization (SCPs, RCPs), Identity Center,
    Access Advisor and resources; then, if asked, their CloudTrail activity into usage (incrementally).
    One account failing is recorded (status offline) and the others go on; the command then exits with 1."""
    from permscope.workflows.collection import (  # imported late: it loads the collection machinery
        activity_options,
        collect_options,
    )

    options = collect_options(
        Cloud.AWS,
        profile=profile,
        role_name=role_name,
        external_id=external_id,
        accounts=_split(accounts),
        regions=_split(regions),
        endpoint_url=endpoint_url,
        home_region=home_region,
        parts=_kept_parts(Cloud.AWS, skip),
        max_accounts=max_accounts,
        max_regions=max_regions,
        max_attempts=max_attempts,
    )
    activity = activity_options(
        Cloud.AWS,
        cloudtrail_s3=cloudtrail_s3 or [],
        lookup_events=lookup_events,
        start=activity_start,
        end=activity_end,
    )
    if not activity.wanted and (activity_start or activity_end):
        raise typer.BadParameter(
            "give --cloudtrail-s3 or --lookup-events with it", param_hint="--activity-start/--activity-end"
        )
    _collect_and_show(ctx, fmt, Cloud.AWS, options, activity, COLUMNS, activity_wanted=bool(activity.wanted))


AZURE_COLUMNS = (
    ("system_id", "Subscription"),
    ("name", "Name"),
    ("status", "Status"),
    ("users", "Users"),
    ("groups", "Groups"),
    ("policies", "Roles"),
    ("attachments", "Assignments"),
    ("resources", "Resources"),
    ("activity_events", "Events"),
    ("usage_rows", "Usage rows"),
    ("result", "Result"),
    ("warnings", "Warnings"),
)


@app.command("azure")
@reports_errors
def collect_azure(
    ctx: typer.Context,
    tenant: str | None = typer.Option(
        None, "--tenant", help="Tenant id or domain (default: the credential's; AZURE_TENANT_ID)"
    ),
    credential: str = typer.Option(
        "default",
        "--credential",
        help="default (DefaultAzureCredential: environment, workload or managed identity, Azure CLI, ...), "
        "cli, service-principal (secret in AZURE_CLIENT_SECRET, or --certificate) or managed-identity",
    ),
    client_id: str | None = typer.Option(
        None, "--client-id", help="Service principal's application id, or a user-assigned managed identity's"
    ),
    certificate: str | None = typer.Option(
        None,
        "--certificate",
        metavar="PATH",
        help="A service principal's certificate (PEM or PKCS12; password in AZURE_CLIENT_CERTIFICATE_PASSWORD)",
    ),
    subscriptions: list[str] | None = typer.Option(
        None,
        "--subscriptions",
        help="Subscriptions to collect (default: every one of the tenant the caller reads)",
    ),
    skip: list[str] | None = typer.Option(
        None,
        "--skip",
        help="Parts not to collect: management-groups, deny-assignments, pim, entra, sign-in-activity, "
        "group-members, application-owners, app-role-assignments, directory-roles, managed-identities, storage, "
        "network, compute, web-apps, key-vaults",
    ),
    max_subscriptions: int = typer.Option(
        4, "--max-subscriptions", min=1, help="Subscriptions read at the same time"
    ),
    max_graph_requests: int = typer.Option(
        8, "--max-graph-requests", min=1, help="Microsoft Graph requests in flight at the same time"
    ),
    max_attempts: int = typer.Option(
        10, "--max-attempts", min=1, help="Attempts per call (429 and 5xx retried, Retry-After honoured)"
    ),
    activity_log: bool = typer.Option(
        False, "--activity-log", help="Read each collected subscription's Activity Log into usage"
    ),
    sign_ins: bool = typer.Option(
        False,
        "--sign-ins",
        help="Read the tenant's Entra sign-in logs (users and service principals) into usage",
    ),
    activity_start: datetime | None = typer.Option(
        None, "--activity-start", formats=DATE_FORMATS, help="Activity from (UTC; default: 90 days ago)"
    ),
    activity_end: datetime | None = typer.Option(
        None, "--activity-end", formats=DATE_FORMATS, help="Activity until (UTC; default: now)"
    ),
    fmt: OutputFormat = typer.Option(OutputFormat.TABLE, "--format", "-f", help="table, json or csv"),
) -> None:
    """Collect an Azure tenant read-only: management groups, subscriptions, role definitions and assignments at
    every scope, deny assignments, PIM, Entra users, groups, applications, service principals, managed identities
    and directory roles, and storage, network, compute, Function apps and Key Vaults; then, if asked, their
    activity into usage. One subscription failing is recorded (status offline) and the others go on; the
    command then exits with 1."""
    from permscope.workflows.collection import (  # imported late: it loads the collection machinery
        activity_options,
        collect_options,
    )

    if (activity_start or activity_end) and not (activity_log or sign_ins):
        raise typer.BadParameter(
            "give --activity-log or --sign-ins with it", param_hint="--activity-start/--activity-end"
        )
    options = collect_options(
        Cloud.AZURE,
        tenant=tenant,
        credential_type=credential,
        client_id=client_id,
        certificate=certificate,
        subscriptions=_split(subscriptions),
        parts=_kept_parts(Cloud.AZURE, skip),
        max_subscriptions=max_subscriptions,
        max_graph_requests=max_graph_requests,
        max_attempts=max_attempts,
    )
    activity = None
    if activity_log or sign_ins:
        activity = activity_options(
            Cloud.AZURE, activity_log=activity_log, sign_ins=sign_ins, start=activity_start, end=activity_end
        )
    _collect_and_show(
        ctx,
        fmt,
        Cloud.AZURE,
        options,
        activity,
        AZURE_COLUMNS,
        activity_wanted=activity is not None and bool(getattr(activity, "wanted", True)),
        empty="no subscription was collected",
    )


GCP_COLUMNS = (
    ("system_id", "Project"),
    ("name", "Name"),
    ("status", "Status"),
    ("users", "Users"),
    ("groups", "Groups"),
    ("roles", "Roles"),
    ("policies", "Policies"),
    ("resources", "Resources"),
    ("result", "Result"),
    ("warnings", "Warnings"),
)


@app.command("gcp")
@reports_errors
def collect_gcp(
    ctx: typer.Context,
    organization: str | None = typer.Option(
        None,
        "--organization",
        metavar="ID",
        help="Organization to collect: its folders, projects and policies",
    ),
    project: str | None = typer.Option(
        None, "--project", metavar="ID", help="One project to collect (and what is readable above it)"
    ),
    key_file: str | None = typer.Option(
        None,
        "--key-file",
        metavar="FILE",
        help="Service-account key file (default: application default credentials)",
    ),
    impersonate: str | None = typer.Option(
        None, "--impersonate", metavar="EMAIL", help="Read as this service account (short-lived tokens)"
    ),
    quota_project: str | None = typer.Option(
        None, "--quota-project", metavar="ID", help="Project billed for the API quota the collection uses"
    ),
    customer: str | None = typer.Option(
        None,
        "--customer",
        metavar="ID",
        help="Cloud Identity customer of the groups (default: the organization's)",
    ),
    skip: list[str] | None = typer.Option(
        None,
        "--skip",
        help="Parts not to collect: iam-policies, custom-roles, deny-policies, service-accounts, "
        "service-account-keys, groups, tags, resources, buckets, functions, run-services, instances",
    ),
    max_projects: int = typer.Option(
        4, "--max-projects", min=1, help="Projects (and folders, service accounts) read at the same time"
    ),
    max_attempts: int = typer.Option(
        8, "--max-attempts", min=1, help="Attempts per call on quota errors (exponential backoff)"
    ),
    fmt: OutputFormat = typer.Option(OutputFormat.TABLE, "--format", "-f", help="table, json or csv"),
) -> None:
    """Collect a Google Cloud organization (or one project) read-only: folders, projects, allow policies of
    every resource, custom roles, deny policies, service accounts and keys, groups, tags, buckets, functions,
    Cloud Run services and instances; one authorization system per project. A project that cannot be read is
    reported and the others collected (a failed project exits with 1)."""
    if (organization is None) == (project is None):
        raise typer.BadParameter(
            "give exactly one of --organization ID and --project ID", param_hint="--organization"
        )
    from permscope.workflows.collection import collect_options  # imported late: it loads the machinery

    options = collect_options(
        Cloud.GCP,
        organization=organization,
        project=project,
        key_file=key_file,
        impersonate=impersonate,
        quota_project=quota_project,
        customer=customer,
        parts=_kept_parts(Cloud.GCP, skip),
        max_workers=max_projects,
        max_attempts=max_attempts,
    )
    _collect_and_show(
        ctx,
        fmt,
        Cloud.GCP,
        options,
        None,
        GCP_COLUMNS,
        activity_wanted=False,
        empty="no project was collected",
    )


def _kept_parts(cloud: Cloud, skip: list[str] | None) -> frozenset[str]:
    """The cloud's collection parts less those `--skip` names (BadParameter naming the unknown ones)."""
    from permscope.workflows.collection import collection_parts

    parts = collection_parts(cloud)
    skipped = set(_split(skip) or [])
    unknown = sorted(skipped - set(parts))
    if unknown:
        raise typer.BadParameter(f"unknown parts {unknown}; known: {', '.join(parts)}", param_hint="--skip")
    return frozenset(parts) - skipped


def _collect_and_show(
    ctx: typer.Context,
    fmt: OutputFormat,
    cloud: Cloud,
    options: Any,
    activity: Any,
    columns: tuple[tuple[str, str], ...],
    *,
    activity_wanted: bool,
    empty: str = "no account was collected",
) -> None:
    """Collect with a progress bar, then show the reports (`_show_reports`)."""
    from permscope.workflows.collection import collect

    engine = engine_of(ctx)
    with _account_progress() as progress:
        reports = collect(engine, cloud, options, activity=activity, progress=progress)
    _show_reports(fmt, reports, columns, activity_wanted=activity_wanted, empty=empty)


def _show_reports(
    fmt: OutputFormat,
    reports: list[Any],
    columns: tuple[tuple[str, str], ...],
    *,
    activity_wanted: bool,
    empty: str = "no account was collected",
) -> None:
    """Print the collection's reports (table, JSON or CSV) and its warnings; exit 1 when a system failed."""
    records = [_record(report) for report in reports]
    if fmt is OutputFormat.JSON:
        print_json(records)
    else:
        rows = [
            {
                "system_id": r["system_id"],
                "name": r["name"],
                "status": r["status"],
                **r["counts"],
                **_activity_counts(r["activity"]),
                "result": r["error"] if r["error"] else ("changed" if r["changed"] else "unchanged"),
                "warnings": len(r["warnings"]),
            }
            for r in records
        ]
        activity_columns = {"activity_events", "usage_rows"}
        shown = [c for c in columns if activity_wanted or c[0] not in activity_columns]
        render(fmt, rows, shown, title="Collected", empty=empty)
        if fmt is OutputFormat.TABLE:
            _print_warnings(records)
    if any(r["status"] == "failed" for r in records):
        raise typer.Exit(EXIT_ERROR)


def _activity_counts(activity: dict[str, Any] | None) -> dict[str, Any]:
    """The table's activity columns: records read and usage rows merged (blank without activity)."""
    if activity is None:
        return {}
    return {"activity_events": activity["events"]["events"], "usage_rows": activity["usage_rows_merged"]}


def _record(report: Any) -> dict[str, Any]:
    return {
        "cloud": str(report.cloud),
        "system_id": report.system_id,
        "name": report.name,
        "status": report.status,
        "run_id": report.run_id,
        "counts": dict(report.counts),
        "changed": report.changed,
        "warnings": list(report.warnings),
        "error": report.error,
        "activity": report.activity.as_dict() if report.activity is not None else None,
    }


def _print_warnings(records: list[dict[str, Any]]) -> None:
    console = stderr()
    for record in records:
        if record["error"]:
            console.print(f"[red]failed[/] {record['system_id']}: {record['error']}", highlight=False)
        for warning in record["warnings"][:20]:
            console.print(f"[yellow]warning[/] {record['system_id']}: {warning}", highlight=False)
        if len(record["warnings"]) > 20:
            console.print(f"[yellow]... and {len(record['warnings']) - 20} more warnings[/]")
