"""A policy document the engine cannot read is a warning naming the policy and whom it leaves without
permissions (before, a role whose boundary could not be read silently dropped to 0 granted actions)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from permscope.clouds.base import plugin
from permscope.core.ids import Cloud

ACCOUNT = "111122223333"
GOOD = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
BAD_DOCUMENTS = {
    "statement-is-text": (
        {"Version": "2012-10-17", "Statement": "oops"},
        "Statement must be an object or a list",
    ),
    "effect-is-odd": (
        {"Version": "2012-10-17", "Statement": [{"Effect": "Permit", "Action": "s3:*", "Resource": "*"}]},
        "Effect",
    ),
    "condition-value-is-an-object": (
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "s3:*",
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:username": {"k": {"k": {}}}}},
                }
            ],
        },
        "values must be strings, numbers or booleans",
    ),
}


def managed(name: str, document: dict[str, Any]) -> dict[str, Any]:
    return {
        "PolicyName": name,
        "Arn": f"arn:aws:iam::{ACCOUNT}:policy/{name}",
        "DefaultVersionId": "v1",
        "PolicyVersionList": [{"VersionId": "v1", "IsDefaultVersion": True, "Document": document}],
    }


def role(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "RoleName": name,
        "Arn": f"arn:aws:iam::{ACCOUNT}:role/{name}",
        "AssumeRolePolicyDocument": TRUST,
        **extra,
    }


def warnings_of(tmp_path: Path, **lists: Any) -> list[str]:
    export = {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": [], "Policies": [], **lists}
    path = tmp_path / "export.json"
    path.write_text(json.dumps(export))
    [batch] = plugin(Cloud.AWS).read_files([path]).batches
    return batch.warnings


@pytest.mark.parametrize("name", BAD_DOCUMENTS)
def test_an_unreadable_boundary_names_the_policy_and_the_role(tmp_path: Path, name: str) -> None:
    document, problem = BAD_DOCUMENTS[name]
    boundary = {
        "PermissionsBoundaryArn": f"arn:aws:iam::{ACCOUNT}:policy/bnd",
        "PermissionsBoundaryType": "Policy",
    }
    attached = [{"PolicyName": "admin", "PolicyArn": f"arn:aws:iam::{ACCOUNT}:policy/admin"}]
    warnings = warnings_of(
        tmp_path,
        RoleDetailList=[role("app", PermissionsBoundary=boundary, AttachedManagedPolicies=attached)],
        Policies=[managed("bnd", document), managed("admin", GOOD)],
    )
    [warning] = warnings
    assert warning.startswith(f"policy arn:aws:iam::{ACCOUNT}:policy/bnd cannot be read (")
    assert problem in warning
    assert warning.endswith(
        f"it is the permissions boundary of arn:aws:iam::{ACCOUNT}:role/app, who is therefore granted nothing"
    )


def test_an_unreadable_inline_policy_and_trust_policy_name_their_identity(tmp_path: Path) -> None:
    bad, _problem = BAD_DOCUMENTS["effect-is-odd"]
    user = {
        "UserName": "alice",
        "Arn": f"arn:aws:iam::{ACCOUNT}:user/alice",
        "UserPolicyList": [{"PolicyName": "inl", "PolicyDocument": bad}],
    }
    warnings = warnings_of(
        tmp_path, UserDetailList=[user], RoleDetailList=[role("app", AssumeRolePolicyDocument=bad)]
    )
    assert len(warnings) == 2
    alice, app = f"arn:aws:iam::{ACCOUNT}:user/alice", f"arn:aws:iam::{ACCOUNT}:role/app"
    assert any(
        w.startswith(f"policy {alice}#inline/inl cannot be read")
        and w.endswith(f"{alice} is granted nothing by it")
        for w in warnings
    )
    assert any(
        w.startswith(f"policy {app}#trust cannot be read")
        and w.endswith(f"nobody can assume {app} through it")
        for w in warnings
    )


def test_an_unreadable_policy_attached_to_many_names_the_first_and_counts_the_rest(tmp_path: Path) -> None:
    bad, _problem = BAD_DOCUMENTS["statement-is-text"]
    attached = [{"PolicyName": "bad", "PolicyArn": f"arn:aws:iam::{ACCOUNT}:policy/bad"}]
    roles = [role(f"r{n}", AttachedManagedPolicies=attached) for n in range(5)]
    [warning] = warnings_of(tmp_path, RoleDetailList=roles, Policies=[managed("bad", bad)])
    first = ", ".join(f"arn:aws:iam::{ACCOUNT}:role/r{n}" for n in range(3))
    assert warning.endswith(f": {first} and 2 others are granted nothing by it")


def test_readable_documents_give_no_warning(tmp_path: Path) -> None:
    attached = [{"PolicyName": "ok", "PolicyArn": f"arn:aws:iam::{ACCOUNT}:policy/ok"}]
    assert (
        warnings_of(
            tmp_path,
            RoleDetailList=[role("app", AttachedManagedPolicies=attached)],
            Policies=[managed("ok", GOOD)],
        )
        == []
    )
