"""CloudTrail into an activity sink: log files (in parallel worker processes), trail buckets, LookupEvents, and
the activity of accounts a live collection just read.

Each input is identified for incremental imports (`sources`); an input the sink has counted before is skipped
before it is read, an input that cannot be read is reported and not counted (the next run retries it). The sink
(the workflow's importer) resolves actors with `resolve.ActorResolver` and merges into the store.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from permscope import activity_stream
from permscope.clouds.aws.activity import sources
from permscope.clouds.aws.activity.aggregate import ActivityAggregate
from permscope.core.activity import ActivitySink, ActivitySource
from permscope.core.errors import InputError
from permscope.core.limits import printable
from permscope.userfiles import DEFAULT_LIMITS, FileLimits

Progress = Callable[[int, int], None]
# CloudTrail delivers most events to event history within minutes; newer ones may still be missing
LOOKUP_SETTLE = timedelta(minutes=15)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogateescape")).hexdigest()


def aws_problem(exc: BaseException) -> str | None:
    """One line naming an AWS error (botocore's: refused, missing bucket, no credentials, unreachable
    endpoint) that stopped an S3 or LookupEvents import; None for any other exception."""
    from botocore.exceptions import BotoCoreError, ClientError  # imported here: only the live paths need it

    from permscope.clouds.aws.collect.support import describe_error

    if isinstance(exc, ClientError | BotoCoreError):
        return describe_error(exc)
    return None


# ------------------------------------------------------------------------------------------- files


def _file_source(file: sources.LogFile) -> ActivitySource:
    return ActivitySource(
        kind="file",
        key=file.key,
        location=printable(file.path),
        details={"size": file.size, "mtimeNs": file.mtime_ns},
    )


def read_files(
    files: Sequence[sources.LogFile], workers: int, limits: FileLimits = DEFAULT_LIMITS
) -> Iterator[sources.FileResult]:
    """Each file's result, in order; in parallel worker processes when there are several files and workers
    (`activity_stream.read_files`: the rest in this process if the workers cannot run)."""
    return activity_stream.read_files(
        files, sources.aggregate_file, workers, limits, ahead=8, preload=[sources.__name__]
    )


def import_files(
    sink: ActivitySink,
    paths: Sequence[str | Path],
    *,
    workers: int,
    progress: Progress | None = None,
    limits: FileLimits = DEFAULT_LIMITS,
) -> None:
    """CloudTrail log files (and the files under folders): JSON, gzip or JSON lines.

    A file counted before (same absolute path, size and modification time) is skipped; a file that cannot be
    read is reported in the sink's `failures` and not counted.
    """
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
            sink.add(result.aggregate, _file_source(result.file))
        if progress is not None:
            progress(done, len(wanted))


# ------------------------------------------------------------------------------------------- S3


def _batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def import_bucket(
    sink: ActivitySink,
    uri: str,
    *,
    client: Any | None = None,
    accounts: Sequence[str] | None = None,
    regions: Sequence[str] | None = None,
    start: date | None = None,
    end: date | None = None,
    profile: str | None = None,
    region: str | None = None,
    endpoint_url: str | None = None,
    progress: Progress | None = None,
) -> None:
    """The CloudTrail logs of a trail bucket (`s3://bucket/prefix`, standard or organization layout).

    Objects are listed per account and region folder (filters prune the listing), read streaming, and an
    object counted before (same bucket, key and ETag) is skipped without being downloaded.
    """
    bucket, prefix = sources.parse_s3_uri(uri)
    s3 = client if client is not None else sources.aws_client("s3", profile, region, endpoint_url)
    report = sink.report
    listed = sources.list_log_objects(
        s3, bucket, prefix, accounts=accounts, regions=regions, start=start, end=end
    )
    done = 0
    for batch in _batched(listed, 500):
        report.sources_found += len(batch)
        counted = sink.counted("s3", (obj.source_key for obj in batch))
        for obj in batch:
            done += 1
            if obj.source_key in counted:
                report.sources_skipped += 1
                continue
            aggregate = ActivityAggregate()
            try:
                sources.read_log_object(s3, obj, aggregate)
            except InputError as exc:
                report.failures.append((obj.uri, exc.problem))
                continue
            except Exception as exc:  # a botocore error for one object: report it, go on with the others
                report.failures.append((obj.uri, f"{type(exc).__name__}: {exc}"))
                continue
            source = ActivitySource(
                kind="s3",
                key=obj.source_key,
                location=obj.uri,
                details={"etag": obj.etag, "size": obj.size, "account": obj.account, "region": obj.region},
            )
            sink.add(aggregate, source)
            if progress is not None:
                progress(done, report.sources_found)
    if report.sources_found == 0:
        report.notes.append(f"no CloudTrail log objects (AWSLogs/.../CloudTrail/...) under {uri}")


# ------------------------------------------------------------------------------------------- LookupEvents


def gaps(
    start: datetime, end: datetime, covered: list[tuple[datetime, datetime]]
) -> list[tuple[datetime, datetime]]:
    """The parts of [start, end] no covered window holds (edges shared with covered windows included)."""
    found: list[tuple[datetime, datetime]] = []
    cursor = start
    for window_start, window_end in sorted(covered):
        if window_end < cursor:
            continue
        if window_start > cursor:
            found.append((cursor, min(window_start, end)))
        cursor = max(cursor, window_end)
        if cursor >= end:
            break
    if cursor < end:
        found.append((cursor, end))
    return [(gap_start, gap_end) for gap_start, gap_end in found if gap_start < gap_end]


def import_lookup(
    sink: ActivitySink,
    *,
    regions: Sequence[str],
    start: datetime | None = None,
    end: datetime | None = None,
    account_id: str | None = None,
    profile: str | None = None,
    endpoint_url: str | None = None,
    clients: dict[str, Any] | None = None,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> None:
    """Management events from the LookupEvents API (90 days of event history), per region.

    Each pass covers the parts of [start, end] not covered by earlier passes of that account and region, and
    skips the events at the edges of earlier windows (both edges are inclusive in the API). The window ends
    LOOKUP_SETTLE before now: events are delivered to event history minutes after the call.
    """
    moment = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    latest = moment - LOOKUP_SETTLE
    window_end = min(end, latest) if end is not None else latest
    window_start = start if start is not None else sources.default_lookup_start(moment)
    report = sink.report
    if end is not None and end > latest:
        report.notes.append(
            f"the window ends at {latest.isoformat()} (events newer than that may not be delivered)"
        )
    account = account_id or sources.caller_account(profile, endpoint_url)
    for region in regions:
        client = (clients or {}).get(region) or sources.aws_client(
            "cloudtrail", profile, region, endpoint_url
        )
        location = f"{account}/{region}"
        covered: list[tuple[datetime, datetime]] = []
        edge_ids: set[str] = set()
        for details in sink.windows("lookupEvents", location):
            covered.append((datetime.fromisoformat(details["start"]), datetime.fromisoformat(details["end"])))
            edge_ids.update(details.get("edgeIds") or [])
        found = gaps(window_start, window_end, covered)
        report.sources_found += len(found)
        if not found and window_start < window_end:
            report.sources_skipped += 1
        for gap_start, gap_end in found:
            window = sources.LookupWindow(region=region, start=gap_start, end=gap_end)
            aggregate = ActivityAggregate()
            sources.lookup_events(client, window, aggregate, skip_ids=edge_ids)
            sink.add(
                aggregate,
                ActivitySource(
                    kind="lookupEvents",
                    key=_digest(location, gap_start.isoformat(), gap_end.isoformat()),
                    location=location,
                    details={
                        "account": account,
                        "region": region,
                        "start": gap_start.isoformat(),
                        "end": gap_end.isoformat(),
                        "edgeIds": sorted(set(window.edge_ids)),
                    },
                ),
            )
            sink.commit()  # a window is recorded as soon as it is read: the next pass starts from it
            if progress is not None:
                progress(report.sources_read, report.sources_found)
