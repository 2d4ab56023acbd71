"""The remediation extension over HTTP: who may make, read, approve, apply and roll back plans; bad bodies and
states answer 4xx (never 500); Azure answers (GCP 501); apply and rollback through moto end to end."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from permscope.api.app import create_app
from permscope.clouds.gcp.plugin import GcpPlugin
from permscope.core.ids import Cloud
from permscope.presentation.findings import finding_id
from permscope.settings import Settings
from permscope.workflows.apikeys import ApiRole, KeyScope, create_api_key
from permscope.workflows.remediation.apply import default_connectors
from permscope.workflows.requests import set_modification
from remediation_support import (
    ACCOUNT,
    iam_state,
    load_demo_account,
    mocked_account,
    open_finding,
    seed_identity,
)

USER = f"arn:aws:iam::{ACCOUNT}:user/tomas.nowak"
SVC = f"arn:aws:iam::{ACCOUNT}:user/service/svc-identity-worker"
PLANS = "/remediation/plans"
BODY = {"authorizationSystemId": ACCOUNT, "identityId": USER, "windowDays": 90}


@pytest.fixture
def iam(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    yield from mocked_account(monkeypatch)


@pytest.fixture
def app(engine: Engine, tmp_path: Path) -> Any:
    export = load_demo_account(engine, tmp_path / "estate")
    set_modification(engine, ACCOUNT, True, Cloud.AWS)
    app = create_app(engine, Settings(database_url="sqlite://", remediation_min_observation_days=7))
    app.state.export = export
    return app


def _key(engine: Engine, name: str, role: ApiRole = ApiRole.SCOPED, *scopes: str) -> dict[str, str]:
    token = create_api_key(
        engine, role, name, principal=name, scopes=[KeyScope.parse(s) for s in scopes]
    ).token
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def keys(engine: Engine) -> dict[str, dict[str, str]]:
    return {
        "admin": _key(engine, "alice", ApiRole.ADMIN),
        "other-admin": _key(engine, "carol", ApiRole.SCOPED, f"administrator:aws:{ACCOUNT}"),
        "approver": _key(engine, "bob", ApiRole.SCOPED, f"approver:aws:{ACCOUNT}"),
        "viewer": _key(engine, "vera", ApiRole.VIEWER),
        "elsewhere": _key(engine, "eve", ApiRole.SCOPED, "administrator:aws:999999999999"),
    }


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def test_every_route_checks_who_asks(client: TestClient, keys: dict[str, dict[str, str]]) -> None:
    assert client.get(PLANS).status_code == 401
    assert client.post(PLANS, json=BODY).status_code == 401
    assert client.post(PLANS, json=BODY, headers=keys["viewer"]).status_code == 403
    assert client.post(PLANS, json=BODY, headers=keys["approver"]).status_code == 403
    assert client.post(PLANS, json=BODY, headers=keys["elsewhere"]).status_code == 404  # its system is hidden
    created = client.post(PLANS, json=BODY, headers=keys["admin"])
    assert created.status_code == 201, created.text
    plan = created.json()
    url = f"{PLANS}/{plan['id']}"
    assert plan["status"] == "draft" and plan["steps"] and plan["pciAfter"] < plan["pciBefore"]
    # readers see it; a key without a role on its system does not, even by id
    assert client.get(url, headers=keys["viewer"]).status_code == 200
    assert client.get(url, headers=keys["elsewhere"]).status_code == 404
    assert client.get(PLANS, headers=keys["elsewhere"]).json()["value"] == []
    assert [p["id"] for p in client.get(PLANS, headers=keys["viewer"]).json()["value"]] == [plan["id"]]
    # approval: never the author, never a viewer
    assert client.post(f"{url}/approve", headers=keys["admin"]).status_code == 403
    assert client.post(f"{url}/approve", headers=keys["viewer"]).status_code == 403
    # apply: administrators, approved plans only
    assert client.post(f"{url}/apply", headers=keys["other-admin"]).status_code == 409  # a draft
    approved = client.post(f"{url}/approve", headers=keys["approver"])
    assert approved.status_code == 200 and approved.json()["approvedBy"] == "bob"
    assert client.post(f"{url}/approve", headers=keys["other-admin"]).status_code == 409  # approved already
    assert client.post(f"{url}/apply", headers=keys["approver"]).status_code == 403
    assert client.post(f"{url}/rollback", headers=keys["viewer"]).status_code == 403
    assert client.post(f"{url}/rollback", headers=keys["admin"]).status_code == 409  # nothing applied


def test_bad_input_answers_4xx(
    client: TestClient, keys: dict[str, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = keys["admin"]
    cases = [
        ({**BODY, "windowDays": 0}, 422),
        ({**BODY, "unknown": 1}, 422),
        ({"identityId": USER}, 422),
        ({**BODY, "identityId": "arn:aws:iam::111122223333:user/nobody"}, 422),
        ({**BODY, "identityId": f"arn:aws:iam::{ACCOUNT}:group/sre-admins"}, 422),
        ({**BODY, "authorizationSystemId": "000000000000"}, 404),
        ({**BODY, "windowDays": 3}, 422),  # shorter than the minimum observation window
    ]
    for body, status in cases:
        response = client.post(PLANS, json=body, headers=admin)
        assert response.status_code == status, (body, response.text)
        assert "error" in response.json()
    bad = client.post(PLANS, content=b"{not json", headers={**admin, "Content-Type": "application/json"})
    assert bad.status_code == 400
    assert client.get(f"{PLANS}/no-such-plan", headers=admin).status_code == 404
    assert client.get(f"{PLANS}/x/script?format=pdf", headers=admin).status_code in (400, 422)
    assert client.get(f"{PLANS}?$filter=nope eq 1", headers=admin).status_code == 400
    # Azure and GCP plans are built: an unknown subscription or project is a 404, not a 501
    for cloud in ("azure", "gcp"):
        answer = client.post(PLANS, json={**BODY, "authorizationSystemType": cloud}, headers=admin)
        assert answer.status_code == 404, answer.text
    # a cloud without remediation rules answers 501
    monkeypatch.setattr(GcpPlugin, "remediation", property(lambda _self: None))
    response = client.post(PLANS, json={**BODY, "authorizationSystemType": "gcp"}, headers=admin)
    assert response.status_code == 501 and "remediation plans" in response.json()["error"]["message"]


def test_apply_and_rollback_through_moto(
    app: Any, client: TestClient, keys: dict[str, dict[str, str]], iam: Any
) -> None:
    seed_identity(iam, app.state.export, USER)
    app.state.remediation_connectors = default_connectors(Settings())
    plan = client.post(PLANS, json=BODY, headers=keys["admin"]).json()
    url = f"{PLANS}/{plan['id']}"
    client.post(f"{url}/approve", headers=keys["approver"])
    before = iam_state(iam, USER)
    dry = client.post(f"{url}/apply?dryRun=true", headers=keys["other-admin"]).json()
    assert dry["status"] == "approved" and any("detach-user-policy" in line for line in dry["dryRunCalls"])
    assert iam_state(iam, USER) == before  # a dry run changes nothing
    applied = client.post(f"{url}/apply", headers=keys["other-admin"])
    assert applied.status_code == 200 and applied.json()["status"] == "applied"
    assert all(step["priorState"] is not None for step in applied.json()["steps"] if not step["manual"])
    assert iam_state(iam, USER) != before
    status = client.get(f"{url}/status", headers=keys["viewer"]).json()
    assert status["status"] == "applied" and status["running"] is False
    script = client.get(f"{url}/script?format=cli&rollback=true", headers=keys["viewer"]).json()["text"]
    assert "aws iam attach-user-policy --user-name tomas.nowak" in script
    rolled = client.post(f"{url}/rollback", headers=keys["admin"])
    assert rolled.status_code == 200 and rolled.json()["status"] == "rolled_back"
    assert iam_state(iam, USER) == before


def test_plans_for_findings_and_generation_options(
    engine: Engine, client: TestClient, keys: dict[str, dict[str, str]]
) -> None:
    admin = keys["admin"]
    finding = open_finding(engine, "overprovisionedUserFinding", SVC)
    body = {"findingId": finding_id(finding.fingerprint)}
    assert client.post(PLANS, json=body, headers=keys["viewer"]).status_code == 403
    assert (
        client.post(PLANS, json=body, headers=keys["elsewhere"]).status_code == 404
    )  # its finding is hidden
    created = client.post(PLANS, json=body, headers=admin)
    assert created.status_code == 201, created.text
    plan = created.json()
    assert plan["identityId"] == SVC and plan["evidence"]["finding"]["fingerprint"] == finding.fingerprint
    assert plan["evidence"]["finding"]["resolved"] and plan["pciAfter"] < plan["pciBefore"]
    generation = plan["evidence"]["generation"]
    assert generation["used"] and generation["observed"] == generation["allowed"]
    put = plan["steps"][0]
    assert put["kind"] == "putGeneratedPolicy" and put["parameters"]["document"]["Statement"]
    script = client.get(f"{PLANS}/{plan['id']}/script?format=terraform", headers=keys["viewer"]).json()[
        "text"
    ]
    assert 'resource "aws_iam_user_policy" "svc_identity_worker_generated_0"' in script
    plain = client.post(PLANS, json={**body, "generate": False}, headers=admin).json()
    assert plain["evidence"]["generation"] == {"requested": False}
    assert "putGeneratedPolicy" not in {step["kind"] for step in plain["steps"]}
    everything = client.post(PLANS, json={**BODY, "replaceAll": True}, headers=admin).json()
    assert everything["evidence"]["generation"]["candidates"]  # every policy kept because used is offered
    # not an identity, unknown, or both ways of naming the identity
    external = open_finding(engine, "awsExternalSystemAccessFinding")
    refused = client.post(PLANS, json={"findingId": finding_id(external.fingerprint)}, headers=admin)
    assert refused.status_code == 422 and "made per identity" in refused.json()["error"]["message"]
    assert client.post(PLANS, json={"findingId": "@@"}, headers=admin).status_code == 404
    assert client.post(PLANS, json={"findingId": "0" * 64}, headers=admin).status_code == 404
    assert client.post(PLANS, json={**BODY, **body}, headers=admin).status_code == 422
    assert client.post(PLANS, json={"generate": True}, headers=admin).status_code == 422
