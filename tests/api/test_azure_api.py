"""The Azure routes of the contract answer from the store (SQLite and PostgreSQL): the subscription as an
azureAuthorizationSystem, its identities by subtype, role definitions, actions, services, resources, the
effective-permissions extension, and its findings, summaries and PCI distributions."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from permscope.api.app import create_app
from permscope.core.ids import Cloud, encode_id
from permscope.settings import Settings
from permscope.workflows.analysis import analyze_all
from permscope.workflows.apikeys import ApiRole, create_api_key
from permscope.workflows.collection import import_files

from .factories import AS, assert_error

EXPORT = Path(__file__).resolve().parents[1] / "clouds" / "azure" / "data" / "export"
PROD = "aaaaaaaa-0000-4000-8000-000000000001"
Z = f"{AS}/{PROD}/microsoft.graph.azureAuthorizationSystem"
ANALYTICS = "/identityGovernance/permissionsAnalytics/azure"
ALICE = "a11ce000-0000-4000-8000-000000000001"
DEPLOY_SP = "5e2f0000-0000-4000-8000-0000000000b1"
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
STPUBLIC = (
    f"/subscriptions/{PROD}/resourcegroups/rg-data/providers/microsoft.storage/storageaccounts/stpublic"
)


@pytest.fixture
def api(engine: Engine) -> Iterator[TestClient]:
    import_files(engine, Cloud.AZURE, [EXPORT])
    analyze_all(engine)
    app = create_app(engine, Settings(database_url="sqlite://", page_size=100))
    token = create_api_key(engine, ApiRole.VIEWER, "v").token
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        yield client


def test_subscriptions_are_azure_authorization_systems(api: TestClient) -> None:
    listed = api.get(f"{AS}/microsoft.graph.azureAuthorizationSystem").json()["value"]
    assert {s["authorizationSystemId"] for s in listed} == {PROD, "bbbbbbbb-0000-4000-8000-000000000002"}
    one = api.get(f"{AS}/{encode_id(PROD)}/microsoft.graph.azureAuthorizationSystem").json()
    assert (
        one["@odata.type"] == "#microsoft.graph.azureAuthorizationSystem"
        and one["authorizationSystemName"] == "prod-eu"
    )
    assert one["dataCollectionInfo"]["entitlements"]["status"] == "online"
    assert_error(
        api.get(f"{AS}/{PROD}/microsoft.graph.awsAuthorizationSystem/associatedIdentities/all"),
        404,
        "itemNotFound",
    )


def test_identities_by_subtype(api: TestClient) -> None:
    everyone = api.get(f"{Z}/associatedIdentities/all?$count=true").json()
    assert everyone["@odata.count"] == 11
    types = {item["@odata.type"] for item in everyone["value"]}
    assert types == {
        f"#microsoft.graph.azure{t}"
        for t in ("User", "Group", "ServicePrincipal", "ManagedIdentity", "ServerlessFunction")
    }
    users = api.get(f"{Z}/associatedIdentities/users?$filter=startswith(displayName,'Alice')").json()["value"]
    assert [u["externalId"] for u in users] == [ALICE]
    assert users[0]["source"] == {
        "@odata.type": "#microsoft.graph.aadSource",
        "identityProviderType": "aad",
        "domain": None,
    }
    sps = api.get(f"{Z}/associatedIdentities/servicePrincipals").json()["value"]
    assert [s["externalId"] for s in sps] == [DEPLOY_SP]
    assert sps[0]["source"]["subscriptionId"] == PROD
    managed = api.get(f"{Z}/associatedIdentities/managedIdentities").json()["value"]
    assert len(managed) == 3
    upper = ALICE.upper()
    by_key = api.get(f"{Z}/associatedIdentities/users(externalId='{upper}')").json()
    assert by_key["externalId"] == ALICE  # Entra object ids compare in any case
    assert (
        api.get(f"{Z}/associatedIdentities/users/{encode_id(ALICE)}").json()["displayName"] == "Alice Admin"
    )
    assert_error(
        api.get(f"{Z}/associatedIdentities/servicePrincipals/{encode_id(ALICE)}"), 404, "itemNotFound"
    )
    selected = api.get(
        f"{Z}/associatedIdentities/users/{encode_id(ALICE)}?$select=displayName,actionSummary"
    ).json()
    assert selected["actionSummary"]["assigned"] > 3000


def test_role_definitions_actions_services_resources(api: TestClient) -> None:
    roles = api.get(f"{Z}/roleDefinitions?$filter=azureRoleDefinitionType eq 'custom'").json()["value"]
    assert [(r["displayName"], r["assignableScopes"]) for r in roles] == [
        ("VM Restarter", [f"/subscriptions/{PROD}"])
    ]
    owner = api.get(f"{Z}/roleDefinitions(externalId='{OWNER.upper()}')").json()
    assert owner["displayName"] == "Owner" and owner["azureRoleDefinitionType"] == "system"
    high = api.get(
        f"{Z}/actions?$filter=service/id eq 'Microsoft.Authorization' and severity eq 'high'&$count=true"
    ).json()
    assert high["@odata.count"] >= 20
    assert high["value"][0]["@odata.type"] == "#microsoft.graph.azureAuthorizationSystemTypeAction"
    action = api.get(f"{Z}/actions(externalId=microsoft.authorization/roleassignments/write)").json()
    assert (
        action["externalId"] == "Microsoft.Authorization/roleAssignments/write"
        and action["severity"] == "high"
    )
    services = api.get(f"{Z}/services?$count=true&$filter=startswith(id,'Microsoft.S')").json()
    assert "Microsoft.Storage" in [s["id"] for s in services["value"]]
    assert not api.get(f"{Z}/services?$filter=id eq 's3'").json()["value"]
    assert api.get(f"{Z}/services/Microsoft.Compute").json() == {
        "@odata.context": api.get(f"{Z}/services/Microsoft.Compute").json()["@odata.context"],
        "id": "Microsoft.Compute",
    }
    storage = api.get(f"{Z}/resources?$filter=resourceType eq 'Microsoft.Storage/storageAccounts'").json()[
        "value"
    ]
    assert {r["displayName"] for r in storage} == {"stpublic", "stcmk"}
    found = api.get(f"{Z}/resources(externalId='{quote(STPUBLIC.upper(), safe='')}')").json()
    assert found["externalId"] == STPUBLIC and found["service"] == {"id": "Microsoft.Storage"}


def test_effective_permissions_extension(api: TestClient) -> None:
    body = api.get(
        f"{Z}/associatedIdentities/users/{encode_id(ALICE)}/effectivePermissions?services=Microsoft.Storage"
    ).json()
    assert body["notGranted"] == 2  # the deny assignment removes storage account writes and deletes
    [storage] = body["services"]
    assert storage["service"] == "Microsoft.Storage"


def test_findings_summaries_and_pci_for_azure(api: TestClient) -> None:
    supers = api.get(f"{ANALYTICS}/findings/microsoft.graph.superUserFinding").json()["value"]
    assert {f["identity"]["externalId"] for f in supers} == {
        ALICE,
        "e2170000-0000-4000-8000-000000000005",
        "dead0000-0000-4000-8000-00000000dead",
    }
    assert all(f["identity"]["@odata.type"] == "#microsoft.graph.azureUser" for f in supers)
    sp = api.get(f"{ANALYTICS}/findings/microsoft.graph.superAzureServicePrincipalFinding").json()["value"]
    assert [f["identity"]["externalId"] for f in sp] == [DEPLOY_SP]
    functions = api.get(f"{ANALYTICS}/findings/microsoft.graph.inactiveServerlessFunctionFinding").json()[
        "value"
    ]
    assert len(functions) == 1
    groups = api.get(f"{ANALYTICS}/findings/microsoft.graph.inactiveGroupFinding").json()["value"]
    assert len(groups) == 2
    summary = api.get(
        f"{ANALYTICS}/findings/microsoft.graph.superUserFinding/aggregatedSummary(authorizationSystemIds=['{PROD}'])"
    )
    assert summary.status_code == 200, summary.text
    distributions = api.get(f"{ANALYTICS}/permissionsCreepIndexDistributions").json()["value"]
    assert {d["authorizationSystem"]["authorizationSystemId"] for d in distributions} >= {PROD}
