"""Reading CloudTrail: file shapes, streaming across chunk edges, S3 trail layouts (moto), LookupEvents (Stubber)."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from clouds.aws.cloudtrail_records import ACCOUNT, USER, record, records
from permscope.clouds.aws.activity import sources
from permscope.clouds.aws.activity.aggregate import ActivityAggregate
from permscope.core.errors import InputError


def test_files_folders_and_aggregate_file(tmp_path: Path) -> None:
    folder = tmp_path / "AWSLogs" / ACCOUNT / "CloudTrail" / "eu-west-1" / "2024" / "05" / "01"
    folder.mkdir(parents=True)
    good = folder / f"{ACCOUNT}_CloudTrail_eu-west-1_20240501T1000Z_abc.json.gz"
    good.write_bytes(gzip.compress(json.dumps({"Records": records(10)}).encode()))
    digest = tmp_path / "AWSLogs" / ACCOUNT / "CloudTrail-Digest" / "eu-west-1" / "2024" / "05" / "01"
    digest.mkdir(parents=True)
    (digest / f"{ACCOUNT}_CloudTrail-Digest_eu-west-1_x.json.gz").write_bytes(b"digest")
    flow = tmp_path / "AWSLogs" / "o-abcdefghij" / ACCOUNT / "vpcflowlogs" / "eu-west-1"
    flow.mkdir(parents=True)
    (flow / "flow.log.gz").write_bytes(b"flow")
    (folder / "notes.txt").write_text("not a log")
    bad = tmp_path / "bad.json"
    bad.write_text('{"Records": [{"eventVersion": ')
    found = sources.find_log_files([tmp_path, good])
    assert sorted(Path(item.path).name for item in found) == sorted(["bad.json", good.name])
    by_name = {Path(item.path).name: sources.aggregate_file(item) for item in found}
    assert by_name[good.name].aggregate is not None
    assert by_name[good.name].aggregate.stats.events == 10
    assert by_name["bad.json"].aggregate is None
    assert "ends inside" in (by_name["bad.json"].error or "")
    assert found[0].key != sources.LocalFile(found[0].path, found[0].size + 1, found[0].mtime_ns).key
    with pytest.raises(InputError, match="no such file"):
        sources.find_log_files([tmp_path / "missing"])


# ------------------------------------------------------------------------------------------- S3 (moto)


def _put(client: Any, bucket: str, key: str, items: list[dict[str, Any]]) -> None:
    client.put_object(Bucket=bucket, Key=key, Body=gzip.compress(json.dumps({"Records": items}).encode()))


@mock_aws
def test_s3_layouts_filters_and_reading() -> None:
    client = boto3.client("s3", region_name="us-east-1")
    client.create_bucket(Bucket="trail")
    other = "444455556666"
    keys = {
        "standard": f"prefix/AWSLogs/{ACCOUNT}/CloudTrail/eu-west-1/2024/05/01/{ACCOUNT}_CloudTrail_eu-west-1_20240501T1000Z_a.json.gz",
        "standard-later": f"prefix/AWSLogs/{ACCOUNT}/CloudTrail/eu-west-1/2024/05/03/{ACCOUNT}_CloudTrail_eu-west-1_20240503T1000Z_b.json.gz",
        "org": f"prefix/AWSLogs/o-abcdefghij/{other}/CloudTrail/us-east-1/2024/05/02/{other}_CloudTrail_us-east-1_20240502T1000Z_c.json.gz",
    }
    for name, key in keys.items():
        _put(client, "trail", key, records(3 if name != "org" else 2))
    noise = [
        f"prefix/AWSLogs/{ACCOUNT}/CloudTrail-Digest/eu-west-1/2024/05/01/{ACCOUNT}_CloudTrail-Digest_eu-west-1_x.json.gz",
        f"prefix/AWSLogs/{ACCOUNT}/CloudTrail-Insight/eu-west-1/2024/05/01/{ACCOUNT}_CloudTrail-Insight_x.json.gz",
        f"prefix/AWSLogs/{ACCOUNT}/vpcflowlogs/eu-west-1/2024/05/01/flow.log.gz",
        f"prefix/AWSLogs/{ACCOUNT}/CloudTrail/eu-west-1/2024/05/01/readme.txt",
    ]
    for key in noise:
        client.put_object(Bucket="trail", Key=key, Body=b"x")

    every = list(sources.list_log_objects(client, "trail", "prefix/"))
    assert sorted(obj.key for obj in every) == sorted(keys.values())
    org_object = next(obj for obj in every if obj.account == other)
    assert (org_object.region, org_object.day) == ("us-east-1", date(2024, 5, 2))
    assert all(obj.etag and obj.size > 0 for obj in every)

    by_account = list(sources.list_log_objects(client, "trail", "", accounts=[other]))
    assert [obj.key for obj in by_account] == [keys["org"]]
    by_region = list(sources.list_log_objects(client, "trail", "prefix/", regions=["eu-west-1"]))
    assert sorted(obj.key for obj in by_region) == sorted([keys["standard"], keys["standard-later"]])
    by_day = list(
        sources.list_log_objects(client, "trail", "prefix/", start=date(2024, 5, 2), end=date(2024, 5, 2))
    )
    assert [obj.key for obj in by_day] == [keys["org"]]
    deep = f"prefix/AWSLogs/{ACCOUNT}/CloudTrail/eu-west-1/2024/05/03/"
    assert [obj.key for obj in sources.list_log_objects(client, "trail", deep)] == [keys["standard-later"]]
    month = f"prefix/AWSLogs/{ACCOUNT}/CloudTrail/eu-west-1/2024/05"  # below the region: a key prefix
    assert len(list(sources.list_log_objects(client, "trail", month))) == 2

    # another trail whose prefix starts the same: a prefix names a folder, with or without its slash
    sibling = keys["standard"].replace("prefix/", "prefix-old/", 1)
    _put(client, "trail", sibling, records(1))
    for given in ("prefix", "prefix/", f"prefix/AWSLogs/{ACCOUNT}/CloudTrail/eu-west-1"):
        found = {obj.key for obj in sources.list_log_objects(client, "trail", given)}
        assert sibling not in found and keys["standard"] in found, given
    assert sibling in {obj.key for obj in sources.list_log_objects(client, "trail", "")}

    into = ActivityAggregate()
    for obj in every:
        sources.read_log_object(client, obj, into)
    assert into.stats.events == 8
    assert sources.parse_s3_uri("s3://trail/prefix/") == ("trail", "prefix/")
    with pytest.raises(InputError):
        sources.parse_s3_uri("https://trail")


# ------------------------------------------------------------------------------------------- LookupEvents (Stubber)


def lookup_page(items: list[dict[str, Any]], next_token: str | None) -> dict[str, Any]:
    """A LookupEvents response as the CloudTrail API reference shapes it (Events[], NextToken)."""
    page: dict[str, Any] = {
        "Events": [
            {
                "EventId": item["eventID"],
                "EventName": item["eventName"],
                "ReadOnly": "true",
                "AccessKeyId": "ASIAEXAMPLE",
                "EventTime": datetime.fromisoformat(item["eventTime"].replace("Z", "+00:00")),
                "EventSource": item["eventSource"],
                "Username": "alice",
                "Resources": [{"ResourceType": "AWS::EC2::Instance", "ResourceName": "i-1"}],
                "CloudTrailEvent": json.dumps(item),
            }
            for item in items
        ]
    }
    if next_token is not None:
        page["NextToken"] = next_token
    return page


def test_lookup_events_pages_edges_and_skipped_ids() -> None:
    # moto does not implement CloudTrail LookupEvents: botocore's Stubber answers with API-shaped responses.
    client = boto3.client(
        "cloudtrail", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    start = datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC)
    end = datetime(2024, 5, 1, 10, 0, 4, tzinfo=UTC)
    items = [record(number) for number in range(5)]  # 10:00:00 .. 10:00:04
    with Stubber(client) as stub:
        expected = {"StartTime": start, "EndTime": end, "MaxResults": 50}
        stub.add_response("lookup_events", lookup_page(items[3:][::-1], "token-1"), expected)
        stub.add_response(
            "lookup_events", lookup_page(items[:3][::-1], None), {**expected, "NextToken": "token-1"}
        )
        window = sources.LookupWindow(region="eu-west-1", start=start, end=end)
        into = ActivityAggregate()
        sources.lookup_events(client, window, into, skip_ids={"event-0"})
        stub.assert_no_pending_responses()
    assert window.events == 4 and into.stats.events == 4
    assert sorted(window.edge_ids) == ["event-4"]  # event-0 was at the start edge but skipped
    assert into.usage[(USER, "ec2:DescribeInstances", "")] == [
        "2024-05-01T10:00:01Z",
        "2024-05-01T10:00:04Z",
        4,
    ]
