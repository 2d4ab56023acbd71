"""Reading CloudTrail records out of a byte stream, in bounded memory: gzip, documents, arrays, JSON lines.

The stream is read in chunks of CHUNK bytes (gunzipped on the fly when it starts with the gzip magic) and
split into records without loading it whole: a `{"Records": [...]}` document (what a trail delivers), a
top-level array, the AWS CLI's `lookup-events` output (`{"Events": [...]}`, each event's `CloudTrailEvent`
string decoded) or JSON lines (one record per line; a line may also hold a whole `{"Records": [...]}`
document, an EventBridge `{"detail": ...}` envelope or a `{"log": ...}` wrapper). Several documents may follow
each other (e.g. `zcat *.json.gz`).

An array is split without a streaming parser (`permscope.activity_stream`, shared with the other clouds):
CloudTrail records open with `{"eventVersion"`, which marks where a group of records may be cut.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, BinaryIO

import orjson

from permscope.activity_stream import CHUNK, JsonSplitter, fold, orjson_group, typed_group_decoder
from permscope.clouds.aws.activity.aggregate import ActivityAggregate, RecordFields
from permscope.core.errors import InputError
from permscope.userfiles import DEFAULT_LIMITS, FileLimits, byte_chunks

MAX_RECORD = 64 << 20  # a single record larger than this is refused (CloudTrail records are a few KB)
_HEADER = re.compile(rb'\{\s*"(Records|Events)"\s*:\s*\[')

# only the fields usage needs (`RecordFields`), the rest of each record skipped unbuilt: about three times faster
TYPED_DECODER = typed_group_decoder(RecordFields)


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


class _Splitter(JsonSplitter):
    """Splits a byte stream of CloudTrail documents or JSON lines into batches of parsed records."""

    def batches(self) -> Iterator[list[Any]]:
        """Batches of records, in file order."""
        if not self.skip_space():
            return
        self.skip_bom()
        while self.skip_space():
            self.fill(64)
            header = _HEADER.match(self.buf, self.pos)
            if header is not None:
                self.pos = header.end()
                yield from self._array(in_object=True, events=header.group(1) == b"Events")
            elif self.buf[self.pos] == ord("["):
                self.pos += 1
                yield from self._array(in_object=False, events=False)
            elif self.buf[self.pos] == ord("{"):
                yield from self._lines() if self.first_line_parses() else self._objects()
                return
            else:
                raise InputError(self.source, f"not CloudTrail JSON {self.where()}: expected '{{' or '['")

    def _array(self, *, in_object: bool, events: bool) -> Iterator[list[Any]]:
        self.mark = None
        while True:
            if not self.skip_space():
                raise InputError(self.source, "the JSON ends inside the Records array (truncated file?)")
            byte = self.buf[self.pos]
            if byte == ord("]"):
                self.pos += 1
                if in_object:
                    self.skip_object_tail("the Records array")
                return
            if byte == ord(","):
                self.pos += 1
                continue
            self.fill(self.chunk)
            decode = orjson_group if events else TYPED_DECODER or orjson_group
            group = self.group(decode) if self.mark is not None else None
            if group is None:
                group = [self.one_record("a record (a JSON object)")]
            if events:
                group = [item for value in group for item in unwrap(value)]
            yield group

    def _lines(self) -> Iterator[list[Any]]:
        for values in self.lines(orjson_group):
            yield [record for value in values for record in unwrap(value)]

    def _objects(self) -> Iterator[list[Any]]:
        """Concatenated (e.g. pretty-printed) JSON objects, one at a time."""
        while self.skip_space():
            yield list(unwrap(self.one_record("a record (a JSON object)")))


def record_batches(stream: BinaryIO, source: str, limits: FileLimits = DEFAULT_LIMITS) -> Iterator[list[Any]]:
    """Batches of CloudTrail records from a binary stream (gzip or not: a gzip bomb is refused), in order;
    bounded memory."""
    chunks = byte_chunks(stream, source, limits, chunk=CHUNK)
    return _Splitter(chunks, source, max_record=MAX_RECORD, chunk=CHUNK).batches()


def aggregate_stream(
    stream: BinaryIO, source: str, into: ActivityAggregate | None = None, limits: FileLimits = DEFAULT_LIMITS
) -> ActivityAggregate:
    """Fold every record of a stream into an aggregate (a new one unless `into` is given).

    The cyclic garbage collector is paused meanwhile: records and aggregates hold no reference cycles
    (reference counting frees them), and its passes over a growing heap of aggregates are pure cost.
    """
    return fold(record_batches(stream, source, limits), into if into is not None else ActivityAggregate())
