"""Azure log files split into records in bounded memory: every shape, gzip, and hostile inputs."""

from __future__ import annotations

import gzip
import io
import json
from typing import Any

import pytest

from clouds.azure.activity.samples import export_event, graph_sign_in, rest_event
from permscope.clouds.azure.activity import stream
from permscope.clouds.azure.activity.stream import record_batches
from permscope.core.errors import InputError
from permscope.userfiles import FileLimits


def records(data: bytes, source: str = "log.json") -> list[Any]:
    return [record for batch in record_batches(io.BytesIO(data), source) for record in batch]


EVENTS = [rest_event(when=f"2024-05-01T10:00:{second:02d}Z") for second in range(30)]


@pytest.mark.parametrize(
    "data",
    [
        b"\n".join(json.dumps(event).encode() for event in EVENTS) + b"\n",  # JSON lines
        json.dumps(EVENTS).encode(),  # az monitor activity-log list
        json.dumps(EVENTS, indent=2).encode(),
        json.dumps({"value": EVENTS, "nextLink": "https://management.azure.com/x?$skipToken=1"}).encode(),
        json.dumps({"records": EVENTS}, indent=1).encode(),  # an older diagnostic blob
        (json.dumps({"value": EVENTS[:10]}) + "\n" + json.dumps({"value": EVENTS[10:]})).encode(),
        (
            json.dumps({"value": EVENTS[:10]}, indent=1) + json.dumps({"value": EVENTS[10:]}, indent=1)
        ).encode(),
        b"\xef\xbb\xbf" + json.dumps(EVENTS).encode(),
        b"\n".join(json.dumps({"log": event, "rule_id": "x"}).encode() for event in EVENTS),
        json.dumps([{"log": event} for event in EVENTS]).encode(),
    ],
)
def test_every_shape_gives_the_same_records(data: bytes) -> None:
    assert records(data) == EVENTS
    assert records(gzip.compress(data)) == EVENTS


def test_records_whose_nested_objects_start_like_records_are_never_split(monkeypatch: Any) -> None:
    monkeypatch.setattr(stream, "CHUNK", 512)  # many groups, cut at marks inside records too
    tricky = [
        {"time": f"2024-05-01T10:00:{n:02d}Z", "properties": {"time": "x", "nested": [{"time": "}"}]}}
        for n in range(60)
    ]
    assert records(json.dumps(tricky).encode()) == tricky
    assert records(json.dumps({"records": tricky}).encode()) == tricky


def test_mixed_shapes_in_one_array() -> None:
    mixed = [rest_event(), export_event(), graph_sign_in()]
    assert records(json.dumps(mixed).encode()) == mixed


def test_an_empty_file_or_array_has_no_records() -> None:
    assert (
        records(b"") == []
        and records(b"  \n") == []
        and records(b"[]") == []
        and records(b'{"value": []}') == []
    )


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b'{"time": "x"}\n{"time": \n', "line 2 is not JSON"),
        (b'{"time": "x"}\n\n{"a": 1}\nnot json\n', "line 4 is not JSON"),
        (b'[{"time": "x"}, {"time": ', "the JSON ends inside a record"),
        (b'[{"time": "x"}', "the JSON ends inside an array"),
        (b'{"value": [{"time": "x"}]', "ends without its closing brace"),
        (b"hello", "not JSON at byte 0"),
        (b"[1, 2]", "expected a record (a JSON object) at byte 1"),
        (b'[{"time": "x"} {"time": "y"}]', "expected ',' or ']' between records at byte 15"),
        (b'[{"time": "x"},, {"time": "y"}]', "expected a record"),
        (b'[{"a": "\\ud800"}, {"a": 1e999}]', "not valid JSON"),
    ],
)
def test_malformed_input_names_the_file_and_where(data: bytes, problem: str) -> None:
    with pytest.raises(InputError) as error:
        records(data, "bad.json")
    assert error.value.source == "bad.json"
    assert problem in error.value.problem


def test_a_huge_line_or_record_is_refused(monkeypatch: Any) -> None:
    monkeypatch.setattr(stream, "MAX_RECORD", 4096)
    monkeypatch.setattr(stream, "CHUNK", 1024)
    huge = json.dumps({"time": "x", "pad": "y" * 10_000}).encode()
    with pytest.raises(InputError, match="line 2 is longer than 4096 bytes"):
        records(b'{"time": "x"}\n' + huge + b"\n")
    with pytest.raises(InputError, match="larger than 4096 bytes"):
        records(b"[" + huge + b"]")


def test_a_gzip_bomb_is_refused() -> None:
    bomb = gzip.compress(b"[" + b" " * (64 << 20) + b"]")
    with pytest.raises(InputError, match="gzip bomb"):
        list(record_batches(io.BytesIO(bomb), "bomb.json.gz", FileLimits(max_gzip_ratio=50)))


def test_truncated_gzip_is_refused() -> None:
    data = gzip.compress(json.dumps(EVENTS).encode())
    with pytest.raises(InputError, match="gzip"):
        records(data[:-20])
