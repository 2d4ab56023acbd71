"""Reading CloudTrail records out of a byte stream, in bounded memory: gzip, documents, arrays, JSON lines.

The stream is read in chunks of CHUNK bytes (gunzipped on the fly when it starts with the gzip magic) and
split into records without loading it whole: a `{"Records": [...]}` document (what a trail delivers), a
top-level array, the AWS CLI's `lookup-events` output (`{"Events": [...]}`, each event's `CloudTrailEvent`
string decoded) or JSON lines (one record per line; a line may also hold a whole `{"Records": [...]}`
document, an EventBridge `{"detail": ...}` envelope or a `{"log": ...}` wrapper). Several documents may follow
each other (e.g. `zcat *.json.gz`).

Splitting an array without a streaming parser: the first record of a document is found by trying orjson on
it up to each `}` (the first prefix that parses is the record, since a JSON object ends at its matching
brace). Its first bytes (`{"eventVersion"` for what CloudTrail writes) then mark where later records start;
a whole chunk of records up to the last such mark is decoded in one call as `[...]`. A mark inside a string
cannot occur (quotes are escaped there), and a group that does not parse is retried at an earlier mark and
finally record by record, so a nested object that happens to start the same way never splits a record.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

import orjson

from permscope.clouds.aws.activity.aggregate import ActivityAggregate, RecordFields
from permscope.core.errors import InputError
from permscope.core.gc_pause import collector_paused
from permscope.userfiles import DEFAULT_LIMITS, FileLimits, byte_chunks

# bytes read (and at most bytes inflated) per step; records are decoded in groups of about this
CHUNK = 1 << 20
MAX_RECORD = 64 << 20  # a single record larger than this is refused (CloudTrail records are a few KB)
GROUP_ATTEMPTS = 4  # group cuts tried before falling back to one record at a time
WHITESPACE = b" \t\r\n"
_HEADER = re.compile(rb'\{\s*"(Records|Events)"\s*:\s*\[')
_FIRST_KEY = re.compile(rb'\{\s*"(?:[^"\\]|\\.)*"')


# ------------------------------------------------------------------------------------------- records

GroupDecoder = Callable[[bytes], list[Any]]  # `[record, ...]` bytes -> records; ValueError when not JSON


def _orjson_group(data: bytes) -> list[Any]:
    value = orjson.loads(data)
    if not isinstance(value, list):
        raise ValueError("not a JSON array")
    return value


def typed_group_decoder() -> GroupDecoder | None:
    """A decoder that builds only the fields usage needs (`cloudtrail.RecordFields`) and skips the rest of each
    record without building it: about three times faster than decoding whole records. None without msgspec.

    A group that does not fit those types (a CloudTrail-like record with odd shapes) is decoded whole.
    """
    try:
        import msgspec
    except ImportError:  # pragma: no cover - msgspec comes with the aws extra
        return None
    typed = msgspec.json.Decoder(list[RecordFields])

    def decode(data: bytes) -> list[Any]:
        try:
            return typed.decode(data)
        except msgspec.ValidationError:
            return _orjson_group(data)
        except msgspec.DecodeError as exc:
            raise ValueError(str(exc)) from None

    return decode


TYPED_DECODER = typed_group_decoder()


def unwrap(value: Any) -> Iterator[Any]:
    """The CloudTrail records inside one parsed JSON value: itself, a document's Records, an envelope's event."""
    if not isinstance(value, dict) or "eventName" in value:
        yield value
        return
    records = value.get("Records")
    if isinstance(records, list):
        yield from records
        return
    event = value.get("CloudTrailEvent")  # LookupEvents / `aws cloudtrail lookup-events`
    if isinstance(event, str):
        try:
            yield orjson.loads(event)
        except orjson.JSONDecodeError:
            yield None  # counted as malformed
        return
    for envelope in ("detail", "log"):  # EventBridge "AWS API Call via CloudTrail"; log shippers' wrappers
        inner = value.get(envelope)
        if isinstance(inner, dict):
            yield inner
            return
    yield value


class _Splitter:
    """Splits a byte stream of CloudTrail documents or JSON lines into batches of parsed records."""

    def __init__(self, chunks: Iterator[bytes], source: str) -> None:
        self.chunks = chunks
        self.source = source
        self.buf = b""
        self.pos = 0
        self.consumed = 0  # bytes dropped from the front of buf, for error offsets
        self.eof = False
        self.mark: bytes | None = None  # how records of the current array start, e.g. b'{"eventVersion"'

    def _fill(self, wanted: int) -> bool:
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
        """Batches of records (as parsed, before `unwrap`), in file order."""
        if not self._skip_space():
            return
        self._fill(64)
        if self.buf.startswith(b"\xef\xbb\xbf", self.pos):
            self.pos += 3
        while self._skip_space():
            self._fill(64)
            header = _HEADER.match(self.buf, self.pos)
            if header is not None:
                self.pos = header.end()
                yield from self._array(in_object=True, events=header.group(1) == b"Events")
            elif self.buf[self.pos] == ord("["):
                self.pos += 1
                yield from self._array(in_object=False, events=False)
            elif self.buf[self.pos] == ord("{"):
                yield from self._lines() if self._first_line_parses() else self._objects()
                return
            else:
                raise InputError(self.source, f"not CloudTrail JSON {self._where()}: expected '{{' or '['")

    # -- arrays

    def _array(self, *, in_object: bool, events: bool) -> Iterator[list[Any]]:
        self.mark = None
        while True:
            if not self._skip_space():
                raise InputError(self.source, "the JSON ends inside the Records array (truncated file?)")
            byte = self.buf[self.pos]
            if byte == ord("]"):
                self.pos += 1
                if in_object:
                    self._skip_object_tail()
                return
            if byte == ord(","):
                self.pos += 1
                continue
            self._fill(CHUNK)
            decode = _orjson_group if events else TYPED_DECODER or _orjson_group
            group = self._group(decode) if self.mark is not None else None
            if group is None:
                group = [self._one_record()]
            if events:
                group = [item for value in group for item in unwrap(value)]
            yield group

    def _group(self, decode: GroupDecoder) -> list[Any] | None:
        """Parse the records from pos up to the last record start (mark) in the buffer, or None."""
        assert self.mark is not None
        buf, start = self.buf, self.pos
        end = len(buf)
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

    def _one_record(self) -> Any:
        """Parse the single JSON object at pos (trying each closing brace), and learn how records start."""
        if self.buf[self.pos] != ord("{"):
            raise InputError(self.source, f"expected a record (a JSON object) {self._where()}")
        searched = 1  # braces before pos + searched were tried already
        error = ""  # why the longest candidate so far did not parse
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
                    raise InputError(self.source, self._unparsed_record(error))
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

    def _unparsed_record(self, error: str) -> str:
        """Why the record at pos could not be read: the data ends inside it, or (when even the whole rest of
        the data does not parse for another reason: a lone surrogate, a number too large) that reason."""
        if not error or error.startswith("unexpected end of data"):
            return f"the JSON ends inside a record {self._where()}"
        return f"the record {self._where()} is not valid JSON ({error.split(': line ')[0]})"

    def _skip_object_tail(self) -> None:
        """After a document's array: skip the rest of its object (`}` or e.g. `, "NextToken": "..."}`)."""
        if not self._skip_space():
            raise InputError(
                self.source, "the JSON document ends without its closing brace (truncated file?)"
            )
        if self.buf[self.pos] == ord("}"):
            self.pos += 1
            return
        if self.buf[self.pos] != ord(","):
            raise InputError(self.source, f"unexpected data after the Records array {self._where()}")
        self._fill(CHUNK)
        start = self.pos + 1
        probe = start
        while True:
            close = self.buf.find(b"}", probe)
            if close == -1:
                raise InputError(self.source, f"unreadable data after the Records array {self._where()}")
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

    def _objects(self) -> Iterator[list[Any]]:
        """Concatenated (e.g. pretty-printed) JSON objects, one at a time."""
        while self._skip_space():
            yield list(unwrap(self._one_record()))

    def _parse_lines(self, lines: list[bytes], first_number: int) -> list[Any]:
        content = [line for line in lines if line.strip()]
        try:
            values = orjson.loads(b"[" + b",".join(content) + b"]")
        except orjson.JSONDecodeError:
            values = None
        if not isinstance(values, list) or len(values) != len(content):
            values = []
            for offset, line in enumerate(lines):
                if not line.strip():
                    continue
                try:
                    values.append(orjson.loads(line))
                except orjson.JSONDecodeError as exc:
                    raise InputError(
                        self.source, f"line {first_number + offset} is not JSON: {exc}"
                    ) from None
        return [record for value in values for record in unwrap(value)]


def record_batches(stream: BinaryIO, source: str, limits: FileLimits = DEFAULT_LIMITS) -> Iterator[list[Any]]:
    """Batches of CloudTrail records from a binary stream (gzip or not: a gzip bomb is refused), in order;
    bounded memory."""
    return _Splitter(byte_chunks(stream, source, limits, chunk=CHUNK), source).batches()


def aggregate_stream(
    stream: BinaryIO, source: str, into: ActivityAggregate | None = None, limits: FileLimits = DEFAULT_LIMITS
) -> ActivityAggregate:
    """Fold every record of a stream into an aggregate (a new one unless `into` is given).

    The cyclic garbage collector is paused meanwhile: records and aggregates hold no reference cycles
    (reference counting frees them), and its passes over a growing heap of aggregates are pure cost.
    """
    aggregate = into if into is not None else ActivityAggregate()
    with collector_paused():
        for batch in record_batches(stream, source, limits):
            aggregate.add_all(batch)
    return aggregate
