"""Conditions kept from today's grants, guards carried, and the request context the engine check uses."""

from __future__ import annotations

from permscope.clouds.aws.engine.policy import PolicyType, parse_policy
from permscope.clouds.aws.remediation.conditions import (
    granting_statements,
    guard_statements,
    kept_tests,
    request_context,
)


def parsed(*statements: dict[str, object]) -> object:
    return parse_policy({"Version": "2012-10-17", "Statement": list(statements)}, name="p",
                        policy_type=PolicyType.IDENTITY)  # fmt: skip


MFA = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
VPC = {"StringEquals": {"aws:SourceVpc": ["vpc-1", "vpc-2"]}}


def test_only_tests_every_granting_statement_carries_on_request_keys_are_kept() -> None:
    policy = parsed(
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {**MFA, **VPC}},
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": MFA},
        {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*",
         "Condition": {**MFA, "StringEquals": {"aws:ResourceTag/team": "x"}}},
    )  # fmt: skip
    kept = kept_tests(granting_statements([policy], "s3:GetObject"))  # type: ignore[list-item]
    assert [(t.operator, t.key, t.values) for t in kept] == [
        ("Bool", "aws:MultiFactorAuthPresent", ("true",))
    ]
    assert kept_tests(granting_statements([policy], "s3:PutObject")) == kept  # type: ignore[list-item]
    assert kept_tests(granting_statements([policy], "iam:GetUser")) == ()  # type: ignore[list-item]
    variables = parsed({"Effect": "Allow", "Action": "s3:*", "Resource": "*",
                        "Condition": {"StringEquals": {"aws:SourceVpc": "${aws:username}"}}})  # fmt: skip
    assert kept_tests(granting_statements([variables], "s3:GetObject")) == ()  # type: ignore[list-item]


def test_a_context_meets_the_kept_tests_and_escapes_the_guards() -> None:
    policy = parsed(
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*",
         "Condition": {**VPC, "NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}},
        {"Effect": "Deny", "NotAction": "iam:*", "Resource": "*",
         "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}},
        {"Effect": "Deny", "Action": "*", "Resource": "*",
         "Condition": {"StringEquals": {"aws:ResourceTag/team": "x"}}},
    )  # fmt: skip
    tests = kept_tests(granting_statements([policy], "s3:GetObject"))  # type: ignore[list-item]
    guards = guard_statements([policy], ["s3:GetObject"])  # type: ignore[list-item]
    assert [g.index for g in guards] == [1]  # the resource-tag Deny guards no request property
    assert request_context(tests, guards) == {  # NumericLessThan 3600: 3600 fails, 3599 holds
        "aws:MultiFactorAuthAge": "3599",
        "aws:SourceVpc": "vpc-1",
        "aws:MultiFactorAuthPresent": "true",  # outside the guard's "false"
    }
    impossible = parsed({"Effect": "Deny", "Action": "s3:*", "Resource": "*",
                         "Condition": {"StringEquals": {"aws:SourceVpc": ["vpc-1", "vpc-2"]}}})  # fmt: skip
    assert request_context(tests, guard_statements([impossible], ["s3:GetObject"])) is None  # type: ignore[list-item]
