"""Public / cross-account detection in resource policies, public ACL grants and internet-open security groups."""

from __future__ import annotations

from typing import Any

import pytest

from permscope.clouds.aws.transform.exposure import (
    acl_other_grantees,
    acl_public_grants,
    analyse_policy,
    is_internet_cidr,
    open_ingress,
)

OWN = "123456789012"
OTHER = "999999999999"
BUCKET = "arn:aws:s3:::data"


def allow(principal: Any = "*", condition: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": principal,
        "Action": "s3:GetObject",
        "Resource": f"{BUCKET}/*",
    }
    if condition is not None:
        statement["Condition"] = condition
    statement.update(extra)
    return statement


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def test_no_policy_exposes_nothing() -> None:
    for document in (None, {}, policy()):
        exposure = analyse_policy(document, OWN)
        assert not exposure.public
        assert exposure.cross_account_principals == []


@pytest.mark.parametrize(
    "principal",
    ["*", {"AWS": "*"}, {"AWS": ["arn:aws:iam::123456789012:root", "*"]}],
    ids=["star", "aws", "list"],
)
def test_a_wildcard_principal_without_conditions_is_public(principal: Any) -> None:
    exposure = analyse_policy(policy(allow(principal, Sid="Anyone")), OWN)
    assert exposure.public
    assert exposure.public_statements == ["Anyone"]


def test_statements_without_sid_are_named_by_position_and_a_single_statement_object_works() -> None:
    exposure = analyse_policy({"Statement": allow()}, OWN)
    assert exposure.public_statements == ["#0"]
    two = analyse_policy(policy(allow({"AWS": OWN}), allow(), allow(Sid="B")), OWN)
    assert two.public_statements == ["#1", "B"]


def test_allow_with_not_principal_is_public() -> None:
    statement = allow()
    del statement["Principal"]
    statement["NotPrincipal"] = {"AWS": f"arn:aws:iam::{OWN}:role/blocked"}
    assert analyse_policy(policy(statement), OWN).public


def test_deny_statements_and_service_principals_never_make_a_policy_public() -> None:
    deny = dict(allow(), Effect="Deny")
    service = allow({"Service": "cloudtrail.amazonaws.com"})
    exposure = analyse_policy(policy(deny, service), OWN)
    assert not exposure.public
    assert exposure.service_principals == ["cloudtrail.amazonaws.com"]


@pytest.mark.parametrize(
    ("condition", "key"),
    [
        ({"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}, "aws:SourceVpce"),
        ({"StringEquals": {"aws:SourceVpc": ["vpc-111", "vpc-222"]}}, "aws:SourceVpc"),
        ({"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}, "aws:PrincipalOrgID"),
        (
            {"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": "o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*"}},
            "aws:PrincipalOrgPaths",
        ),
        ({"IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "2001:db8::/48"]}}, "aws:SourceIp"),
        ({"StringEquals": {"aws:SourceAccount": OWN}}, "aws:SourceAccount"),
        ({"StringEquals": {"AWS:SourceOwner": OWN}}, "aws:SourceOwner"),  # SNS's default spelling
        ({"ArnLike": {"aws:SourceArn": f"arn:aws:sns:*:{OWN}:*"}}, "aws:SourceArn"),
        ({"ArnEquals": {"aws:PrincipalArn": f"arn:aws:iam::{OWN}:role/reader"}}, "aws:PrincipalArn"),
        ({"StringLike": {"aws:userid": "AROAEXAMPLEID:*"}}, "aws:userid"),
        (
            {"StringEquals": {"kms:CallerAccount": OWN, "kms:ViaService": "s3.us-east-1.amazonaws.com"}},
            "kms:CallerAccount",
        ),
    ],
)
def test_conditions_that_pin_the_caller_keep_a_wildcard_principal_private(condition: Any, key: str) -> None:
    exposure = analyse_policy(policy(allow("*", condition)), OWN)
    assert not exposure.public
    assert exposure.restricted_by == [key]


@pytest.mark.parametrize(
    "condition",
    [
        {"StringEqualsIfExists": {"aws:SourceVpce": "vpce-1a2b3c4d"}},  # matches when the key is absent
        {"StringLike": {"aws:SourceVpce": "vpce-*"}},
        {"StringNotEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}},
        {"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}},
        {"IpAddress": {"aws:SourceIp": ["0.0.0.0/1", "128.0.0.0/1"]}},
        {"IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "::/0"]}},  # one wide range opens it
        {"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
        {"Bool": {"aws:SecureTransport": "true"}},
        {"ForAllValues:StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}},
        {"StringEquals": {"aws:PrincipalOrgID": "o-*"}},
        {"StringEquals": {"aws:PrincipalAccount": "${aws:SourceAccount}"}},
        {"ArnLike": {"aws:SourceArn": "arn:aws:s3:::*"}},
        {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}},
        {"StringEquals": {"aws:PrincipalAccount": []}},
        # an account id is 12 ASCII digits: not with a newline after them, not in another script
        {"StringEquals": {"aws:SourceAccount": f"{OWN}\n"}},
        {"ArnLike": {"aws:SourceArn": "arn:aws:sns:*:١٢٣٤٥٦٧٨٩٠١٢:*"}},
    ],
    ids=lambda condition: str(condition)[:60],
)
def test_conditions_that_do_not_pin_the_caller_leave_it_public(condition: Any) -> None:
    exposure = analyse_policy(policy(allow("*", condition)), OWN)
    assert exposure.public
    assert exposure.restricted_by == []


def vpce_deny(**changes: Any) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Sid": "OnlyFromMyEndpoint",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [BUCKET, f"{BUCKET}/*"],
        "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}},
    }
    statement.update(changes)
    return {k: v for k, v in statement.items() if v is not None}


def test_a_deny_outside_my_endpoint_neutralises_a_public_allow() -> None:
    exposure = analyse_policy(policy(allow(), vpce_deny()), OWN)
    assert not exposure.public
    assert exposure.restricted_by == ["aws:SourceVpce"]


@pytest.mark.parametrize(
    "deny",
    [
        vpce_deny(Action="s3:PutObject"),  # does not cover s3:GetObject
        vpce_deny(Resource=f"{BUCKET}/private/*"),  # does not cover every object
        vpce_deny(Condition={"Bool": {"aws:SecureTransport": "false"}}),  # not a restriction on the caller
        vpce_deny(
            Condition={
                "StringNotEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"},
                "Bool": {"aws:SecureTransport": "false"},
            }
        ),  # denies only plain-HTTP calls from outside: HTTPS from anywhere stays open
        vpce_deny(Principal={"AWS": f"arn:aws:iam::{OTHER}:root"}),
        vpce_deny(Condition={"StringNotLike": {"aws:SourceVpce": "vpce-*"}}),
        vpce_deny(Condition=None),
    ],
    ids=["action", "resource", "transport", "transport-and-vpce", "principal", "wildcard", "no-condition"],
)
def test_a_deny_that_does_not_cover_the_grant_leaves_it_public(deny: dict[str, Any]) -> None:
    assert analyse_policy(policy(allow(), deny), OWN).public


def test_a_deny_of_every_action_covers_a_wildcard_allow() -> None:
    wide_allow = allow(Action="s3:Get*")
    assert not analyse_policy(policy(wide_allow, vpce_deny(Action="*")), OWN).public
    assert analyse_policy(policy(wide_allow, vpce_deny(Action="s3:GetObject")), OWN).public


def test_cross_account_principals_are_other_accounts_only() -> None:
    document = policy(
        allow({"AWS": [OTHER, f"arn:aws:iam::{OWN}:root", "arn:aws:iam::111122223333:role/ci"]}),
        allow({"CanonicalUser": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"}),
        allow("*", {"StringEquals": {"aws:PrincipalAccount": ["444455556666", OWN]}}),
        dict(allow({"AWS": "arn:aws:iam::777788889999:root"}), Effect="Deny"),
    )
    exposure = analyse_policy(document, OWN)
    assert exposure.cross_account_principals == ["444455556666", OTHER, "arn:aws:iam::111122223333:role/ci"]
    assert not exposure.public


def test_facts_use_camel_case_keys() -> None:
    facts = analyse_policy(policy(allow()), OWN).as_facts()
    assert facts == {
        "publicByPolicy": True,
        "publicStatements": ["#0"],
        "crossAccountPrincipals": [],
        "servicePrincipals": [],
        "restrictedBy": [],
    }


def test_public_acl_grants_are_to_all_users_or_authenticated_users() -> None:
    acl = {
        "Owner": {"ID": "owner"},
        "Grants": [
            {"Grantee": {"Type": "CanonicalUser", "ID": "owner"}, "Permission": "FULL_CONTROL"},
            {
                "Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"},
                "Permission": "READ",
            },
            {
                "Grantee": {
                    "Type": "Group",
                    "URI": "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
                },
                "Permission": "WRITE",
            },
            {
                "Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/s3/LogDelivery"},
                "Permission": "WRITE",
            },
            {"Grantee": {"Type": "CanonicalUser", "ID": "partner"}, "Permission": "READ"},
        ],
    }
    assert acl_public_grants(acl) == [
        {"grantee": "AllUsers", "permission": "READ"},
        {"grantee": "AuthenticatedUsers", "permission": "WRITE"},
    ]
    assert acl_other_grantees(acl) == ["partner"]
    assert acl_public_grants({"Grants": acl["Grants"][:1]}) == []
    assert acl_public_grants(None) == []


@pytest.mark.parametrize(
    ("cidr", "internet"),
    [
        ("0.0.0.0/0", True),
        ("::/0", True),
        ("0.0.0.0/1", True),
        ("8.0.0.0/7", True),
        ("8.8.8.0/24", False),
        ("10.0.0.0/8", False),
        ("172.16.0.0/12", False),
        ("2001:db8::/48", False),
        ("fc00::/7", False),
    ],
)
def test_internet_cidrs(cidr: str, internet: bool) -> None:
    assert is_internet_cidr(cidr) is internet


def test_open_ingress_lists_internet_rules_with_their_ports() -> None:
    group = {
        "IpPermissions": [
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
            {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "IpRanges": [{"CidrIp": "10.0.0.0/16"}]},
            {"IpProtocol": "-1", "Ipv6Ranges": [{"CidrIpv6": "::/0"}]},
            {"IpProtocol": "17", "FromPort": 53, "ToPort": 53, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
            {
                "IpProtocol": "tcp",
                "FromPort": 443,
                "ToPort": 443,
                "PrefixListIds": [{"PrefixListId": "pl-1"}],
            },
            {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "UserIdGroupPairs": [{"GroupId": "sg-1"}]},
        ]
    }
    assert open_ingress(group) == [
        {"protocol": "all", "fromPort": None, "toPort": None, "sources": ["::/0"]},
        {"protocol": "tcp", "fromPort": 22, "toPort": 22, "sources": ["0.0.0.0/0"]},
        {"protocol": "udp", "fromPort": 53, "toPort": 53, "sources": ["0.0.0.0/0"]},
    ]
    assert open_ingress({"IpPermissions": []}) == []
