"""Audit logs into an activity sink: log files (in worker processes when there are several), a log sink's
Cloud Storage bucket, and the Cloud Logging API and Policy Analyzer per project (`live`).

Each input is identified for incremental imports: a file by path, size and modification time, a bucket object
by bucket, name and generation, an API pass by its project and window. An input the sink has counted before is
skipped before it is read; an input that cannot be read is reported and not counted (the next run retries it).
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from permscope import activity_stream
from permscope.activity_stream import CHUNK
from permscope.clouds.gcp.activity import live, sources
from permscope.clouds.gcp.activity.aggregate import LAST_AUTHENTICATION, GcpActivityAggregate
from permscope.core.activity import ActivitySink, ActivitySource
from permscope.core.errors import InputError
from permscope.core.gc_pause import collector_paused
from permscope.core.limits import printable
from permscope.userfiles import DEFAULT_LIMITS, FileLimits

Progress = Callable[[int, int], None]
DEFAULT_DAYS = 30  # Data Access logs are kept 30 days by default (Admin Activity 400)
LOGGING_SETTLE = timedelta(minutes=10)  # audit entries reach Cloud Logging within minutes of the call


def read_files(
    files: Sequence[sources.LogFile], workers: int, limits: FileLimits = DEFAULT_LIMITS
) -> Iterator[sources.FileResult]:
    """Each file's result, in order; in worker processes when there are several files and workers
    (`activity_stream.read_files`: the rest in this process if the workers cannot run)."""
    return activity_stream.read_files(
        files, sources.aggregate_file, workers, limits, ahead=2, preload=[sources.__name__]
    )


def import_files(
    sink: ActivitySink,
    paths: Sequence[str | Path],
    *,
    workers: int,
    progress: Progress | None = None,
    limits: FileLimits = DEFAULT_LIMITS,
) -> None:
    """Audit-log and Policy Analyzer files (and the log files under folders): JSON lines, JSON arrays, REST
    pages, gzip. A file counted before (same path, size, modification time) is skipped; a file that cannot be
    read is reported in the sink's `failures` (naming the file and line) and not counted."""
    report = sink.report
    files = sources.find_log_files(paths)
    report.sources_found = len(files)
    counted = sink.counted("file", (file.key for file in files))
    wanted = [file for file in files if file.key not in counted]
    report.sources_skipped = len(files) - len(wanted)
    for done, result in enumerate(read_files(wanted, workers, limits), start=1):
        if result.error is not None or result.aggregate is None:
            report.failures.append((printable(result.file.path), result.error or "unreadable"))
        else:
            source = ActivitySource(
                kind="file",
                key=result.file.key,
                location=printable(result.file.path),
                details={"size": result.file.size, "mtimeNs": result.file.mtime_ns},
            )
            sink.add(result.aggregate, source)
        if progress is not None:
            progress(done, len(wanted))


# ------------------------------------------------------------------------------------------- Cloud Storage


def import_bucket(
    sink: ActivitySink,
    uri: str,
    *,
    project: str | None = None,
    credentials: Any = None,
    http: Any = None,
    client: Any = None,
    progress: Progress | None = None,
    limits: FileLimits = DEFAULT_LIMITS,
) -> None:
    """The audit logs a log sink exported to a bucket (`gs://bucket/prefix`), read streaming; an object
    counted before (same bucket, name and generation) is skipped without being downloaded."""
    bucket, prefix = live.parse_gs_uri(uri)
    storage = client if client is not None else live.storage_client(project, credentials, http)
    report = sink.report
    done = 0
    for batch in _batched(live.log_objects(storage, bucket, prefix), 500):
        report.sources_found += len(batch)
        keys = {_digest(bucket, blob.name, str(blob.generation)): blob for blob in batch}
        counted = sink.counted("gcs", keys)
        for key, blob in keys.items():
            done += 1
            location = f"gs://{bucket}/{blob.name}"
            if key in counted:
                report.sources_skipped += 1
                continue
            aggregate = GcpActivityAggregate()
            try:
                with blob.open("rb", chunk_size=CHUNK) as stream:
                    sources.aggregate_stream(stream, location, aggregate, limits)
            except InputError as exc:
                report.failures.append((location, exc.problem))
                continue
            except Exception as exc:  # one object's API error: reported, the others go on
                if sink.store_failed(exc):
                    raise
                report.failures.append((location, gcp_problem(exc) or f"{type(exc).__name__}: {exc}"))
                continue
            details = {"generation": str(blob.generation), "size": blob.size}
            sink.add(aggregate, ActivitySource(kind="gcs", key=key, location=location, details=details))
            if progress is not None:
                progress(done, report.sources_found)
    if report.sources_found == 0:
        report.notes.append(f"no audit-log objects (cloudaudit.googleapis.com/...) under {uri}")


def _batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


# ------------------------------------------------------------------------------------------- the APIs


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogateescape")).hexdigest()


def uncovered(
    start: datetime, end: datetime, covered: Iterable[tuple[datetime, datetime]]
) -> list[tuple[datetime, datetime]]:
    """The parts of [start, end) that no covered [a, b) holds, in order."""
    found: list[tuple[datetime, datetime]] = []
    cursor = start
    for low, high in sorted(covered):
        if high <= cursor:
            continue
        if low >= end:
            break
        if low > cursor:
            found.append((cursor, low))
        cursor = max(cursor, high)
    if cursor < end:
        found.append((cursor, end))
    return found


def import_api(
    sink: ActivitySink,
    *,
    projects: Sequence[str],
    start: datetime | None = None,
    end: datetime | None = None,
    audit_logs: bool = True,
    last_authentication: bool = True,
    credentials: Any = None,
    http: Any = None,
    now: datetime | None = None,
    progress: Progress | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Per project: the Admin Activity and Data Access audit logs of [start, end) from Cloud Logging (the parts
    earlier passes did not cover; default: the last DEFAULT_DAYS days, ending LOGGING_SETTLE before now), and
    the service accounts' last authentications from Policy Analyzer (once a day)."""
    moment = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    latest = moment - LOGGING_SETTLE
    window_end = min(utc(end), latest) if end is not None else latest
    window_start = utc(start) if start is not None else moment - timedelta(days=DEFAULT_DAYS)
    report = sink.report
    if end is not None and utc(end) > latest:
        report.notes.append(
            f"the window ends at {latest.isoformat()} (newer entries may not be delivered yet)"
        )
    for number, project in enumerate(projects, start=1):
        if audit_logs:
            _audit_logs(sink, project, window_start, window_end, credentials, http, sleep)
        if last_authentication:
            _last_authentications(sink, project, moment, credentials, http, sleep)
        if progress is not None:
            progress(number, len(projects))


def utc(moment: datetime) -> datetime:
    """The moment in UTC (a naive one taken as UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _audit_logs(
    sink: ActivitySink,
    project: str,
    start: datetime,
    end: datetime,
    credentials: Any,
    http: Any,
    sleep: Callable[[float], None],
) -> None:
    covered = [
        (datetime.fromisoformat(details["start"]), datetime.fromisoformat(details["end"]))
        for details in sink.windows("cloudLogging", project)
    ]
    gaps = uncovered(start, end, covered)
    report = sink.report
    report.sources_found += len(gaps)
    if not gaps and start < end:
        report.sources_skipped += 1
    if not gaps:
        return
    client = live.logging_client(project, credentials, http)
    for low, high in gaps:
        aggregate = GcpActivityAggregate()
        with collector_paused():
            aggregate.add_all(live.audit_entries(client, project, low, high, sleep))
        details = {"project": project, "start": low.isoformat(), "end": high.isoformat()}
        key = _digest(project, low.isoformat(), high.isoformat())
        sink.add(aggregate, ActivitySource(kind="cloudLogging", key=key, location=project, details=details))
        sink.commit()  # a window is recorded as soon as it is read: the next pass starts from it


def _last_authentications(
    sink: ActivitySink,
    project: str,
    moment: datetime,
    credentials: Any,
    http: Any,
    sleep: Callable[[float], None],
) -> None:
    session = None
    report = sink.report
    for kind in LAST_AUTHENTICATION:
        key = _digest(project, kind, moment.date().isoformat())
        report.sources_found += 1
        if sink.counted("policyAnalyzer", [key]):
            report.sources_skipped += 1
            continue
        session = session or live.authorized_session(credentials, http)
        aggregate = GcpActivityAggregate()
        aggregate.add_all(live.last_authentications(session, project, kind, sleep))
        details = {"project": project, "activityType": kind, "day": moment.date().isoformat()}
        location = f"{project}/{kind}"
        sink.add(
            aggregate, ActivitySource(kind="policyAnalyzer", key=key, location=location, details=details)
        )
        sink.commit()


def gcp_problem(exc: BaseException) -> str | None:
    """One line naming a Google API error (google.api_core: refused, not found, quota, unreachable; google.auth:
    no credentials) that stopped an import; None for any other exception."""
    try:
        from google.api_core import exceptions
        from google.auth import exceptions as auth_exceptions
    except ImportError:  # pragma: no cover - the gcp extra is not installed: no Google error can occur
        return None
    if isinstance(exc, exceptions.GoogleAPICallError):
        status = exc.grpc_status_code.name if exc.grpc_status_code is not None else _http_status(exc)
        message = _REQUEST_PREFIX.sub("", " ".join(str(exc.message or "").split()))
        return f"{status} ({exc.code}): {message}" if message else f"{status} ({exc.code})"
    if isinstance(exc, exceptions.RetryError):
        return f"gave up retrying: {' '.join(str(exc.cause or exc).split())}"
    if isinstance(exc, auth_exceptions.DefaultCredentialsError):
        return "no Google credentials: run `gcloud auth application-default login` or set GOOGLE_APPLICATION_CREDENTIALS"
    if isinstance(exc, auth_exceptions.GoogleAuthError):
        return f"Google authentication failed: {' '.join(str(exc).split())}"
    return None


_REQUEST_PREFIX = re.compile(r"^(?:GET|POST|PUT|PATCH|DELETE|HEAD) \S+: ")


def _http_status(exc: Any) -> str:
    """The `status` of a Google JSON error answer (`PERMISSION_DENIED`), else the exception's class name."""
    response = getattr(exc, "response", None)
    try:
        status = response.json()["error"]["status"] if response is not None else None
    except (ValueError, KeyError, TypeError, AttributeError):
        status = None
    return status if isinstance(status, str) and status else type(exc).__name__
