"""The GCP routes of the contract answer from the store: an imported export folder's projects, identities (all,
users, serviceAccounts), roles, actions, resources, services, findings and PCI distributions."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.factories import assert_error
from clouds.gcp.support import DEPLOYER, EXPORT, PAY, PUBLIC_BUCKET
from permscope.api.app import create_app
from permscope.core.ids import Cloud, encode_id
from permscope.core.snapshot import AnalysisSettings
from permscope.settings import Settings
from permscope.workflows.analysis import analyze_system
from permscope.workflows.apikeys import ApiRole, KeyScope, create_api_key
from permscope.workflows.collection import import_files

AS = "/external/authorizationSystems"
G = f"{AS}/{PAY}/microsoft.graph.gcpAuthorizationSystem"
ANALYTICS = "/identityGovernance/permissionsAnalytics/gcp"


@pytest.fixture
def gcp(engine: Engine, token: str) -> Iterator[TestClient]:
    import_files(engine, Cloud.GCP, [EXPORT])
    for project in (PAY, "web-dev"):
        analyze_system(engine, project, AnalysisSettings(), cloud=Cloud.GCP)
    app = create_app(engine, Settings(database_url="sqlite://", page_size=100))
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        yield client


def values(client: TestClient, url: str, **params: str) -> list[dict]:  # type: ignore[type-arg]
    response = client.get(url, params=params)
    assert response.status_code == 200, response.text
    return response.json()["value"]  # type: ignore[no-any-return]


def test_projects_are_gcp_authorization_systems(gcp: TestClient) -> None:
    systems = values(gcp, f"{AS}/microsoft.graph.gcpAuthorizationSystem")
    assert {s["authorizationSystemId"] for s in systems} == {PAY, "web-dev"}
    one = gcp.get(f"{AS}/{encode_id(PAY)}").json()
    assert one["@odata.type"] == "#microsoft.graph.gcpAuthorizationSystem"
    assert one["authorizationSystemName"] == "Payments production"
    assert one["dataCollectionInfo"]["entitlements"]["status"] == "online"


def test_associated_identities_by_set_id_and_external_id(gcp: TestClient) -> None:
    everyone = values(gcp, f"{G}/associatedIdentities/all")
    types = {i["@odata.type"] for i in everyone}
    assert types == {
        "#microsoft.graph.gcpUser",
        "#microsoft.graph.gcpGroup",
        "#microsoft.graph.gcpServiceAccount",
    }
    users = values(gcp, f"{G}/associatedIdentities/users")
    assert all(u["@odata.type"] == "#microsoft.graph.gcpUser" for u in users) and len(users) == 9
    alice = next(u for u in users if u["externalId"] == "user:alice@example.com")
    assert alice["source"] == {"@odata.type": "#microsoft.graph.gsuiteSource", "identityProviderType": "gsuite",
                               "domain": "example.com"}  # fmt: skip
    accounts = values(
        gcp, f"{G}/associatedIdentities/serviceAccounts", **{"$filter": f"externalId eq '{DEPLOYER}'"}
    )
    assert [a["displayName"] for a in accounts] == ["Deployer"]
    by_id = gcp.get(f"{G}/associatedIdentities/serviceAccounts/{encode_id(DEPLOYER)}")
    assert by_id.status_code == 200 and by_id.json()["externalId"] == DEPLOYER
    by_key = gcp.get(
        f"{G}/associatedIdentities/all(externalId='{DEPLOYER}')", params={"$select": "actionSummary"}
    )
    assert by_key.status_code == 200 and by_key.json()["actionSummary"]["assigned"] > 10_000
    assert_error(gcp.get(f"{G}/associatedIdentities/users/{encode_id(DEPLOYER)}"), 404, "itemNotFound")


def test_roles_actions_services_resources(gcp: TestClient) -> None:
    roles = values(gcp, f"{G}/roles")
    owner = next(r for r in roles if r["externalId"] == "roles/owner")
    assert owner["gcpRoleType"] == "system" and {"id": "storage"} in [s["service"] for s in owner["scopes"]]
    custom = values(gcp, f"{G}/roles", **{"$filter": "gcpRoleType eq 'custom'"})
    assert {r["externalId"] for r in custom} == {
        "organizations/100200300/roles/auditor",
        "projects/pay-prod/roles/deployer",
    }
    one = gcp.get(f"{G}/roles(externalId='projects/pay-prod/roles/deployer')")
    assert one.status_code == 200 and one.json()["displayName"] == "Deployer"
    actions = values(gcp, f"{G}/actions", **{"$filter": "service/id eq 'storage'", "$top": "500"})
    assert actions and all(a["externalId"].startswith("storage.") for a in actions)
    action = gcp.get(f"{G}/actions(externalId=iam.serviceAccounts.actAs)").json()
    assert (
        action["@odata.type"] == "#microsoft.graph.gcpAuthorizationSystemTypeAction"
        and action["severity"] == "high"
    )
    services = values(gcp, f"{G}/services", **{"$top": "1000"})
    assert {"id": "storage"} in services and {"id": "resourcemanager"} in services
    resources = values(gcp, f"{G}/resources")
    bucket = next(r for r in resources if r["externalId"] == PUBLIC_BUCKET)
    assert bucket["@odata.type"] == "#microsoft.graph.gcpAuthorizationSystemResource"
    assert (
        bucket["service"] == {"id": "storage"} and bucket["resourceType"] == "storage.googleapis.com/Bucket"
    )


def test_gcp_findings_and_pci_distributions_answer_with_data(gcp: TestClient) -> None:
    supers = values(gcp, f"{ANALYTICS}/findings/microsoft.graph.superUserFinding")
    alice = next(f for f in supers if f["identity"]["externalId"] == "user:alice@example.com")
    assert alice["identity"]["@odata.type"] == "#microsoft.graph.gcpUser"
    assert alice["identity"]["authorizationSystem"]["authorizationSystemType"] == "gcp"
    distributions = values(gcp, f"{ANALYTICS}/permissionsCreepIndexDistributions")
    assert {d["authorizationSystem"]["authorizationSystemId"] for d in distributions} == {PAY, "web-dev"}


def test_a_key_reads_only_its_projects(engine: Engine, gcp: TestClient) -> None:
    scoped = create_api_key(engine, ApiRole.SCOPED, "s", scopes=[KeyScope.parse("viewer:gcp:web-dev")]).token
    hidden = gcp.get(f"{G}/roles", headers={"Authorization": f"Bearer {scoped}"})
    assert_error(hidden, 404, "itemNotFound")
    seen = gcp.get(
        f"{AS}/web-dev/microsoft.graph.gcpAuthorizationSystem/roles",
        headers={"Authorization": f"Bearer {scoped}"},
    )
    assert seen.status_code == 200
