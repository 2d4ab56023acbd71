"""Least-privilege managed policies from hand-built usage: every observation allowed (by the generator's check and
again through the simulator), resources narrowed and widened by the documented rules, iam:PassRole limited,
conditions and guards of today's grants kept, hostile usage survived."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from least_privilege_support import (
    ACCOUNT,
    ALICE,
    DEPLOYER,
    NOW,
    OBJECTS,
    ROLE_A,
    ROLE_B,
    ROLE_C,
    alice_usages,
    aws_decision,
    deployer_usages,
    remediation_batch,
    usage,
)
from permscope.clouds.base import plugin
from permscope.core.ids import Cloud
from permscope.core.least_privilege import Generated, GenerationOptions, WideningReason
from permscope.core.snapshot import AnalysisSettings, SystemSnapshot
from permscope.workflows.snapshots import batch_snapshot

MFA_OFFICE = {"aws:MultiFactorAuthPresent": "true", "aws:SourceIp": "203.0.113.0"}


@pytest.fixture
def snapshot(tmp_path: Path) -> SystemSnapshot:
    return batch_snapshot(remediation_batch(tmp_path), AnalysisSettings(now=NOW))


def generate(snapshot: SystemSnapshot, identity: str, usages: list[Any], **options: Any) -> Generated:
    generator = plugin(Cloud.AWS).least_privilege
    assert generator is not None
    return generator.generate(snapshot, identity, usages, GenerationOptions(**options))


def statements(generated: Generated) -> list[dict[str, Any]]:
    return [s for document in generated.documents for s in document.document["Statement"]]


def granting(generated: Generated, action: str) -> list[dict[str, Any]]:
    def names(value: str | list[str]) -> list[str]:
        return [value] if isinstance(value, str) else value

    return [s for s in statements(generated) if s["Effect"] == "Allow" and action in names(s["Action"])]


def test_every_observation_is_allowed_by_the_documents_alone(snapshot: SystemSnapshot) -> None:
    generated = generate(snapshot, ALICE, alice_usages())
    assert generated.refusal is None and generated.rejected == ()
    assert generated.observed == generated.allowed == len({(u.action, u.resource) for u in alice_usages()})
    for item in alice_usages():  # the same, through the simulator's case format
        context = (
            MFA_OFFICE if item.action.startswith("dynamodb:") else {"aws:MultiFactorAuthPresent": "true"}
        )
        assert (
            aws_decision(generated.documents, ALICE, item.action, item.resource or "*", context) == "Allowed"
        )
    assert generated.widening.granted_actions == generated.widening.observed_actions == 8
    assert generated.widening.unobserved_actions == ()


def test_resources_are_narrowed_and_widened_by_the_rules(snapshot: SystemSnapshot) -> None:
    generated = generate(snapshot, ALICE, alice_usages())
    [get] = granting(generated, "s3:GetObject")
    assert sorted(get["Resource"]) == ["arn:aws:s3:::data/logs/2024/*", "arn:aws:s3:::other/report.csv"]
    assert granting(generated, "s3:ListBucket")[0]["Resource"] == "arn:aws:s3:::data"
    assert granting(generated, "iam:GetUser")[0]["Resource"] == ALICE
    assert granting(generated, "s3:ListAllMyBuckets")[0]["Resource"] == "*"  # no resource-level permissions
    assert granting(generated, "dynamodb:Query")[0]["Resource"] == "*"  # used without a recorded resource
    widened = {(g.pattern, g.reason): g for g in generated.widening.widened}
    objects = widened[("arn:aws:s3:::data/logs/2024/*", WideningReason.OBJECT_KEYS)]
    assert (objects.actions, objects.observed) == (("s3:GetObject",), len(OBJECTS))
    assert widened[("*", WideningReason.RESOURCE_NOT_RECORDED)].actions == ("dynamodb:Query",)
    assert set(widened[("*", WideningReason.NO_RESOURCE_LEVEL)].actions) == {
        "s3:ListAllMyBuckets",
        "ec2:DescribeInstances",
    }
    # another key under the prefix is allowed (the widening), one elsewhere in the bucket is not
    context = {"aws:MultiFactorAuthPresent": "true"}
    assert aws_decision(generated.documents, ALICE, "s3:GetObject", "arn:aws:s3:::data/logs/2024/09/new.csv",
                        context) == "Allowed"  # fmt: skip
    assert (
        aws_decision(generated.documents, ALICE, "s3:GetObject", "arn:aws:s3:::data/private/x", context)
        != "Allowed"
    )
    # below the threshold every key is granted by itself
    exact = generate(snapshot, ALICE, alice_usages(), object_keys_threshold=20)
    assert set(OBJECTS) <= set(granting(exact, "s3:GetObject")[0]["Resource"])


def test_many_resources_of_one_type_become_their_parent(snapshot: SystemSnapshot) -> None:
    tables = [f"arn:aws:dynamodb:eu-west-1:{ACCOUNT}:table/t{n}" for n in range(30)]
    generated = generate(snapshot, ALICE, [usage(ALICE, "dynamodb:GetItem", table) for table in tables])
    assert (
        granting(generated, "dynamodb:GetItem")[0]["Resource"]
        == f"arn:aws:dynamodb:eu-west-1:{ACCOUNT}:table/*"
    )
    assert generated.widening.widened[0].reason is WideningReason.MANY_RESOURCES
    assert generated.allowed == generated.observed == 30


def test_pass_role_is_limited_to_the_roles_passed_and_the_services_they_went_to(
    snapshot: SystemSnapshot,
) -> None:
    generated = generate(snapshot, DEPLOYER, deployer_usages())
    [passing] = granting(generated, "iam:PassRole")
    assert passing["Action"] == "iam:PassRole"
    assert sorted(passing["Resource"]) == [ROLE_A, ROLE_B]
    assert passing["Condition"] == {
        "StringEquals": {"iam:PassedToService": ["cloudformation.amazonaws.com", "lambda.amazonaws.com"]}
    }
    assert generated.allowed == generated.observed == 5
    documents = generated.documents
    to_lambda = {"iam:PassedToService": "lambda.amazonaws.com"}
    assert aws_decision(documents, DEPLOYER, "iam:PassRole", ROLE_A, to_lambda) == "Allowed"
    assert aws_decision(documents, DEPLOYER, "iam:PassRole", ROLE_C, to_lambda) == "ImplicitlyDenied"
    to_ec2 = {"iam:PassedToService": "ec2.amazonaws.com"}
    assert aws_decision(documents, DEPLOYER, "iam:PassRole", ROLE_A, to_ec2) == "ImplicitlyDenied"
    assert any("limited to the 2 role(s) passed" in note for note in generated.notes)
    # many roles passed are still named one by one
    many = [usage(DEPLOYER, "iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/r{n}") for n in range(40)]
    assert len(granting(generate(snapshot, DEPLOYER, many), "iam:PassRole")[0]["Resource"]) == 40


def test_conditions_every_grant_carries_are_kept_and_the_guard_is_carried(snapshot: SystemSnapshot) -> None:
    generated = generate(snapshot, ALICE, alice_usages())
    [dynamodb] = granting(generated, "dynamodb:GetItem")
    assert dynamodb["Condition"] == {
        "Bool": {"aws:MultiFactorAuthPresent": "true"},
        "IpAddress": {"aws:SourceIp": "203.0.113.0/24"},
    }
    # s3:GetObject is also granted without MFA (alice's inline policy): not every grant carries it
    assert "Condition" not in granting(generated, "s3:GetObject")[0]
    assert granting(generated, "s3:ListBucket")[0]["Condition"] == {
        "Bool": {"aws:MultiFactorAuthPresent": "true"}
    }
    [guard] = [s for s in statements(generated) if s["Effect"] == "Deny"]
    assert (guard["NotAction"], guard["Condition"]) == (
        ["iam:ChangePassword", "iam:GetUser"],
        {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
    )
    documents = generated.documents
    table = f"arn:aws:dynamodb:eu-west-1:{ACCOUNT}:table/orders"
    assert aws_decision(documents, ALICE, "dynamodb:GetItem", table, MFA_OFFICE) == "Allowed"
    outside = {**MFA_OFFICE, "aws:SourceIp": "198.51.100.7"}
    assert aws_decision(documents, ALICE, "dynamodb:GetItem", table, outside) == "ImplicitlyDenied"
    no_mfa = {"aws:MultiFactorAuthPresent": "false"}
    assert aws_decision(documents, ALICE, "s3:GetObject", OBJECTS[0], no_mfa) == "ExplicitlyDenied"
    assert aws_decision(documents, ALICE, "iam:GetUser", ALICE, no_mfa) == "Allowed"  # outside the guard
    deployer = generate(snapshot, DEPLOYER, deployer_usages())
    assert granting(deployer, "lambda:CreateFunction")[0]["Condition"] == {
        "StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}
    }
    assert any("keeps StringEquals aws:SourceVpce" in note for note in deployer.notes)


def test_an_identity_not_in_the_inventory_keeps_nothing_and_is_still_checked(
    snapshot: SystemSnapshot,
) -> None:
    stranger = f"arn:aws:iam::{ACCOUNT}:role/stranger"
    generated = generate(snapshot, stranger, [usage(stranger, "s3:GetObject", OBJECTS[0])])
    assert generated.allowed == generated.observed == 1
    assert all("Condition" not in s for s in statements(generated))
    assert any("not in the stored inventory" in warning for warning in generated.warnings)


def test_documents_are_split_at_the_managed_policy_limit(snapshot: SystemSnapshot) -> None:
    from permscope.clouds.aws.grant.connector import policy_size

    keys = [f"arn:aws:s3:::bucket-{n % 7}/folder-{n}/object-{n}.parquet" for n in range(1_200)]
    usages = [usage(ALICE, "s3:GetObject", key) for key in keys]
    usages += [usage(ALICE, "s3:PutObject", key) for key in keys[:150]]
    generated = generate(snapshot, ALICE, usages, object_keys_threshold=1_000)
    assert len(generated.documents) > 3
    for document in generated.documents:
        assert document.size == policy_size(document.document) <= 6_144
    granted = {(a, r) for s in statements(generated) if s["Effect"] == "Allow"
               for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
               for r in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])}  # fmt: skip
    assert {(u.action, u.resource) for u in usages} <= granted
    assert generated.allowed == generated.observed == len(usages)
    assert len({document.name for document in generated.documents}) == len(generated.documents)
    assert any("more than the 10 a user" in warning for warning in generated.warnings)


def test_hostile_usage_does_not_crash_and_stays_literal(snapshot: SystemSnapshot) -> None:
    weird = "arn:aws:s3:::b/we*ird?key${aws:username}"
    usages = [
        usage(ALICE, "s3:GetObject", weird, count=2**62),
        usage(ALICE, "s3:GetObject", "arn:aws:s3:::b/ünïcødé/ключ.txt", count=2**62),
        usage(ALICE, "s3:GetObject", "not-an-arn"),
        usage(ALICE, "s3:PutObject", "arn:aws:s3:::b/" + "k" * 5_000),
        usage(ALICE, "s3:Get*", OBJECTS[0]),
        usage(ALICE, "", OBJECTS[0]),
        usage(ALICE, "s3:GetObject\n", OBJECTS[1]),
        usage(ALICE, "newservice:DoSomething", "arn:aws:newservice:eu-west-1:1:thing/x"),
        usage(ALICE, "iam:PassRole", "arn:aws:iam::111122223333:role/${*}"),
    ]
    generated = generate(snapshot, ALICE, usages)
    assert generated.rejected == () and generated.allowed == generated.observed
    assert any("name no AWS action" in warning for warning in generated.warnings)
    assert any("newservice:DoSomething" in warning for warning in generated.warnings)
    assert not granting(generated, "s3:Get*")
    # not-an-arn and the 5,000-character key are granted on *; the wildcards of a key stay literal
    assert granting(generated, "s3:PutObject")[0]["Resource"] == "*"
    context = {"aws:MultiFactorAuthPresent": "true"}
    assert (
        aws_decision(generated.documents, ALICE, "iam:PassRole", "arn:aws:iam::111122223333:role/x", context)
        != "Allowed"
    )
    narrowed = generate(snapshot, ALICE, usages[:2])
    assert (
        "arn:aws:s3:::b/we${*}ird${?}key${$}{aws:username}"
        in granting(narrowed, "s3:GetObject")[0]["Resource"]
    )
    assert aws_decision(narrowed.documents, ALICE, "s3:GetObject", weird, context) == "Allowed"
    assert aws_decision(narrowed.documents, ALICE, "s3:GetObject", "arn:aws:s3:::b/weXirdYkey${aws:username}",
                        context) != "Allowed"  # fmt: skip


def test_only_users_and_roles_get_policies(snapshot: SystemSnapshot) -> None:
    group = f"arn:aws:iam::{ACCOUNT}:group/devs"
    refused = generate(snapshot, group, [usage(group, "s3:GetObject", OBJECTS[0])])
    assert refused.refusal is not None and "IAM user or role" in refused.refusal and refused.documents == ()
    assert generate(snapshot, ALICE, [usage(ALICE, "s3:Get*")]).refusal is not None


def test_a_broken_document_is_caught_by_the_check(
    snapshot: SystemSnapshot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check is real: documents that lose a statement leave the observations it allowed rejected."""
    from permscope.clouds.aws.remediation import generate as module

    real = module.documents

    def lossy(*args: Any, **kwargs: Any) -> Any:
        found = real(*args, **kwargs)
        first = found[0]
        body = dict(
            first.document, Statement=[s for s in first.document["Statement"] if s.get("Sid") != "Dynamodb1"]
        )
        return [dataclasses.replace(first, document=body), *found[1:]]

    monkeypatch.setattr(module, "documents", lossy)
    generated = generate(snapshot, ALICE, alice_usages())
    assert generated.rejected and generated.allowed < generated.observed
    assert {item.action for item in generated.rejected} <= {"dynamodb:GetItem", "dynamodb:Query"}


def test_requests_decided_with_the_resources_own_policy_are_checked_on_the_identity_side(
    snapshot: SystemSnapshot,
) -> None:
    """sts:AssumeRole and KMS key use need the role's trust / the key's policy too, even within the account: the
    check takes that policy as trusting the account, so the generated documents decide."""
    key = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    uses = [usage(ALICE, "sts:AssumeRole", ROLE_C), usage(ALICE, "kms:Decrypt", key)]
    generated = generate(snapshot, ALICE, uses)
    assert generated.allowed == generated.observed == 2 and generated.rejected == ()
    assert granting(generated, "sts:AssumeRole")[0]["Resource"] == ROLE_C
    assert granting(generated, "kms:Decrypt")[0]["Resource"] == key
    # without the resource's own policy, the identity policy alone does not allow it (what the check adds)
    mfa = {"aws:MultiFactorAuthPresent": "true"}  # her guard denies everything else without MFA
    assert aws_decision(generated.documents, ALICE, "sts:AssumeRole", ROLE_C, mfa) == "ImplicitlyDenied"
