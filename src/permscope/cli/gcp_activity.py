"""`permscope import gcp-activity`: Cloud Audit Logs and service-account last authentication -> usage."""

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
    ("events", "entries read"),
    ("usage", "permissions exercised (usage)"),
    ("sign_in", "service-account authentications (activity)"),
    ("no_permission", "calls that needed no granted permission"),
    ("denied", "denied (not usage)"),
    ("failed", "other failures (not usage)"),
    ("unknown_action", "unmapped methods, permissions unknown to the catalogue"),
    ("service_events", "System Event entries"),
    ("other_events", "other entries (not AuditLog, no project)"),
    ("unresolved", "unidentified principals"),
    ("malformed", "not log entries"),
)  # what the counts mean for GCP (`clouds.gcp.activity.aggregate`)


@reports_errors
def import_gcp_activity(
    ctx: typer.Context,
    paths: list[Path] | None = typer.Argument(
        None,
        help="Audit-log files or folders (JSON lines of a log sink, `gcloud logging read --format=json`, "
        "`gcloud policy-intelligence query-activity --format=json`), gzip allowed",
    ),
    from_gcs: str | None = typer.Option(
        None,
        "--from-gcs",
        help="A log sink's bucket: gs://bucket/prefix, prefix optional (its cloudaudit.googleapis.com objects)",
    ),
    projects: list[str] = typer.Option(
        [],
        "--project",
        help="Read this project's audit logs (Cloud Logging) and last authentications; repeatable",
    ),
    last_authentication: bool = typer.Option(
        True, "--last-authentication/--no-last-authentication", help="With --project: Policy Analyzer too"
    ),
    start: datetime | None = typer.Option(
        None, "--start", formats=DATE_FORMATS, help="From (UTC; --project)"
    ),
    end: datetime | None = typer.Option(None, "--end", formats=DATE_FORMATS, help="Until (UTC; --project)"),
    workers: int | None = WORKERS_OPTION,
    batch_keys: int = BATCH_KEYS_OPTION,
    fmt: OutputFormat = typer.Option(OutputFormat.TABLE, "--format", "-f", help="table, json or csv"),
) -> None:
    """Turn GCP audit logs into usage (member x permission x resource); re-reading an input counts nothing twice."""
    from permscope.workflows import activity

    if sum([bool(paths), from_gcs is not None, bool(projects)]) != 1:
        raise typer.BadParameter(
            "give log files or folders, or --from-gcs URI, or --project ID (one of them)"
        )

    def read_live(engine: Any, progress: Callable[[int, int], None] | None) -> Any:
        if from_gcs is not None:
            return activity.import_activity_bucket(engine, Cloud.GCP, from_gcs, progress=progress)
        return activity.import_activity_api(
            engine,
            Cloud.GCP,
            projects=projects,
            start=_utc(start),
            end=_utc(end),
            last_authentication=last_authentication,
            progress=progress,
        )

    run_activity_import(
        ctx,
        fmt,
        Cloud.GCP,
        source=from_gcs or "Cloud Logging",
        files=(paths, workers, batch_keys),
        read_live=read_live,
        event_rows=EVENT_ROWS,
        systems="projects",
    )
