"""Service rules that read the request's resource ARN: trust and key policies, AWS managed policies."""

from __future__ import annotations

import pytest

from permscope.clouds.aws.engine import service_rules
from permscope.clouds.aws.engine.service_rules import (
    may_protect,
    protected_resource,
    resource_policy_required,
)

A = "111122223333"


@pytest.mark.parametrize(
    ("action", "resource", "required"),
    [
        ("sts:assumerole", f"arn:aws:iam::{A}:role/deploy", True),
        ("sts:assumerole", f"arn:aws-cn:iam::{A}:role/team/deploy", True),
        ("sts:assumerole", "arn:aws:iam::*:role/*", True),  # a wildcard request
        ("sts:assumerole", f"arn:aws:iam::{A}:user/alice", False),
        ("sts:assumerole", f"arn:aws:s3:::bucket/x:iam::{A}:role/y", False),  # an S3 key is no role
        ("sts:assumerole", "arn:aws:iam::role/deploy", False),  # five segments: no ARN
        ("kms:decrypt", f"arn:aws:kms:us-east-1:{A}:key/1234abcd", True),
        ("kms:decrypt", "arn:aws:kms:*:*:key/*", True),
        ("kms:decrypt", f"arn:aws:kms:us-east-1:{A}:alias/app", False),
        ("kms:decrypt", "arn:aws:kms:key/1234abcd", False),  # five segments: no ARN
        ("s3:getobject", f"arn:aws:kms:us-east-1:{A}:key/1234abcd", False),
    ],
)
def test_resource_policy_required(action: str, resource: str, required: bool) -> None:
    assert (resource_policy_required(action, resource) is not None) is required


@pytest.mark.parametrize(
    ("resource", "protected"),
    [
        ("arn:aws:iam::aws:policy/AdministratorAccess", True),
        ("arn:aws-us-gov:iam::aws:policy/job-function/ViewOnlyAccess", True),
        (f"arn:aws:iam::{A}:policy/mine", False),
        ("arn:aws:s3:::bucket/arn:aws:iam::aws:policy/x", False),  # an S3 key is no policy
    ],
)
def test_aws_managed_policies_are_protected(resource: str, protected: bool) -> None:
    rule = protected_resource("iam:createpolicyversion", resource, caller_is_service_linked=False)
    assert (rule is not None and not rule.allowed) is protected


@pytest.mark.parametrize(
    ("resource", "protected"),
    [
        (f"arn:aws:iam::{A}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123", True),
        (f"arn:aws:iam::{A}:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Admin_0123", True),
        ("arn:aws:iam::*:role/aws-reserved/sso.amazonaws.com/*", True),
        (f"arn:aws:iam::{A}:role/AWSReservedSSO_Admin_0123", False),
        ("arn:aws:s3:::b/k:role/aws-reserved/sso.amazonaws.com/x", False),  # an S3 key is no role
    ],
)
def test_identity_center_roles_are_protected(resource: str, protected: bool) -> None:
    rule = protected_resource("iam:deleterole", resource, caller_is_service_linked=False)
    assert (rule is not None and not rule.allowed) is protected
    assert protected_resource("iam:deleterole", resource, caller_is_service_linked=True) is None


def test_may_protect_is_true_for_every_action_some_resource_is_protected_from() -> None:
    """The candidate index skips its scan for actions `may_protect` rules out: none may be refused anywhere."""
    resources = [
        "arn:aws:iam::aws:policy/AdministratorAccess",
        "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123",
        "arn:aws:kms:us-east-1:111122223333:alias/aws/s3",
        "arn:aws:iam::111122223333:role/app",
        "*",
    ]
    actions = sorted(
        service_rules.MANAGED_POLICY_CHANGES
        | service_rules.RESERVED_ROLE_CHANGES
        | service_rules.KMS_ALIAS_CHANGES
        | {"iam:createaccesskey", "s3:getobject", "sts:assumerole", "kms:decrypt", "lambda:createfunction"}
    )
    refused = {
        a for a in actions for r in resources if protected_resource(a, r, caller_is_service_linked=False)
    }
    assert refused and all(may_protect(a) for a in refused)
    assert not any(may_protect(a) for a in ("iam:createaccesskey", "s3:getobject", "kms:decrypt"))
