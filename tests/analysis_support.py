"""Shared by the analysis tests (workflow, CLI, API): a small IAM export with super identities."""

from __future__ import annotations

from typing import Any

ACCOUNT = "111122223333"
BOB = f"arn:aws:iam::{ACCOUNT}:user/bob"
CAROL = f"arn:aws:iam::{ACCOUNT}:user/carol"
APP = f"arn:aws:iam::{ACCOUNT}:role/app"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                                 "Action": "sts:AssumeRole"}]}  # fmt: skip


def _doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def export(bob_admin: bool = True) -> dict[str, Any]:
    """bob (admin or read-only), carol (read-only), role app (everything)."""
    bob_policy = ADMIN if bob_admin else "arn:aws:iam::aws:policy/ReadOnly"
    return {
        "UserDetailList": [
            {"UserName": "bob", "UserId": "AIDA2", "Arn": BOB, "Path": "/", "GroupList": [],
             "AttachedManagedPolicies": [{"PolicyName": bob_policy.rsplit("/", 1)[1], "PolicyArn": bob_policy}]},
            {"UserName": "carol", "UserId": "AIDA3", "Arn": CAROL, "Path": "/", "GroupList": [],
             "UserPolicyList": [{"PolicyName": "read", "PolicyDocument": _doc(
                 {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})}]},
        ],
        "GroupDetailList": [],
        "RoleDetailList": [
            {"RoleName": "app", "RoleId": "AROA1", "Arn": APP, "Path": "/", "AssumeRolePolicyDocument": TRUST,
             "RolePolicyList": [{"PolicyName": "all", "PolicyDocument": _doc(
                 {"Effect": "Allow", "Action": "*", "Resource": "*"})}],
             "AttachedManagedPolicies": [], "InstanceProfileList": []},
        ],
        "Policies": [
            {"PolicyName": name, "PolicyId": "ANPA" + name.upper(), "Arn": arn, "Path": "/",
             "DefaultVersionId": "v1", "AttachmentCount": 1, "IsAttachable": True,
             "PolicyVersionList": [{"Document": document, "VersionId": "v1", "IsDefaultVersion": True}]}
            for name, arn, document in (
                ("AdministratorAccess", ADMIN, _doc({"Effect": "Allow", "Action": "*", "Resource": "*"})),
                ("ReadOnly", "arn:aws:iam::aws:policy/ReadOnly",
                 _doc({"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"})),
            )
        ],
    }  # fmt: skip
