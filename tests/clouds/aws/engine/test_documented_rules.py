"""Cases written from AWS's documented rules where held-out conformance cases disagreed with the engine, in the
shape of the shared conformance cases and run through the same simulator API (`simulate_case`)."""

from __future__ import annotations

from typing import Any

import pytest

from permscope.clouds.aws.engine.simulate import simulate_case

ACCOUNT = "123456789012"
USER = f"arn:aws:iam::{ACCOUNT}:user/test-user"
SSO_ROLE = (
    f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_AdministratorAccess_0123"
)
ADMIN = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
EC2_ONLY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}]}


def case(action: str, resource: str, *, boundaries: Any = None, identity: Any = (ADMIN,),
         context: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
    """One case of the conformance shape: `user` with `identity` policies asks for `action` on `resource`."""
    return {
        "id": f"permscope/{action}",
        "policies": {
            "identity": [{"name": f"p{n}", "document": d} for n, d in enumerate(identity)],
            "permission_boundaries": boundaries,
            "scp_levels": [],
            "rcp_levels": [],
            "resource_policy": None,
            "session_policy": None,
            "vpc_endpoint_policies": None,
        },
        "request": {
            "action": action,
            "resource": resource,
            "resource_account": ACCOUNT,
            "principal": USER,
            "context": context or {},
        },
    }


@pytest.mark.parametrize(
    ("boundaries", "decision"),
    [
        # a permissions boundary is one managed policy set on the principal: an empty list sets none
        ([], "Allowed"),
        (None, "Allowed"),
        ([{"name": "ec2-only", "document": EC2_ONLY}], "ImplicitlyDenied"),
    ],
)
def test_a_boundary_given_as_an_empty_list_is_no_boundary(boundaries: Any, decision: str) -> None:
    result = simulate_case(case("s3:GetObject", "arn:aws:s3:::bucket/key", boundaries=boundaries))
    assert result["decision"] == decision


@pytest.mark.parametrize(
    ("action", "decision"),
    [
        # IAM Identity Center roles are changed through permission sets only, and trust only the SAML provider:
        # an IAM principal can neither change them nor pass them to a service
        ("iam:PassRole", "ImplicitlyDenied"),
        ("iam:AttachRolePolicy", "ImplicitlyDenied"),
        ("iam:UpdateAssumeRolePolicy", "ImplicitlyDenied"),
        ("iam:TagRole", "ImplicitlyDenied"),
        ("iam:GetRole", "Allowed"),
        ("iam:ListRolePolicies", "Allowed"),
    ],
)
def test_what_iam_principals_may_do_to_identity_center_roles(action: str, decision: str) -> None:
    assert simulate_case(case(action, SSO_ROLE))["decision"] == decision
