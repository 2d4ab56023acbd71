"""The AWS remediation connector against moto: each step kind's prior state, apply and exact restore (inline
documents byte for byte, key status, memberships, attachments), idempotence, the version-drift note, errors,
the account check, and dry-run."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

import boto3
import pytest
from botocore.handlers import json_decode_policies
from moto import mock_aws

from permscope.clouds.aws.remediation.connector import AwsRemediationConnector
from permscope.core.remediation import StepError, StepKind

ACCOUNT = "123456789012"  # moto's default account
USER = f"arn:aws:iam::{ACCOUNT}:user/alice"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/ops"
# odd spacing and key order: what was stored must come back exactly
DOCUMENT = (
    '{"Statement":[ {"Resource":"*","Action":["s3:GetObject"],"Effect":"Allow"}],\n "Version":"2012-10-17"}'
)
USER_PARAMS = {"principalKind": "user", "principalName": "alice"}
ROLE_PARAMS = {"principalKind": "role", "principalName": "ops"}
TRUST = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}'


@pytest.fixture
def iam(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("MOTO_ACCOUNT_ID", raising=False)
    with mock_aws():
        client = boto3.session.Session().client("iam", region_name="us-east-1")
        client.meta.events.unregister("after-call.iam", json_decode_policies)
        client.create_user(UserName="alice")
        client.create_role(RoleName="ops", AssumeRolePolicyDocument=TRUST)
        yield client


@pytest.fixture
def connector(iam: Any) -> AwsRemediationConnector:
    return AwsRemediationConnector(ACCOUNT)


def _run(
    connector: AwsRemediationConnector, kind: StepKind, principal: str, target: str, params: dict[str, Any]
) -> dict[str, Any]:
    prior = connector.capture(kind, principal, target, params)
    connector.apply(kind, principal, target, params, prior)
    connector.apply(kind, principal, target, params, prior)  # again: nothing changes, no error
    return prior


def test_inline_policies_come_back_byte_for_byte(iam: Any, connector: AwsRemediationConnector) -> None:
    for principal, params, who in (
        (USER, USER_PARAMS, {"UserName": "alice"}),
        (ROLE, ROLE_PARAMS, {"RoleName": "ops"}),
    ):
        kind = params["principalKind"]
        getattr(iam, f"put_{kind}_policy")(**who, PolicyName="legacy", PolicyDocument=DOCUMENT)
        prior = _run(
            connector, StepKind.DELETE_INLINE_POLICY, principal, "legacy", {**params, "policyName": "legacy"}
        )
        assert prior == {"exists": True, "document": DOCUMENT}
        assert getattr(iam, f"list_{kind}_policies")(**who)["PolicyNames"] == []
        for _ in range(2):  # restoring twice is the same as once
            connector.restore(StepKind.DELETE_INLINE_POLICY, principal, "legacy", params, prior)
        text = getattr(iam, f"get_{kind}_policy")(**who, PolicyName="legacy")["PolicyDocument"]
        assert unquote(text) == DOCUMENT


def test_managed_policies_are_reattached_and_version_drift_is_reported(
    iam: Any, connector: AwsRemediationConnector
) -> None:
    arn = iam.create_policy(PolicyName="reports", PolicyDocument=DOCUMENT)["Policy"]["Arn"]
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=DOCUMENT, SetAsDefault=True)
    iam.attach_role_policy(RoleName="ops", PolicyArn=arn)
    params = {**ROLE_PARAMS, "policyArn": arn}
    prior = _run(connector, StepKind.DETACH_MANAGED_POLICY, ROLE, arn, params)
    assert prior == {"attached": True, "defaultVersionId": "v2"}
    assert iam.list_attached_role_policies(RoleName="ops")["AttachedPolicies"] == []
    assert connector.restore(StepKind.DETACH_MANAGED_POLICY, ROLE, arn, params, prior) == []
    assert [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName="ops")["AttachedPolicies"]] == [
        arn
    ]
    # someone changes the default version while it is detached: restored, and said
    connector.apply(StepKind.DETACH_MANAGED_POLICY, ROLE, arn, params, prior)
    iam.set_default_policy_version(PolicyArn=arn, VersionId="v1")
    notes = connector.restore(StepKind.DETACH_MANAGED_POLICY, ROLE, arn, params, prior)
    assert len(notes) == 1 and "default version is v1 now, v2 when it was detached" in notes[0]
    # a policy that was not attached before is not attached by a restore
    connector.apply(StepKind.DETACH_MANAGED_POLICY, ROLE, arn, params, prior)
    connector.restore(StepKind.DETACH_MANAGED_POLICY, ROLE, arn, params, {"attached": False})
    assert iam.list_attached_role_policies(RoleName="ops")["AttachedPolicies"] == []


def test_group_membership_and_access_key(iam: Any, connector: AwsRemediationConnector) -> None:
    iam.create_group(GroupName="admins")
    iam.add_user_to_group(UserName="alice", GroupName="admins")
    params = {**USER_PARAMS, "groupName": "admins"}
    group = f"arn:aws:iam::{ACCOUNT}:group/admins"
    prior = _run(connector, StepKind.REMOVE_FROM_GROUP, USER, group, params)
    assert prior == {"member": True} and iam.list_groups_for_user(UserName="alice")["Groups"] == []
    connector.restore(StepKind.REMOVE_FROM_GROUP, USER, group, params, prior)
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName="alice")["Groups"]] == ["admins"]

    key = iam.create_access_key(UserName="alice")["AccessKey"]["AccessKeyId"]
    key_params = {**USER_PARAMS, "keyId": key}
    prior = _run(connector, StepKind.DEACTIVATE_ACCESS_KEY, USER, key, key_params)
    assert prior == {"exists": True, "status": "Active"}
    assert iam.list_access_keys(UserName="alice")["AccessKeyMetadata"][0]["Status"] == "Inactive"
    connector.restore(StepKind.DEACTIVATE_ACCESS_KEY, USER, key, key_params, prior)
    assert (
        iam.list_access_keys(UserName="alice")["AccessKeyMetadata"][0]["Status"] == "Active"
    )  # never deleted


def test_a_generated_policy_is_put_and_taken_back(iam: Any, connector: AwsRemediationConnector) -> None:
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}],
    }
    params = {**ROLE_PARAMS, "policyName": "permscope-lp", "document": document}
    prior = _run(connector, StepKind.PUT_GENERATED_POLICY, ROLE, "permscope-lp", params)
    assert prior == {"exists": False, "document": None}
    assert iam.list_role_policies(RoleName="ops")["PolicyNames"] == ["permscope-lp"]
    connector.restore(StepKind.PUT_GENERATED_POLICY, ROLE, "permscope-lp", params, prior)
    assert iam.list_role_policies(RoleName="ops")["PolicyNames"] == []
    # a policy of that name that existed before comes back as it was
    iam.put_role_policy(RoleName="ops", PolicyName="permscope-lp", PolicyDocument=DOCUMENT)
    prior = _run(connector, StepKind.PUT_GENERATED_POLICY, ROLE, "permscope-lp", params)
    connector.restore(StepKind.PUT_GENERATED_POLICY, ROLE, "permscope-lp", params, prior)
    assert (
        unquote(iam.get_role_policy(RoleName="ops", PolicyName="permscope-lp")["PolicyDocument"]) == DOCUMENT
    )


def test_errors_manual_steps_and_the_account_check(iam: Any, connector: AwsRemediationConnector) -> None:
    iam.put_user_policy(UserName="alice", PolicyName="legacy", PolicyDocument=DOCUMENT)
    prior = connector.capture(StepKind.DELETE_INLINE_POLICY, USER, "legacy", USER_PARAMS)
    iam.delete_user_policy(UserName="alice", PolicyName="legacy")
    iam.delete_user(UserName="alice")
    with pytest.raises(StepError, match="NoSuchEntity") as caught:
        connector.restore(StepKind.DELETE_INLINE_POLICY, USER, "legacy", USER_PARAMS, prior)
    assert caught.value.permanent
    with pytest.raises(StepError, match="manual"):
        connector.apply(StepKind.DELETE_IDENTITY, ROLE, ROLE, ROLE_PARAMS, {})
    other = AwsRemediationConnector("210987654321")
    with pytest.raises(StepError, match="belong to account 123456789012"):
        other.capture(StepKind.DELETE_INLINE_POLICY, ROLE, "x", ROLE_PARAMS)


def test_dry_run_prints_the_calls_and_makes_none(iam: Any) -> None:
    lines: list[str] = []
    dry = AwsRemediationConnector(ACCOUNT, dry_run=True, echo=lines.append)
    iam.put_user_policy(UserName="alice", PolicyName="it's", PolicyDocument=DOCUMENT)
    assert dry.capture(StepKind.DELETE_INLINE_POLICY, USER, "it's", USER_PARAMS) == {}
    dry.apply(StepKind.DELETE_INLINE_POLICY, USER, "it's", USER_PARAMS, {})
    dry.restore(
        StepKind.DELETE_INLINE_POLICY, USER, "it's", USER_PARAMS, {"exists": True, "document": DOCUMENT}
    )
    assert lines[0] == "aws iam delete-user-policy --user-name alice --policy-name 'it'\"'\"'s'"
    assert lines[1].startswith(
        "aws iam put-user-policy --user-name alice --policy-name 'it'\"'\"'s' --policy-document '"
    )
    assert iam.list_user_policies(UserName="alice")["PolicyNames"] == ["it's"]
