"""The AWS grant connector against moto: named and tagged grants, idempotent add and remove, users and roles,
the expiry condition, the account check, error classes, finding our own grants, and dry-run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from permscope.clouds.aws.grant.connector import (
    ROLE_INLINE_LIMIT,
    AwsGrantConnector,
    grant_items,
    inline_limit,
    inline_policy_document,
    inline_policy_name,
    parse_principal,
    policy_size,
    tag_key,
)
from permscope.core.grants import GrantError, GrantItem, GrantKind, GrantRequest
from permscope.core.requests import AwsPolicyGrant, AwsStatement, AwsStatementsGrant, NamedGrant
from request_support import ACCOUNT, POLICY, ROLE, USER, mocked_aws


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto, with the test account."""
    yield from mocked_aws(monkeypatch)


END = datetime(2025, 3, 1, 10, 0, tzinfo=UTC)
READ = AwsStatement(
    statement_id="read reports",
    effect="allow",
    actions=("s3:GetObject",),
    resources=("arn:aws:s3:::reports/*",),
)


def _request(
    principal: str = ROLE, action: Any = None, request_id: str = "11111111-2222-3333-4444-555555555555"
) -> GrantRequest:
    return GrantRequest(
        request_id=request_id,
        system_id=ACCOUNT,
        principal=principal,
        action=action or AwsStatementsGrant(statements=(READ,)),
        ends_at=END,
    )


def _inline_names(iam: Any, principal: str) -> list[str]:
    kind, name, _ = parse_principal(principal)
    if kind == "role":
        return list(iam.list_role_policies(RoleName=name)["PolicyNames"])
    return list(iam.list_user_policies(UserName=name)["PolicyNames"])


def _tags(iam: Any, principal: str) -> dict[str, str]:
    kind, name, _ = parse_principal(principal)
    tags = (
        iam.list_role_tags(RoleName=name)["Tags"]
        if kind == "role"
        else iam.list_user_tags(UserName=name)["Tags"]
    )
    return {tag["Key"]: tag["Value"] for tag in tags}


def test_statement_grants_become_one_named_inline_policy_with_an_expiry_condition() -> None:
    items = grant_items(_request())
    assert [item.kind for item in items] == [GrantKind.TAG, GrantKind.INLINE_POLICY]
    tag, policy = items
    assert tag.target == tag_key(_request().request_id) and tag.value == "until 2025-03-01T10:00:00Z"
    assert policy.target == "permscope-jit-11111111-2222-3333-4444-555555555555"
    assert policy.document == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "readreports",
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": ["arn:aws:s3:::reports/*"],
                "Condition": {"DateLessThan": {"aws:CurrentTime": "2025-03-01T10:00:00Z"}},
            }
        ],
    }


def test_expiry_merges_with_conditions_and_keeps_an_earlier_end() -> None:
    earlier = AwsStatement(
        statement_id="",
        effect="deny",
        not_actions=("iam:*",),
        not_resources=("arn:aws:iam::*:role/x",),
        condition={
            "DateLessThan": {"aws:CurrentTime": "2025-03-01T09:30:00Z"},
            "Bool": {"aws:SecureTransport": "true"},
        },
    )
    document = inline_policy_document((earlier, earlier), END)
    first, second = document["Statement"]
    assert (first["Sid"], second["Sid"]) == ("Stmt1", "Stmt2")  # unique Sids
    assert first["Effect"] == "Deny" and first["NotAction"] == ["iam:*"] and "Action" not in first
    assert first["Condition"] == {
        "DateLessThan": {"aws:CurrentTime": "2025-03-01T09:30:00Z"},
        "Bool": {"aws:SecureTransport": "true"},
    }


def test_policy_grants_attach_each_policy_once() -> None:
    items = grant_items(
        _request(action=AwsPolicyGrant(policies=(POLICY, POLICY, "arn:aws:iam::aws:policy/ReadOnlyAccess")))
    )
    assert [(i.kind, i.target) for i in items[1:]] == [
        (GrantKind.MANAGED_POLICY, POLICY),
        (GrantKind.MANAGED_POLICY, "arn:aws:iam::aws:policy/ReadOnlyAccess"),
    ]
    assert all(item.shareable for item in items[1:]) and not items[0].shareable
    with pytest.raises(GrantError, match="cannot grant") as info:
        grant_items(_request(action=NamedGrant(kind="roles", values=("x",))))
    assert info.value.permanent


def test_sizes_and_limits() -> None:
    assert inline_limit(ROLE) == ROLE_INLINE_LIMIT and inline_limit(USER) == 2048
    document = inline_policy_document((READ,), END)
    assert policy_size(document) == len(json.dumps(document, separators=(",", ":")))
    with pytest.raises(ValueError, match="not the ARN"):
        parse_principal("arn:aws:iam::123456789012:group/admins")


def test_principals_follow_the_documented_arn_format() -> None:
    assert parse_principal("arn:aws-cn:iam::123456789012:role/team/app") == ("role", "app", "123456789012")
    assert parse_principal(" arn:aws:iam::123456789012:user/alice ") == ("user", "alice", "123456789012")
    for wrong in (
        "arn:aws:iam::123456789012:role/team/",  # a path and no name
        "arn:aws:iam::١٢٣٤٥٦٧٨٩٠١٢:user/alice",  # no ASCII account id
        "arn:aws:iam::123456789012\n:user/alice",
        "arn:aws:sts::123456789012:assumed-role/app/session",
    ):
        with pytest.raises(ValueError, match="not the ARN"):
            parse_principal(wrong)


@pytest.mark.parametrize("principal", [ROLE, USER])
def test_add_and_remove_are_idempotent_and_remove_exactly_what_was_added(aws: Any, principal: str) -> None:
    connector = AwsGrantConnector(ACCOUNT)
    kind, name, _ = parse_principal(principal)
    standing = json.dumps(inline_policy_document((READ,), None))
    if kind == "role":
        aws.put_role_policy(RoleName=name, PolicyName="standing", PolicyDocument=standing)
    else:
        aws.put_user_policy(UserName=name, PolicyName="standing", PolicyDocument=standing)
    items = grant_items(_request(principal))
    for _ in range(2):  # a repeat after a crash does no harm
        for item in items:
            connector.add(item)
    assert sorted(_inline_names(aws, principal)) == [inline_policy_name(_request().request_id), "standing"]
    assert _tags(aws, principal) == {tag_key(_request().request_id): "until 2025-03-01T10:00:00Z"}
    assert {i.target for i in connector.find_own(principal)} == {items[0].target, items[1].target}
    for _ in range(2):
        for item in reversed(items):
            connector.remove(item)
    assert _inline_names(aws, principal) == ["standing"]
    assert _tags(aws, principal) == {}
    assert connector.find_own(principal) == []


def test_managed_policies_attach_detach_and_report_presence(aws: Any) -> None:
    connector = AwsGrantConnector(ACCOUNT)
    item = GrantItem(kind=GrantKind.MANAGED_POLICY, principal=ROLE, target=POLICY)
    assert not connector.is_present(item)
    connector.add(item)
    connector.add(item)
    assert connector.is_present(item)
    attached = aws.list_attached_role_policies(RoleName="ops")["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [POLICY]
    connector.remove(item)
    connector.remove(item)  # already detached: still fine
    assert not connector.is_present(item)


def test_missing_things_are_permanent_errors_on_add_and_nothing_on_remove(aws: Any) -> None:
    connector = AwsGrantConnector(ACCOUNT)
    missing_policy = GrantItem(
        kind=GrantKind.MANAGED_POLICY, principal=ROLE, target=f"arn:aws:iam::{ACCOUNT}:policy/nope"
    )
    with pytest.raises(GrantError) as info:
        connector.add(missing_policy)
    assert info.value.permanent and "NoSuchEntity" in str(info.value) and info.value.item == missing_policy
    gone_role = f"arn:aws:iam::{ACCOUNT}:role/deleted"
    for item in grant_items(_request(gone_role)):
        connector.remove(item)  # the role is gone: nothing of ours is left


def test_credentials_of_another_account_are_refused_before_any_change(aws: Any) -> None:
    connector = AwsGrantConnector("999999999999")
    item = grant_items(_request("arn:aws:iam::999999999999:role/ops"))[1]
    with pytest.raises(GrantError, match="belong to account 123456789012, not 999999999999") as info:
        connector.add(item)
    assert info.value.permanent
    assert _inline_names(aws, ROLE) == []


def test_a_grant_role_is_assumed_per_account(aws: Any) -> None:
    aws.create_role(
        RoleName="permscope-grant",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )
    connector = AwsGrantConnector(ACCOUNT, role_arn="arn:aws:iam::{account_id}:role/permscope-grant")
    for item in grant_items(_request()):
        connector.add(item)
    assert _inline_names(aws, ROLE) == [inline_policy_name(_request().request_id)]


def test_network_failures_are_transient() -> None:
    def broken_session() -> Any:
        return boto3.session.Session(
            aws_access_key_id="x", aws_secret_access_key="y", region_name="us-east-1"
        )

    connector = AwsGrantConnector(ACCOUNT, session_factory=broken_session, endpoint_url="http://127.0.0.1:9")
    with pytest.raises(GrantError) as info:
        connector.add(grant_items(_request())[1])
    assert not info.value.permanent and "credentials" in str(info.value)


def test_dry_run_prints_the_calls_and_makes_none(aws: Any) -> None:
    lines: list[str] = []
    connector = AwsGrantConnector(ACCOUNT, dry_run=True, echo=lines.append)
    items = [
        *grant_items(_request()),
        GrantItem(kind=GrantKind.MANAGED_POLICY, principal=USER, target=POLICY),
    ]
    assert not connector.is_present(items[-1])
    for item in items:
        connector.add(item)
    for item in reversed(items):
        connector.remove(item)
    assert _inline_names(aws, ROLE) == [] and _tags(aws, ROLE) == {}
    assert lines[0].startswith("aws iam list-attached-user-policies --user-name alice")
    assert lines[1].startswith("aws iam tag-role --role-name ops --tags 'Key=permscope:jit:")
    assert lines[2].startswith("aws iam put-role-policy --role-name ops --policy-name permscope-jit-")
    assert '"aws:CurrentTime":"2025-03-01T10:00:00Z"' in lines[2]
    assert lines[3] == f"aws iam attach-user-policy --user-name alice --policy-arn {POLICY}"
    assert lines[4] == f"aws iam detach-user-policy --user-name alice --policy-arn {POLICY}"
    assert lines[5].startswith("aws iam delete-role-policy --role-name ops --policy-name permscope-jit-")
    assert lines[6].startswith("aws iam untag-role --role-name ops --tag-keys permscope:jit:")


def test_the_connector_talks_to_an_endpoint_such_as_a_moto_server(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.server import ThreadedMotoServer

    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        url = f"http://{host}:{port}"
        iam = boto3.client("iam", endpoint_url=url, region_name="us-east-1")
        iam.create_role(
            RoleName="ops", AssumeRolePolicyDocument=json.dumps(inline_policy_document((READ,), None))
        )
        connector = AwsGrantConnector(ACCOUNT, endpoint_url=url)
        for item in grant_items(_request()):
            connector.add(item)
        assert _inline_names(iam, ROLE) == [inline_policy_name(_request().request_id)]
        for item in grant_items(_request()):
            connector.remove(item)
        assert _inline_names(iam, ROLE) == []
    finally:
        server.stop()
