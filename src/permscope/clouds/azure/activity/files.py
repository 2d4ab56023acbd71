"""Azure log files: which files a path names, and one file read (streamed) into an aggregate.

A folder is searched recursively for JSON files (`.json`, `.jsonl`, `.ndjson`, gzip or not): an export folder's
`activity-log*.json` and `sign-ins*.json`, a copied `insights-activity-logs` / `insights-logs-signinlogs`
container (`.../PT1H.json`). The inventory files of an export folder (`clouds.azure.raw.PART_FILES`) are left
out. A file is identified for incremental imports by its absolute path, size and modification time.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from permscope.clouds.azure.activity.aggregate import AzureAggregate
from permscope.clouds.azure.activity.stream import record_batches
from permscope.clouds.azure.raw import PART_FILES
from permscope.core.errors import InputError
from permscope.core.gc_pause import collector_paused
from permscope.userfiles import DEFAULT_LIMITS, FileLimits, open_regular, regular_file_problem

try:
    import resource  # POSIX only: peak memory of the reading process, for benchmarks
except ImportError:  # pragma: no cover
    resource = None  # type: ignore[assignment]

LOG_FILE_SUFFIXES = (".json", ".json.gz", ".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz")
INVENTORY_FILES = frozenset({*PART_FILES.values(), "errors"})


@dataclass(frozen=True, slots=True)
class LogFile:
    """A log file, identified for incremental imports by path, size and modification time."""

    path: str
    size: int
    mtime_ns: int

    @property
    def key(self) -> str:
        """sha256 of (absolute path, size, mtime): the same file unchanged is counted once."""
        text = f"azure\0{self.path}\0{self.size}\0{self.mtime_ns}"
        return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


@dataclass(slots=True)
class FileResult:
    """One file's aggregate, or the problem that stopped its reading; and what reading it cost."""

    file: LogFile
    aggregate: AzureAggregate | None = None
    error: str | None = None
    cpu_seconds: float = 0.0
    peak_rss_kb: int = 0


def _stem(path: Path) -> str:
    name = path.name
    for suffix in LOG_FILE_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def find_log_files(paths: Iterable[str | Path]) -> list[LogFile]:
    """The files named, and the log files under the folders named (recursively, sorted, inventory files out)."""
    found: dict[str, LogFile] = {}
    for given in paths:
        path = Path(given).expanduser()
        if path.is_dir():
            candidates = sorted(
                p
                for p in path.rglob("*")
                if p.is_file() and p.name.endswith(LOG_FILE_SUFFIXES) and _stem(p) not in INVENTORY_FILES
            )
        elif path.is_file():
            candidates = [path]
        elif path.exists():
            raise InputError(str(path), regular_file_problem(path) or "not a file or folder")
        else:
            raise InputError(str(path), "no such file or folder")
        for candidate in candidates:
            resolved = candidate.resolve()
            stat = resolved.stat()
            found.setdefault(str(resolved), LogFile(str(resolved), stat.st_size, stat.st_mtime_ns))
    return list(found.values())


def aggregate_file(file: LogFile, limits: FileLimits = DEFAULT_LIMITS) -> FileResult:
    """Read one log file into an aggregate; a bad file yields its error (never raises: runs in workers).

    The cyclic garbage collector is paused meanwhile: records and aggregates hold no reference cycles.
    """
    started = time.process_time()
    aggregate = AzureAggregate()
    try:
        with open_regular(file.path) as stream, collector_paused():
            for batch in record_batches(stream, file.path, limits):
                aggregate.add_all(batch)
        result = FileResult(file, aggregate=aggregate)
    except InputError as exc:
        result = FileResult(file, error=exc.problem)
    except OSError as exc:
        result = FileResult(file, error=f"cannot read the file: {exc.strerror or exc}")
    result.cpu_seconds = time.process_time() - started
    result.peak_rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss if resource is not None else 0
    return result
