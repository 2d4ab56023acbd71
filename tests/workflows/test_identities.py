"""Assumable roles of a user, each decided by the AWS engine: the trust policy and the user's own policies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from catalog_support import store_catalog
from permscope.core.errors import NotFoundError
from permscope.core.inventory import Action
from permscope.workflows.collection import import_aws_files
from permscope.workflows.identities import acts_as, assumable_roles

A = "111122223333"
OTHER = "999988887777"
ALICE = f"arn:aws:iam::{A}:user/alice"


@pytest.fixture(autouse=True)
def tiny_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    action = Action(
        external_id="sts:AssumeRole",
        service="sts",
        name="AssumeRole",
        access_level="write",
        severity="high",
        action_type=None,
    )
    store_catalog(monkeypatch, "t", [action])


def role(name: str, *statements: dict[str, Any]) -> dict[str, Any]:
    return {
        "RoleName": name,
        "Arn": f"arn:aws:iam::{A}:role/{name}",
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": list(statements)},
    }


def allow(principal: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}


ASSUME_ANY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}],
}
NO_ASSUME = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
}


def user(name: str, *documents: dict[str, Any], boundary: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {
        "UserName": name,
        "Arn": f"arn:aws:iam::{A}:user/{name}",
        "UserPolicyList": [
            {"PolicyName": f"{name}-{n}", "PolicyDocument": document} for n, document in enumerate(documents)
        ],
    }
    if boundary:
        found["PermissionsBoundary"] = {"PermissionsBoundaryArn": boundary}
    return found


def test_assumable_roles_are_decided_by_the_engine(engine: Engine, tmp_path: Path) -> None:
    boundary = f"arn:aws:iam::{A}:policy/no-assume"
    carol = f"arn:aws:iam::{A}:user/carol"
    raw = {
        "UserDetailList": [
            user("alice"),  # no identity policy
            user("bob", ASSUME_ANY),
            user("carol", ASSUME_ANY, boundary=boundary),
        ],
        "RoleDetailList": [
            role("by-arn", allow({"AWS": ALICE})),
            role("by-root", allow({"AWS": f"arn:aws:iam::{A}:root"})),
            role("by-account-id", allow({"AWS": A})),
            role("anyone", allow("*")),
            role("other-account", allow({"AWS": f"arn:aws:iam::{OTHER}:root"})),
            role("service", allow({"Service": "ec2.amazonaws.com"})),
            role("bob-only", allow({"AWS": f"arn:aws:iam::{A}:user/bob"})),
            role(
                "denied",
                allow({"AWS": "*"}),
                {"Effect": "Deny", "Principal": {"AWS": ALICE}, "Action": "sts:*"},
            ),
            role(
                "with-mfa",
                {
                    **allow({"AWS": f"arn:aws:iam::{A}:root"}),
                    "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
                },
            ),
            role(
                "only-alice-by-condition",
                {
                    **allow({"AWS": f"arn:aws:iam::{A}:root"}),
                    "Condition": {"StringEquals": {"aws:username": "alice"}},
                },
            ),
        ],
        "Policies": [
            {
                "PolicyName": "no-assume",
                "Arn": boundary,
                "DefaultVersionId": "v1",
                "PolicyVersionList": [{"Document": NO_ASSUME, "VersionId": "v1", "IsDefaultVersion": True}],
            }
        ],
    }
    path = tmp_path / "export.json"
    path.write_text(json.dumps(raw))
    import_aws_files(engine, [path])

    def names(found: list[str]) -> list[str]:
        return [arn.rsplit("/", 1)[1] for arn in found]

    # alice holds no identity policy: only trusts that name her (or everyone) let her in; a trust naming the
    # account (its root or id) also needs her own policies to allow sts:AssumeRole
    assert names(assumable_roles(engine, A, ALICE)) == ["anyone", "by-arn"]
    # bob's policy allows sts:AssumeRole: the account-wide trusts admit him; an MFA condition cannot be decided
    # from the inventory, so the role is listed; a condition on who he is is decided (not alice)
    assert names(assumable_roles(engine, A, f"arn:aws:iam::{A}:user/bob")) == [
        "anyone",
        "bob-only",
        "by-account-id",
        "by-root",
        "denied",
        "with-mfa",
    ]
    # carol's boundary does not allow sts:AssumeRole: only a trust naming her could (none does but `*`)
    assert names(assumable_roles(engine, A, carol)) == ["anyone", "denied"]
    with pytest.raises(NotFoundError):
        assumable_roles(engine, OTHER, ALICE)
    with pytest.raises(NotFoundError):
        assumable_roles(engine, A, f"arn:aws:iam::{A}:user/nobody")
    with pytest.raises(NotFoundError):
        assumable_roles(engine, A, f"arn:aws:iam::{A}:role/by-arn")  # a role is not a user


def test_any_identity_may_be_asked_what_it_acts_as(engine: Engine, tmp_path: Path) -> None:
    raw = {
        "UserDetailList": [user("bob", ASSUME_ANY)],
        "RoleDetailList": [
            role("chained", allow({"AWS": f"arn:aws:iam::{A}:root"})),
            role("anyone", allow("*")),
            role("bob-only", allow({"AWS": f"arn:aws:iam::{A}:user/bob"})),
        ],
    }
    path = tmp_path / "export.json"
    path.write_text(json.dumps(raw))
    import_aws_files(engine, [path])
    bob = f"arn:aws:iam::{A}:user/bob"
    assert acts_as(engine, A, bob) == assumable_roles(engine, A, bob)
    # a role holds no identity policy here: only a trust naming it (or everyone) admits it, not itself
    assert acts_as(engine, A, f"arn:aws:iam::{A}:role/chained") == [f"arn:aws:iam::{A}:role/anyone"]
    assert acts_as(engine, A, f"arn:aws:iam::{A}:role/anyone") == []
    with pytest.raises(NotFoundError, match="no identity"):
        acts_as(engine, A, f"arn:aws:iam::{A}:role/nobody")
