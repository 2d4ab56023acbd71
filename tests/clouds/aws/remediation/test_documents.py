"""Statements grouped by resource set and condition, packed into managed policies under the size quota."""

from __future__ import annotations

from permscope.clouds.aws.grant.connector import policy_size
from permscope.clouds.aws.remediation.documents import Grant, documents, group, policy_name


def test_actions_with_the_same_resources_and_condition_share_a_statement() -> None:
    mfa = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    grants = group(
        {
            "s3:GetObject": (("arn:aws:s3:::b/*",), {}),
            "s3:PutObject": (("arn:aws:s3:::b/*",), {}),
            "s3:DeleteObject": (("arn:aws:s3:::b/*",), mfa),
            "ec2:DescribeInstances": (("*",), {}),
        }
    )
    assert [(g.actions, g.resources, dict(g.condition)) for g in grants] == [
        (("ec2:DescribeInstances",), ("*",), {}),
        (("s3:DeleteObject",), ("arn:aws:s3:::b/*",), mfa),
        (("s3:GetObject", "s3:PutObject"), ("arn:aws:s3:::b/*",), {}),
    ]


def test_a_statement_larger_than_a_policy_is_cut_and_every_policy_fits() -> None:
    resources = tuple(
        f"arn:aws:dynamodb:eu-west-1:111122223333:table/table-number-{n:05d}" for n in range(500)
    )
    actions = tuple(f"dynamodb:Action{n:03d}" for n in range(3))
    found = documents([Grant(actions, resources)], "alice", 6_144)
    assert len(found) > 1
    covered: set[tuple[str, str]] = set()
    for document in found:
        assert document.size == policy_size(document.document) <= 6_144
        sids = [s["Sid"] for s in document.document["Statement"]]
        assert len(sids) == len(set(sids))
        for statement in document.document["Statement"]:
            named = (
                statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            )
            covered |= {(a, r) for a in statement["Action"] for r in named}
    assert covered == {(a, r) for a in actions for r in resources}
    assert [d.name for d in found[:2]] == [
        "permscope-least-privilege-alice-1",
        "permscope-least-privilege-alice-2",
    ]


def test_a_lone_oversized_statement_is_left_whole_for_the_caller_to_report() -> None:
    [document] = documents([Grant(("s3:GetObject",), ("arn:aws:s3:::b/" + "k" * 7_000,))], "alice", 6_144)
    assert document.size > 6_144


def test_policy_names_keep_to_iam_characters_and_length() -> None:
    assert policy_name("svc/éàü name", 1, 1) == "permscope-least-privilege-svc-----name"
    assert len(policy_name("x" * 300, 12, 12)) == 128 and policy_name("x" * 300, 12, 12).endswith("-12")
