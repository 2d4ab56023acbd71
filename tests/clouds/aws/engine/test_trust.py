"""Trust policy helpers: entity types and who may assume a role."""

from __future__ import annotations

from typing import Any

import pytest

from permscope.clouds.aws.engine.trust import principal_can_assume, trust_entity_types

OWN = "111122223333"
OTHER = "444455556666"
USER = f"arn:aws:iam::{OWN}:user/alice"


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(principal: Any, action: Any = "sts:AssumeRole", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": principal, "Action": action, **extra}


def deny(principal: Any, action: Any = "sts:AssumeRole") -> dict[str, Any]:
    return {"Effect": "Deny", "Principal": principal, "Action": action}


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (doc(allow({"Service": "ec2.amazonaws.com"})), ["service"]),
        (doc(allow({"Service": ["lambda.amazonaws.com", "ec2.amazonaws.com"]})), ["service"]),
        (
            doc(
                allow(
                    {"Federated": f"arn:aws:iam::{OWN}:saml-provider/AWSSSO_abc_DO_NOT_DELETE"},
                    ["sts:AssumeRoleWithSAML", "sts:TagSession"],
                )
            ),
            ["sso"],
        ),
        (
            doc(allow({"Federated": f"arn:aws:iam::{OWN}:saml-provider/Okta"}, "sts:AssumeRoleWithSAML")),
            ["sso"],
        ),
        (
            doc(
                allow(
                    {"Federated": f"arn:aws:iam::{OWN}:oidc-provider/token.actions.githubusercontent.com"},
                    "sts:AssumeRoleWithWebIdentity",
                )
            ),
            ["webIdentity"],
        ),
        (
            doc(allow({"Federated": "cognito-identity.amazonaws.com"}, "sts:AssumeRoleWithWebIdentity")),
            ["webIdentity"],
        ),
        (doc(allow({"Federated": "accounts.google.com"})), ["webIdentity"]),
        (doc(allow({"AWS": f"arn:aws:iam::{OTHER}:root"})), ["crossAccount"]),
        (doc(allow({"AWS": OTHER})), ["crossAccount"]),
        (doc(allow({"AWS": "*"})), ["crossAccount"]),
        (doc(allow("*")), ["crossAccount"]),
        (doc(allow({"AWS": f"arn:aws:iam::{OWN}:root"})), []),
        (doc(allow({"AWS": f"arn:aws:iam::{OWN}:role/other"})), []),
        (
            doc(
                {"Effect": "Deny", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ),
            [],
        ),
        (
            doc(allow({"Service": "ec2.amazonaws.com", "AWS": f"arn:aws:iam::{OTHER}:role/x"})),
            ["service", "crossAccount"],
        ),
        ({"Statement": allow({"Service": "ec2.amazonaws.com"})}, ["service"]),  # a lone statement object
        (None, []),
        ({}, []),
    ],
)
def test_trust_entity_types(document: Any, expected: list[str]) -> None:
    assert trust_entity_types(document, OWN) == expected


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (doc(allow({"AWS": USER})), True),
        (doc(allow({"AWS": [f"arn:aws:iam::{OWN}:user/bob", USER]})), True),
        (doc(allow({"AWS": f"arn:aws:iam::{OWN}:root"})), True),
        (doc(allow({"AWS": OWN})), True),
        (doc(allow({"AWS": "*"})), True),
        (doc(allow("*")), True),
        (doc(allow({"AWS": f"arn:aws:iam::{OTHER}:root"})), False),
        (doc(allow({"AWS": f"arn:aws:iam::{OWN}:user/bob"})), False),
        (doc(allow({"Service": "ec2.amazonaws.com"})), False),
        (doc(allow({"AWS": USER}, "sts:*")), True),
        (doc(allow({"AWS": USER}, "*")), True),
        (doc(allow({"AWS": USER}, "STS:assumerole")), True),
        (doc(allow({"AWS": USER}, "sts:AssumeRoleWithSAML")), False),
        (doc(allow({"AWS": USER}, "sts:TagSession")), False),
        (doc(allow({"AWS": USER}), deny({"AWS": USER})), False),
        (doc(allow({"AWS": "*"}), deny({"AWS": f"arn:aws:iam::{OWN}:root"})), False),
        (doc(allow({"AWS": USER}), deny({"AWS": f"arn:aws:iam::{OWN}:user/bob"})), True),
        (doc(allow({"AWS": USER}), deny({"AWS": USER}, "s3:*")), True),
        (
            doc({"Effect": "Deny", "NotPrincipal": {"AWS": USER}, "Action": "sts:AssumeRole"}, allow("*")),
            True,
        ),
        (
            doc(
                {"Effect": "Deny", "NotPrincipal": {"AWS": "arn:aws:iam::1:user/bob"}, "Action": "*"},
                allow("*"),
            ),
            False,
        ),
        (doc({"Effect": "Allow", "Principal": {"AWS": USER}, "NotAction": "s3:*"}), True),
        (doc(allow({"AWS": USER}, Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}})), True),
        (doc(allow({"AWS": f"arn:aws-cn:iam::{OWN}:root"})), True),
        # only IAM's `root` names the account; `arn:aws:sts::A:root` is no principal
        (doc(allow({"AWS": f"arn:aws:sts::{OWN}:root"})), False),
        (None, False),
    ],
)
def test_principal_can_assume(document: Any, expected: bool) -> None:
    assert principal_can_assume(document, USER, OWN) is expected
