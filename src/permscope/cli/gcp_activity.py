"""`permscope import gcp-activity`: Cloud Audit Logs and service-account last authentication -> usage."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import typer

from permscope.cli.activity import DATE_FORMATS, _show_report, _source_progress, _utc
from permscope.cli.output import EXIT_BAD_INPUT, OutputFormat, engine_of, fail, reports_errors
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


@contextmanager
def _gcp_errors(source: str) -> Iterator[None]:
    """A Google API error that stops an import as one line, not a trace."""
    from permscope.workflows.activity import activity_problem

    try:
        yield
    except Exception as exc:
        problem = activity_problem(exc, Cloud.GCP)
        if problem is None:
            raise
        fail(f"{source}: {problem}")


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
    workers: int | None = typer.Option(
        None, "--workers", min=1, help="Processes reading files (default: CPUs)"
    ),
    batch_keys: int = typer.Option(
        100_000, "--batch-keys", min=1000, help="Files: aggregated keys held before each write (memory bound)"
    ),
    fmt: OutputFormat = typer.Option(OutputFormat.TABLE, "--format", "-f", help="table, json or csv"),
) -> None:
    """Turn GCP audit logs into usage (member x permission x resource); re-reading an input counts nothing twice."""
    from permscope.workflows import activity

    if sum([bool(paths), from_gcs is not None, bool(projects)]) != 1:
        raise typer.BadParameter(
            "give log files or folders, or --from-gcs URI, or --project ID (one of them)"
        )
    engine = engine_of(ctx)
    with _source_progress("reading") as progress, _gcp_errors(from_gcs or "Cloud Logging"):
        if paths:
            report = activity.import_activity_files(
                engine, paths, workers=workers, progress=progress, batch_keys=batch_keys, cloud=Cloud.GCP
            )
        elif from_gcs is not None:
            report = activity.import_activity_bucket(engine, Cloud.GCP, from_gcs, progress=progress)
        else:
            report = activity.import_activity_api(
                engine,
                Cloud.GCP,
                projects=projects,
                start=_utc(start),
                end=_utc(end),
                last_authentication=last_authentication,
                progress=progress,
            )
    _show_report(report.as_dict(), fmt, systems="projects", event_rows=EVENT_ROWS)
    if report.failures:
        raise typer.Exit(EXIT_BAD_INPUT)
