"""Least privilege for ourselves: every call a collection makes is allowed by docs/aws-collector-policy.json,
and that policy is read-only."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from permscope.clouds.aws.catalog import load_catalog
from permscope.clouds.aws.collect import PARTS, CollectOptions, collect_accounts
from permscope.clouds.aws.collect_support import CollectionError
from permscope.clouds.aws.collector_policy import ASSUME_ROLE_SID, api_actions, collector_policy, iam_action

from .botocore_hooks import AccessAdvisorStub, CallRecorder, combine
from .moto_estate import EXTERNAL_ID, REGION, build_organization

POLICY_FILE = Path(__file__).resolve().parents[3] / "docs" / "aws-collector-policy.json"


@pytest.fixture(scope="module")
def recorded() -> Iterator[CallRecorder]:
    """Every API call of a full collection of a moto organization (Access Advisor stubbed: moto lacks it)."""
    recorder = CallRecorder()
    with mock_aws():
        build_organization(boto3.Session(region_name=REGION), members=2)
        options = CollectOptions(
            session=boto3.Session(region_name=REGION),
            regions=[REGION],
            external_id=EXTERNAL_ID,
            parts=frozenset(PARTS),
            poll_interval=0,
            session_hook=combine(recorder, AccessAdvisorStub(datetime(2030, 1, 1, tzinfo=UTC))),
        )
        outcomes = list(collect_accounts(options))
    assert all(o.error is None for o in outcomes), [o.error for o in outcomes]
    yield recorder


def policy_actions(document: dict[str, object]) -> set[str]:
    actions: set[str] = set()
    for statement in document["Statement"]:  # type: ignore[attr-defined]
        assert statement["Effect"] == "Allow" and "NotAction" not in statement
        actions.update(statement["Action"])
    return actions


def test_the_documented_policy_is_the_generated_one() -> None:
    assert json.loads(POLICY_FILE.read_text()) == collector_policy()


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
    } <= recorded.names


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
            else:
                assert action.access_level in {"read", "list"}, f"{name} is {action.access_level}"


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
