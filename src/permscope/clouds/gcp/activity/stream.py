"""Reading audit-log entries out of a byte stream in bounded memory: gzip, JSON lines, JSON arrays, REST pages.

Shapes read: JSON lines (a log sink's export to Cloud Storage: one LogEntry a line; a line may also be a
`{"log": {...}}` wrapper or a whole REST page), a JSON array (`gcloud logging read --format=json`,
`gcloud policy-intelligence query-activity --format=json`), a REST page (`{"entries": [...]}` of
`entries.list`, `{"activities": [...]}` of Policy Analyzer's `activities.query`), and pretty-printed objects one
after another. The stream is read in chunks (inflated as it goes when it starts with the gzip magic).

An array is cut without a streaming parser: its first element is found by parsing up to each `}` in turn (the
first prefix that parses is the element), and the opening of that element up to its first key (e.g.
`{"insertId"`, or with gcloud's indentation) is then looked for to find where later elements may start; the
elements up to the last such place in the buffer are decoded in one call, and a cut that does not parse (the
key also opened a nested object) is retried at an earlier place, finally element by element.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

import orjson

from permscope.clouds.gcp.activity.aggregate import EntryFields
from permscope.core.errors import InputError
from permscope.userfiles import DEFAULT_LIMITS, FileLimits, byte_chunks

CHUNK = 1 << 20  # bytes read per step; elements are decoded in groups of about this
MAX_ENTRY = 16 << 20  # one entry larger than this is refused (Cloud Logging's limit is 256 KiB)
CUTS_TRIED = 4
SPACE = b" \t\r\n"
_ENVELOPE = re.compile(rb'\{\s*"(entries|activities)"\s*:\s*\[')
_OPENING = re.compile(rb'\{\s*"(?:[^"\\]|\\.)*"')
_PAGE_TAIL = re.compile(rb'\s*(?:,\s*"(?:[^"\\]|\\.)*"\s*:\s*(?:"(?:[^"\\]|\\.)*"|[-0-9a-z.eE+]+)\s*)*\}')

Decode = Callable[[bytes], list[Any]]


def _whole(data: bytes) -> list[Any]:
    value = orjson.loads(data)
    if type(value) is not list:
        raise ValueError("not a JSON array")
    return value


def _typed_decoder() -> Decode:
    """A decoder that builds only the fields `GcpActivityAggregate` reads (`EntryFields`), skipping the rest
    unbuilt; a group whose fields have other types than a LogEntry's is decoded whole. orjson without msgspec."""
    try:
        import msgspec
    except ImportError:  # pragma: no cover - msgspec comes with the gcp extra
        return _whole
    typed = msgspec.json.Decoder(list[EntryFields])

    def decode(data: bytes) -> list[Any]:
        try:
            return typed.decode(data)
        except msgspec.ValidationError:
            return _whole(data)
        except msgspec.DecodeError as exc:
            raise ValueError(str(exc)) from None

    return decode


DECODE = _typed_decoder()


def unwrap(value: Any) -> Iterator[Any]:
    """The entries inside one parsed value: itself, a REST page's `entries` / `activities`, a `log` wrapper."""
    if type(value) is dict and "protoPayload" not in value and "activityType" not in value:
        for name in ("entries", "activities"):
            items = value.get(name)
            if type(items) is list:
                yield from items
                return
        inner = value.get("log")
        if type(inner) is dict:
            yield inner
            return
    yield value


class _Splitter:
    """Splits a byte stream into batches of parsed entries (before `unwrap`)."""

    def __init__(self, chunks: Iterator[bytes], source: str) -> None:
        self.chunks = chunks
        self.source = source
        self.buf = b""
        self.pos = 0
        self.dropped = 0  # bytes dropped from the front of buf (for positions in errors)
        self.eof = False
        self.opening: bytes | None = None

    def _fill(self, wanted: int) -> bool:
        """Read until `wanted` bytes are buffered after pos, or the end; False when nothing more came."""
        grew = False
        while len(self.buf) - self.pos < wanted and not self.eof:
            chunk = next(self.chunks, None)
            if chunk is None:
                self.eof = True
                break
            if self.pos:
                self.dropped += self.pos
                self.buf = self.buf[self.pos :]
                self.pos = 0
            self.buf += chunk
            grew = True
        return grew

    def _skip_space(self) -> bool:
        """Move past whitespace; False at the end of the data."""
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in SPACE:
                self.pos += 1
            if self.pos < len(self.buf):
                return True
            if not self._fill(1):
                return False

    def _at(self) -> str:
        return f"at byte {self.dropped + self.pos:,}"

    def batches(self) -> Iterator[list[Any]]:
        """Batches of parsed values, in stream order."""
        self._fill(64)
        if self.buf.startswith(b"\xef\xbb\xbf"):
            self.pos = 3
        while self._skip_space():
            self._fill(64)
            envelope = _ENVELOPE.match(self.buf, self.pos)
            first = self.buf[self.pos]
            if envelope is not None and not self._first_line_parses():
                self.pos = envelope.end()
                yield from self._array()
                self._page_tail()
            elif first == ord("["):
                self.pos += 1
                yield from self._array()
            elif first == ord("{"):
                if self._first_line_parses():
                    yield from self._lines()
                    return
                while self._skip_space() and self.buf[self.pos] == ord("{"):
                    yield [self._one()]
            else:
                raise InputError(self.source, f"not JSON log entries {self._at()}: expected '{{' or '['")

    def _array(self) -> Iterator[list[Any]]:
        self.opening = None
        while True:
            if not self._skip_space():
                raise InputError(self.source, "the JSON ends inside an array (truncated file?)")
            byte = self.buf[self.pos]
            if byte == ord("]"):
                self.pos += 1
                return
            if byte == ord(","):
                self.pos += 1
                continue
            self._fill(CHUNK)
            group = self._group() if self.opening is not None else None
            yield group if group is not None else [self._one()]

    def _group(self) -> list[Any] | None:
        """The elements from pos up to the last place an element may start in the buffer, or None."""
        assert self.opening is not None
        buf, start, end = self.buf, self.pos, len(self.buf)
        for _ in range(CUTS_TRIED):
            cut = buf.rfind(self.opening, start + 1, end)
            if cut == -1:
                return None
            segment = buf[start:cut].rstrip(SPACE)
            if segment.endswith(b","):
                try:
                    values = DECODE(b"[" + segment[:-1] + b"]")
                except ValueError:
                    pass
                else:
                    self.pos = cut
                    return values
            end = cut
        return None

    def _one(self) -> Any:
        """The one JSON object at pos (the first prefix up to a `}` that parses); learns how elements open."""
        if self.buf[self.pos] != ord("{"):
            raise InputError(self.source, f"expected a JSON object {self._at()}")
        tried = 1
        error = ""
        while True:
            start = self.pos
            close = self.buf.find(b"}", start + tried)
            if close == -1:
                tried = len(self.buf) - start
                if tried > MAX_ENTRY:
                    raise InputError(self.source, f"an entry {self._at()} is larger than {MAX_ENTRY:,} bytes")
                if not self._fill(tried + CHUNK):
                    if not error or error.startswith("unexpected end of data"):
                        raise InputError(self.source, f"the JSON ends inside an entry {self._at()}")
                    raise InputError(self.source, f"the entry {self._at()} is not valid JSON ({error})")
                continue
            try:
                value = orjson.loads(self.buf[start : close + 1])
            except orjson.JSONDecodeError as exc:
                tried = close + 1 - start
                error = str(exc).split(": line ")[0]
                continue
            if close + 1 - start > MAX_ENTRY:
                raise InputError(self.source, f"an entry {self._at()} is larger than {MAX_ENTRY:,} bytes")
            opening = _OPENING.match(self.buf, start)
            self.opening = opening.group(0) if opening is not None else None
            self.pos = close + 1
            return value

    def _page_tail(self) -> None:
        """After a REST page's array: its other fields (`"nextPageToken": "..."`) and closing brace."""
        self._fill(CHUNK)
        tail = _PAGE_TAIL.match(self.buf, self.pos)
        if tail is None:
            raise InputError(self.source, f"unexpected data after the entries {self._at()}")
        self.pos = tail.end()

    def _first_line_parses(self) -> bool:
        """Whether the line at pos is a whole JSON value (JSON lines) rather than the start of a longer one."""
        while True:
            newline = self.buf.find(b"\n", self.pos)
            if newline != -1 or self.eof:
                break
            if len(self.buf) - self.pos > MAX_ENTRY or not self._fill(len(self.buf) - self.pos + CHUNK):
                break
        line = self.buf[self.pos : newline if newline != -1 else len(self.buf)]
        try:
            orjson.loads(line)
        except orjson.JSONDecodeError:
            return False
        return True

    def _lines(self) -> Iterator[list[Any]]:
        number = 1 + self.buf.count(b"\n", 0, self.pos)
        while True:
            self._fill(CHUNK)
            buf, start = self.buf, self.pos
            if start >= len(buf) and self.eof:
                return
            end = len(buf) if self.eof else buf.rfind(b"\n", start) + 1
            if end <= start:  # one line longer than the buffer
                if len(buf) - start > MAX_ENTRY:
                    raise InputError(self.source, f"line {number:,} is longer than {MAX_ENTRY:,} bytes")
                self._fill(len(buf) - start + CHUNK)
                continue
            segment = buf[start:end]
            self.pos = end
            yield self._parse_lines(segment.split(b"\n"), number)
            number += segment.count(b"\n")

    def _parse_lines(self, lines: list[bytes], first: int) -> list[Any]:
        if sum(map(len, lines)) > MAX_ENTRY:
            for offset, line in enumerate(lines):
                if len(line) > MAX_ENTRY:
                    raise InputError(
                        self.source, f"line {first + offset:,} is longer than {MAX_ENTRY:,} bytes"
                    )
        content = [line for line in lines if line.strip()]
        try:
            values = DECODE(b"[" + b",".join(content) + b"]")
        except ValueError:
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
                    raise InputError(self.source, f"line {first + offset:,} is not JSON: {problem}") from None
        return values


def entry_batches(stream: BinaryIO, source: str, limits: FileLimits = DEFAULT_LIMITS) -> Iterator[list[Any]]:
    """Batches of entries from a binary stream (gzip or not: a gzip bomb is refused), in order."""
    for batch in _Splitter(byte_chunks(stream, source, limits, chunk=CHUNK), source).batches():
        if any(type(value) is dict and ("log" in value or "entries" in value or "activities" in value)
               for value in batch):  # fmt: skip
            yield [entry for value in batch for entry in unwrap(value)]
        else:
            yield batch
