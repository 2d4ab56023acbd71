"""The candidate index agrees with the engine's own Resource matching, value by value and ARN by ARN."""

from __future__ import annotations

import pytest

from permscope.clouds.aws.engine.matching import ValueMatch, resource_value_match
from permscope.clouds.aws.engine.policy import PolicyType
from permscope.clouds.aws.escalation.candidates import ArnIndex, reads_context

ARNS = [
    "arn:aws:iam::111111111111:role/admin",
    "arn:aws:iam::111111111111:role/app-1",
    "arn:aws:iam::111111111111:role/app-12",
    "arn:aws:iam::111111111111:role/service-role/app-2",
    "arn:aws:iam::111111111111:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123",
    "arn:aws:iam::222222222222:role/app-1",
    "arn:aws:iam::111111111111:user/alice",
    "arn:aws:iam::111111111111:group/ops",
    "arn:aws-cn:iam::111111111111:role/app-1",
]
VALUES = [
    "*",
    "arn:aws:iam::111111111111:role/app-1",
    "arn:aws:iam::111111111111:role/app-*",
    "arn:aws:iam::*:role/app-?",
    "arn:aws:iam::*:role/*",
    "arn:*:iam::*:role/*app*",
    "arn:aws:iam::1111*:*",
    "arn:aws:iam::111111111111:role/*/app-2",
    "arn:aws:iam::*:role/service-role/*",
    "arn:aws:iam:*:*:*",
    "arn:aws:iam::111111111111:role/app-1:extra",
    "arn:aws:iam::111111111111",  # short: padded, or rejected, depending on the policy type
    "arn:aws:iam::*",
    "arn:aws:*",
    "role/*",
    "*app*",
]
TYPES = [PolicyType.IDENTITY, PolicyType.BOUNDARY, PolicyType.SCP, None]


@pytest.mark.parametrize("policy_type", TYPES)
def test_every_outcome_is_the_engines(policy_type: PolicyType | None) -> None:
    index = ArnIndex(ARNS)
    for value in VALUES:
        outcome = index.outcome(value, policy_type)
        for number, arn in enumerate(ARNS):
            expected = resource_value_match(value, arn, None, policy_type=policy_type)
            matched = outcome.matched if isinstance(outcome.matched, bool) else number in outcome.matched
            rejected = outcome.rejected if isinstance(outcome.rejected, bool) else number in outcome.rejected
            assert matched == (expected is ValueMatch.MATCH), (value, arn)
            assert rejected == (expected is ValueMatch.ERROR), (value, arn)


def test_outcomes_that_tell_no_candidate_apart_are_constant() -> None:
    index = ArnIndex(ARNS[:4])
    assert index.outcome("arn:aws:iam::*:role/*", PolicyType.IDENTITY).partitions() == []
    assert index.outcome("arn:aws:s3:::bucket/*", PolicyType.IDENTITY).partitions() == []
    assert index.outcome("arn:aws:iam::111111111111:role/app-1*", PolicyType.IDENTITY).partitions() == [
        frozenset({1, 2})
    ]


def test_values_that_read_the_request_are_left_to_the_caller() -> None:
    assert reads_context("arn:aws:iam::*:user/${aws:username}")
    assert reads_context("arn:aws:iam::*:role/a\\*b")
    assert not reads_context("arn:aws:iam::*:role/*")
    with pytest.raises(ValueError):
        ArnIndex(ARNS).outcome("arn:aws:iam::*:user/${aws:username}", PolicyType.IDENTITY)


def test_accounts_and_reserved_roles_are_told_apart() -> None:
    index = ArnIndex(ARNS)
    assert index.account_partitions == [frozenset({5})]
    assert index.protected("iam:PassRole") == frozenset({4})
    assert index.protected("iam:CreateAccessKey") == frozenset()
