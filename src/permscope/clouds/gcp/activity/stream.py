"""Reading audit-log entries out of a byte stream in bounded memory: gzip, JSON lines, JSON arrays, REST pages.

Shapes read: JSON lines (a log sink's export to Cloud Storage: one LogEntry a line; a line may also be a
`{"log": {...}}` wrapper or a whole REST page), a JSON array (`gcloud logging read --format=json`,
`gcloud policy-intelligence query-activity --format=json`), a REST page (`{"entries": [...]}` of
`entries.list`, `{"activities": [...]}` of Policy Analyzer's `activities.query`), and pretty-printed objects one
after another. The stream is read in chunks (inflated as it goes when it starts with the gzip magic).

An array is cut without a streaming parser (`permscope.activity_stream`, shared with the other clouds): the
first element's opening up to its first key (e.g. `{"insertId"`) marks where a group of elements may be cut.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, BinaryIO

from permscope.activity_stream import CHUNK, JsonSplitter, orjson_group, typed_group_decoder
from permscope.clouds.gcp.activity.aggregate import EntryFields
from permscope.core.errors import InputError
from permscope.userfiles import DEFAULT_LIMITS, FileLimits, byte_chunks

MAX_ENTRY = 16 << 20  # one entry larger than this is refused (Cloud Logging's limit is 256 KiB)
_ENVELOPE = re.compile(rb'\{\s*"(entries|activities)"\s*:\s*\[')
_PAGE_TAIL = re.compile(rb'\s*(?:,\s*"(?:[^"\\]|\\.)*"\s*:\s*(?:"(?:[^"\\]|\\.)*"|[-0-9a-z.eE+]+)\s*)*\}')

# only the fields `GcpActivityAggregate` reads (`EntryFields`), the rest skipped unbuilt; orjson without msgspec
DECODE = typed_group_decoder(EntryFields) or orjson_group


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


class _Splitter(JsonSplitter):
    """Splits a byte stream into batches of parsed entries (before `unwrap`)."""

    noun = "entry"
    thousands = True

    def batches(self) -> Iterator[list[Any]]:
        """Batches of parsed values, in stream order."""
        self.skip_bom()
        while self.skip_space():
            self.fill(64)
            envelope = _ENVELOPE.match(self.buf, self.pos)
            first = self.buf[self.pos]
            if envelope is not None and not self.first_line_parses():
                self.pos = envelope.end()
                yield from self._array()
                self._page_tail()
            elif first == ord("["):
                self.pos += 1
                yield from self._array()
            elif first == ord("{"):
                if self.first_line_parses():
                    yield from self.lines(DECODE)
                    return
                while self.skip_space() and self.buf[self.pos] == ord("{"):
                    yield [self.one_record("a JSON object")]
            else:
                raise InputError(self.source, f"not JSON log entries {self.where()}: expected '{{' or '['")

    def _array(self) -> Iterator[list[Any]]:
        self.mark = None
        while True:
            if not self.skip_space():
                raise InputError(self.source, "the JSON ends inside an array (truncated file?)")
            byte = self.buf[self.pos]
            if byte == ord("]"):
                self.pos += 1
                return
            if byte == ord(","):
                self.pos += 1
                continue
            self.fill(self.chunk)
            group = self.group(DECODE) if self.mark is not None else None
            yield group if group is not None else [self.one_record("a JSON object")]

    def _page_tail(self) -> None:
        """After a REST page's array: its other fields (`"nextPageToken": "..."`) and closing brace."""
        self.fill(self.chunk)
        tail = _PAGE_TAIL.match(self.buf, self.pos)
        if tail is None:
            raise InputError(self.source, f"unexpected data after the entries {self.where()}")
        self.pos = tail.end()


def entry_batches(stream: BinaryIO, source: str, limits: FileLimits = DEFAULT_LIMITS) -> Iterator[list[Any]]:
    """Batches of entries from a binary stream (gzip or not: a gzip bomb is refused), in order."""
    chunks = byte_chunks(stream, source, limits, chunk=CHUNK)
    for batch in _Splitter(chunks, source, max_record=MAX_ENTRY, chunk=CHUNK).batches():
        if any(type(value) is dict and ("log" in value or "entries" in value or "activities" in value)
               for value in batch):  # fmt: skip
            yield [entry for value in batch for entry in unwrap(value)]
        else:
            yield batch
