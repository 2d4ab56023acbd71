"""A small hostile export for the scan and report tests: an admin user whose name is an HTML payload."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ACCOUNT = "111122223333"
HOSTILE = '<script>alert("x")</script>'
HOSTILE_USER = f"eve{HOSTILE}"
ADMIN = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
READ = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
}
PASS_TO_LAMBDA = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*", "Action": [
    "iam:PassRole", "lambda:CreateFunction", "lambda:InvokeFunction"]}]}  # fmt: skip


def hostile_export() -> dict[str, Any]:
    """An admin user with a hostile name and inline policy name, a reader, a developer who can pass the admin
    role (which Lambda may assume) to a new function, and that admin role."""
    return {
        "UserDetailList": [
            {"UserName": HOSTILE_USER, "Arn": f"arn:aws:iam::{ACCOUNT}:user/{HOSTILE_USER}", "Path": "/",
             "CreateDate": "2020-01-01T00:00:00Z", "GroupList": [], "AttachedManagedPolicies": [],
             "UserPolicyList": [{"PolicyName": f"admin{HOSTILE}", "PolicyDocument": ADMIN}]},
            {"UserName": "reader", "Arn": f"arn:aws:iam::{ACCOUNT}:user/reader", "Path": "/",
             "CreateDate": "2020-01-01T00:00:00Z", "GroupList": [], "AttachedManagedPolicies": [],
             "UserPolicyList": [{"PolicyName": "read", "PolicyDocument": READ}]},
            {"UserName": "dev", "Arn": f"arn:aws:iam::{ACCOUNT}:user/dev", "Path": "/",
             "CreateDate": "2020-01-01T00:00:00Z", "GroupList": [], "AttachedManagedPolicies": [],
             "UserPolicyList": [{"PolicyName": "deploy", "PolicyDocument": PASS_TO_LAMBDA}]},
        ],
        "GroupDetailList": [],
        "RoleDetailList": [
            {"RoleName": "deployer", "Arn": f"arn:aws:iam::{ACCOUNT}:role/deployer", "Path": "/",
             "CreateDate": "2020-01-01T00:00:00Z",
             "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
                 {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
             "RolePolicyList": [{"PolicyName": "all", "PolicyDocument": ADMIN}], "AttachedManagedPolicies": [],
             "InstanceProfileList": []},
        ],
        "Policies": [],
    }  # fmt: skip


def write_export(folder: Path, export: dict[str, Any] | None = None, name: str = "export.json") -> Path:
    """Write an export (the hostile one by default) and return its path."""
    path = folder / name
    path.write_text(json.dumps(export if export is not None else hostile_export()))
    return path
