"""Shared by the least-privilege tests: an AWS account whose grants carry conditions and guards, usage built by
hand, and the engine asked again through the simulator's case format (a path independent of the generator's own
check)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from permscope.clouds.base import plugin
from permscope.core.ids import Cloud
from permscope.core.inventory import InventoryBatch, Usage
from permscope.core.least_privilege import GeneratedDocument
from permscope.workflows.activity import import_activity_files
from permscope.workflows.collection import import_aws_files

ACCOUNT = "111122223333"
NOW = datetime(2026, 12, 7, tzinfo=UTC)


def arn(kind: str, name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:{kind}/{name}"


ALICE, DEPLOYER = arn("user", "alice"), arn("role", "deployer")
ROLE_A, ROLE_B, ROLE_C = arn("role", "service-role/fn-exec"), arn("role", "stack-exec"), arn("role", "other")
MFA = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
OFFICE = {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}
VPCE = {"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}
GUARD = {
    "Sid": "DenyWithoutMFA",
    "Effect": "Deny",
    "NotAction": ["iam:ChangePassword", "iam:GetUser"],
    "Resource": "*",
    "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
}


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def remediation_export() -> dict[str, Any]:
    """alice (group devs + inline): dynamodb only with MFA from the office, S3 with MFA through the group but
    s3:GetObject also without it inline, and the MFA guard; role deployer: Lambda through one VPC endpoint,
    iam:PassRole and CloudFormation on everything."""
    devs = doc(
        {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*", "Condition": {**MFA, **OFFICE}},
        {
            "Effect": "Allow",
            "Action": ["s3:Get*", "s3:List*", "s3:PutObject"],
            "Resource": "*",
            "Condition": MFA,
        },
        GUARD,
    )
    alice_inline = doc(
        {"Effect": "Allow", "Action": ["s3:GetObject", "iam:GetUser", "ec2:Describe*"], "Resource": "*"}
    )
    deployer = doc(
        {"Effect": "Allow", "Action": "lambda:*", "Resource": "*", "Condition": VPCE},
        {"Effect": "Allow", "Action": ["iam:PassRole", "cloudformation:*"], "Resource": "*"},
    )
    trust = doc(
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    )
    return {
        "UserDetailList": [
            {"UserName": "alice", "UserId": "AIDAALICE", "Arn": ALICE, "Path": "/", "GroupList": ["devs"],
             "AttachedManagedPolicies": [], "UserPolicyList": [{"PolicyName": "alice-inline", "PolicyDocument": alice_inline}]},
        ],
        "GroupDetailList": [
            {"GroupName": "devs", "GroupId": "AGPADEVS", "Arn": arn("group", "devs"), "Path": "/",
             "AttachedManagedPolicies": [], "GroupPolicyList": [{"PolicyName": "devs", "PolicyDocument": devs}]},
        ],
        "RoleDetailList": [
            {"RoleName": "deployer", "RoleId": "AROADEPLOYER", "Arn": DEPLOYER, "Path": "/",
             "AssumeRolePolicyDocument": trust, "AttachedManagedPolicies": [], "InstanceProfileList": [],
             "RolePolicyList": [{"PolicyName": "deployer", "PolicyDocument": deployer}]},
        ],
        "Policies": [],
    }  # fmt: skip


def remediation_batch(folder: Path) -> InventoryBatch:
    """The account as `import aws` reads it."""
    path = folder / "remediation.json"
    path.write_text(json.dumps(remediation_export()))
    [batch] = plugin(Cloud.AWS).read_files([path]).batches
    return batch


def usage(identity: str, action: str, resource: str = "", count: int = 1, days_ago: float = 3) -> Usage:
    when = NOW - timedelta(days=days_ago)
    return Usage(
        identity_external_id=identity,
        action=action,
        resource=resource or None,
        first_seen=when - timedelta(days=1),
        last_seen=when,
        count=count,
    )


OBJECTS = [f"arn:aws:s3:::data/logs/2024/{month:02d}/part-{n}.csv" for month in (1, 2, 3) for n in range(5)]


def alice_usages() -> list[Usage]:
    """alice: 15 keys under data/logs/2024/ (beyond the threshold), one key of another bucket, a bucket, a
    table, actions without resource-level permissions, and one without a recorded resource."""
    return [
        *(usage(ALICE, "s3:GetObject", key) for key in OBJECTS),
        usage(ALICE, "s3:GetObject", "arn:aws:s3:::other/report.csv"),
        usage(ALICE, "s3:ListBucket", "arn:aws:s3:::data"),
        usage(ALICE, "s3:PutObject", "arn:aws:s3:::data/uploads/x.csv", count=4),
        usage(ALICE, "s3:ListAllMyBuckets"),
        usage(ALICE, "dynamodb:GetItem", f"arn:aws:dynamodb:eu-west-1:{ACCOUNT}:table/orders", count=7),
        usage(ALICE, "dynamodb:Query", ""),
        usage(ALICE, "iam:GetUser", ALICE),
        usage(ALICE, "ec2:DescribeInstances"),
    ]


FUNCTION = f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:fn"
STACK = f"arn:aws:cloudformation:eu-west-1:{ACCOUNT}:stack/app/0f0e0d0c-0000-4000-8000-000000000000"


def deployer_usages() -> list[Usage]:
    """deployer: created a function and a stack, passing one role to each (as the CloudTrail import counts)."""
    return [
        usage(DEPLOYER, "lambda:CreateFunction", FUNCTION),
        usage(DEPLOYER, "lambda:GetFunction", FUNCTION, count=12),
        usage(DEPLOYER, "cloudformation:CreateStack", STACK),
        usage(DEPLOYER, "iam:PassRole", ROLE_A),
        usage(DEPLOYER, "iam:PassRole", ROLE_B),
    ]


def aws_decision(
    documents: Sequence[GeneratedDocument],
    principal: str,
    action: str,
    resource: str,
    context: Mapping[str, Any] | None = None,
) -> str:
    """The AWS engine's decision through `permscope simulate aws`'s case format, the documents alone attached,
    as the identity-based side of the request (the resource taken in the principal's account)."""
    case = {
        "id": "replay",
        "request": {
            "principal": principal,
            "action": action,
            "resource": resource or "*",
            "resource_account": ACCOUNT,
            "context": dict(context or {}),
        },
        "policies": {
            "identity": [{"name": document.name, "document": document.document} for document in documents],
            "scp_levels": [],
            "rcp_levels": [],
        },
    }
    return str(plugin(Cloud.AWS).simulate(case, "replay")["decision"])


# -- the account through the real imports: the export, then CloudTrail ----------------------------------------


def record(
    now: datetime, identity: dict[str, Any], source: str, name: str, days_ago: float, **extra: Any
) -> dict[str, Any]:
    when = (now - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"eventVersion": "1.09", "userIdentity": identity, "eventTime": when, "eventSource": source,
            "eventName": name, "awsRegion": "eu-west-1", "eventType": "AwsApiCall", "requestParameters": None,
            "responseElements": None, "eventID": f"{name}-{days_ago}", "recipientAccountId": ACCOUNT, **extra}  # fmt: skip


def deployer_session() -> dict[str, Any]:
    return {"type": "AssumedRole", "principalId": "AROADEPLOYER:ci", "accountId": ACCOUNT,
            "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/deployer/ci",
            "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROADEPLOYER", "arn": DEPLOYER,
                                                 "accountId": ACCOUNT, "userName": "deployer"}}}  # fmt: skip


def alice() -> dict[str, Any]:
    return {
        "type": "IAMUser",
        "principalId": "AIDAALICE",
        "arn": ALICE,
        "accountId": ACCOUNT,
        "userName": "alice",
    }


def trail(now: datetime, span_days: float) -> list[dict[str, Any]]:
    """The deployer creates functions and a stack over `span_days`, passing roles; alice reads a bucket and
    starts an instance."""
    function = {"functionName": "fn", "role": ROLE_A}
    return [
        record(now, deployer_session(), "lambda.amazonaws.com", "CreateFunction20150331", span_days, requestParameters=function),
        record(now, deployer_session(), "lambda.amazonaws.com", "CreateFunction20150331", 1, requestParameters=function),
        record(now, deployer_session(), "cloudformation.amazonaws.com", "CreateStack", span_days / 2,
               requestParameters={"stackName": "app", "roleARN": ROLE_B}),
        record(now, deployer_session(), "lambda.amazonaws.com", "GetFunction20150331v2", 2,
               resources=[{"ARN": f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:fn"}]),
        record(now, alice(), "s3.amazonaws.com", "GetObject", 3, requestParameters={"bucketName": "data", "key": "a.csv"}),
        record(now, alice(), "s3.amazonaws.com", "ListObjects", 3, requestParameters={"bucketName": "data"}),
        record(now, alice(), "ec2.amazonaws.com", "RunInstances", 4),  # not granted to her today
    ]  # fmt: skip


def load_with_trail(engine: Engine, folder: Path, now: datetime, span_days: float) -> None:
    """The export imported, then the trail, as `permscope import aws` and `import aws-activity` do."""
    export = folder / "export.json"
    export.write_text(json.dumps(remediation_export()))
    import_aws_files(engine, [export])
    logs = folder / "trail.json"
    logs.write_text(json.dumps({"Records": trail(now, span_days)}))
    import_activity_files(engine, [logs], workers=1)
