"""Realistic CloudTrail records for the reader tests (nested objects and arrays of objects included)."""

from __future__ import annotations

from typing import Any

ACCOUNT = "111122223333"
USER = f"arn:aws:iam::{ACCOUNT}:user/alice"
A = ACCOUNT
B = "444455556666"
ALICE = f"arn:aws:iam::{A}:user/dev/alice"
DEPLOY_ROLE = f"arn:aws:iam::{A}:role/service-role/deploy"


def record(number: int, **extra: Any) -> dict[str, Any]:
    """A realistic record, with nested objects and arrays of objects (what a naive splitter would cut)."""
    return {
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "IAMUser",
            "principalId": "AIDAEXAMPLE",
            "arn": USER,
            "accountId": ACCOUNT,
            "userName": "alice",
        },
        "eventTime": f"2024-05-01T10:{number // 60 % 60:02d}:{number % 60:02d}Z",
        "eventSource": "ec2.amazonaws.com",
        "eventName": "DescribeInstances",
        "awsRegion": "eu-west-1",
        "requestParameters": {
            "instancesSet": {"items": [{"instanceId": f"i-{number}"}, {"instanceId": "i-2"}]},
            "filterSet": {"items": [{"eventVersion": "nested", "name": 'x}],{"eventVersion":'}]},
        },
        "responseElements": None,
        "eventID": f"event-{number}",
        "eventType": "AwsApiCall",
        **extra,
    }


def records(count: int) -> list[dict[str, Any]]:
    return [record(number) for number in range(count)]
