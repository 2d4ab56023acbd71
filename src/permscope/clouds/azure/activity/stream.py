"""Azure log records out of a byte stream, in bounded memory: JSON lines, arrays, REST pages, diagnostic blobs.

The shapes: JSON lines (what diagnostic settings write to a storage account since late 2018, an event hub
capture or a workspace export; a line may also hold a whole document), a JSON array (`az monitor activity-log
list`), REST pages `{"value": [...], "nextLink": ...}` (`az rest`, Graph), and the older diagnostic blobs
`{"records": [...]}`; several documents may follow each other; gzip is inflated on the fly
(`userfiles.byte_chunks`, with its limits). A record wrapped as `{"log": {...}}` (log shippers, rule tests)
is unwrapped.

An array is split without a streaming parser (`permscope.activity_stream`, shared with the other clouds): the
first record's opening key (`{"time"`, `{"eventTimestamp"`, ...) marks where a group of records may be cut.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, BinaryIO

from permscope.activity_stream import CHUNK, JsonSplitter, orjson_group
from permscope.core.errors import InputError
from permscope.userfiles import DEFAULT_LIMITS, FileLimits, byte_chunks

MAX_RECORD = 16 << 20  # one record (or line) larger than this is refused (Azure records are a few KB)
_HEADER = re.compile(rb'\{\s*"(records|value)"\s*:\s*\[')


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


class _Splitter(JsonSplitter):
    """Splits a byte stream of JSON lines or documents into batches of records."""

    def batches(self) -> Iterator[list[Any]]:
        """Batches of records, in order."""
        if not self.skip_space():
            return
        self.skip_bom()
        if self.skip_space() and self.buf[self.pos] == ord("{") and self.first_line_parses():
            for values in self.lines(orjson_group):
                yield flatten(values)
            return
        while self.skip_space():
            self.fill(64)
            header = _HEADER.match(self.buf, self.pos)
            byte = self.buf[self.pos]
            if header is not None:
                self.pos = header.end()
                yield from self._array()
                self.skip_object_tail("the records array")
            elif byte == ord("["):
                self.pos += 1
                yield from self._array()
            elif byte == ord("{"):
                yield list(unwrap(self.one_record("a record (a JSON object)")))
            else:
                raise InputError(self.source, f"not JSON {self.where()}: expected '{{' or '['")

    def _array(self) -> Iterator[list[Any]]:
        self.mark = None
        separated = True  # whether a record may start here (after `[` or `,`, or where a group stopped)
        while True:
            if not self.skip_space():
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
                raise InputError(self.source, f"expected ',' or ']' between records {self.where()}")
            self.fill(self.chunk)
            group = self.group(orjson_group) if self.mark is not None and byte == ord("{") else None
            if group is None:
                group = [self.one_record("a record (a JSON object)")]
                separated = False
            yield flatten(group)


def record_batches(stream: BinaryIO, source: str, limits: FileLimits = DEFAULT_LIMITS) -> Iterator[list[Any]]:
    """Batches of Azure log records from a binary stream (gzip or not; a gzip bomb is refused), in order;
    bounded memory. InputError naming `source` and the line or byte of a malformed record."""
    chunks = byte_chunks(stream, source, limits, chunk=CHUNK)
    return _Splitter(chunks, source, max_record=MAX_RECORD, chunk=CHUNK).batches()
