"""Reading trust policies: entity-type flags and who outside the account a role admits."""

from __future__ import annotations

from typing import Any

import pytest

from permscope.clouds.aws.engine.trust import external_trust, trust_entity_types

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


def test_external_trust_names_outside_accounts_own_principals_and_providers() -> None:
    document = doc(
        allow({"AWS": [f"arn:aws:iam::{OTHER}:root", "arn:aws:iam::555566667777:role/ci", OWN]}),
        allow(
            {"AWS": f"arn:aws:iam::{OWN}:role/deployer"}, Condition={"StringEquals": {"sts:ExternalId": "x"}}
        ),
        allow({"Federated": f"arn:aws:iam::{OWN}:oidc-provider/token.actions.githubusercontent.com"}),
        allow({"Federated": f"arn:aws:iam::{OWN}:saml-provider/Okta"}),
        deny({"AWS": "*"}),
    )
    trust = external_trust(document, OWN)
    assert trust.outside == {
        OTHER: frozenset(),
        "555566667777": frozenset({"arn:aws:iam::555566667777:role/ci"}),
    }
    assert trust.whole_systems == {OTHER}
    assert trust.own_system is True
    assert trust.own_principals == {f"arn:aws:iam::{OWN}:role/deployer"}
    assert trust.condition_keys == {"sts:ExternalId"}
    assert trust.kinds == ["crossAccount", "webIdentity", "sso"]
    assert external_trust(doc(allow("*")), OWN).kinds == ["anyAccount"]
    # only IAM's `root` names a whole account (`arn:aws:sts::A:root` is one principal there); partitions count
    assert external_trust(doc(allow({"AWS": f"arn:aws:sts::{OTHER}:root"})), OWN).whole_systems == frozenset()
    assert external_trust(doc(allow({"AWS": f"arn:aws-cn:iam::{OTHER}:root"})), OWN).whole_systems == {OTHER}
    assert external_trust(doc(allow({"AWS": f"arn:aws-cn:iam::{OWN}:root"})), OWN).own_system
    assert external_trust(None, OWN).kinds == []
