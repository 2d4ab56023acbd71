"""Authorization systems: mixed list, type casts (both prefixes), ids base64 and raw, filters, order, select."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from permscope.core.ids import Cloud, encode_id

from .factories import AS, assert_error, seed

STATUS = "dataCollectionInfo/entitlements/microsoft.graph.entitlementsDataCollection/status"
CAPABILITY = "dataCollectionInfo/entitlements/microsoft.graph.entitlementsDataCollection/permissionsModificationCapability"
COLLECTED = (
    "dataCollectionInfo/entitlements/microsoft.graph.entitlementsDataCollection/lastCollectionDateTime"
)


@pytest.fixture
def systems(engine: Engine) -> None:
    seed(
        engine,
        system_id="111111111111",
        name="alpha",
        modification_enabled=True,
        at=datetime(2025, 1, 1, tzinfo=UTC),
    )
    seed(engine, system_id="222222222222", name="beta-prod", at=datetime(2025, 2, 1, tzinfo=UTC))
    seed(
        engine,
        cloud=Cloud.AZURE,
        system_id="0a1b2c3d-sub",
        name="gamma-prod",
        at=datetime(2025, 3, 1, tzinfo=UTC),
    )
    seed(
        engine, cloud=Cloud.GCP, system_id="delta-project", name="delta", at=datetime(2025, 4, 1, tzinfo=UTC)
    )


def names(client: TestClient, url: str) -> list[str]:
    response = client.get(url)
    assert response.status_code == 200, response.text
    return [item["authorizationSystemName"] for item in response.json()["value"]]


def test_list_has_every_subtype_in_the_contract_shape(client: TestClient, systems: None) -> None:
    body = client.get(AS).json()
    assert body["@odata.context"] == "http://127.0.0.1:8000/$metadata#external/authorizationSystems"
    assert "@odata.nextLink" not in body and "@odata.count" not in body
    by_name = {item["authorizationSystemName"]: item for item in body["value"]}
    assert {item["@odata.type"] for item in body["value"]} == {
        "#microsoft.graph.awsAuthorizationSystem",
        "#microsoft.graph.azureAuthorizationSystem",
        "#microsoft.graph.gcpAuthorizationSystem",
    }
    assert by_name["alpha"] == {
        "@odata.type": "#microsoft.graph.awsAuthorizationSystem",
        "id": "MTExMTExMTExMTEx",
        "authorizationSystemId": "111111111111",
        "authorizationSystemName": "alpha",
        "authorizationSystemType": "aws",
        "dataCollectionInfo": {
            "entitlements": {
                "@odata.type": "#microsoft.graph.entitlementsDataCollection",
                "lastCollectionDateTime": "2025-01-01T00:00:00Z",
                "permissionsModificationCapability": "enabled",
                "status": "online",
            }
        },
    }
    assert by_name["beta-prod"]["dataCollectionInfo"]["entitlements"][
        "permissionsModificationCapability"
    ] == ("notConfigured")


@pytest.mark.postgres
@pytest.mark.parametrize("prefix", ["microsoft.graph.", "graph."])
def test_type_cast_lists(client: TestClient, systems: None, prefix: str) -> None:
    assert sorted(names(client, f"{AS}/{prefix}awsAuthorizationSystem")) == ["alpha", "beta-prod"]
    assert names(client, f"{AS}/{prefix}azureAuthorizationSystem") == ["gamma-prod"]
    assert names(
        client, f"{AS}/{prefix}gcpAuthorizationSystem?$filter=authorizationSystemName eq 'delta'"
    ) == ["delta"]


def test_get_by_base64_id_and_by_raw_id(client: TestClient, systems: None) -> None:
    for key in (encode_id("222222222222"), "222222222222", "MjIyMjIyMjIyMjIy"):
        body = client.get(f"{AS}/{key}").json()
        assert body["authorizationSystemName"] == "beta-prod"
        assert body["id"] == "MjIyMjIyMjIyMjIy"
        assert body["@odata.context"].endswith("$metadata#external/authorizationSystems/$entity")
    assert client.get(f"{AS}/{encode_id('delta-project')}").json()["authorizationSystemType"] == "gcp"


@pytest.mark.parametrize("prefix", ["microsoft.graph.", "graph."])
def test_get_with_type_cast(client: TestClient, systems: None, prefix: str) -> None:
    body = client.get(f"{AS}/111111111111/{prefix}awsAuthorizationSystem").json()
    assert body["authorizationSystemName"] == "alpha"
    assert_error(client.get(f"{AS}/delta-project/{prefix}awsAuthorizationSystem"), 404, "itemNotFound")
    assert client.get(f"{AS}/delta-project/{prefix}gcpAuthorizationSystem").status_code == 200


def test_unknown_system_is_404(client: TestClient, systems: None) -> None:
    error = assert_error(client.get(f"{AS}/999999999999"), 404, "itemNotFound")
    assert "999999999999" in error["message"]
    assert_error(client.get(f"{AS}/{encode_id('nope')}"), 404, "itemNotFound")


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("authorizationSystemType eq 'AWS'", ["alpha", "beta-prod"]),
        ("authorizationSystemType eq 'Azure'", ["gamma-prod"]),
        ("authorizationSystemType ne 'aws'", ["delta", "gamma-prod"]),
        ("authorizationSystemType in ('GCP', 'azure')", ["delta", "gamma-prod"]),
        ("authorizationSystemId eq '111111111111'", ["alpha"]),
        ("contains(authorizationSystemName, '-prod')", ["beta-prod", "gamma-prod"]),
        ("contains(authorizationSystemName, '-PROD')", []),
        ("startswith(authorizationSystemName, 'be')", ["beta-prod"]),
        ("authorizationSystemName gt 'beta-prod'", ["delta", "gamma-prod"]),
        ("authorizationSystemName ge 'beta-prod'", ["beta-prod", "delta", "gamma-prod"]),
        ("authorizationSystemName lt 'beta-prod'", ["alpha"]),
        ("authorizationSystemName le 'beta-prod'", ["alpha", "beta-prod"]),
        (f"{COLLECTED} gt 2025-02-01T00:00:00Z", ["delta", "gamma-prod"]),
        (f"{COLLECTED} le 2025-02-01T00:00:00Z", ["alpha", "beta-prod"]),
        (f"{CAPABILITY} eq 'enabled'", ["alpha"]),
        (
            f"{CAPABILITY.replace('microsoft.graph.', 'graph.')} eq 'notConfigured'",
            ["beta-prod", "delta", "gamma-prod"],
        ),
        (f"authorizationSystemType eq 'aws' and {STATUS} eq 'online'", ["alpha", "beta-prod"]),
        ("dataCollectionInfo/entitlements/status eq 'offline'", []),
        ("authorizationSystemName eq 'alpha' or authorizationSystemName eq 'delta'", ["alpha", "delta"]),
        ("not (authorizationSystemType eq 'aws')", ["delta", "gamma-prod"]),
        (
            "not authorizationSystemType eq 'aws' and contains(authorizationSystemName,'a')",
            ["delta", "gamma-prod"],
        ),
    ],
)
def test_filters(client: TestClient, systems: None, query: str, expected: list[str]) -> None:
    assert sorted(names(client, f"{AS}?$filter={quote(query)}")) == expected


@pytest.mark.postgres
def test_orderby_skip_top_select_count(client: TestClient, systems: None) -> None:
    assert names(client, f"{AS}?$orderby=authorizationSystemName desc") == [
        "gamma-prod",
        "delta",
        "beta-prod",
        "alpha",
    ]
    assert names(client, f"{AS}?$orderby=authorizationSystemType,authorizationSystemName desc") == [
        "beta-prod",
        "alpha",
        "gamma-prod",
        "delta",
    ]
    assert names(client, f"{AS}?$orderby=authorizationSystemName&$skip=1&$top=2") == ["beta-prod", "delta"]
    body = client.get(
        f"{AS}?$select=authorizationSystemName&$count=true&$top=1&$orderby=authorizationSystemName"
    ).json()
    assert body["@odata.count"] == 4
    assert body["value"] == [
        {
            "@odata.type": "#microsoft.graph.awsAuthorizationSystem",
            "id": "MTExMTExMTExMTEx",
            "authorizationSystemName": "alpha",
        }
    ]
    assert "$skiptoken=" in body["@odata.nextLink"]  # $top is the page size; the walk goes on
    second = client.get(body["@odata.nextLink"]).json()
    assert [item["authorizationSystemName"] for item in second["value"]] == ["beta-prod"]
    one = client.get(f"{AS}/111111111111?$select=authorizationSystemId").json()
    assert set(one) == {"@odata.context", "@odata.type", "id", "authorizationSystemId"}


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("$filter=foo eq 'x'", "unknown property 'foo' in $filter at position 0"),
        (
            "$filter=authorizationSystemName eq",
            "expected a literal in $filter at position 26, found end of input",
        ),
        ("$filter=authorizationSystemName eq 5", "expects a string, got a number in $filter at position 27"),
        (
            "$filter=contains(authorizationSystemName, 1)",
            "expects a string, got a number in $filter at position 34",
        ),
        ("$orderby=nope", "unknown property 'nope' in $orderby at position 0"),
        ("$select=nope", "unknown property 'nope' in $select"),
        ("$top=-1", "$top must be a non-negative integer"),
        ("$top=abc", "$top must be a non-negative integer"),
        ("$skip=x", "$skip must be a non-negative integer"),
        ("$count=maybe", "$count must be true or false"),
        ("$expand=foo", "query option '$expand' is not supported"),
        ("$top=1&$top=2", "more than once"),
        ("$skiptoken=garbage!", "$skiptoken is not valid"),
    ],
)
def test_bad_options_are_400(client: TestClient, systems: None, query: str, fragment: str) -> None:
    error = assert_error(client.get(f"{AS}?{query.replace(' ', '%20')}"), 400, "invalidRequest")
    assert fragment in error["message"]


def test_an_id_in_two_clouds_is_a_400_naming_them_unless_cast(engine: Engine, client: TestClient) -> None:
    seed(engine, system_id="shared", name="on-aws")
    seed(engine, cloud=Cloud.GCP, system_id="shared", name="on-gcp")
    for given in ("shared", encode_id("shared")):
        error = assert_error(client.get(f"{AS}/{given}"), 400, "invalidRequest")
        assert "several clouds (aws, gcp)" in error["message"]
        assert "microsoft.graph.awsAuthorizationSystem" in error["message"]  # says how to name the cloud
        cast = client.get(f"{AS}/{given}/microsoft.graph.gcpAuthorizationSystem")
        assert cast.status_code == 200 and cast.json()["authorizationSystemName"] == "on-gcp"
    identities = client.get(f"{AS}/shared/microsoft.graph.awsAuthorizationSystem/associatedIdentities/all")
    assert identities.status_code == 200
