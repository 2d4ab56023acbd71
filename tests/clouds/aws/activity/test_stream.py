"""Splitting CloudTrail streams: every file shape, across chunk edges, typed and whole decoding, bad input."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path
from typing import Any

import msgspec
import pytest

from clouds.aws.cloudtrail_records import ACCOUNT, record, records
from permscope.clouds.aws.activity import stream
from permscope.clouds.aws.activity.aggregate import RecordFields
from permscope.core.errors import InputError


def read_all(data: bytes, source: str = "test.json") -> list[Any]:
    return [item for batch in stream.record_batches(io.BytesIO(data), source) for item in batch]


@pytest.fixture(params=[64, 1 << 20], ids=["tiny-chunks", "default-chunks"])
def chunk(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    """Runs a test with 64-byte reads (every record straddles chunk edges) and with the default size."""
    monkeypatch.setattr(stream, "CHUNK", request.param)
    return int(request.param)


@pytest.fixture(params=["typed", "whole"])
def typed(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Runs a test with the typed decoder (only the fields usage reads) and with whole-record decoding."""
    if request.param == "whole":
        monkeypatch.setattr(stream, "TYPED_DECODER", None)
    return bool(request.param == "typed")


def fields(items: list[dict[str, Any]], typed: bool) -> list[Any]:
    """What the reader returns for records of a Records array: only the usage fields when typed."""
    return msgspec.convert(items, list[RecordFields]) if typed else items


def test_records_document_compact_gzip_and_pretty(chunk: int, typed: bool) -> None:
    items = records(300)
    wanted = fields(items, typed)
    compact = json.dumps({"Records": items}, separators=(",", ":")).encode()
    assert fields(read_all(compact), typed) == wanted
    assert fields(read_all(gzip.compress(compact)), typed) == wanted
    assert fields(read_all(json.dumps({"Records": items}, indent=4).encode()), typed) == wanted
    if not typed:
        assert read_all(compact) == items  # whole records, nothing lost


def test_concatenated_documents_arrays_and_empty_ones(chunk: int, typed: bool) -> None:
    items = records(40)
    one = json.dumps({"Records": items[:25]}).encode()
    two = json.dumps({"Records": items[25:]}).encode()
    empty = b'{"Records": []}'
    wanted = fields(items, typed)
    assert fields(read_all(one + two + empty), typed) == wanted
    multi_member = gzip.compress(one) + gzip.compress(empty) + gzip.compress(two)
    assert fields(read_all(multi_member), typed) == wanted
    assert fields(read_all(json.dumps(items).encode()), typed) == wanted  # a top-level array
    assert read_all(b"") == []


def test_records_whose_first_key_is_not_event_version(chunk: int, typed: bool) -> None:
    items = [dict(sorted(item.items())) for item in records(50)]  # as `jq -S` writes them
    assert fields(read_all(json.dumps({"Records": items}).encode()), typed) == fields(items, typed)


def test_typed_and_whole_decoding_aggregate_the_same(
    monkeypatch: pytest.MonkeyPatch, shared_dir: Path
) -> None:
    odd = [
        record(1, requestParameters="a string where an object is usual"),
        record(2, resources={"ARN": "not a list"}),
        record(
            3, userIdentity={"type": "Root", "accountId": ACCOUNT}, responseElements={"ConsoleLogin": "x"}
        ),
    ]
    items = records(20) + odd
    for name in ("stratus_detonation_logs", "otrf_ec2_proxy_s3_exfiltration", "panther_rule_tests"):
        path = shared_dir / "data" / "logs" / f"aws_cloudtrail_{name}.jsonl"
        for line in path.read_text().splitlines():
            value = json.loads(line)
            items.append(value.get("log", value))
    document = json.dumps({"Records": items}).encode()
    typed = stream.aggregate_stream(io.BytesIO(document), "typed")
    monkeypatch.setattr(stream, "TYPED_DECODER", None)
    whole = stream.aggregate_stream(io.BytesIO(document), "whole")
    assert typed.stats.events == len(items)
    assert (typed.usage, typed.activity, typed.stats) == (whole.usage, whole.activity, whole.stats)
    assert typed.days == whole.days  # the day profiles' sources are decoded by the typed shape too
    assert any(profile.ips and profile.agents and profile.regions for profile in typed.days.values())


def test_typed_decoding_keeps_what_identity_center_sessions_need(monkeypatch: pytest.MonkeyPatch) -> None:
    named = {**sso_session("bob"), "onBehalfOf": {"userId": "u-1", "identityStoreArn": "arn:x"}}
    sessions = [record(4, userIdentity=sso_session("alice@example.com")), record(5, userIdentity=named)]
    items = [*records(3), *sessions, *records(3)]  # typed: not first or last
    document = json.dumps({"Records": items}).encode()
    assert msgspec.convert(items, list[RecordFields])  # the chunk fits the typed decoder: it is used
    typed = stream.aggregate_stream(io.BytesIO(document), "typed")
    monkeypatch.setattr(stream, "TYPED_DECODER", None)
    whole = stream.aggregate_stream(io.BytesIO(document), "whole")
    assert {f"sso-session:{ACCOUNT}:alice@example.com", f"sso-user:{ACCOUNT}:u-1"} < set(typed.activity)
    assert (typed.usage, typed.activity, typed.stats) == (whole.usage, whole.activity, whole.stats)
    assert typed.days == whole.days and (f"sso-user:{ACCOUNT}:u-1", "2024-05-01") in typed.days


def sso_session(name: str) -> dict[str, Any]:
    """The userIdentity of an Identity Center user's session of an AWSReservedSSO role."""
    role = "AWSReservedSSO_Admin_0123abcd"
    return {
        "type": "AssumedRole",
        "principalId": f"AROAEXAMPLESSO:{name}",
        "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{name}",
        "accountId": ACCOUNT,
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": "AROAEXAMPLESSO",
                "arn": f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/{role}",
                "accountId": ACCOUNT,
                "userName": role,
            }
        },
    }


def test_json_lines_with_envelopes_and_whole_documents(chunk: int, typed: bool) -> None:
    plain = records(5)
    lines = [json.dumps(item) for item in plain[:2]]
    lines.append(
        json.dumps({"detail-type": "AWS API Call via CloudTrail", "detail": plain[2]})
    )  # EventBridge
    lines.append(json.dumps({"log": plain[3], "p_log_type": "AWS.CloudTrail"}))
    lines.append(json.dumps({"Records": [plain[4]]}))
    data = ("\n".join(lines) + "\n\n").encode()
    assert read_all(data) == plain  # JSON lines are decoded whole (a line may be an envelope)
    assert read_all(gzip.compress(data.rstrip())) == plain


def test_lookup_events_cli_output(chunk: int) -> None:
    wanted = records(3)
    output = {
        "Events": [
            {
                "EventId": item["eventID"],
                "EventName": item["eventName"],
                "ReadOnly": "true",
                "EventTime": "2024-05-01T10:00:00+00:00",
                "EventSource": item["eventSource"],
                "Username": "alice",
                "Resources": [],
                "CloudTrailEvent": json.dumps(item),
            }
            for item in wanted
        ],
        "NextToken": "abc}def",
    }
    assert read_all(json.dumps(output, indent=4).encode()) == wanted


def test_a_single_pretty_printed_record(chunk: int) -> None:
    wanted = records(2)
    assert (
        read_all((json.dumps(wanted[0], indent=2) + "\n" + json.dumps(wanted[1], indent=2)).encode())
        == wanted
    )


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b'{"Records": [{"eventVersion": "1"}, {"eventVer', "ends inside a record"),
        (b'{"Records": [{"eventVersion": "1"}', "ends inside the Records array"),
        (b"garbage", "not CloudTrail JSON"),
        (b'{"eventName": "a"}\n{"eventName": \n', "line 2 is not JSON"),
    ],
)
def test_bad_input_names_the_file_and_the_problem(data: bytes, problem: str) -> None:
    with pytest.raises(InputError) as caught:
        read_all(data, "trail/file.json")
    assert caught.value.source == "trail/file.json"
    assert problem in caught.value.problem


def test_truncated_and_corrupt_gzip() -> None:
    packed = gzip.compress(json.dumps({"Records": records(100)}).encode())
    with pytest.raises(InputError, match="truncated"):
        read_all(packed[: len(packed) // 2])
    with pytest.raises(InputError, match="corrupt"):
        read_all(packed[:20] + b"\x00" * 50 + packed[70:])
