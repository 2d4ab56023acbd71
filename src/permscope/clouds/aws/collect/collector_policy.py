"""Least privilege for ourselves: every AWS API call the live collector makes, and the IAM action it needs.

`docs/aws-collector-policy.json` is exactly `collector_policy()` (a test keeps them equal), and a test
records every call of a collection against moto — CloudTrail activity from a trail bucket and LookupEvents
included — and checks each is listed here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from permscope.clouds.aws.collect.activity import (
    LOOKUP_IAM_ACTIONS,
    TRAIL_BUCKET_IAM_ACTIONS,
    TRAIL_BUCKET_PLACEHOLDER,
    trail_bucket_resources,
)
from permscope.clouds.aws.collect.resources import RESOURCE_IAM_ACTIONS
from permscope.clouds.aws.collect.support import CollectionError

# "<botocore service name>:<Operation>" -> the IAM action it needs (None: the call needs no permission).
COLLECTOR_IAM_ACTIONS: dict[str, str | None] = {
    "sts:GetCallerIdentity": None,  # documented as needing no permission
    "sts:AssumeRole": "sts:AssumeRole",
    "ec2:DescribeRegions": "ec2:DescribeRegions",
    "iam:GetAccountAuthorizationDetails": "iam:GetAccountAuthorizationDetails",
    "iam:GenerateCredentialReport": "iam:GenerateCredentialReport",
    "iam:GetCredentialReport": "iam:GetCredentialReport",
    "iam:ListAccessKeys": "iam:ListAccessKeys",
    "iam:ListSAMLProviders": "iam:ListSAMLProviders",
    "iam:ListOpenIDConnectProviders": "iam:ListOpenIDConnectProviders",
    "iam:GetOpenIDConnectProvider": "iam:GetOpenIDConnectProvider",
    "iam:GenerateServiceLastAccessedDetails": "iam:GenerateServiceLastAccessedDetails",
    "iam:GetServiceLastAccessedDetails": "iam:GetServiceLastAccessedDetails",
    "organizations:DescribeOrganization": "organizations:DescribeOrganization",
    "organizations:ListRoots": "organizations:ListRoots",
    "organizations:ListAccounts": "organizations:ListAccounts",
    "organizations:ListOrganizationalUnitsForParent": "organizations:ListOrganizationalUnitsForParent",
    "organizations:ListAccountsForParent": "organizations:ListAccountsForParent",
    "organizations:ListPolicies": "organizations:ListPolicies",
    "organizations:DescribePolicy": "organizations:DescribePolicy",
    "organizations:ListTargetsForPolicy": "organizations:ListTargetsForPolicy",
    "sso-admin:ListInstances": "sso:ListInstances",
    "sso-admin:ListPermissionSetsProvisionedToAccount": "sso:ListPermissionSetsProvisionedToAccount",
    "sso-admin:DescribePermissionSet": "sso:DescribePermissionSet",
    "sso-admin:ListAccountAssignments": "sso:ListAccountAssignments",
    "identitystore:ListUsers": "identitystore:ListUsers",
    "identitystore:ListGroups": "identitystore:ListGroups",
    "identitystore:ListGroupMemberships": "identitystore:ListGroupMemberships",
    **LOOKUP_IAM_ACTIONS,  # --lookup-events: per account and region (LookupEvents has no resource-level scope)
    **TRAIL_BUCKET_IAM_ACTIONS,  # --cloudtrail-s3: on the trail bucket only (its own statement)
}
ASSUME_ROLE_SID = "AssumeTheCollectorRoleInMemberAccounts"
TRAIL_BUCKET_SID = "ReadTheCloudTrailBucket"


def api_actions() -> dict[str, str | None]:
    """Every API call the collector (IAM, organization, Identity Center and resource readers) can make."""
    return {**COLLECTOR_IAM_ACTIONS, **RESOURCE_IAM_ACTIONS}


def iam_action(api_call: str) -> str | None:
    """The IAM action an API call (`service:Operation` as botocore names them) needs; CollectionError
    for a call the collector is not known to make."""
    actions = api_actions()
    if api_call not in actions:
        raise CollectionError(f"the collector is not known to call {api_call}")
    return actions[api_call]


def collector_policy(
    role_name: str = "PermscopeCollector", trail_buckets: Sequence[str] = (TRAIL_BUCKET_PLACEHOLDER,)
) -> dict[str, Any]:
    """The IAM policy the collector needs: read-only actions on `*`, sts:AssumeRole on the collector role of
    the member accounts, and s3:ListBucket / s3:GetObject on the CloudTrail buckets only (`<trail-bucket>`
    in the documented policy: the bucket of `--cloudtrail-s3`)."""
    bucket_actions = set(TRAIL_BUCKET_IAM_ACTIONS.values())
    actions = sorted(
        {action for action in api_actions().values() if action} - {"sts:AssumeRole"} - bucket_actions
    )
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "ReadOnlyInventory", "Effect": "Allow", "Action": actions, "Resource": "*"},
            {
                "Sid": ASSUME_ROLE_SID,
                "Effect": "Allow",
                "Action": ["sts:AssumeRole"],
                "Resource": f"arn:aws:iam::*:role/{role_name}",
            },
            {
                "Sid": TRAIL_BUCKET_SID,
                "Effect": "Allow",
                "Action": sorted(bucket_actions),
                "Resource": trail_bucket_resources(list(trail_buckets)),
            },
        ],
    }
