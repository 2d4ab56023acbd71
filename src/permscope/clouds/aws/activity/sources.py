"""Where CloudTrail records come from: local files, S3 trail buckets and the LookupEvents API.

Each source is read through `activity.stream` (streamed, bounded memory) into an `ActivityAggregate`, and
identified for incremental imports: a file by its path, size and modification time, an S3 object by its key
and ETag, a LookupEvents pass by its window and the ids of the events at its edges.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from permscope.activity_stream import FileResult as _FileResult
from permscope.activity_stream import LogFile as LogFile
from permscope.activity_stream import find_log_files as _find_log_files
from permscope.activity_stream import read_file
from permscope.clouds.aws.activity.aggregate import ActivityAggregate, canonical_time
from permscope.clouds.aws.activity.stream import aggregate_stream, unwrap
from permscope.core.arn import is_account_id
from permscope.core.errors import InputError
from permscope.userfiles import DEFAULT_LIMITS, FileLimits

LOG_FILE_SUFFIXES = (".json", ".json.gz", ".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz", ".gz")
S3_LAYOUT = re.compile(
    r"(?:^|/)AWSLogs/(?:(?P<org>o-[a-z0-9]{10,32})/)?(?P<account>\d{12})/CloudTrail/(?P<region>[a-z0-9-]+)/"
    r"(?P<year>\d{4})/(?P<month>\d{2})/(?P<day>\d{2})/(?P<name>[^/]+\.json(?:\.gz)?)$"
)
_S3_REGION_LEVEL = re.compile(
    r"(?:^|/)AWSLogs/(?:o-[a-z0-9]{10,32}/)?(?P<account>\d{12})/CloudTrail/(?P<region>[a-z0-9-]+)/"
)


# ------------------------------------------------------------------------------------------- local files


LocalFile = LogFile
FileResult = _FileResult[ActivityAggregate]


def _other_aws_logs(path: Path) -> bool:
    """Whether a file sits in an `AWSLogs/` tree under another folder than `CloudTrail/` (digests, Insights,
    VPC flow logs, load balancer logs: a bucket synced whole)."""
    parts = path.parts
    if "AWSLogs" not in parts:
        return False
    rest = parts[len(parts) - 1 - parts[::-1].index("AWSLogs") + 1 :]
    if rest and rest[0].startswith("o-"):
        rest = rest[1:]
    return len(rest) >= 3 and rest[1] != "CloudTrail"


def _is_log(path: Path) -> bool:
    return path.name.endswith(LOG_FILE_SUFFIXES) and not _other_aws_logs(path)


def find_log_files(paths: Iterable[str | Path]) -> list[LogFile]:
    """The log files named, and those under the folders named (recursively, sorted; in an `AWSLogs/` tree only
    the `CloudTrail/` folders)."""
    return _find_log_files(paths, _is_log)


def aggregate_file(file: LogFile, limits: FileLimits = DEFAULT_LIMITS) -> FileResult:
    """Read one log file into an aggregate; a bad file yields its error (never raises: runs in workers)."""
    return read_file(file, partial(aggregate_stream, limits=limits))


# ------------------------------------------------------------------------------------------- S3


@dataclass(frozen=True, slots=True)
class S3LogObject:
    """A CloudTrail log file in S3, identified for incremental imports by bucket, key and ETag."""

    bucket: str
    key: str
    etag: str
    size: int
    account: str
    region: str
    day: date

    @property
    def uri(self) -> str:
        """s3://bucket/key."""
        return f"s3://{self.bucket}/{self.key}"

    @property
    def source_key(self) -> str:
        """sha256 of (bucket, key, ETag): the same object version is counted once."""
        return hashlib.sha256(f"{self.bucket}\0{self.key}\0{self.etag}".encode()).hexdigest()


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """(bucket, prefix) of `s3://bucket/prefix`."""
    if not uri.startswith("s3://"):
        raise InputError(uri, "expected an S3 URI: s3://bucket/prefix")
    bucket, _, prefix = uri[len("s3://") :].partition("/")
    if not bucket:
        raise InputError(uri, "the S3 URI names no bucket")
    return bucket, prefix


def _descend(relative: str, accounts: set[str] | None, regions: set[str] | None) -> bool:
    """Whether a folder (a common prefix) may lead to wanted CloudTrail logs."""
    marker = relative.rfind("AWSLogs/")
    if marker == -1:
        return True  # above the trail's AWSLogs/ folder (the trail's own key prefix)
    parts = relative[marker + len("AWSLogs/") :].rstrip("/").split("/")
    if parts and parts[0].startswith("o-"):
        parts = parts[1:]  # organization trail: AWSLogs/<org id>/<account>/...
    if not parts or not parts[0]:
        return True
    if not is_account_id(parts[0]) or (accounts and parts[0] not in accounts):
        return False
    if len(parts) >= 2 and parts[1] != "CloudTrail":
        return False  # CloudTrail-Digest, CloudTrail-Insight, other services' logs
    return not (len(parts) >= 3 and regions and parts[2] not in regions)


def list_log_objects(
    client: Any,
    bucket: str,
    prefix: str = "",
    *,
    accounts: Iterable[str] | None = None,
    regions: Iterable[str] | None = None,
    start: date | None = None,
    end: date | None = None,
) -> Iterator[S3LogObject]:
    """The CloudTrail log objects under `prefix`, standard or organization-trail layout, oldest day first per
    account and region; folders outside the filters are not listed, and days before `start` are skipped by
    listing from that day (keys of one region sort by date).

    A prefix above the region folders names a folder: `trail` is `trail/`, not also `trail-old/` (another
    trail's prefix); below them it is a key prefix (`.../eu-west-1/2024/05` is May 2024).
    """
    wanted_accounts = set(accounts) if accounts else None
    wanted_regions = set(regions) if regions else None
    if prefix and not prefix.endswith("/") and _S3_REGION_LEVEL.search(prefix) is None:
        prefix += "/"
    pending = [prefix]
    while pending:
        folder = pending.pop()
        level = _S3_REGION_LEVEL.search(folder)
        if level is not None:
            yield from _list_region(client, bucket, folder, level.end(), start, end)
            continue
        for page in client.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=folder, Delimiter="/"
        ):
            for common in page.get("CommonPrefixes") or []:
                sub = str(common["Prefix"])
                if _descend(sub, wanted_accounts, wanted_regions):
                    pending.append(sub)
            for item in page.get("Contents") or []:
                found = _log_object(bucket, item, start, end)
                if found is not None and _descend(str(item["Key"]), wanted_accounts, wanted_regions):
                    yield found
    return


def _list_region(
    client: Any, bucket: str, folder: str, level_end: int, start: date | None, end: date | None
) -> Iterator[S3LogObject]:
    """Every log object of one account and region folder (or below it), from `start` on."""
    arguments: dict[str, Any] = {"Bucket": bucket, "Prefix": folder}
    if start is not None and len(folder) == level_end:
        arguments["StartAfter"] = f"{folder}{start:%Y/%m/%d}"
    for page in client.get_paginator("list_objects_v2").paginate(**arguments):
        for item in page.get("Contents") or []:
            found = _log_object(bucket, item, start, None)
            if found is None:
                continue
            if end is not None and found.day > end:
                return  # keys of a region folder sort by day
            yield found


def _log_object(
    bucket: str, item: dict[str, Any], start: date | None, end: date | None
) -> S3LogObject | None:
    key = str(item["Key"])
    match = S3_LAYOUT.search(key)
    if match is None:
        return None
    try:
        day = date(int(match["year"]), int(match["month"]), int(match["day"]))
    except ValueError:
        return None
    if (start is not None and day < start) or (end is not None and day > end):
        return None
    return S3LogObject(
        bucket=bucket,
        key=key,
        etag=str(item.get("ETag", "")).strip('"'),
        size=int(item.get("Size", 0)),
        account=match["account"],
        region=match["region"],
        day=day,
    )


def read_log_object(client: Any, obj: S3LogObject, into: ActivityAggregate) -> None:
    """Stream one S3 log object into an aggregate (the object must still have the listed ETag)."""
    response = client.get_object(Bucket=obj.bucket, Key=obj.key, IfMatch=f'"{obj.etag}"')
    body = response["Body"]
    try:
        aggregate_stream(body, obj.uri, into)
    finally:
        body.close()


# ------------------------------------------------------------------------------------------- LookupEvents


@dataclass(slots=True)
class LookupWindow:
    """One LookupEvents pass over [start, end] in one region, and the event ids at its two edges."""

    region: str
    start: datetime
    end: datetime
    events: int = 0
    edge_ids: list[str] = field(default_factory=list)  # ids of events in the first and last second


def lookup_events(
    client: Any,
    window: LookupWindow,
    into: ActivityAggregate,
    *,
    skip_ids: set[str] | frozenset[str] = frozenset(),
    progress: Callable[[int], None] | None = None,
) -> None:
    """Read the management events of [window.start, window.end] (both inclusive, as the API has it) into an
    aggregate, skipping `skip_ids` (events at the edge of windows counted before). LookupEvents answers two
    calls per second per account and region; botocore's adaptive retry mode absorbs the throttling."""
    first_second = canonical_time(window.start)
    last_second = canonical_time(window.end)
    paginator = client.get_paginator("lookup_events")
    pages = paginator.paginate(StartTime=window.start, EndTime=window.end, PaginationConfig={"PageSize": 50})
    for page in pages:
        records: list[Any] = []
        for event in page.get("Events") or []:
            event_id = str(event.get("EventId") or "")
            if event_id and event_id in skip_ids:
                continue
            moment = canonical_time(event.get("EventTime"))
            if event_id and moment in (first_second, last_second):
                window.edge_ids.append(event_id)
            records.extend(unwrap(event))
        window.events += len(records)
        into.add_all(records)
        if progress is not None:
            progress(window.events)


def aws_client(service: str, profile: str | None, region: str | None, endpoint_url: str | None) -> Any:
    """A boto3 client from the standard credential chain (or a profile), with adaptive retries."""
    import boto3  # imported here: only the live paths need it
    from botocore.config import Config

    session: Any = boto3.Session(profile_name=profile, region_name=region)
    config = Config(retries={"mode": "adaptive", "max_attempts": 10}, user_agent_extra="permscope")
    return session.client(service, endpoint_url=endpoint_url, config=config)


def caller_account(profile: str | None, endpoint_url: str | None) -> str:
    """The account of the credentials in use (sts:GetCallerIdentity, which needs no permission)."""
    identity = aws_client("sts", profile, None, endpoint_url).get_caller_identity()
    return str(identity["Account"])


def default_lookup_start(now: datetime) -> datetime:
    """The oldest time LookupEvents can answer for: 90 days of event history."""
    return (now - timedelta(days=90)).astimezone(UTC).replace(microsecond=0)
