"""Azure log files: which files a path names, and one file read (streamed) into an aggregate.

A folder is searched recursively for JSON files (`.json`, `.jsonl`, `.ndjson`, gzip or not): an export folder's
`activity-log*.json` and `sign-ins*.json`, a copied `insights-activity-logs` / `insights-logs-signinlogs`
container (`.../PT1H.json`). The inventory files of an export folder (`clouds.azure.raw.PART_FILES`) are left
out. A file is identified for incremental imports by its absolute path, size and modification time.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from permscope.activity_stream import FileResult as _FileResult
from permscope.activity_stream import LogFile as LogFile
from permscope.activity_stream import find_log_files as _find_log_files
from permscope.activity_stream import fold, read_file
from permscope.clouds.azure.activity.aggregate import AzureAggregate
from permscope.clouds.azure.activity.stream import record_batches
from permscope.clouds.azure.raw import PART_FILES
from permscope.userfiles import DEFAULT_LIMITS, FileLimits

LOG_FILE_SUFFIXES = (".json", ".json.gz", ".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz")
INVENTORY_FILES = frozenset({*PART_FILES.values(), "errors"})
KEY_SALT = "azure\0"  # Azure's file keys differ from another cloud's for the same file

FileResult = _FileResult[AzureAggregate]

__all__ = ["FileResult", "LogFile", "aggregate_file", "find_log_files"]


def _stem(path: Path) -> str:
    name = path.name
    for suffix in LOG_FILE_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _is_log(path: Path) -> bool:
    return path.name.endswith(LOG_FILE_SUFFIXES) and _stem(path) not in INVENTORY_FILES


def find_log_files(paths: Iterable[str | Path]) -> list[LogFile]:
    """The files named, and the log files under the folders named (recursively, sorted, inventory files out)."""
    return _find_log_files(paths, _is_log, salt=KEY_SALT)


def aggregate_file(file: LogFile, limits: FileLimits = DEFAULT_LIMITS) -> FileResult:
    """Read one log file into an aggregate; a bad file yields its error (never raises: runs in workers)."""

    def read(stream: BinaryIO, path: str) -> AzureAggregate:
        return fold(record_batches(stream, path, limits), AzureAggregate())

    return read_file(file, read)
