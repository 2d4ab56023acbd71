"""Shared by the who-can tests (cloud, workflow, CLI, API): one account where reading a bucket is allowed by a
group, by an identity policy with a Deny carved out, by the bucket's policy alone, only with MFA, and not at all
through a boundary; and a role its trust policy lets one user assume."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from permscope.clouds.base import plugin
from permscope.core.ids import Cloud
from permscope.core.inventory import InventoryBatch, Resource
from permscope.store.ingest import ingest
from permscope.workflows.effective import compute_effective

ACCOUNT = "111122223333"
BUCKET = "arn:aws:s3:::reports"
OBJECT = f"{BUCKET}/2024/q1.csv"
SECRET = f"{BUCKET}/secret/payroll.csv"


def arn(kind: str, name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:{kind}/{name}"


ALICE, BOB, CAROL, DAVE = (arn("user", name) for name in ("alice", "bob", "carol", "dave"))
BOUNDED, MFA, DEPLOYER = (arn("role", name) for name in ("bounded", "mfa-reader", "deployer"))
BOUNDARY = arn("policy", "ec2-only")


def _doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _user(name: str, *, groups: tuple[str, ...] = (), inline: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"UserName": name, "UserId": f"AIDA{name.upper()}", "Arn": arn("user", name), "Path": "/",
            "GroupList": list(groups), "AttachedManagedPolicies": [],
            "UserPolicyList": [{"PolicyName": f"{name}-inline", "PolicyDocument": inline}] if inline else []}  # fmt: skip


def _role(name: str, trust: dict[str, Any], inline: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"RoleName": name, "RoleId": f"AROA{name.upper()}", "Arn": arn("role", name), "Path": "/",
            "AssumeRolePolicyDocument": trust, "AttachedManagedPolicies": [], "InstanceProfileList": [],
            "RolePolicyList": [{"PolicyName": f"{name}-inline", "PolicyDocument": inline}], **extra}  # fmt: skip


EC2_TRUST = _doc(
    {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
)


def access_export() -> dict[str, Any]:
    """alice reads through her group; bob holds s3:* but a Deny keeps him out of secret/; carol has no
    policy (the bucket policy names her); dave has nothing; role bounded holds * within an ec2-only
    boundary; role mfa-reader reads only with MFA; role deployer trusts alice."""
    read = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{BUCKET}/*"}
    return {
        "UserDetailList": [
            _user("alice", groups=("readers",)),
            _user("bob", inline=_doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
                                     {"Effect": "Deny", "Action": "s3:GetObject", "Resource": f"{BUCKET}/secret/*"})),
            _user("carol"),
            _user("dave"),
        ],
        "GroupDetailList": [
            {"GroupName": "readers", "GroupId": "AGPAREADERS", "Arn": arn("group", "readers"), "Path": "/",
             "AttachedManagedPolicies": [], "GroupPolicyList": [{"PolicyName": "read", "PolicyDocument": _doc(read)}]},
        ],
        "RoleDetailList": [
            _role("bounded", EC2_TRUST, _doc({"Effect": "Allow", "Action": "*", "Resource": "*"}),
                  PermissionsBoundary={"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": BOUNDARY}),
            _role("mfa-reader", EC2_TRUST, _doc({**read, "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}})),
            _role("deployer", _doc({"Effect": "Allow", "Principal": {"AWS": ALICE}, "Action": "sts:AssumeRole"}),
                  _doc({"Effect": "Allow", "Action": "ec2:*", "Resource": "*"})),
        ],
        "Policies": [
            {"PolicyName": "ec2-only", "PolicyId": "ANPAEC2ONLY", "Arn": BOUNDARY, "Path": "/",
             "DefaultVersionId": "v1", "AttachmentCount": 1, "IsAttachable": True,
             "PolicyVersionList": [{"VersionId": "v1", "IsDefaultVersion": True,
                                    "Document": _doc({"Effect": "Allow", "Action": "ec2:*", "Resource": "*"})}]},
        ],
    }  # fmt: skip


def _managed(name: str, document: dict[str, Any]) -> dict[str, Any]:
    return {"PolicyName": name, "PolicyId": f"ANPA{name.upper()}", "Arn": arn("policy", name), "Path": "/",
            "DefaultVersionId": "v1", "AttachmentCount": 1, "IsAttachable": True,
            "PolicyVersionList": [{"VersionId": "v1", "IsDefaultVersion": True, "Document": document}]}  # fmt: skip


TWIN_BOUNDED = (arn("role", "north-ops"), arn("role", "south-ops"))
TWIN_USERS = (arn("user", "north-reader"), arn("user", "south-reader"))


def twins_export() -> dict[str, Any]:
    """Policies of equal text under different names: roles north-ops and south-ops each bounded by their own
    boundary (EC2 allowed, IAM denied), users north-reader and south-reader each reading S3 through their own
    managed policy, and both roles trusting both users with the same trust policy."""
    boundary = _doc(
        {"Effect": "Allow", "Action": "ec2:*", "Resource": "*"},
        {"Sid": "NoIdentityAdmin", "Effect": "Deny", "Action": "iam:*", "Resource": "*"},
    )
    read = _doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})
    trust = _doc({"Effect": "Allow", "Principal": {"AWS": list(TWIN_USERS)}, "Action": "sts:AssumeRole"})
    users = []
    for region in ("north", "south"):
        user = _user(f"{region}-reader")
        user["AttachedManagedPolicies"] = [
            {"PolicyName": f"{region}-read", "PolicyArn": arn("policy", f"{region}-read")}
        ]
        users.append(user)
    roles = [
        _role(
            f"{region}-ops",
            trust,
            _doc({"Effect": "Allow", "Action": "*", "Resource": "*"}),
            PermissionsBoundary={
                "PermissionsBoundaryType": "Policy",
                "PermissionsBoundaryArn": arn("policy", f"{region}-boundary"),
            },
        )
        for region in ("north", "south")
    ]
    policies = [
        _managed(f"{region}-{kind}", document)
        for region in ("north", "south")
        for kind, document in (("boundary", boundary), ("read", read))
    ]
    return {"UserDetailList": users, "GroupDetailList": [], "RoleDetailList": roles, "Policies": policies}  # fmt: skip


def twins_batch(folder: Path) -> InventoryBatch:
    """`twins_export` as `import aws` reads it."""
    path = folder / "twins.json"
    path.write_text(json.dumps(twins_export()))
    [batch] = plugin(Cloud.AWS).read_files([path]).batches
    return batch


BUCKET_POLICY = _doc({"Effect": "Allow", "Principal": {"AWS": CAROL}, "Action": "s3:GetObject", "Resource": f"{BUCKET}/*"})  # fmt: skip


def access_batch(folder: Path) -> InventoryBatch:
    """The account as `import aws` reads it, plus the bucket and its policy (as a collection would add it)."""
    path = folder / "access.json"
    path.write_text(json.dumps(access_export()))
    [batch] = plugin(Cloud.AWS).read_files([path]).batches
    batch.resources = [
        Resource(
            external_id=BUCKET,
            resource_type="bucket",
            service="s3",
            display_name="reports",
            policy=BUCKET_POLICY,
        )
    ]
    return batch


def store_access_account(engine: Engine, folder: Path) -> None:
    """The account in the store, its effective permissions computed (as an import leaves it)."""
    ingest(engine, access_batch(folder))
    compute_effective(engine, ACCOUNT)
