"""`permscope import azure-activity`: the Azure Activity Log and Entra sign-ins -> usage and last activity."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import typer

from permscope.cli.activity import BATCH_KEYS_OPTION, DATE_FORMATS, WORKERS_OPTION, _utc, run_activity_import
from permscope.cli.output import OutputFormat, reports_errors
from permscope.core.ids import Cloud

EVENT_ROWS = (
    ("events", "records read"),
    ("usage", "operations exercised (usage)"),
    ("sign_in", "successful sign-ins (activity, no operation)"),
    ("denied", "denied (not usage)"),
    ("failed", "other failures (not usage)"),
    ("unknown_action", "operations unknown to the catalogue (not usage)"),
    ("service_events", "other Activity Log categories (health, alerts, advice, policy)"),
    ("other_events", "started / accepted records, resource and audit logs"),
    ("unresolved", "no caller or no subscription"),
    ("malformed", "not Activity Log or sign-in records"),
)


@reports_errors
def import_azure_activity(
    ctx: typer.Context,
    paths: list[Path] | None = typer.Argument(
        None,
        help="Activity Log or sign-in files or folders: JSON lines, arrays, REST pages, diagnostic blobs, gzip",
    ),
    subscriptions: list[str] = typer.Option(
        [],
        "--subscription",
        help="Read this subscription's Activity Log live (azure-mgmt-monitor); repeatable",
    ),
    sign_ins: bool = typer.Option(False, "--sign-ins", help="Read the tenant's Entra sign-ins live (Graph)"),
    tenant: str | None = typer.Option(None, "--tenant", help="Tenant id (names the sign-in windows read)"),
    start: datetime | None = typer.Option(None, "--start", formats=DATE_FORMATS, help="From (UTC)"),
    end: datetime | None = typer.Option(None, "--end", formats=DATE_FORMATS, help="Until (UTC)"),
    workers: int | None = WORKERS_OPTION,
    batch_keys: int = BATCH_KEYS_OPTION,
    fmt: OutputFormat = typer.Option(OutputFormat.TABLE, "--format", "-f", help="table, json or csv"),
) -> None:
    """Turn Azure activity into usage (identity x operation x resource) and last activity; re-reading an input
    counts nothing twice."""
    from permscope.workflows import activity  # imported late: it loads the cloud machinery

    live = bool(subscriptions) or sign_ins
    if bool(paths) == live:
        raise typer.BadParameter("give log files or folders, or --subscription / --sign-ins (one of them)")

    def read_live(engine: Any, progress: Callable[[int, int], None] | None) -> Any:
        return activity.import_activity_api(
            engine,
            Cloud.AZURE,
            subscriptions=subscriptions,
            sign_ins=sign_ins,
            tenant=tenant,
            start=_utc(start),
            end=_utc(end),
            progress=progress,
        )

    run_activity_import(
        ctx,
        fmt,
        Cloud.AZURE,
        source="Azure",
        files=(paths, workers, batch_keys),
        read_live=read_live,
        event_rows=EVENT_ROWS,
        systems="subscriptions",
    )
