"""Where entries come from: local files (found under folders, identified for incremental imports by path, size
and modification time), each read streaming into an aggregate, in a worker process when there are several."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from permscope.clouds.gcp.activity.aggregate import GcpActivityAggregate
from permscope.clouds.gcp.activity.stream import entry_batches
from permscope.clouds.gcp.raw import PART_FILES
from permscope.core.errors import InputError
from permscope.core.gc_pause import collector_paused
from permscope.userfiles import DEFAULT_LIMITS, FileLimits, open_regular, regular_file_problem

try:
    import resource  # POSIX only: peak memory of the reading process, for benchmarks
except ImportError:  # pragma: no cover
    resource = None  # type: ignore[assignment]

INVENTORY_FILES = frozenset(PART_FILES.values())
LOG_SUFFIXES = (".json", ".jsonl", ".ndjson", ".json.gz", ".jsonl.gz", ".ndjson.gz", ".gz")


@dataclass(frozen=True, slots=True)
class LocalFile:
    """A log file, identified for incremental imports by path, size and modification time."""

    path: str
    size: int
    mtime_ns: int

    @property
    def key(self) -> str:
        """sha256 of (absolute path, size, mtime): the same file unchanged is counted once."""
        text = f"{self.path}\0{self.size}\0{self.mtime_ns}"
        return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


@dataclass(slots=True)
class FileResult:
    """One file's aggregate, or the problem that stopped its reading; and what reading it cost."""

    file: LocalFile
    aggregate: GcpActivityAggregate | None = None
    error: str | None = None
    cpu_seconds: float = 0.0
    peak_rss_kb: int = 0


def _inventory_part(path: Path) -> bool:
    """Whether a file is a part of an export folder's inventory bundle (`raw.PART_FILES`), not a log."""
    stem = path.name.removesuffix(".gz").removesuffix(".json")
    return stem in INVENTORY_FILES


def find_log_files(paths: Iterable[str | Path]) -> list[LocalFile]:
    """The files named, and the log files under the folders named (recursively, sorted; an export folder's
    inventory files, `projects.json` and the like, are not logs and are passed over)."""
    found: dict[str, LocalFile] = {}
    for given in paths:
        path = Path(given).expanduser()
        if path.is_dir():
            candidates = sorted(
                p
                for p in path.rglob("*")
                if p.is_file() and p.name.endswith(LOG_SUFFIXES) and not _inventory_part(p)
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
            found.setdefault(str(resolved), LocalFile(str(resolved), stat.st_size, stat.st_mtime_ns))
    return list(found.values())


def aggregate_stream(
    stream: BinaryIO,
    source: str,
    into: GcpActivityAggregate | None = None,
    limits: FileLimits = DEFAULT_LIMITS,
) -> GcpActivityAggregate:
    """Fold every entry of a stream into an aggregate (a new one unless `into` is given); InputError naming
    `source` when the stream is not log entries. The cyclic collector is paused: entries hold no cycles."""
    aggregate = into if into is not None else GcpActivityAggregate()
    with collector_paused():
        for batch in entry_batches(stream, source, limits):
            aggregate.add_all(batch)
    return aggregate


def aggregate_file(file: LocalFile, limits: FileLimits = DEFAULT_LIMITS) -> FileResult:
    """Read one log file into an aggregate; a bad file yields its error (never raises: runs in workers)."""
    started = time.process_time()
    try:
        with open_regular(file.path) as stream:
            result = FileResult(file, aggregate=aggregate_stream(stream, file.path, limits=limits))
    except InputError as exc:
        result = FileResult(file, error=exc.problem)
    except OSError as exc:
        result = FileResult(file, error=f"cannot read the file: {exc.strerror or exc}")
    result.cpu_seconds = time.process_time() - started
    result.peak_rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss if resource is not None else 0
    return result
