"""`permscope import aws-activity` (CloudTrail -> usage) and `permscope usage list` (what an identity used)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

from permscope.cli.output import (
    EXIT_BAD_INPUT,
    MAX_ROWS,
    WIDE_HELP,
    Column,
    OutputFormat,
    engine_of,
    fail,
    print_json,
    render,
    reports_errors,
    state,
    stderr,
    stdout,
)
from permscope.core.ids import Cloud

usage_app = typer.Typer(help="Usage: what identities did, from activity logs.", no_args_is_help=True)

DATE_FORMATS = ["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d %H:%M:%S"]
EVENT_ROWS = (
    ("events", "records read"),
    ("usage", "actions exercised (usage)"),
    ("sign_in", "sign-ins (activity, no action)"),
    ("no_permission", "calls needing no permission"),
    ("denied", "denied (not usage)"),
    ("failed", "other failures (not usage)"),
    ("unknown_action", "actions unknown to the catalogue (not usage)"),
    ("aws_service", "made by AWS services"),
    ("service_events", "service events"),
    ("other_events", "insights / network events"),
    ("unresolved", "unidentified principals"),
    ("sso_sessions", "Identity Center sessions (role + person)"),
    ("malformed", "not CloudTrail records"),
)

WORKERS_OPTION = typer.Option(None, "--workers", min=1, help="Processes reading files (default: CPUs)")
BATCH_KEYS_OPTION = typer.Option(
    100_000, "--batch-keys", min=1000, help="Files: aggregated keys held before each write (memory bound)"
)  # the file options every `import *-activity` command shares


@contextmanager
def _source_progress(what: str) -> Iterator[Callable[[int, int], None] | None]:
    """A Rich progress bar over the inputs read, only when standard error is a terminal."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn(what), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=stderr(), transient=True) as progress:
        task = progress.add_task(what, total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield advance


@contextmanager
def _activity_errors(source: str, cloud: Cloud) -> Iterator[None]:
    """A cloud SDK error that stops an import (refused, no such bucket, no credentials) as one line, not a trace;
    inputs merged before it stay counted, the others are read again by the next run."""
    from permscope.workflows.activity import activity_problem

    try:
        yield
    except Exception as exc:
        problem = activity_problem(exc, cloud)
        if problem is None:
            raise
        fail(f"{source}: {problem}")


def run_activity_import(
    ctx: typer.Context,
    fmt: OutputFormat,
    cloud: Cloud,
    *,
    source: str,
    files: tuple[list[Path] | None, int | None, int],
    read_live: Callable[[Any, Callable[[int, int], None] | None], Any],
    event_rows: tuple[tuple[str, str], ...] = EVENT_ROWS,
    systems: str = "accounts",
) -> None:
    """The body every `import *-activity` command shares: read the files (`files`: paths, workers, batch keys)
    or, without paths, `read_live(engine, progress)` (a cloud error named after `source`), show the report,
    exit 2 when an input failed."""
    from permscope.workflows import activity  # imported late: it loads the cloud machinery

    paths, workers, batch_keys = files
    engine = engine_of(ctx)
    with _source_progress("reading") as progress, _activity_errors(source, cloud):
        if paths:
            report = activity.import_activity_files(
                engine, paths, workers=workers, progress=progress, batch_keys=batch_keys, cloud=cloud
            )
        else:
            report = read_live(engine, progress)
    _show_report(report.as_dict(), fmt, event_rows, systems=systems)
    if report.failures:
        raise typer.Exit(EXIT_BAD_INPUT)


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _show_report(
    record: dict[str, Any],
    fmt: OutputFormat,
    event_rows: tuple[tuple[str, str], ...] = EVENT_ROWS,
    systems: str = "accounts",
) -> None:
    if fmt is OutputFormat.JSON:
        print_json(record)
        return
    sources = record["sources"]
    events = record["events"]
    rows = [
        {"what": "inputs found", "count": sources["found"]},
        {"what": "inputs read", "count": sources["read"]},
        {"what": "inputs already counted (skipped)", "count": sources["skipped_already_counted"]},
        {"what": "inputs that failed (not counted)", "count": sources["failed"]},
        *({"what": label, "count": events[name]} for name, label in event_rows),
        {"what": "usage rows merged", "count": record["usage_rows_merged"]},
        {"what": "day profiles merged (identity x day)", "count": record["day_profiles_merged"]},
        {"what": "identities seen acting", "count": record["identities_seen"]},
        {"what": "  not in the inventory (yet)", "count": record["not_in_inventory"]},
        *(
            [
                {
                    "what": "Identity Center sessions of no stored user",
                    "count": record["sso_sessions_unmatched"],
                }
            ]
            if systems == "accounts"
            else []
        ),
        {"what": systems, "count": len(record["systems"])},
        {"what": "  known only from activity", "count": len(record["systems_created"])},
    ]
    render(fmt, rows, [("what", "Activity import"), ("count", "Count")], title="Activity imported")
    console = stderr()
    if events["first_event"]:
        console.print(f"events from {events['first_event']} to {events['last_event']}", highlight=False)
    for name, title in (("unknown_actions", "unknown actions"), ("error_codes", "error codes")):
        top = list(events[name].items())[:10]
        if top:
            console.print(f"{title}: " + ", ".join(f"{key} ({count})" for key, count in top), highlight=False)
    if record["sso_sessions_unmatched"]:
        console.print(
            "Identity Center sessions matched to no stored user (collect Identity Center to attribute them): "
            + ", ".join(record["sso_sessions_unmatched_sample"]),
            highlight=False,
        )
    for note in record["notes"]:
        console.print(f"[yellow]note[/] {note}", highlight=False)
    for failure in record["failures"][:20]:
        console.print(f"[red]failed[/] {failure['source']}: {failure['problem']}", highlight=False)
    if len(record["failures"]) > 20:
        console.print(f"[red]... and {len(record['failures']) - 20} more failures[/]")


@reports_errors
def import_aws_activity(
    ctx: typer.Context,
    paths: list[Path] | None = typer.Argument(
        None,
        help='CloudTrail log files or folders: {"Records": [...]} JSON, gzip, JSON lines, lookup-events output',
    ),
    from_s3: str | None = typer.Option(
        None, "--from-s3", help="A trail bucket: s3://bucket/prefix (standard or organization-trail layout)"
    ),
    lookup_events: bool = typer.Option(
        False, "--lookup-events", help="Read management events from the LookupEvents API (90 days)"
    ),
    regions: list[str] = typer.Option([], "--region", help="Regions (LookupEvents; S3 filter); repeatable"),
    accounts: list[str] = typer.Option([], "--account", help="S3: only these accounts; repeatable"),
    start: datetime | None = typer.Option(None, "--start", formats=DATE_FORMATS, help="From (UTC)"),
    end: datetime | None = typer.Option(None, "--end", formats=DATE_FORMATS, help="Until (UTC)"),
    account_id: str | None = typer.Option(
        None, "--account-id", help="LookupEvents: the account of the credentials (else sts:GetCallerIdentity)"
    ),
    profile: str | None = typer.Option(None, "--profile", help="AWS profile (default: the credential chain)"),
    endpoint_url: str | None = typer.Option(None, "--endpoint-url", help="e.g. a moto server"),
    workers: int | None = WORKERS_OPTION,
    batch_keys: int = BATCH_KEYS_OPTION,
    fmt: OutputFormat = typer.Option(OutputFormat.TABLE, "--format", "-f", help="table, json or csv"),
) -> None:
    """Turn CloudTrail activity into usage (identity x action x resource); re-reading an input counts nothing twice."""
    from permscope.workflows import activity  # imported late: it loads the AWS machinery

    modes = [bool(paths), from_s3 is not None, lookup_events]
    if sum(modes) != 1:
        raise typer.BadParameter(
            "give log files or folders, or --from-s3 URI, or --lookup-events (one of them)"
        )
    settings = state(ctx).settings()
    endpoint = endpoint_url or getattr(settings, "aws_endpoint_url", None)

    def read_live(engine: Any, progress: Callable[[int, int], None] | None) -> Any:
        if from_s3 is not None:
            return activity.import_activity_s3(
                engine,
                from_s3,
                accounts=accounts or None,
                regions=regions or None,
                start=start.date() if start else None,
                end=end.date() if end else None,
                profile=profile,
                region=regions[0] if regions else None,
                endpoint_url=endpoint,
                progress=progress,
            )
        return activity.import_activity_lookup(
            engine,
            regions=regions or [getattr(settings, "aws_region", "us-east-1")],
            start=_utc(start),
            end=_utc(end),
            account_id=account_id,
            profile=profile,
            endpoint_url=endpoint,
            progress=progress,
        )

    run_activity_import(
        ctx,
        fmt,
        Cloud.AWS,
        source=from_s3 or "LookupEvents",
        files=(paths, workers, batch_keys),
        read_live=read_live,
    )


@usage_app.command("list")
@reports_errors
def usage_list(
    ctx: typer.Context,
    identity: str = typer.Option(
        ...,
        "--identity",
        "-i",
        help="The identity: an AWS ARN (user, role, root, Identity Center user), an Azure object id, a GCP "
        "member (user:alice@example.com, serviceAccount:...)",
    ),
    system: str | None = typer.Option(
        None, "--system", "-s", help="Account, subscription or project (default: the one the identity names)"
    ),
    cloud: str = typer.Option("aws", "--cloud", help="aws, azure or gcp", case_sensitive=False),
    limit: int | None = typer.Option(
        None, "--limit", "-n", min=1, max=MAX_ROWS, help="At most this many rows"
    ),
    fmt: OutputFormat = typer.Option(OutputFormat.TABLE, "--format", "-f", help="table, json or csv"),
    wide: bool = typer.Option(False, "--wide", "-w", help=WIDE_HELP),
) -> None:
    """What an identity used: each action (and resource) with first use, last use and count, newest first."""
    from permscope.workflows.usage import usage_of

    settings = state(ctx).settings()
    window_days = settings.usage_window_days
    as_of = _utc(settings.usage_as_of)
    try:
        which = Cloud(cloud.lower())
    except ValueError:
        raise typer.BadParameter(f"{cloud!r}: aws, azure or gcp", param_hint="--cloud") from None
    view = usage_of(
        engine_of(ctx),
        identity,
        system_id=system,
        window_days=window_days,
        as_of=as_of,
        limit=limit,
        cloud=which,
    )
    rows = [
        {
            "system_id": row.system_id,
            "action": row.action,
            "access_level": row.access_level,
            "resource": row.resource,
            "first_seen": row.first_seen,
            "last_seen": row.last_seen,
            "count": row.count,
        }
        for row in view.rows
    ]
    if fmt is OutputFormat.JSON:
        print_json(
            {
                "identity": view.identity,
                "system_id": view.system_id,
                "first_active": view.first_active,
                "last_active": view.last_active,
                "events": view.events,
                "window_days": window_days,
                "exercised_in_window": view.exercised_in_window,
                "usage": rows,
            }
        )
        return
    if fmt is OutputFormat.TABLE:
        last = view.last_active.isoformat(timespec="seconds") if view.last_active else "never seen"
        stdout().print(
            f"{view.identity}: last active {last}; {view.events} successful events; "
            f"{view.exercised_in_window} distinct actions used in the {window_days} days "
            f"before {'now' if as_of is None else as_of.isoformat()}",
            highlight=False,
        )
    render(
        fmt,
        rows,
        [
            Column("action", "Action"),
            Column("access_level", "Level"),
            Column("resource", "Resource", name=True),
            Column("first_seen", "First used"),
            Column("last_seen", "Last used"),
            Column("count", "Count", word=True),
        ],
        title="Usage",
        empty="no usage recorded for this identity",
        wide=wide,
    )
