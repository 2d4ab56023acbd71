"""Azure log records out of a byte stream, in bounded memory: JSON lines, arrays, REST pages, diagnostic blobs.

The shapes: JSON lines (what diagnostic settings write to a storage account since late 2018, an event hub
capture or a workspace export; a line may also hold a whole document), a JSON array (`az monitor activity-log
list`), REST pages `{"value": [...], "nextLink": ...}` (`az rest`, Graph), and the older diagnostic blobs
`{"records": [...]}`; several documents may follow each other; gzip is inflated on the fly
(`userfiles.byte_chunks`, with its limits). A record wrapped as `{"log": {...}}` (log shippers, rule tests)
is unwrapped.

An array is split without a streaming parser: its first record is found by trying orjson on it up to each `}`
(the first prefix that parses is the record); the record's first key (`{"time"`, `{"eventTimestamp"`, ...)
then marks where later records start, and everything up to the last mark in the buffer is decoded in one call
as `[...]`. A cut that does not parse (a nested object starting the same way) is retried at an earlier mark,
then one record at a time, so a record is never split.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, BinaryIO

import orjson

from permscope.core.errors import InputError
from permscope.userfiles import DEFAULT_LIMITS, FileLimits, byte_chunks

CHUNK = 1 << 20  # bytes read per step; records are decoded in groups of about this
MAX_RECORD = 16 << 20  # one record (or line) larger than this is refused (Azure records are a few KB)
GROUP_ATTEMPTS = 4
WHITESPACE = b" \t\r\n"
_HEADER = re.compile(rb'\{\s*"(records|value)"\s*:\s*\[')
_FIRST_KEY = re.compile(rb'\{\s*"(?:[^"\\]|\\.)*"')


def unwrap(value: Any) -> Iterator[Any]:
    """The records inside one parsed JSON value: a page's `value`, a blob's `records`, a `{"log": ...}`
    wrapper's record, an array's items, or the value itself."""
    if isinstance(value, list):
        yield from value
        return
    if isinstance(value, dict):
        for name in ("records", "value"):
            inner = value.get(name)
            if isinstance(inner, list):
                yield from inner
                return
        log = value.get("log")
        if isinstance(log, dict):
            yield log
            return
    yield value


def flatten(values: list[Any]) -> list[Any]:
    """The records of parsed values (`unwrap` of each), the list itself when none is a wrapper (the usual case)."""
    for value in values:
        if type(value) is not dict or "records" in value or "value" in value or "log" in value:
            return [record for item in values for record in unwrap(item)]
    return values


class _Splitter:
    """Splits a byte stream of JSON lines or documents into batches of records."""

    def __init__(self, chunks: Iterator[bytes], source: str) -> None:
        self.chunks = chunks
        self.source = source
        self.buf = b""
        self.pos = 0
        self.consumed = 0  # bytes dropped from the front of buf (for error offsets)
        self.eof = False
        self.mark: bytes | None = None

    def _fill(self, wanted: int) -> bool:
        """Read until `wanted` bytes follow pos (or the end); False when nothing more came."""
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

    def _skip_space(self) -> bool:
        """Move pos past whitespace; False at the end of the data."""
        while True:
            buf, pos = self.buf, self.pos
            while pos < len(buf) and buf[pos] in WHITESPACE:
                pos += 1
            self.pos = pos
            if pos < len(buf):
                return True
            if not self._fill(1):
                return False

    def _where(self) -> str:
        return f"at byte {self.consumed + self.pos}"

    def batches(self) -> Iterator[list[Any]]:
        """Batches of records, in order."""
        if not self._skip_space():
            return
        self._fill(64)
        if self.buf.startswith(b"\xef\xbb\xbf", self.pos):
            self.pos += 3
        if self._skip_space() and self.buf[self.pos] == ord("{") and self._first_line_parses():
            yield from self._lines()
            return
        while self._skip_space():
            self._fill(64)
            header = _HEADER.match(self.buf, self.pos)
            byte = self.buf[self.pos]
            if header is not None:
                self.pos = header.end()
                yield from self._array()
                self._skip_object_tail()
            elif byte == ord("["):
                self.pos += 1
                yield from self._array()
            elif byte == ord("{"):
                yield list(unwrap(self._one_record()))
            else:
                raise InputError(self.source, f"not JSON {self._where()}: expected '{{' or '['")

    # -- arrays

    def _array(self) -> Iterator[list[Any]]:
        self.mark = None
        separated = True  # whether a record may start here (after `[` or `,`, or where a group stopped)
        while True:
            if not self._skip_space():
                raise InputError(self.source, "the JSON ends inside an array (truncated file?)")
            byte = self.buf[self.pos]
            if byte == ord("]"):
                self.pos += 1
                return
            if byte == ord(",") and not separated:
                self.pos += 1
                separated = True
                continue
            if not separated:
                raise InputError(self.source, f"expected ',' or ']' between records {self._where()}")
            self._fill(CHUNK)
            group = self._group() if self.mark is not None else None
            if group is None:
                group = [self._one_record()]
                separated = False
            yield flatten(group)

    def _group(self) -> list[Any] | None:
        """The records from pos up to the last record start (mark) in the buffer, or None."""
        assert self.mark is not None
        buf, start, end = self.buf, self.pos, len(self.buf)
        if buf[start] != ord("{"):
            return None
        for _attempt in range(GROUP_ATTEMPTS):
            cut = buf.rfind(self.mark, start + 1, end)
            if cut == -1:
                return None
            segment = buf[start:cut].rstrip(WHITESPACE)
            if segment.endswith(b","):
                try:
                    records = orjson.loads(b"[" + segment[:-1] + b"]")
                except orjson.JSONDecodeError:
                    pass
                else:
                    self.pos = cut
                    return records  # type: ignore[no-any-return]
            end = cut
        return None

    def _one_record(self) -> Any:
        """The JSON object at pos (trying each closing brace); learns how records start."""
        if self.buf[self.pos] != ord("{"):
            raise InputError(self.source, f"expected a record (a JSON object) {self._where()}")
        searched = 1
        error = ""
        while True:
            start = self.pos
            close = self.buf.find(b"}", start + searched)
            if close == -1:
                searched = len(self.buf) - start
                if searched > MAX_RECORD:
                    raise InputError(
                        self.source, f"a record {self._where()} is larger than {MAX_RECORD} bytes"
                    )
                if not self._fill(searched + CHUNK):
                    if not error or error.startswith("unexpected end of data"):
                        raise InputError(self.source, f"the JSON ends inside a record {self._where()}")
                    reason = error.split(": line ")[0]
                    raise InputError(self.source, f"the record {self._where()} is not valid JSON ({reason})")
                continue
            try:
                record = orjson.loads(self.buf[start : close + 1])
            except orjson.JSONDecodeError as exc:
                searched = close + 1 - start
                error = str(exc)
                continue
            head = _FIRST_KEY.match(self.buf, start)
            self.mark = head.group(0) if head is not None else None
            self.pos = close + 1
            return record

    def _skip_object_tail(self) -> None:
        """After a document's array: the rest of its object (`}` or `, "nextLink": "..."}`)."""
        if not self._skip_space():
            raise InputError(
                self.source, "the JSON document ends without its closing brace (truncated file?)"
            )
        if self.buf[self.pos] == ord("}"):
            self.pos += 1
            return
        if self.buf[self.pos] != ord(","):
            raise InputError(self.source, f"unexpected data after the records array {self._where()}")
        self._fill(CHUNK)
        start = probe = self.pos + 1
        while True:
            close = self.buf.find(b"}", probe)
            if close == -1 or close - start > MAX_RECORD:
                raise InputError(self.source, f"unreadable data after the records array {self._where()}")
            try:
                orjson.loads(b"{" + self.buf[start : close + 1])
            except orjson.JSONDecodeError:
                probe = close + 1
                continue
            self.pos = close + 1
            return

    # -- JSON lines

    def _first_line_parses(self) -> bool:
        """Whether the line at pos is a whole JSON value (JSON lines) rather than the start of a longer one."""
        while True:
            newline = self.buf.find(b"\n", self.pos)
            if newline != -1 or self.eof:
                break
            if len(self.buf) - self.pos > MAX_RECORD or not self._fill(len(self.buf) - self.pos + CHUNK):
                break
        line = self.buf[self.pos : newline if newline != -1 else len(self.buf)]
        try:
            orjson.loads(line)
        except orjson.JSONDecodeError:
            return False
        return True

    def _lines(self) -> Iterator[list[Any]]:
        line_number = 1 + self.buf.count(b"\n", 0, self.pos)
        while True:
            self._fill(CHUNK)
            buf, start = self.buf, self.pos
            if start >= len(buf) and self.eof:
                return
            end = len(buf) if self.eof else buf.rfind(b"\n", start) + 1
            if end <= start:  # one line longer than the buffer
                if len(buf) - start > MAX_RECORD:
                    raise InputError(self.source, f"line {line_number} is longer than {MAX_RECORD} bytes")
                self._fill(len(buf) - start + CHUNK)
                continue
            segment = buf[start:end]
            self.pos = end
            yield self._parse_lines(segment.split(b"\n"), line_number)
            line_number += segment.count(b"\n")

    def _parse_lines(self, lines: list[bytes], first_number: int) -> list[Any]:
        content = lines[:-1] if lines and not lines[-1].strip() else lines  # the segment's final newline
        try:
            values = orjson.loads(b"[" + b",".join(content) + b"]")
        except orjson.JSONDecodeError:  # a blank line, or a line that is not JSON: line by line
            values = None
        if not isinstance(values, list) or len(values) != len(content):
            values = []
            for offset, line in enumerate(lines):
                if not line.strip():
                    continue
                try:
                    values.append(orjson.loads(line))
                except orjson.JSONDecodeError as exc:
                    reason = str(exc).split(": line ")[0]
                    raise InputError(
                        self.source, f"line {first_number + offset} is not JSON: {reason}"
                    ) from None
        return flatten(values)


def record_batches(stream: BinaryIO, source: str, limits: FileLimits = DEFAULT_LIMITS) -> Iterator[list[Any]]:
    """Batches of Azure log records from a binary stream (gzip or not; a gzip bomb is refused), in order;
    bounded memory. InputError naming `source` and the line or byte of a malformed record."""
    return _Splitter(byte_chunks(stream, source, limits, chunk=CHUNK), source).batches()
