"""Callers read from ARNs, and how Principal elements name them.

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html
"""

from __future__ import annotations

import pytest

from permscope.clouds.aws.engine.policy import Principals
from permscope.clouds.aws.engine.principals import (
    Caller,
    CallerError,
    CallerKind,
    Grant,
    parse_caller,
    principal_grant,
)

ACCOUNT = "111111111111"


@pytest.mark.parametrize(
    ("principal", "kind", "account", "role_name", "service_linked"),
    [
        (None, CallerKind.ANONYMOUS, None, None, False),
        (f"arn:aws:iam::{ACCOUNT}:user/alice", CallerKind.USER, ACCOUNT, None, False),
        (f"arn:aws:iam::{ACCOUNT}:user/team/alice", CallerKind.USER, ACCOUNT, None, False),
        (f"arn:aws:iam::{ACCOUNT}:role/app/deployer", CallerKind.ROLE, ACCOUNT, "deployer", False),
        (f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/x.amazonaws.com/AWSServiceRoleForX", CallerKind.ROLE,
         ACCOUNT, "AWSServiceRoleForX", True),
        (f"arn:aws:sts::{ACCOUNT}:assumed-role/deployer/build-1", CallerKind.ROLE_SESSION, ACCOUNT, "deployer",
         False),
        (f"arn:aws:sts::{ACCOUNT}:federated-user/bob", CallerKind.FEDERATED_USER, ACCOUNT, None, False),
        (f"arn:aws:iam::{ACCOUNT}:root", CallerKind.ROOT, ACCOUNT, None, False),
        ("ec2.amazonaws.com", CallerKind.SERVICE, None, None, False),
        (f"arn:aws-cn:iam::{ACCOUNT}:user/li", CallerKind.USER, ACCOUNT, None, False),
    ],
)  # fmt: skip
def test_parse_caller(
    principal: str | None, kind: CallerKind, account: str | None, role_name: str | None, service_linked: bool
) -> None:
    caller = parse_caller(principal)
    assert (caller.kind, caller.account, caller.role_name, caller.service_linked) == (
        kind,
        account,
        role_name,
        service_linked,
    )


@pytest.mark.parametrize(
    "principal",
    [
        ACCOUNT,
        f"arn:aws:iam::{ACCOUNT}:group/admins",
        f"arn:aws:iam::{ACCOUNT}:policy/p",
        "arn:aws:iam::12345:user/short-account",
        f"arn:aws:sts::{ACCOUNT}:assumed-role/no-session",
        "alice",
    ],
)
def test_parse_caller_refuses_what_cannot_make_requests(principal: str) -> None:
    with pytest.raises(CallerError) as raised:
        parse_caller(principal)
    assert raised.value.source == "principal" and principal in raised.value.problem


SESSION = parse_caller(f"arn:aws:sts::{ACCOUNT}:assumed-role/deployer/build-1")
USER = parse_caller(f"arn:aws:iam::{ACCOUNT}:user/alice")
ROLE = parse_caller(f"arn:aws:iam::{ACCOUNT}:role/app/deployer")
ANONYMOUS = parse_caller(None)
SERVICE = parse_caller("ec2.amazonaws.com")


@pytest.mark.parametrize(
    ("element", "caller", "grant"),
    [
        (Principals(wildcard=True), ANONYMOUS, Grant.DIRECT),
        (Principals(wildcard=False, aws=("*",)), ANONYMOUS, Grant.DIRECT),
        (Principals(wildcard=False, aws=(f"arn:aws:iam::{ACCOUNT}:user/alice",)), USER, Grant.DIRECT),
        (Principals(wildcard=False, aws=(f"arn:aws:iam::{ACCOUNT}:user/bob",)), USER, Grant.NONE),
        (Principals(wildcard=False, aws=(ACCOUNT,)), USER, Grant.ACCOUNT),
        (Principals(wildcard=False, aws=(f"arn:aws:iam::{ACCOUNT}:root",)), SESSION, Grant.ACCOUNT),
        (Principals(wildcard=False, aws=("222222222222",)), USER, Grant.NONE),
        (Principals(wildcard=False, aws=(f"arn:aws-cn:iam::{ACCOUNT}:root",)), USER, Grant.NONE),
        # A role ARN names the role's sessions (whatever the role's path), but as a grant to the role.
        (Principals(wildcard=False, aws=(f"arn:aws:iam::{ACCOUNT}:role/app/deployer",)), SESSION, Grant.ROLE),
        (Principals(wildcard=False, aws=(f"arn:aws:iam::{ACCOUNT}:role/deployer",)), SESSION, Grant.ROLE),
        (Principals(wildcard=False, aws=(f"arn:aws:iam::{ACCOUNT}:role/app/deployer",)), ROLE, Grant.ROLE),
        (Principals(wildcard=False, aws=("arn:aws:iam::222222222222:role/deployer",)), SESSION, Grant.NONE),
        (Principals(wildcard=False, aws=(f"arn:aws-cn:iam::{ACCOUNT}:role/deployer",)), SESSION, Grant.NONE),
        (Principals(wildcard=False, aws=(f"arn:aws:sts::{ACCOUNT}:assumed-role/deployer/build-1",)), SESSION,
         Grant.DIRECT),
        (Principals(wildcard=False, aws=(f"arn:aws:sts::{ACCOUNT}:assumed-role/deployer/build-2",)), SESSION,
         Grant.NONE),
        # The strongest form wins.
        (Principals(wildcard=False, aws=(ACCOUNT, f"arn:aws:iam::{ACCOUNT}:user/alice")), USER, Grant.DIRECT),
        (Principals(wildcard=False, aws=(ACCOUNT,)), ANONYMOUS, Grant.NONE),
        (Principals(wildcard=False, service=("ec2.amazonaws.com",)), SERVICE, Grant.DIRECT),
        (Principals(wildcard=False, service=("ec2.amazonaws.com",)), USER, Grant.NONE),
        (Principals(wildcard=False, aws=(ACCOUNT,)), SERVICE, Grant.NONE),
    ],
)  # fmt: skip
def test_principal_grant(element: Principals, caller: Caller, grant: Grant) -> None:
    assert principal_grant(element, caller) is grant


@pytest.mark.parametrize(
    ("principal", "reason"),
    [
        # unicode digits and a trailing newline are no account id (`^\d{12}$` took both)
        ("arn:aws:iam::١٢٣٤٥٦٧٨٩٠١٢:user/alice", "12-digit"),
        (f"arn:aws:iam::{ACCOUNT}\n:user/alice", "12-digit"),
        (f"arn:AWS:iam::{ACCOUNT}:user/alice", "partition"),
        # a session name has no slash; a user or role ARN has a name after its path
        (f"arn:aws:sts::{ACCOUNT}:assumed-role/deployer/build-1/x", "not a principal that makes requests"),
        (f"arn:aws:iam::{ACCOUNT}:user/team/", "not a principal that makes requests"),
        (f"arn:aws:iam::{ACCOUNT}:role/app/", "not a principal that makes requests"),
    ],
)
def test_parse_caller_follows_the_documented_arn_format(principal: str, reason: str) -> None:
    with pytest.raises(CallerError) as raised:
        parse_caller(principal)
    assert reason in raised.value.problem


def test_a_root_arn_of_another_service_names_no_account() -> None:
    only_iam = Principals(wildcard=False, aws=(f"arn:aws:sts::{ACCOUNT}:root",))
    assert principal_grant(only_iam, USER) is Grant.NONE
