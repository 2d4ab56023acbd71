"""Entries out of byte streams: JSON lines, arrays (gcloud), REST pages, gzip; hostile inputs name the problem."""

from __future__ import annotations

import gzip
import io
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clouds.gcp.activity.helpers import audit_entry, last_authentication
from permscope.clouds.gcp.activity import stream as stream_module
from permscope.clouds.gcp.activity.aggregate import GcpActivityAggregate
from permscope.clouds.gcp.activity.stream import entry_batches
from permscope.core.errors import InputError
from permscope.userfiles import FileLimits

ENTRIES = [audit_entry(timestamp=f"2024-05-01T10:00:{second:02d}Z") for second in range(30)]


def _read(data: bytes, limits: FileLimits | None = None) -> list[Any]:
    batches = entry_batches(io.BytesIO(data), "logs.json", *(() if limits is None else (limits,)))
    return [entry for batch in batches for entry in batch]


def _times(entries: list[Any]) -> list[str]:
    return [entry["timestamp"] for entry in entries]


@pytest.mark.parametrize(
    "data",
    [
        b"\n".join(json.dumps(entry).encode() for entry in ENTRIES) + b"\n",  # a sink's export
        json.dumps(ENTRIES, indent=2, sort_keys=True).encode(),  # gcloud logging read --format=json
        json.dumps(ENTRIES).encode(),
        json.dumps({"entries": ENTRIES, "nextPageToken": "abc"}, indent=1).encode(),  # entries.list page
        b"".join(
            json.dumps(entry, indent=2).encode() for entry in ENTRIES
        ),  # pretty objects one after another
        b"\xef\xbb\xbf" + json.dumps(ENTRIES).encode(),
        b"\n".join(
            json.dumps({"log": entry, "p_row_id": 1}).encode() for entry in ENTRIES
        ),  # shipper wrapper
    ],
    ids=["lines", "gcloud", "array", "page", "objects", "bom", "wrapped"],
)
def test_shapes(data: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = _times(ENTRIES)
    assert _times(_read(data)) == expected
    assert _times(_read(gzip.compress(data))) == expected
    monkeypatch.setattr(stream_module, "CHUNK", 300)  # elements cut across many small chunks
    assert _times(_read(data)) == expected


def test_activities_page_and_array() -> None:
    name = "//iam.googleapis.com/projects/p/serviceAccounts/a@p.iam.gserviceaccount.com"
    activities = [last_authentication(name, "2024-05-02T07:00:00Z")] * 3
    assert len(_read(json.dumps({"activities": activities}).encode())) == 3
    assert len(_read(json.dumps(activities, indent=2).encode())) == 3


def test_nested_objects_opening_like_elements_do_not_split_entries(monkeypatch: pytest.MonkeyPatch) -> None:
    entries = [
        {
            "logName": str(n),
            "timestamp": "2024-05-01T10:00:00Z",
            "resource": [{"logName": "in"}, {"logName": "x"}],
        }
        for n in range(50)
    ]
    monkeypatch.setattr(stream_module, "CHUNK", 257)
    assert [entry["logName"] for entry in _read(json.dumps(entries).encode())] == [str(n) for n in range(50)]


def test_bad_json_line_is_named() -> None:
    lines = [json.dumps(entry).encode() for entry in ENTRIES[:5]]
    lines[3] = b'{"timestamp": "2024-05-01T10:00:00Z", "protoPayload": {'
    with pytest.raises(InputError) as error:
        _read(b"\n".join(lines))
    assert error.value.source == "logs.json" and "line 4 is not JSON" in error.value.problem


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b'[{"a": 1}, {"a": ', "ends inside an entry"),
        (b'[{"a": 1}, {"a": 2}', "ends inside an array"),
        (b'[{"a": 1}, 7]', "expected a JSON object"),
        (b"hello", "expected '{' or '['"),
        (b'{"entries": [\n{"a": 1}], "nextPageToken": {"x": 1}}', "unexpected data after the entries"),
        (b'[{"a": "\xff\xfe"}]', "not valid JSON"),
    ],
)
def test_malformed_streams(data: bytes, problem: str) -> None:
    with pytest.raises(InputError) as error:
        _read(data)
    assert problem in error.value.problem


def test_huge_line_and_entry_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stream_module, "MAX_ENTRY", 10_000)
    huge = json.dumps({"timestamp": "x", "blob": "a" * 50_000}).encode()
    with pytest.raises(InputError, match="line 2 is longer than 10,000 bytes"):
        _read(json.dumps(ENTRIES[0]).encode() + b"\n" + huge + b"\n")
    with pytest.raises(InputError, match="larger than 10,000 bytes"):
        _read(b"[" + huge + b"]")


def test_gzip_bomb_is_refused() -> None:
    bomb = gzip.compress(b" " * (40 << 20) + b"[]")
    with pytest.raises(InputError, match="gzip bomb"):
        _read(bomb, FileLimits(max_gzip_ratio=50))


def test_empty_streams() -> None:
    assert _read(b"") == [] and _read(b"  \n ") == [] and _read(b"[]") == []


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_damaged_streams_read_or_fail_with_an_input_error(data: st.DataObject) -> None:
    """Any cut, flipped or inserted bytes in a valid file: entries, or an InputError; never another error."""
    original = bytearray(
        data.draw(
            st.sampled_from(
                [json.dumps(ENTRIES[:4], indent=2), "\n".join(json.dumps(e) for e in ENTRIES[:4])]
            )
        ).encode()
    )
    for _ in range(data.draw(st.integers(1, 4))):
        where = data.draw(st.integers(0, len(original)))
        action = data.draw(st.sampled_from(["cut", "flip", "insert"]))
        if action == "cut":
            del original[where:]
        elif action == "flip" and where < len(original):
            original[where] = data.draw(st.sampled_from(b'{}[],:"\\\n x0'))
        else:
            original[where:where] = data.draw(st.binary(max_size=8))
    aggregate = GcpActivityAggregate()
    try:
        for batch in entry_batches(io.BytesIO(bytes(original)), "damaged.json"):
            aggregate.add_all(batch)
    except InputError:
        pass
