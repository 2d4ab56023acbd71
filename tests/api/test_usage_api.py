"""The usage extension on AWS identities: identityDetails.lastActiveDateTime and actionSummary.exercised."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from permscope.api.app import create_app
from permscope.core.activity import ActivitySource, IdentityActivity, SystemActivity
from permscope.core.inventory import Usage
from permscope.settings import Settings
from permscope.store.usage import merge_activity

from .factories import ACCOUNT, P, arn, role, seed, user

ALICE = arn("user", "alice")
DEPLOY = arn("role", "deploy")
AS_OF = datetime(2024, 6, 1, tzinfo=UTC)


def used(identity: str, action: str, days_before: float, count: int = 1) -> Usage:
    moment = AS_OF - timedelta(days=days_before)
    return Usage(
        identity_external_id=identity,
        action=action,
        resource=None,
        first_seen=moment,
        last_seen=moment,
        count=count,
    )


@pytest.fixture
def usage(engine: Engine) -> None:
    seed(engine, identities=[user("alice"), user("bob"), role("deploy")])
    merge_activity(
        engine,
        "aws",
        [
            SystemActivity(
                system_id=ACCOUNT,
                usages=[
                    used(ALICE, "s3:GetObject", 1, 5),
                    used(ALICE, "iam:GetUser", 30),
                    used(ALICE, "iam:ListUsers", 200),  # outside the 90 days
                    used(DEPLOY, "sts:AssumeRole", 2),
                ],
                activity=[
                    IdentityActivity(
                        identity_external_id=ALICE,
                        first_seen=AS_OF - timedelta(days=200),
                        last_seen=AS_OF - timedelta(days=1),
                        events=7,
                    ),
                    IdentityActivity(
                        identity_external_id=DEPLOY,
                        first_seen=AS_OF - timedelta(days=2),
                        last_seen=AS_OF - timedelta(days=2),
                        events=1,
                    ),
                ],
            )
        ],
        [ActivitySource(kind="file", key="k", location="/logs/a.json")],
    )


@pytest.fixture
def api(engine: Engine, token: str) -> Iterator[TestClient]:
    settings = Settings(database_url="sqlite://", usage_as_of=AS_OF, usage_window_days=90)
    with TestClient(
        create_app(engine, settings), headers={"Authorization": f"Bearer {token}"}
    ) as test_client:
        yield test_client


def by_name(api: TestClient, url: str) -> dict[str, dict[str, object]]:
    response = api.get(url)
    assert response.status_code == 200, response.text
    return {str(item["displayName"]): item for item in response.json()["value"]}


@pytest.mark.postgres
def test_identities_carry_usage_when_selected(api: TestClient, usage: None) -> None:
    items = by_name(api, f"{P}/associatedIdentities/all?$select=displayName,identityDetails,actionSummary")
    assert items["alice"]["identityDetails"] == {
        "createdDateTime": None,
        "lastActiveDateTime": "2024-05-31T00:00:00Z",
    }
    assert items["alice"]["actionSummary"] == {"assigned": None, "exercised": 2, "available": None}
    assert items["deploy"]["actionSummary"] == {"assigned": None, "exercised": 1, "available": None}
    assert items["bob"] == {
        "@odata.type": "#microsoft.graph.awsUser",
        "id": items["bob"]["id"],
        "displayName": "bob",
        "identityDetails": {"createdDateTime": None, "lastActiveDateTime": None},
        "actionSummary": {"assigned": None, "exercised": 0, "available": None},
    }


def test_the_contract_shape_is_unchanged_without_select(api: TestClient, usage: None) -> None:
    items = by_name(api, f"{P}/associatedIdentities/users")
    assert "identityDetails" not in items["alice"] and "actionSummary" not in items["alice"]


@pytest.mark.postgres
def test_one_identity_and_filters(api: TestClient, usage: None) -> None:
    key = quote(f"'{ALICE}'", safe="")
    response = api.get(f"{P}/associatedIdentities/users(externalId={key})?$select=actionSummary")
    assert response.status_code == 200, response.text
    assert response.json()["actionSummary"] == {"assigned": None, "exercised": 2, "available": None}
    active = by_name(
        api,
        f"{P}/associatedIdentities/all?$filter=identityDetails/lastActiveDateTime ge 2024-05-30T00:00:00Z",
    )
    assert set(active) == {"alice", "deploy"}
    recent = by_name(
        api,
        f"{P}/associatedIdentities/all?$filter=identityDetails/lastActiveDateTime gt 2024-05-30T12:00:00Z",
    )
    assert set(recent) == {"alice"}


@pytest.mark.postgres
def test_the_window_follows_the_settings(engine: Engine, token: str, usage: None) -> None:
    settings = Settings(database_url="sqlite://", usage_as_of=AS_OF, usage_window_days=300)
    with TestClient(create_app(engine, settings), headers={"Authorization": f"Bearer {token}"}) as wide:
        items = by_name(wide, f"{P}/associatedIdentities/users?$select=displayName,actionSummary")
    assert items["alice"]["actionSummary"] == {"assigned": None, "exercised": 3, "available": None}
    now = Settings(database_url="sqlite://")  # ending now: the 2024 activity is long past
    with TestClient(create_app(engine, now), headers={"Authorization": f"Bearer {token}"}) as current:
        items = by_name(current, f"{P}/associatedIdentities/users?$select=displayName,actionSummary")
    assert items["alice"]["actionSummary"] == {"assigned": None, "exercised": 0, "available": None}


def test_documented_in_openapi(api: TestClient) -> None:
    schemas = api.get("/openapi.json").json()["components"]["schemas"]
    properties = schemas["AwsIdentity"]["properties"]
    assert "permscope extension" in properties["identityDetails"]["description"]
    assert "$select" in properties["actionSummary"]["description"]
    assert "exercised" in schemas["ActionSummary"]["properties"]
    assert "lastActiveDateTime" in schemas["IdentityDetails"]["properties"]
