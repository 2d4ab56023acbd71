"""Permissions analytics API: findings lists ($filter, $orderby, paging), one finding, aggregatedSummary, PCI
distributions, and who may see what."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from analysis_support import ACCOUNT, APP, BOB, export
from permscope.analytics.analyze import AnalysisResult
from permscope.api.app import create_app
from permscope.core.findings import ActionSummary, Finding, FindingSubject, PciScore, Severity
from permscope.core.ids import Cloud, encode_id
from permscope.core.inventory import AuthorizationSystem, Identity, IdentityKind, InventoryBatch
from permscope.core.requests import SystemRole
from permscope.core.snapshot import SystemSnapshot
from permscope.settings import Settings
from permscope.store.ingest import ingest
from permscope.workflows.analysis import analyze_system
from permscope.workflows.apikeys import ApiRole, KeyScope, create_api_key
from permscope.workflows.collection import import_aws_files

from .factories import assert_error

A = "/identityGovernance/permissionsAnalytics/aws"
OTHER = "444455556666"
ID_FILTER = "identity/authorizationSystem/authorizationSystemId"


def _user(account: str, name: str) -> str:
    return f"arn:aws:iam::{account}:user/{name}"


def _inactive(account: str, name: str, score: int, tools: str | None = None) -> Finding:
    finding_type = "inactiveUserFinding" if tools is None else "securityToolAwsUserAdministratorFinding"
    return Finding(
        finding_type=finding_type,
        cloud=Cloud.AWS,
        system_id=account,
        subject=FindingSubject.IDENTITY,
        subject_id=_user(account, name),
        subject_name=name,
        severity=Severity.MEDIUM,
        summary=f"{name} is unused",
        properties={} if tools is None else {"securityTools": tools},
        action_summary=ActionSummary(assigned=5, exercised=0, available=100),
        pci=PciScore(score, {"unused": 5}),
    )


def _fake(findings: list[Finding]) -> Callable[[SystemSnapshot], AnalysisResult]:
    def analyzer(snapshot: SystemSnapshot) -> AnalysisResult:
        return AnalysisResult(findings=[f for f in findings if f.system_id == snapshot.system_id])

    return analyzer


def _other_account(engine: Engine) -> None:
    """A second account: three users and two access keys, analyzed with hand-made findings."""
    keys = [
        Identity(external_id=f"AKIA{i}", kind=IdentityKind.ACCESS_KEY, display_name=f"AKIA{i}", source="aws",
                 attributes={"owner": _user(OTHER, "u1"), "status": "active"})
        for i in range(2)
    ]  # fmt: skip
    users = [
        Identity(
            external_id=_user(OTHER, f"u{i}"), kind=IdentityKind.USER, display_name=f"u{i}", source="aws"
        )
        for i in range(1, 4)
    ]
    ingest(
        engine,
        InventoryBatch(
            system=AuthorizationSystem(cloud=Cloud.AWS, system_id=OTHER, name="other"),
            source="test",
            identities=users + keys,
        ),
    )
    key_finding = Finding(
        finding_type="awsIdentityAccessManagementKeyAgeFinding",
        cloud=Cloud.AWS,
        system_id=OTHER,
        subject=FindingSubject.ACCESS_KEY,
        subject_id="AKIA0",
        subject_name="AKIA0",
        severity=Severity.MEDIUM,
        summary="old key",
        properties={"status": "active", "awsAccessKeyDetails": {"createdDateTime": "2020-01-01T00:00:00Z"}},
        action_summary=ActionSummary(assigned=5, exercised=0, available=100),
        pci=PciScore(20),
    )
    findings = [
        _inactive(OTHER, "u1", 10),
        _inactive(OTHER, "u2", 90),
        _inactive(OTHER, "u3", 50),
        _inactive(OTHER, "u1", 70, tools="cloudTrail, guardDuty"),
        _inactive(OTHER, "u2", 70, tools="macie"),
        key_finding,
    ]
    analyze_system(engine, OTHER, analyzer=_fake(findings))


@pytest.fixture
def analyzed(engine: Engine, tmp_path: Path) -> Engine:
    path = tmp_path / "export.json"
    path.write_text(json.dumps(export()))
    import_aws_files(engine, [path])
    analyze_system(engine, ACCOUNT)
    _other_account(engine)
    return engine


def _client(engine: Engine, token: str | None) -> Iterator[TestClient]:
    app = create_app(engine, Settings(database_url="sqlite://", page_size=100))
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with TestClient(app, headers=headers) as client:
        yield client


@pytest.fixture
def api(analyzed: Engine) -> Iterator[TestClient]:
    yield from _client(analyzed, create_api_key(analyzed, ApiRole.VIEWER, "v").token)


def test_list_has_the_contract_shape(api: TestClient) -> None:
    body = api.get(f"{A}/findings/microsoft.graph.superUserFinding").json()
    assert body["@odata.context"].endswith(
        "$metadata#identityGovernance/permissionsAnalytics/aws/findings/microsoft.graph.superUserFinding"
    )
    [item] = body["value"]
    assert item["@odata.type"] == "#microsoft.graph.superUserFinding"
    identity = item["identity"]
    assert identity["@odata.type"] == "#microsoft.graph.awsUser"
    assert identity["externalId"] == BOB and identity["id"] == encode_id(BOB)
    assert identity["source"]["accountId"] == ACCOUNT
    assert identity["authorizationSystem"]["authorizationSystemId"] == ACCOUNT
    assert identity["authorizationSystem"]["authorizationSystemType"] == "aws"
    assert item["actionSummary"]["assigned"] == item["actionSummary"]["available"] > 1000
    assert 0 <= item["permissionsCreepIndex"]["score"] <= 100
    assert set(item["identityDetails"]) == {"createdDateTime", "lastActiveDateTime"}
    assert item["createdDateTime"].endswith("Z")
    assert item["permscope"]["status"] == "open" and item["permscope"]["severity"]
    # graph. spelling, and the role finding embeds an awsRole
    roles = api.get(f"{A}/findings/graph.superAwsRoleFinding").json()["value"]
    assert [r["identity"]["externalId"] for r in roles] == [APP]
    assert roles[0]["identity"]["@odata.type"] == "#microsoft.graph.awsRole"


@pytest.mark.postgres
def test_filters(api: TestClient) -> None:
    url = f"{A}/findings/microsoft.graph.inactiveUserFinding"
    both = api.get(url, params={"$filter": f"{ID_FILTER} IN ('{OTHER}', '{ACCOUNT}')"}).json()["value"]
    assert len(both) == 3
    brackets = api.get(url, params={"$filter": f"{ID_FILTER} in ['{OTHER}']"}).json()["value"]
    assert len(brackets) == 3
    assert api.get(url, params={"$filter": f"{ID_FILTER} in ('{ACCOUNT}')"}).json()["value"] == []
    high = api.get(url, params={"$filter": "permissionsCreepIndex/score gt 50"}).json()["value"]
    assert [f["identity"]["displayName"] for f in high] == ["u2"]
    assert_error(api.get(url, params={"$filter": f"{ID_FILTER} in ('999999999999')"}), 404, "itemNotFound")
    error = assert_error(api.get(url, params={"$filter": "group/displayName eq 'x'"}), 400, "invalidRequest")
    assert "group/displayName" in error["message"]
    tools = f"{A}/findings/microsoft.graph.securityToolAwsUserAdministratorFinding"
    mine = f"{ID_FILTER} in ('{OTHER}')"
    trail = api.get(tools, params={"$filter": f"securityTools has 'cloudTrail' and {mine}"}).json()["value"]
    assert [f["identity"]["displayName"] for f in trail] == ["u1"]
    assert trail[0]["securityTools"] == "cloudTrail, guardDuty"
    assert api.get(tools, params={"$filter": f"securityTools has 'cloud' and {mine}"}).json()["value"] == []


@pytest.mark.postgres
def test_integer_filters_beyond_32_bits_compare_and_beyond_64_are_400(api: TestClient) -> None:
    url = f"{A}/findings/microsoft.graph.inactiveUserFinding"

    def scores(text: str) -> list[int]:
        response = api.get(url, params={"$filter": text, "$orderby": "permissionsCreepIndex/score"})
        assert response.status_code == 200, response.text  # PostgreSQL refused 3000000000 as an `integer`
        return [f["permissionsCreepIndex"]["score"] for f in response.json()["value"]]

    assert scores("permissionsCreepIndex/score lt 3000000000") == [10, 50, 90]
    assert scores("permissionsCreepIndex/score gt 3000000000") == []
    assert scores("permissionsCreepIndex/score in (90, 3000000000)") == [90]
    assert scores("actionSummary/assigned lt 9223372036854775807") == [10, 50, 90]
    assert scores("permissionsCreepIndex/score gt -9223372036854775808") == [10, 50, 90]
    assert scores("permissionsCreepIndex/score gt 49.5") == [50, 90]
    for beyond in ("9223372036854775808", "-9223372036854775809", "1e999"):
        text = f"permissionsCreepIndex/score gt {beyond}"
        error = assert_error(api.get(url, params={"$filter": text}), 400, "invalidRequest")
        assert "out of range" in error["message"]


@pytest.mark.postgres
def test_orderby_and_paging(api: TestClient) -> None:
    url = f"{A}/findings/microsoft.graph.inactiveUserFinding"
    ordered = api.get(url, params={"$orderby": "permissionsCreepIndex/score desc"}).json()["value"]
    assert [f["permissionsCreepIndex"]["score"] for f in ordered] == [90, 50, 10]
    first = api.get(
        url, params={"$orderby": "permissionsCreepIndex/score desc", "$top": "2", "$count": "true"}
    )
    body = first.json()
    assert body["@odata.count"] == 3 and len(body["value"]) == 2
    rest = api.get(body["@odata.nextLink"]).json()
    assert [f["permissionsCreepIndex"]["score"] for f in rest["value"]] == [10]
    assert "@odata.nextLink" not in rest


def test_a_wrong_finding_type_is_400_listing_the_valid_ones(api: TestClient) -> None:
    [item] = api.get(f"{A}/findings/microsoft.graph.superUserFinding").json()["value"]
    for path in (
        f"{A}/findings/microsoft.graph.superUserFindings",  # misspelt
        f"{A}/findings/microsoft.graph.inactiveAzureServicePrincipalFinding",  # another cloud's
        f"{A}/findings/superUserFinding",  # no cast
        f"{A}/findings/{item['id']}/microsoft.graph.bogusFinding",
        f"{A}/findings/microsoft.graph.bogusFinding/aggregatedSummary(authorizationSystemIds=['{ACCOUNT}'])",
    ):
        response = api.get(path)
        assert_error(response, 400, "invalidRequest")
        message = response.json()["error"]["message"]
        assert "is not a finding type of aws" in message, path
        assert "superUserFinding" in message and "privilegeEscalationAwsRoleFinding" in message
        assert "inactiveAzureServicePrincipalFinding" not in message.partition("one of")[2]


def test_one_finding(api: TestClient) -> None:
    [item] = api.get(f"{A}/findings/microsoft.graph.superUserFinding").json()["value"]
    one = api.get(f"{A}/findings/{item['id']}/microsoft.graph.superUserFinding")
    assert one.status_code == 200
    body = one.json()
    assert body["id"] == item["id"] and body["identity"] == item["identity"]
    assert body["@odata.context"].endswith("microsoft.graph.superUserFinding/$entity")
    assert_error(
        api.get(f"{A}/findings/{item['id']}/microsoft.graph.inactiveUserFinding"), 404, "itemNotFound"
    )
    assert_error(api.get(f"{A}/findings/bm9wZQ/microsoft.graph.superUserFinding"), 404, "itemNotFound")
    keys = api.get(f"{A}/findings/microsoft.graph.awsIdentityAccessManagementKeyAgeFinding").json()["value"]
    assert keys[0]["accessKey"]["@odata.type"] == "#microsoft.graph.awsAccessKey"
    assert keys[0]["accessKey"]["owner"]["externalId"] == _user(OTHER, "u1")
    assert keys[0]["status"] == "active"
    misspelled = api.get(f"{A}/findings/microsoft.graph.awsIdentityAcessManagementKeyUsageFinding")
    assert misspelled.status_code == 200 and misspelled.json()["value"] == []


@pytest.mark.postgres
def test_aggregated_summaries(api: TestClient) -> None:
    base = f"{A}/findings/microsoft.graph.superUserFinding"
    summary = api.get(f"{base}/aggregatedSummary(authorizationSystemIds=['{ACCOUNT}'])").json()
    assert summary["@odata.type"] == "#microsoft.graph.permissionsAnalyticsAggregatedIdentitySummary"
    assert (summary["totalCount"], summary["findingsCount"]) == (2, 1)  # bob and carol checked, bob super
    alias = api.get(
        f"{base}/microsoft.graph.aggregatedSummary(authorizationSystemIds=@p1)",
        params={"@p1": f"['{ACCOUNT}','{encode_id(OTHER)}']"},
    ).json()
    assert (alias["totalCount"], alias["findingsCount"]) == (5, 1)  # 2 + 3 users
    inactive = api.get(
        f"{A}/findings/graph.inactiveUserFinding/aggregatedSummary(authorizationSystemIds=['{ACCOUNT}','{OTHER}'])"
    ).json()
    # the real analysis of ACCOUNT skipped inactivity (no activity): only OTHER's 3 users were checked
    assert (inactive["totalCount"], inactive["findingsCount"]) == (3, 3)
    keys = api.get(
        f"{A}/findings/microsoft.graph.awsIdentityAccessManagementKeyAgeFinding"
        f"/aggregatedSummary(authorizationSystemIds=['{OTHER}'])"
    ).json()
    assert keys["@odata.type"] == "#microsoft.graph.permissionsAnalyticsAggregatedIamKeySummary"
    assert (keys["totalCount"], keys["findingsCountOverLimit"]) == (2, 1)
    assert_error(api.get(f"{base}/aggregatedSummary(authorizationSystemIds=['1'])"), 404, "itemNotFound")
    assert_error(api.get(f"{base}/aggregatedSummary(authorizationSystemIds=[])"), 400, "invalidRequest")
    overprovisioned = f"{A}/findings/microsoft.graph.overprovisionedUserFinding"
    assert_error(
        api.get(f"{overprovisioned}/aggregatedSummary(authorizationSystemIds=['{ACCOUNT}'])"),
        404,
        "itemNotFound",
    )


@pytest.mark.postgres
def test_pci_distributions(api: TestClient) -> None:
    body = api.get(f"{A}/permissionsCreepIndexDistributions").json()
    by_system = {item["authorizationSystem"]["authorizationSystemId"]: item for item in body["value"]}
    mine = by_system[ACCOUNT]
    bands = ("lowRiskProfile", "mediumRiskProfile", "highRiskProfile")
    assert sum(mine[b]["humanCount"] for b in bands) == 2  # bob and carol
    assert sum(mine[b]["nonHumanCount"] for b in bands) == 1  # app
    assert mine["highRiskProfile"]["humanCount"] >= 1  # bob holds everything and uses nothing
    one = api.get(f"{A}/permissionsCreepIndexDistributions/{mine['id']}").json()
    assert one["lowRiskProfile"] == mine["lowRiskProfile"] and one["id"] == mine["id"]
    raw = api.get(f"{A}/permissionsCreepIndexDistributions/{ACCOUNT}")
    assert raw.status_code == 200
    assert_error(api.get(f"{A}/permissionsCreepIndexDistributions/bm9wZQ"), 404, "itemNotFound")


def test_every_built_cloud_answers_and_an_unknown_cloud_is_not_found(api: TestClient) -> None:
    for cloud in ("aws", "azure", "gcp"):  # all three are built: none answers 501
        analytics = f"/identityGovernance/permissionsAnalytics/{cloud}"
        for url in (
            f"{analytics}/findings/microsoft.graph.inactiveUserFinding",
            f"{analytics}/permissionsCreepIndexDistributions",
        ):
            assert api.get(url).status_code == 200, url
    assert_error(api.get("/identityGovernance/permissionsAnalytics/oci/findings/x"), 404, "itemNotFound")


def test_authentication_and_per_system_roles(analyzed: Engine) -> None:
    url = f"{A}/findings/microsoft.graph.inactiveUserFinding"
    for client in _client(analyzed, None):
        assert_error(client.get(url), 401, "unauthenticated")
    scoped = create_api_key(
        analyzed, ApiRole.SCOPED, "s", scopes=[KeyScope(SystemRole.VIEWER, "aws", ACCOUNT)]
    ).token
    for client in _client(analyzed, scoped):
        assert client.get(url).json()["value"] == []  # OTHER's findings are hidden
        assert len(client.get(f"{A}/findings/microsoft.graph.superUserFinding").json()["value"]) == 1
        # another system is answered exactly as one that does not exist: its existence is not revealed
        for system in (OTHER, "999999999999"):
            hidden = assert_error(
                client.get(url, params={"$filter": f"{ID_FILTER} in ('{system}')"}), 404, "itemNotFound"
            )
            assert hidden["message"] == f"no AWS account '{system}'"
            summary = f"{url}/aggregatedSummary(authorizationSystemIds=['{system}'])"
            assert assert_error(client.get(summary), 404, "itemNotFound")["message"] == hidden["message"]
        systems = {
            i["authorizationSystem"]["authorizationSystemId"]
            for i in client.get(f"{A}/permissionsCreepIndexDistributions").json()["value"]
        }
        assert systems == {ACCOUNT}
    requestor = create_api_key(
        analyzed, ApiRole.SCOPED, "r", scopes=[KeyScope(SystemRole.REQUESTOR, "aws", OTHER)]
    ).token
    for client in _client(analyzed, requestor):
        assert client.get(url).json()["value"] == []  # requestors do not read analytics
    admin = create_api_key(analyzed, ApiRole.ADMIN, "a").token
    for client in _client(analyzed, admin):
        items: list[dict[str, Any]] = client.get(url).json()["value"]
        assert len(items) == 3
        one = client.get(f"{A}/findings/{items[0]['id']}/microsoft.graph.inactiveUserFinding")
        assert one.status_code == 200
        distributions = client.get(f"{A}/permissionsCreepIndexDistributions").json()["value"]
    (others,) = [i for i in items if i["identity"]["authorizationSystem"]["authorizationSystemId"] == OTHER][
        :1
    ]
    (other_distribution,) = [
        d for d in distributions if d["authorizationSystem"]["authorizationSystemId"] == OTHER
    ]
    for client in _client(analyzed, scoped):
        # a finding (or distribution) of another system is 404 with the message of one that does not exist
        cast = "microsoft.graph.inactiveUserFinding"
        hidden = assert_error(client.get(f"{A}/findings/{others['id']}/{cast}"), 404, "itemNotFound")
        missing = assert_error(client.get(f"{A}/findings/bm9wZQ/{cast}"), 404, "itemNotFound")
        assert hidden["message"] == missing["message"].replace("bm9wZQ", others["id"])
        hidden = assert_error(
            client.get(f"{A}/permissionsCreepIndexDistributions/{other_distribution['id']}"),
            404,
            "itemNotFound",
        )
        assert (
            hidden["message"] == f"permissionsCreepIndexDistribution {other_distribution['id']!r} not found"
        )
