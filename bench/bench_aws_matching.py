"""Throughput of the AWS policy grammar, action/resource matching and condition operators.

Parses the real AWS managed policies from ../shared when present (a small built-in set otherwise), then times
statement-level "decisions": for one request, walk every statement of ten attached policies and test action,
resource and conditions, as an evaluator does. Reports figures; asserts nothing.

    .venv/bin/python bench/bench_aws_matching.py [--seconds 3]
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from permscope.clouds.aws.engine.conditions import RequestContext, conditions_match, operator_matches
from permscope.clouds.aws.engine.matching import actions_match, statement_resource_matches
from permscope.clouds.aws.engine.policy import PolicyDocument, PolicyType, Statement, parse_policy

SHARED_MANAGED_POLICIES = (
    Path(__file__).resolve().parent.parent.parent / "shared/data/aws/managed_policies.json"
)
ATTACHED = ("AmazonS3ReadOnlyAccess", "AmazonEC2FullAccess", "IAMReadOnlyAccess", "AmazonDynamoDBFullAccess")

BUILT_IN: list[dict[str, Any]] = [
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": "*"},
            {
                "Effect": "Allow",
                "Action": "ec2:*",
                "Resource": "arn:aws:ec2:*:123456789012:instance/*",
                "Condition": {"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}},
            },
            {
                "Effect": "Deny",
                "NotAction": ["iam:Get*", "iam:List*"],
                "Resource": "arn:aws:iam::*:user/${aws:username}",
                "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "false"}},
            },
        ],
    }
]


def _documents() -> list[tuple[str, object]]:
    if SHARED_MANAGED_POLICIES.is_file():
        policies = json.loads(SHARED_MANAGED_POLICIES.read_text())["policies"]
        return [(policy["name"], policy["document"]) for policy in policies]
    return [(f"builtin-{index}", document) for index, document in enumerate(BUILT_IN)]


def _rate(label: str, unit: str, seconds: float, step: Callable[[], int]) -> float:
    """Run `step` (returns how many units it did) repeatedly for `seconds`; print and return units/s."""
    done = 0
    started = time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        done += step()
    rate = done / elapsed
    print(f"{label:<58} {rate:>14,.0f} {unit}/s")
    return rate


def _statement_applies(statement: Statement, action: str, resource: str, context: RequestContext) -> bool:
    if statement.actions is not None:
        if not actions_match(statement.actions, action):
            return False
    elif statement.not_actions is not None and actions_match(statement.not_actions, action):
        return False
    if statement.resources is not None:
        element, values = "Resource", statement.resources
    else:
        element, values = "NotResource", statement.not_resources or ()
    if not statement_resource_matches(element, values, resource, context, effect=statement.effect):
        return False
    return conditions_match(statement.conditions, context).matched


def main() -> None:
    """Run every measurement and print one line per figure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    arguments = parser.parse_args()
    seconds = arguments.seconds
    documents = _documents()
    print(
        f"{len(documents)} policy documents ({'shared managed policies' if len(documents) > 10 else 'built-in'})"
    )

    def parse_all() -> int:
        for name, document in documents:
            parse_policy(document, name=name, policy_type=PolicyType.IDENTITY)
        return len(documents)

    _rate("parse_policy", "policies", seconds, parse_all)
    texts = [(name, json.dumps(document)) for name, document in documents]

    def parse_texts() -> int:
        for name, text in texts:
            parse_policy(text, name=name, policy_type=PolicyType.IDENTITY)
        return len(texts)

    _rate("parse_policy from JSON text", "policies", seconds, parse_texts)

    parsed = {name: parse_policy(doc, name=name, policy_type=PolicyType.IDENTITY) for name, doc in documents}
    attached: list[PolicyDocument] = [parsed[name] for name in ATTACHED if name in parsed]
    rng = random.Random(7)
    extra = [parsed[name] for name in rng.sample(sorted(parsed), min(10 - len(attached), len(parsed)))]
    attached = (attached + extra)[:10]
    statements = [statement for policy in attached for statement in policy.statements]
    print(f"decision workload: {len(attached)} attached policies, {len(statements)} statements")
    requests = [
        ("s3:GetObject", "arn:aws:s3:::reports-bucket/2024/q1.csv"),
        ("ec2:StartInstances", "arn:aws:ec2:us-east-1:123456789012:instance/i-0abc"),
        ("iam:CreateAccessKey", "arn:aws:iam::123456789012:user/alice"),
        ("dynamodb:PutItem", "arn:aws:dynamodb:eu-west-1:123456789012:table/orders"),
        ("kms:Decrypt", "arn:aws:kms:us-east-1:123456789012:key/1234"),
        ("lambda:InvokeFunction", "arn:aws:lambda:us-east-1:123456789012:function:etl"),
    ]
    context = RequestContext(
        {
            "aws:username": "alice",
            "aws:PrincipalTag/team": "data",
            "aws:SourceIp": "10.1.2.3",
            "aws:MultiFactorAuthPresent": "true",
            "aws:CurrentTime": "2024-06-01T12:00:00Z",
            "aws:TagKeys": ["team", "env"],
        }
    )

    def decide() -> int:
        for action, resource in requests:
            for statement in statements:
                _statement_applies(statement, action, resource, context)
        return len(requests)

    _rate("decisions (every statement of 10 policies per request)", "decisions", seconds, decide)
    wildcard_requests = [(action, resource.rsplit("/", 1)[0] + "/*") for action, resource in requests]

    def decide_wildcard() -> int:
        for action, resource in wildcard_requests:
            for statement in statements:
                _statement_applies(statement, action, resource, context)
        return len(wildcard_requests)

    _rate("decisions with wildcard request resources", "decisions", seconds, decide_wildcard)
    tests = [
        ("StringLike", ("arn:aws:iam::*:user/${aws:username}",), "arn:aws:iam::1:user/alice"),
        ("IpAddress", ("10.0.0.0/8", "192.168.0.0/16"), "10.1.2.3"),
        ("DateLessThan", ("2025-01-01T00:00:00Z",), "2024-06-01T12:00:00Z"),
        ("ForAllValues:StringEquals", ("team", "env", "owner"), ["team", "env"]),
        ("NumericLessThanEquals", ("3600",), "900"),
        ("BoolIfExists", ("true",), None),
    ]

    def run_operators() -> int:
        for operator, values, request in tests:
            operator_matches(operator, values, request, context)
        return len(tests)

    _rate("condition operator tests", "tests", seconds, run_operators)


if __name__ == "__main__":
    main()
