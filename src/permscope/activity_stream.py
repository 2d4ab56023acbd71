"""Reading users' activity-log files: the stream split into batches of records, the files found and read.

The cloud-neutral machinery of the activity readers (CloudTrail, Azure logs, Cloud Audit Logs): each cloud
subclasses `JsonSplitter` with its own top-level dispatch (which envelopes it knows, how an array is walked) and
uses these parts for everything else; the stream comes in chunks (`userfiles.byte_chunks`: gzip and limits).
Log files are found under folders (`find_log_files`), identified for incremental imports by path, size and
modification time (`LogFile.key`), and read into aggregates in worker processes (`read_files`).

An array is split without a streaming parser: its first record is found by trying orjson on it up to each `}`
(the first prefix that parses is the record, since a JSON object ends at its matching brace); the record's
opening up to its first key (e.g. `{"eventVersion"`) then marks where later records may start, and everything up
to the last such mark in the buffer is decoded in one call as `[...]`. A mark inside a string cannot occur
(quotes are escaped there); a cut that does not parse (a nested object opening the same way) is retried at an
earlier mark, then one record at a time, so a record is never split.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from itertools import islice
from multiprocessing import get_all_start_methods, get_context
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import Any, BinaryIO, Generic, Protocol, TypeVar

import orjson

from permscope.core.errors import InputError
from permscope.core.gc_pause import collector_paused
from permscope.userfiles import DEFAULT_LIMITS, FileLimits, open_regular, regular_file_problem

try:
    import resource  # POSIX only: peak memory of the reading process, for benchmarks
except ImportError:  # pragma: no cover
    resource = None  # type: ignore[assignment]

CHUNK = 1 << 20  # bytes read per step; records are decoded in groups of about this
GROUP_ATTEMPTS = 4  # group cuts tried before falling back to one record at a time
WHITESPACE = b" \t\r\n"
_OPENING = re.compile(rb'\{\s*"(?:[^"\\]|\\.)*"')

GroupDecoder = Callable[[bytes], list[Any]]  # `[record, ...]` bytes -> records; ValueError when not JSON


def orjson_group(data: bytes) -> list[Any]:
    """The values of a JSON array (ValueError when the data is not one)."""
    value = orjson.loads(data)
    if type(value) is not list:
        raise ValueError("not a JSON array")
    return value


def typed_group_decoder(fields: type) -> GroupDecoder | None:
    """A decoder that builds only the fields of `fields` (a msgspec Struct) and skips the rest of each record
    unbuilt: several times faster than decoding whole records. A group whose fields have other types is decoded
    whole. None without msgspec."""
    try:
        import msgspec
    except ImportError:  # pragma: no cover - msgspec comes with the cloud extras
        return None
    typed = msgspec.json.Decoder(list[fields])  # type: ignore[valid-type]

    def decode(data: bytes) -> list[Any]:
        try:
            return typed.decode(data)
        except msgspec.ValidationError:
            return orjson_group(data)
        except msgspec.DecodeError as exc:
            raise ValueError(str(exc)) from None

    return decode


class JsonSplitter:
    """A buffer over a stream of chunks with the parts a JSON-log splitter needs; subclasses add `batches`.

    `noun` names a record in errors ("record", "entry"); `thousands` writes numbers in errors as `1,234`.
    """

    noun = "record"
    thousands = False

    def __init__(self, chunks: Iterator[bytes], source: str, *, max_record: int, chunk: int = CHUNK) -> None:
        self.chunks = chunks
        self.source = source
        self.max_record = max_record  # one record (or line) larger than this is refused
        self.chunk = chunk
        self.buf = b""
        self.pos = 0
        self.consumed = 0  # bytes dropped from the front of buf, for error offsets
        self.eof = False
        self.mark: bytes | None = None  # how records of the current array open, e.g. b'{"eventVersion"'

    # -- reading

    def fill(self, wanted: int) -> bool:
        """Read until `wanted` bytes are buffered after pos (or the end); False when nothing more came."""
        grew = False
        while len(self.buf) - self.pos < wanted and not self.eof:
            chunk = next(self.chunks, None)
            if chunk is None:
                self.eof = True
                break
            if self.pos:
                self.consumed += self.pos
                self.buf = self.buf[self.pos :]
                self.pos = 0
            self.buf += chunk
            grew = True
        return grew

    def skip_space(self) -> bool:
        """Move pos past whitespace; False at the end of the data."""
        while True:
            buf, pos = self.buf, self.pos
            while pos < len(buf) and buf[pos] in WHITESPACE:
                pos += 1
            self.pos = pos
            if pos < len(buf):
                return True
            if not self.fill(1):
                return False

    def skip_bom(self) -> None:
        """Skip a UTF-8 byte order mark at pos."""
        self.fill(64)
        if self.buf.startswith(b"\xef\xbb\xbf", self.pos):
            self.pos += 3

    def number(self, value: int) -> str:
        """A byte offset, line number or size as errors write it."""
        return f"{value:,}" if self.thousands else str(value)

    def where(self) -> str:
        """`at byte N`: the position of pos in the whole stream."""
        return f"at byte {self.number(self.consumed + self.pos)}"

    def _article(self) -> str:
        return "an" if self.noun[0] in "aeiou" else "a"

    def too_large(self) -> InputError:
        """The error for a record at pos larger than max_record."""
        return InputError(
            self.source,
            f"{self._article()} {self.noun} {self.where()} is larger than {self.number(self.max_record)} bytes",
        )

    # -- arrays

    def group(self, decode: GroupDecoder) -> list[Any] | None:
        """The records from pos up to the last record start (mark) in the buffer, or None."""
        assert self.mark is not None
        buf, start, end = self.buf, self.pos, len(self.buf)
        for _attempt in range(GROUP_ATTEMPTS):
            cut = buf.rfind(self.mark, start + 1, end)
            if cut == -1:
                return None
            segment = buf[start:cut].rstrip(WHITESPACE)
            if segment.endswith(b","):
                try:
                    records = decode(b"[" + segment[:-1] + b"]")
                except ValueError:  # not JSON: the cut is inside a record; try an earlier one
                    pass
                else:
                    self.pos = cut
                    return records
            end = cut
        return None

    def one_record(self, expected: str) -> Any:
        """The single JSON object at pos (the first prefix up to a `}` that parses); learns how records open.
        `expected` names what should stand at pos in the error when no object does."""
        if self.buf[self.pos] != ord("{"):
            raise InputError(self.source, f"expected {expected} {self.where()}")
        searched = 1  # braces before pos + searched were tried already
        error = ""  # why the longest candidate so far did not parse
        while True:
            start = self.pos
            close = self.buf.find(b"}", start + searched)
            if close == -1:
                searched = len(self.buf) - start
                if searched > self.max_record:
                    raise self.too_large()
                if not self.fill(searched + self.chunk):
                    raise InputError(self.source, self._unparsed_record(error))
                continue
            try:
                record = orjson.loads(self.buf[start : close + 1])
            except orjson.JSONDecodeError as exc:
                searched = close + 1 - start
                error = str(exc)
                continue
            if close + 1 - start > self.max_record:
                raise self.too_large()
            head = _OPENING.match(self.buf, start)
            self.mark = head.group(0) if head is not None else None
            self.pos = close + 1
            return record

    def _unparsed_record(self, error: str) -> str:
        """Why the record at pos could not be read: the data ends inside it, or (when even the whole rest of
        the data does not parse for another reason: a lone surrogate, a number too large) that reason."""
        if not error or error.startswith("unexpected end of data"):
            return f"the JSON ends inside {self._article()} {self.noun} {self.where()}"
        return f"the {self.noun} {self.where()} is not valid JSON ({error.split(': line ')[0]})"

    def skip_object_tail(self, array: str) -> None:
        """After a document's array: skip the rest of its object (`}` or e.g. `, "NextToken": "..."}`).
        `array` names the array in errors ("the Records array")."""
        if not self.skip_space():
            raise InputError(
                self.source, "the JSON document ends without its closing brace (truncated file?)"
            )
        if self.buf[self.pos] == ord("}"):
            self.pos += 1
            return
        if self.buf[self.pos] != ord(","):
            raise InputError(self.source, f"unexpected data after {array} {self.where()}")
        self.fill(self.chunk)
        start = probe = self.pos + 1
        while True:
            close = self.buf.find(b"}", probe)
            if close == -1 or close - start > self.max_record:
                raise InputError(self.source, f"unreadable data after {array} {self.where()}")
            try:
                orjson.loads(b"{" + self.buf[start : close + 1])
            except orjson.JSONDecodeError:
                probe = close + 1
                continue
            self.pos = close + 1
            return

    # -- JSON lines

    def first_line_parses(self) -> bool:
        """Whether the line at pos is a whole JSON value (JSON lines) rather than the start of a longer one."""
        while True:
            newline = self.buf.find(b"\n", self.pos)
            if newline != -1 or self.eof:
                break
            if len(self.buf) - self.pos > self.max_record or not self.fill(
                len(self.buf) - self.pos + self.chunk
            ):
                break
        line = self.buf[self.pos : newline if newline != -1 else len(self.buf)]
        try:
            orjson.loads(line)
        except orjson.JSONDecodeError:
            return False
        return True

    def lines(self, decode: GroupDecoder) -> Iterator[list[Any]]:
        """Batches of the values of the JSON lines from pos to the end (as parsed, before any unwrapping)."""
        line_number = 1 + self.buf.count(b"\n", 0, self.pos)
        while True:
            self.fill(self.chunk)
            buf, start = self.buf, self.pos
            if start >= len(buf) and self.eof:
                return
            end = len(buf) if self.eof else buf.rfind(b"\n", start) + 1
            if end <= start:  # one line longer than the buffer
                if len(buf) - start > self.max_record:
                    raise self._long_line(line_number)
                self.fill(len(buf) - start + self.chunk)
                continue
            segment = buf[start:end]
            self.pos = end
            yield self._parse_lines(segment.split(b"\n"), line_number, decode)
            line_number += segment.count(b"\n")

    def _long_line(self, line_number: int) -> InputError:
        return InputError(
            self.source,
            f"line {self.number(line_number)} is longer than {self.number(self.max_record)} bytes",
        )

    def _parse_lines(self, lines: list[bytes], first_number: int, decode: GroupDecoder) -> list[Any]:
        if sum(map(len, lines)) > self.max_record:
            for offset, line in enumerate(lines):
                if len(line) > self.max_record:
                    raise self._long_line(first_number + offset)
        content = [line for line in lines if line.strip()]
        try:
            values: list[Any] | None = decode(b"[" + b",".join(content) + b"]")
        except ValueError:  # a line that is not JSON: line by line, to name it
            values = None
        if values is None or len(values) != len(content):
            values = []
            for offset, line in enumerate(lines):
                if not line.strip():
                    continue
                try:
                    values.append(orjson.loads(line))
                except orjson.JSONDecodeError as exc:
                    problem = str(exc).split(": line ")[0]
                    raise InputError(
                        self.source, f"line {self.number(first_number + offset)} is not JSON: {problem}"
                    ) from None
        return values


# ------------------------------------------------------------------------------------------- aggregates


class Foldable(Protocol):
    """An aggregate that takes records a batch at a time."""

    def add_all(self, records: list[Any]) -> Any:
        """Fold a batch of records in."""
        ...


AggregateT = TypeVar("AggregateT", bound=Foldable)


def fold(batches: Iterable[list[Any]], aggregate: AggregateT) -> AggregateT:
    """Fold every batch into the aggregate and return it.

    The cyclic garbage collector is paused meanwhile: records and aggregates hold no reference cycles
    (reference counting frees them), and its passes over a growing heap of aggregates are pure cost.
    """
    with collector_paused():
        for batch in batches:
            aggregate.add_all(batch)
    return aggregate


# ------------------------------------------------------------------------------------------- files

ResultT = TypeVar("ResultT")


@dataclass(frozen=True, slots=True)
class LogFile:
    """A log file, identified for incremental imports by path, size and modification time."""

    path: str
    size: int
    mtime_ns: int
    salt: str = ""  # a cloud's prefix of the key text (kept as each cloud first wrote its keys)

    @property
    def key(self) -> str:
        """sha256 of (absolute path, size, mtime): the same file unchanged is counted once."""
        text = f"{self.salt}{self.path}\0{self.size}\0{self.mtime_ns}"
        return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


@dataclass(slots=True)
class FileResult(Generic[ResultT]):
    """One file's aggregate, or the problem that stopped its reading; and what reading it cost."""

    file: LogFile
    aggregate: ResultT | None = None
    error: str | None = None
    cpu_seconds: float = 0.0  # CPU time of the process that read it, for this file
    peak_rss_kb: int = 0  # peak resident memory of that process so far


def find_log_files(
    paths: Iterable[str | Path], is_log: Callable[[Path], bool], *, salt: str = ""
) -> list[LogFile]:
    """The files named, and the files under the folders named for which `is_log` holds (recursively, sorted),
    each once. InputError for a path that is missing or not a regular file or folder."""
    found: dict[str, LogFile] = {}
    for given in paths:
        path = Path(given).expanduser()
        if path.is_dir():
            candidates = sorted(p for p in path.rglob("*") if p.is_file() and is_log(p))
        elif path.is_file():
            candidates = [path]
        elif path.exists():
            raise InputError(str(path), regular_file_problem(path) or "not a file or folder")
        else:
            raise InputError(str(path), "no such file or folder")
        for candidate in candidates:
            resolved = candidate.resolve()
            stat = resolved.stat()
            found.setdefault(str(resolved), LogFile(str(resolved), stat.st_size, stat.st_mtime_ns, salt))
    return list(found.values())


def read_file(file: LogFile, read: Callable[[BinaryIO, str], ResultT]) -> FileResult[ResultT]:
    """`read(stream, path)` of one file; a bad file yields its error (never raises: runs in workers)."""
    started = time.process_time()
    result: FileResult[ResultT]
    try:
        with open_regular(file.path) as stream:
            result = FileResult(file, aggregate=read(stream, file.path))
    except InputError as exc:
        result = FileResult(file, error=exc.problem)
    except OSError as exc:
        result = FileResult(file, error=f"cannot read the file: {exc.strerror or exc}")
    result.cpu_seconds = time.process_time() - started
    result.peak_rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss if resource is not None else 0
    return result


def _worker_context(preload: Sequence[str]) -> BaseContext:
    """How worker processes start: from a fork server (started fresh, with the reading modules loaded once),
    or spawned where there is none. Never forked from this process, which may hold database connections."""
    if "forkserver" in get_all_start_methods():
        context = get_context("forkserver")
        if preload:
            context.set_forkserver_preload(list(preload))
        return context
    return get_context("spawn")


def read_files(
    files: Sequence[LogFile],
    read: Callable[[LogFile, FileLimits], FileResult[ResultT]],
    workers: int,
    limits: FileLimits = DEFAULT_LIMITS,
    *,
    ahead: int = 4,
    preload: Sequence[str] = (),
) -> Iterator[FileResult[ResultT]]:
    """`read(file, limits)` of each file, in order; in worker processes when there are several files and
    workers (`read` a module-level function; at most `ahead` x workers results wait, queued while this process
    writes). If the workers cannot run (a worker died, or this program cannot be re-imported by a spawned
    process), the files not read yet are read in this process."""
    if workers <= 1 or len(files) <= 1:
        for file in files:
            yield read(file, limits)
        return
    done = 0
    try:
        with ProcessPoolExecutor(
            max_workers=min(workers, len(files)), mp_context=_worker_context(preload)
        ) as pool:
            queue = iter(files)
            waiting: deque[Future[FileResult[ResultT]]] = deque(
                pool.submit(read, file, limits) for file in islice(queue, workers * ahead)
            )
            while waiting:
                result = waiting.popleft().result()
                following = next(queue, None)
                if following is not None:
                    waiting.append(pool.submit(read, following, limits))
                done += 1
                yield result
    except BrokenProcessPool:
        for file in files[done:]:
            yield read(file, limits)
