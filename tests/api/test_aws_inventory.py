"""AWS inventory under awsAuthorizationSystem: identities, assumable roles, policies, actions, services, resources."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from permscope.core.ids import encode_id
from permscope.core.inventory import (
    Assignment,
    AssignmentRelation,
    Identity,
    IdentityKind,
    Policy,
    PolicyKind,
    Resource,
)

from .factories import ACCOUNT, AS, P, add_actions, arn, assert_error, role, seed, user

ALICE = arn("user", "alice")
ADMIN_ROLE = arn("role", "Admin")
SSO_ROLE = arn("role", "AWSReservedSSO_ReadOnly")
BUCKET = "arn:aws:s3:::logs-bucket"


def trust(principal: dict[str, Any]) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}],
    }


@pytest.fixture
def inventory(engine: Engine) -> None:
    identities = [
        user("alice"),
        user("bob"),
        role("Admin", "custom", ["crossAccount"]),
        role("AWSReservedSSO_ReadOnly", "system", ["sso", "webIdentity"]),
        role("lambda-exec", "custom", []),
        Identity(
            external_id=arn("group", "devs"), kind=IdentityKind.GROUP, display_name="devs", source="aws"
        ),
        Identity(
            external_id="arn:aws:lambda:us-east-1:123456789012:function:f1",
            kind=IdentityKind.SERVERLESS_FUNCTION,
            display_name="f1",
            source="aws",
        ),
        Identity(
            external_id="arn:aws:ec2:us-east-1:123456789012:instance/i-1",
            kind=IdentityKind.COMPUTE_INSTANCE,
            display_name="i-1",
            source="aws",
        ),
        Identity(
            external_id="AKIAEXAMPLE", kind=IdentityKind.ACCESS_KEY, display_name="AKIAEXAMPLE", source="aws"
        ),
    ]
    policies = [
        Policy(
            external_id="arn:aws:iam::aws:policy/ReadOnlyAccess",
            name="ReadOnlyAccess",
            kind=PolicyKind.MANAGED,
            managed_by_cloud=True,
            document={},
        ),
        Policy(
            external_id=arn("policy", "team-o'neil"),
            name="team-o'neil",
            kind=PolicyKind.MANAGED,
            managed_by_cloud=False,
            document={},
        ),
        Policy(
            external_id=f"{ALICE}#inline",
            name="inline",
            kind=PolicyKind.INLINE,
            managed_by_cloud=False,
            document={},
        ),
        Policy(
            external_id=f"{ADMIN_ROLE}#trust",
            name="trust",
            kind=PolicyKind.TRUST,
            managed_by_cloud=False,
            document=trust({"AWS": ALICE}),
        ),
        Policy(
            external_id=f"{SSO_ROLE}#trust",
            name="trust",
            kind=PolicyKind.TRUST,
            managed_by_cloud=False,
            document=trust({"Federated": "arn:aws:iam::123456789012:saml-provider/AWSSSO"}),
        ),
    ]
    assignments = [
        Assignment(
            identity_external_id=ADMIN_ROLE,
            policy_external_id=f"{ADMIN_ROLE}#trust",
            relation=AssignmentRelation.TRUST,
            scope=ACCOUNT,
        ),
        Assignment(
            identity_external_id=SSO_ROLE,
            policy_external_id=f"{SSO_ROLE}#trust",
            relation=AssignmentRelation.TRUST,
            scope=ACCOUNT,
        ),
    ]
    resources = [
        Resource(external_id=BUCKET, resource_type="bucket", service="s3", display_name="logs-bucket"),
        Resource(
            external_id="arn:aws:ec2:us-east-1:123456789012:instance/i-1",
            resource_type="instance",
            service="ec2",
            display_name="i-1",
        ),
    ]
    seed(engine, identities=identities, policies=policies, resources=resources, assignments=assignments)
    seed(engine, system_id="999999999999", name="other", identities=[user("carol", "999999999999")])
    add_actions(
        engine,
        [
            ("s3:GetObject", "normal", "read", ["object"]),
            ("s3:DeleteBucket", "high", "delete", ["bucket"]),
            ("ec2:RunInstances", "high", None, ["instance"]),
            ("iam:CreateUser", "high", None, ["user"]),
        ],
    )


def values(client: TestClient, url: str) -> list[dict[str, Any]]:
    response = client.get(url)
    assert response.status_code == 200, response.text
    return list(response.json()["value"])


def ids(client: TestClient, url: str) -> list[str]:
    return sorted(item["externalId"] for item in values(client, url))


def test_all_identities_carry_their_aws_subtype(client: TestClient, inventory: None) -> None:
    items = values(client, f"{P}/associatedIdentities/all?$orderby=displayName")
    assert {item["displayName"]: item["@odata.type"].removeprefix("#microsoft.graph.") for item in items} == {
        "AKIAEXAMPLE": "awsAccessKey",
        "Admin": "awsRole",
        "AWSReservedSSO_ReadOnly": "awsRole",
        "alice": "awsUser",
        "bob": "awsUser",
        "devs": "awsGroup",
        "f1": "awsLambda",
        "i-1": "awsEc2Instance",
        "lambda-exec": "awsRole",
    }
    alice = next(item for item in items if item["displayName"] == "alice")
    assert alice == {
        "@odata.type": "#microsoft.graph.awsUser",
        "id": encode_id(ALICE),
        "externalId": ALICE,
        "displayName": "alice",
        "source": {
            "@odata.type": "#microsoft.graph.awsSource",
            "identityProviderType": "aws",
            "accountId": ACCOUNT,
        },
    }


@pytest.mark.postgres
def test_users_and_roles(client: TestClient, inventory: None) -> None:
    assert ids(client, f"{P}/associatedIdentities/users") == [ALICE, arn("user", "bob")]
    roles = {item["displayName"]: item for item in values(client, f"{P}/associatedIdentities/roles")}
    assert (roles["Admin"]["roleType"], roles["Admin"]["trustEntityType"]) == ("custom", "crossAccount")
    sso = roles["AWSReservedSSO_ReadOnly"]
    assert (sso["roleType"], sso["trustEntityType"]) == ("system", "sso,webIdentity")
    assert roles["lambda-exec"]["trustEntityType"] == "none"
    assert ids(client, f"{P}/associatedIdentities/roles?$filter=roleType eq 'system'") == [SSO_ROLE]
    assert ids(
        client, f"{P}/associatedIdentities/all?$filter=roleType ne 'system' and startswith(displayName,'A')"
    ) == [
        "AKIAEXAMPLE",
        ADMIN_ROLE,
    ]
    assert ids(client, f"{P}/associatedIdentities/users?$filter=contains(displayName,'lic')") == [ALICE]


@pytest.mark.parametrize("cast", ["microsoft.graph.awsAuthorizationSystem", "graph.awsAuthorizationSystem"])
def test_identity_by_id_and_by_alternate_key(client: TestClient, inventory: None, cast: str) -> None:
    base = f"{AS}/{encode_id(ACCOUNT)}/{cast}/associatedIdentities"
    assert client.get(f"{base}/users/{encode_id(ALICE)}").json()["externalId"] == ALICE
    assert client.get(f"{base}/all/{encode_id(ADMIN_ROLE)}").json()["roleType"] == "custom"
    for key in (f"'{ALICE}'", ALICE, quote(f"'{ALICE}'", safe="")):
        response = client.get(f"{base}/users(externalId={key})")
        assert response.status_code == 200, (key, response.text)
        assert response.json()["id"] == encode_id(ALICE)
    selected = client.get(f"{base}/roles(externalId='{ADMIN_ROLE}')?$select=displayName").json()
    assert set(selected) == {"@odata.context", "@odata.type", "id", "displayName"}
    assert_error(client.get(f"{base}/roles/{encode_id(ALICE)}"), 404, "itemNotFound")  # a user is not a role
    assert_error(
        client.get(f"{base}/users/{encode_id('arn:aws:iam::123456789012:user/zoe')}"), 404, "itemNotFound"
    )
    assert_error(client.get(f"{base}/users/!!!"), 404, "itemNotFound")
    assert_error(
        client.get(f"{base}/users(externalId='{arn('user', 'carol', '999999999999')}')"), 404, "itemNotFound"
    )
    assert_error(client.get(f"{AS}/555555555555/{cast}/associatedIdentities/all"), 404, "itemNotFound")


def test_assumable_roles(client: TestClient, inventory: None) -> None:
    roles = values(client, f"{P}/associatedIdentities/users/{encode_id(ALICE)}/assumableRoles")
    assert [(r["@odata.type"], r["externalId"]) for r in roles] == [("#microsoft.graph.awsRole", ADMIN_ROLE)]
    assert (
        values(client, f"{P}/associatedIdentities/users(externalId='{arn('user', 'bob')}')/assumableRoles")
        == []
    )
    body = client.get(
        f"{P}/associatedIdentities/users/{encode_id(ALICE)}/assumableRoles?$count=true&$select=displayName"
    )
    assert body.json()["@odata.count"] == 1
    assert_error(
        client.get(f"{P}/associatedIdentities/users/{encode_id(ADMIN_ROLE)}/assumableRoles"),
        404,
        "itemNotFound",
    )


def test_assumable_roles_lists_what_the_workflow_returns(
    client: TestClient, inventory: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import permscope.workflows.identities as workflow

    seen: list[tuple[str, str]] = []

    def fake(engine: Engine, system_id: str, user_external_id: str) -> list[str]:
        seen.append((system_id, user_external_id))
        return [SSO_ROLE, arn("role", "lambda-exec"), arn("role", "not-stored")]

    monkeypatch.setattr(workflow, "assumable_roles", fake)
    url = f"{P}/associatedIdentities/users/{encode_id(ALICE)}/assumableRoles?$filter=roleType eq 'custom'"
    assert ids(client, url) == [arn("role", "lambda-exec")]
    assert seen == [(ACCOUNT, ALICE)]


@pytest.mark.postgres
def test_policies_are_the_managed_ones(client: TestClient, inventory: None) -> None:
    items = values(client, f"{P}/policies?$orderby=displayName")
    assert items == [
        {
            "id": encode_id("arn:aws:iam::aws:policy/ReadOnlyAccess"),
            "externalId": "arn:aws:iam::aws:policy/ReadOnlyAccess",
            "displayName": "ReadOnlyAccess",
            "awsPolicyType": "system",
        },
        {
            "id": encode_id(arn("policy", "team-o'neil")),
            "externalId": arn("policy", "team-o'neil"),
            "displayName": "team-o'neil",
            "awsPolicyType": "custom",
        },
    ]
    assert ids(client, f"{P}/policies?$filter=awsPolicyType eq 'custom'") == [arn("policy", "team-o'neil")]
    assert ids(client, f"{P}/policies?$filter=type eq 'system'") == ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
    escaped = quote("displayName eq 'team-o''neil'")
    assert ids(client, f"{P}/policies?$filter={escaped}") == [arn("policy", "team-o'neil")]
    key = quote("'" + arn("policy", "team-o''neil") + "'")
    assert client.get(f"{P}/policies(externalId={key})").json()["displayName"] == "team-o'neil"
    assert (
        client.get(f"{P}/policies/{encode_id('arn:aws:iam::aws:policy/ReadOnlyAccess')}").status_code == 200
    )
    assert_error(client.get(f"{P}/policies/{encode_id(ALICE + '#inline')}"), 404, "itemNotFound")


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("service/id eq 's3'", ["s3:DeleteBucket", "s3:GetObject"]),
        ("service/id ne 's3'", ["ec2:RunInstances", "iam:CreateUser"]),
        ("service/id gt 'ec2'", ["iam:CreateUser", "s3:DeleteBucket", "s3:GetObject"]),
        ("service/id ge 'iam'", ["iam:CreateUser", "s3:DeleteBucket", "s3:GetObject"]),
        ("service/id lt 'iam'", ["ec2:RunInstances"]),
        ("service/id le 'iam'", ["ec2:RunInstances", "iam:CreateUser"]),
        ("severity eq 'high' and actionType eq null", ["ec2:RunInstances", "iam:CreateUser"]),
        ("actionType ne 'delete'", ["ec2:RunInstances", "iam:CreateUser", "s3:GetObject"]),
        ("not (actionType eq 'read')", ["ec2:RunInstances", "iam:CreateUser", "s3:DeleteBucket"]),
        ("actionType eq 'delete' or externalId eq 'iam:CreateUser'", ["iam:CreateUser", "s3:DeleteBucket"]),
        ("externalId in ('s3:GetObject', 'ec2:RunInstances')", ["ec2:RunInstances", "s3:GetObject"]),
        ("contains(externalId, 'Object')", ["s3:GetObject"]),
        ("contains(externalId, 'object')", []),
        ("startswith(externalId, 'S3')", []),
    ],
)
def test_action_filters(client: TestClient, inventory: None, query: str, expected: list[str]) -> None:
    assert ids(client, f"{P}/actions?$filter={quote(query)}") == expected


def test_actions_shape_and_keys(client: TestClient, inventory: None) -> None:
    action = client.get(f"{P}/actions/{encode_id('s3:GetObject')}").json()
    assert {k: v for k, v in action.items() if k != "@odata.context"} == {
        "@odata.type": "#microsoft.graph.awsAuthorizationSystemTypeAction",
        "id": encode_id("s3:GetObject"),
        "externalId": "s3:GetObject",
        "actionType": "read",
        "resourceTypes": ["object"],
        "severity": "normal",
        "service": {"id": "s3"},
    }
    assert client.get(f"{P}/actions(externalId=iam:CreateUser)").json()["severity"] == "high"
    assert client.get(f"{P}/actions(externalId='iam:CreateUser')").json()["actionType"] is None
    assert_error(client.get(f"{P}/actions(externalId='s3:Nope')"), 404, "itemNotFound")
    body = client.get(f"{P}/actions?$count=true&$top=1&$orderby=externalId desc&$select=severity").json()
    assert body["@odata.count"] == 4
    assert body["value"] == [
        {
            "@odata.type": "#microsoft.graph.awsAuthorizationSystemTypeAction",
            "id": encode_id("s3:GetObject"),
            "severity": "normal",
        }
    ]


@pytest.mark.postgres
def test_services(client: TestClient, inventory: None) -> None:
    assert values(client, f"{P}/services") == [{"id": "ec2"}, {"id": "iam"}, {"id": "s3"}]
    assert values(client, f"{P}/services?$orderby=id desc&$top=2") == [{"id": "s3"}, {"id": "iam"}]
    assert values(client, f"{P}/services?$filter=id in ('s3','kms')") == [{"id": "s3"}]
    assert client.get(f"{P}/services?$count=true").json()["@odata.count"] == 3
    assert client.get(f"{P}/services/iam").json()["id"] == "iam"
    assert_error(client.get(f"{P}/services/kms"), 404, "itemNotFound")


@pytest.mark.postgres
def test_resources(client: TestClient, inventory: None) -> None:
    assert ids(client, f"{P}/resources?$filter=service/id eq 's3'") == [BUCKET]
    assert ids(client, f"{P}/resources?$filter=resourceType eq 'instance'") == [
        "arn:aws:ec2:us-east-1:123456789012:instance/i-1"
    ]
    bucket = client.get(f"{P}/resources(externalId={BUCKET})").json()
    assert {k: v for k, v in bucket.items() if k != "@odata.context"} == {
        "@odata.type": "#microsoft.graph.awsAuthorizationSystemResource",
        "id": encode_id(BUCKET),
        "externalId": BUCKET,
        "displayName": "logs-bucket",
        "resourceType": "bucket",
        "service": {"id": "s3"},
    }
    assert client.get(f"{P}/resources/{encode_id(BUCKET)}").json()["externalId"] == BUCKET
    assert_error(
        client.get(f"{P}/resources?$count=true"), 400, "invalidRequest"
    )  # the contract has no $count here
    assert values(client, f"{AS}/999999999999/microsoft.graph.awsAuthorizationSystem/resources") == []


def test_unknown_properties_and_wrong_types_are_400(client: TestClient, inventory: None) -> None:
    error = assert_error(
        client.get(f"{P}/associatedIdentities/all?$filter=foo eq 'x'"), 400, "invalidRequest"
    )
    assert error["message"] == "unknown property 'foo' in $filter at position 0"
    assert_error(client.get(f"{P}/actions?$filter=severity eq true"), 400, "invalidRequest")
    assert_error(client.get(f"{P}/actions?$filter=(severity eq 'high'"), 400, "invalidRequest")
    assert_error(client.get(f"{P}/policies?$select=document"), 400, "invalidRequest")
    assert_error(client.get(f"{P}/services?$orderby=name"), 400, "invalidRequest")


@pytest.mark.postgres
@pytest.mark.parametrize(
    "url",
    [
        f"{P}/associatedIdentities/all?$filter=displayName eq 'x%00'",
        f"{P}/associatedIdentities/all?$filter=contains(displayName,'%00')",
        f"{P}/associatedIdentities/all(externalId='a%00b')",
        f"{P}/associatedIdentities/users/{encode_id('a' + chr(0))}",
        f"{AS}/a%00b",
    ],
)
def test_nul_characters_are_refused_on_every_backend(client: TestClient, engine: Engine, url: str) -> None:
    seed(engine, identities=[user("alice")])
    response = client.get(url)
    assert response.status_code in (400, 404), response.text
    assert_error(
        response, response.status_code, "invalidRequest" if response.status_code == 400 else "itemNotFound"
    )
