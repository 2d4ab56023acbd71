"""Where entries come from: local files (found under folders, identified for incremental imports by path, size
and modification time), each read streaming into an aggregate, in a worker process when there are several."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from pathlib import Path
from typing import BinaryIO

from permscope.activity_stream import FileResult as _FileResult
from permscope.activity_stream import LogFile as LogFile
from permscope.activity_stream import find_log_files as _find_log_files
from permscope.activity_stream import fold, read_file
from permscope.clouds.gcp.activity.aggregate import GcpActivityAggregate
from permscope.clouds.gcp.activity.stream import entry_batches
from permscope.clouds.gcp.raw import PART_FILES
from permscope.userfiles import DEFAULT_LIMITS, FileLimits

INVENTORY_FILES = frozenset(PART_FILES.values())
LOG_SUFFIXES = (".json", ".jsonl", ".ndjson", ".json.gz", ".jsonl.gz", ".ndjson.gz", ".gz")

LocalFile = LogFile
FileResult = _FileResult[GcpActivityAggregate]


def _is_log(path: Path) -> bool:
    """A log file, not a part of an export folder's inventory bundle (`raw.PART_FILES`)."""
    stem = path.name.removesuffix(".gz").removesuffix(".json")
    return path.name.endswith(LOG_SUFFIXES) and stem not in INVENTORY_FILES


def find_log_files(paths: Iterable[str | Path]) -> list[LogFile]:
    """The files named, and the log files under the folders named (recursively, sorted; an export folder's
    inventory files, `projects.json` and the like, are not logs and are passed over)."""
    return _find_log_files(paths, _is_log)


def aggregate_stream(
    stream: BinaryIO,
    source: str,
    into: GcpActivityAggregate | None = None,
    limits: FileLimits = DEFAULT_LIMITS,
) -> GcpActivityAggregate:
    """Fold every entry of a stream into an aggregate (a new one unless `into` is given); InputError naming
    `source` when the stream is not log entries. The cyclic collector is paused: entries hold no cycles."""
    return fold(entry_batches(stream, source, limits), into if into is not None else GcpActivityAggregate())


def aggregate_file(file: LogFile, limits: FileLimits = DEFAULT_LIMITS) -> FileResult:
    """Read one log file into an aggregate; a bad file yields its error (never raises: runs in workers)."""
    return read_file(file, partial(aggregate_stream, limits=limits))
