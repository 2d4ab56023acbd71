"""Reading the files users give (exports, logs, cases): regular files only, gzip inflated as it streams, sizes
bounded while reading, JSON checked for what no store can keep; every problem an InputError naming the file.

The limits (docs/limits.md) come from the settings (`Settings.file_limits`); readers take them as a
`FileLimits`. A FIFO, a socket or a device is refused before it is read (reading one would block forever or
never end); a file is read in chunks, so a gzip bomb or a sparse file is refused at the limit it crosses, its
memory bounded by that limit.
"""

from __future__ import annotations

import json
import os
import re
import stat
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from permscope.core.errors import InputError
from permscope.core.limits import json_size

DEFAULT_MAX_BYTES = 512 * 1024 * 1024  # one file read whole, decompressed: 10x the largest account's export
DEFAULT_MAX_GZIP_RATIO = 200  # JSON exports compress about 15x; gzip bombs about 1,000x
RATIO_GRACE = 16 * 1024 * 1024  # the ratio is checked once this much has been inflated
CHUNK = 1024 * 1024
GZIP_MAGIC = b"\x1f\x8b"
UTF8_BOM = b"\xef\xbb\xbf"
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


@dataclass(frozen=True, slots=True)
class FileLimits:
    """How much one input file may hold (PERMSCOPE_MAX_FILE_BYTES, PERMSCOPE_MAX_GZIP_RATIO)."""

    max_bytes: int = DEFAULT_MAX_BYTES  # a file read whole, after decompression
    max_gzip_ratio: int = DEFAULT_MAX_GZIP_RATIO  # inflated / compressed bytes, past the first RATIO_GRACE
    setting: str | None = "PERMSCOPE_MAX_FILE_BYTES"  # what sets max_bytes, named when it is crossed


DEFAULT_LIMITS = FileLimits()


def _not_regular(mode: int) -> str | None:
    for test, kind in _KINDS:
        if test(mode):
            return kind
    return None if stat.S_ISREG(mode) else "not a regular file"


def open_regular(path: str | Path) -> BinaryIO:
    """The file opened for binary reading; InputError unless it is a regular file.

    Opened without blocking and checked on the open descriptor, so a FIFO swapped in after a check is refused
    too, never waited on.
    """
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise InputError(str(path), f"cannot read the file: {exc.strerror or exc}") from None
    try:
        kind = _not_regular(os.fstat(descriptor).st_mode)
        if kind is not None:
            raise InputError(str(path), f"cannot read the file: it is {kind}, not a regular file")
        os.set_blocking(descriptor, True)
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def regular_file_problem(path: str | Path) -> str | None:
    """Why a path given as a file cannot be read as one (missing, a FIFO, a device...), without opening it."""
    try:
        mode = Path(path).stat().st_mode
    except OSError as exc:
        return f"cannot read the file: {exc.strerror or exc}"
    kind = _not_regular(mode)
    return None if kind is None else f"cannot read the file: it is {kind}, not a regular file"


class _Inflater:
    """Inflates concatenated gzip members chunk by chunk, refusing a stream that expands too much."""

    def __init__(self, source: str, limits: FileLimits, chunk: int) -> None:
        self.source = source
        self.limits = limits
        self.chunk = chunk
        self.consumed = 0  # compressed bytes inflated so far
        self.produced = 0

    def run(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        """Yield the inflated bytes of every chunk (at most `self.chunk` bytes at a time)."""
        inflater = zlib.decompressobj(wbits=31)
        in_member = False
        for data in chunks:
            while data:
                if not in_member:
                    data = data.lstrip(b"\x00")  # padding after the last member
                    if not data:
                        break
                    in_member = True
                try:
                    out = inflater.decompress(data, self.chunk)
                except zlib.error as exc:
                    raise InputError(self.source, f"truncated or corrupt gzip data: {exc}") from None
                if inflater.eof:
                    rest = inflater.unused_data
                    inflater = zlib.decompressobj(wbits=31)
                    in_member = False
                else:
                    rest = inflater.unconsumed_tail
                self.consumed += len(data) - len(rest)
                data = rest
                if out:
                    self._count(len(out))
                    yield out
        if in_member:
            raise InputError(
                self.source, "truncated or corrupt gzip data: the file ends inside a gzip member"
            )

    def _count(self, size: int) -> None:
        self.produced += size
        ratio = self.limits.max_gzip_ratio
        if self.produced > RATIO_GRACE and self.produced > ratio * max(self.consumed, 1):
            raise InputError(
                self.source,
                f"the gzip data expands more than {ratio} times (a gzip bomb?); real exports expand about 15 "
                "times (the limit is PERMSCOPE_MAX_GZIP_RATIO)",
            )


def _raw_chunks(stream: BinaryIO, chunk: int) -> Iterator[bytes]:
    while data := stream.read(chunk):
        yield data


def byte_chunks(
    stream: BinaryIO, source: str, limits: FileLimits = DEFAULT_LIMITS, *, chunk: int = CHUNK
) -> Iterator[bytes]:
    """The stream's bytes in chunks of at most `chunk` bytes, inflated when they start with the gzip magic (a
    gzip stream that expands more than `limits.max_gzip_ratio` times is refused)."""
    chunks = _raw_chunks(stream, chunk)
    first = next(chunks, b"")
    if not first:
        return
    if first[:2] == GZIP_MAGIC:
        yield from _Inflater(source, limits, chunk).run(_chain(first, chunks))
        return
    yield first
    yield from chunks


def _chain(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from rest


def _too_large(limits: FileLimits, decompressed: bool) -> str:
    where = " once decompressed" if decompressed else ""
    setting = f" (the limit is {limits.setting})" if limits.setting else ""
    return f"the file holds more than {limits.max_bytes:,} bytes{where}{setting}"


def read_bytes(
    path: str | Path, limits: FileLimits = DEFAULT_LIMITS, report: Callable[[int], None] | None = None
) -> bytes:
    """A whole file's bytes, inflated when it is gzip (by its magic bytes, whatever its name).

    InputError names the file when it is not a regular file, holds more than `limits.max_bytes` bytes
    (decompressed; checked while reading, so memory stays within the limit), is a gzip bomb, or holds a NUL
    byte (no UTF-8 JSON or CSV text does: a sparse file or a UTF-16 one). `report(position)` is called with
    the bytes read from disk so far.
    """
    source = str(path)
    with open_regular(path) as raw:
        if os.fstat(raw.fileno()).st_size > limits.max_bytes:  # larger on disk already
            raise InputError(source, _too_large(limits, decompressed=False))
        parts: list[bytes] = []
        count = 0
        try:
            for chunk in byte_chunks(raw, source, limits):
                nul = chunk.find(b"\x00")
                if nul != -1:
                    raise InputError(
                        source,
                        f"holds a NUL byte (at byte {count + nul:,}): not UTF-8 JSON or CSV text "
                        "(a UTF-16 file? write it as UTF-8)",
                    )
                count += len(chunk)
                if count > limits.max_bytes:
                    raise InputError(source, _too_large(limits, decompressed=True))
                parts.append(chunk)
                if report is not None:
                    report(raw.tell())
        except OSError as exc:
            raise InputError(source, f"cannot read the file: {exc.strerror or exc}") from None
    return b"".join(parts)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"holds {name}, which JSON does not allow")


def json_documents(data: bytes, source: str) -> list[Any]:
    """Every top-level JSON value of the data: one document, concatenated documents, or JSON lines.

    InputError names `source` and the problem: invalid JSON (line and column), nesting deeper than orjson (and
    so the store) can write, a lone surrogate, an integer beyond 64 bits, NaN, a NUL character.
    """
    if data.startswith(UTF8_BOM):
        data = data[len(UTF8_BOM) :]
    if b"\\u0000" in data:
        raise InputError(source, "contains a NUL character (\\u0000), which no AWS name, ARN or policy has")
    try:
        documents = [orjson.loads(data)]
    except orjson.JSONDecodeError as exc:
        if "recursion" in str(exc).lower():
            raise InputError(source, f"JSON nested too deeply to be an export ({exc})") from None
        documents = _documents_one_by_one(data, source)  # several documents, or a broken one: says where
    for number, document in enumerate(documents, start=1):
        try:
            json_size(document)
        except ValueError as exc:
            where = f"object {number}: " if len(documents) > 1 else ""
            raise InputError(source, f"{where}the JSON {exc}") from None
    return documents


def _documents_one_by_one(data: bytes, source: str) -> list[Any]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(source, f"not UTF-8 text: invalid byte at offset {exc.start}") from None
    decoder = json.JSONDecoder(parse_constant=_refuse_constant)
    position = _WHITESPACE.match(text, 0).end()  # type: ignore[union-attr]
    if position == len(text):
        raise InputError(source, "the file is empty")
    documents: list[Any] = []
    while position < len(text):
        try:
            value, position = decoder.raw_decode(text, position)
        except RecursionError:
            raise InputError(source, "JSON nested too deeply to be an export") from None
        except json.JSONDecodeError as exc:
            raise InputError(
                source, f"truncated or invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
            ) from None
        except ValueError as exc:  # an integer of thousands of digits, NaN
            problem = "holds an integer beyond 64 bits" if "digits" in str(exc) else str(exc)
            where = f"object {len(documents) + 1}: " if documents else ""
            raise InputError(source, f"{where}the JSON {problem}") from None
        documents.append(value)
        position = _WHITESPACE.match(text, position).end()  # type: ignore[union-attr]
    return documents


def json_document(data: bytes, source: str) -> Any:
    """The one JSON value of the data (a request body, a case): InputError naming `source` when it is not
    exactly one JSON value, or holds what `json_documents` refuses."""
    documents = json_documents(data, source)
    if len(documents) != 1:
        raise InputError(source, f"holds {len(documents)} JSON values; one is expected")
    return documents[0]
