"""Autopilot rules over HTTP: every route checks who asks (administrators write and run, approvers and
administrators other than the author accept, viewers read); bad bodies answer 422 naming the field, states 409,
never 500; an accepted rule's run applies through moto, its plan rolls back through the plans API."""

from __future__ import annotations

# ruff: noqa: F811 - the API keys fixture comes from test_remediation_api, and tests take it by name
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.test_remediation_api import keys  # noqa: F401 - the API keys of every role
from permscope.api.app import create_app
from permscope.core.ids import Cloud
from permscope.settings import Settings
from permscope.workflows.requests import set_modification
from remediation_support import ACCOUNT, iam_state, load_demo_account, mocked_account, seed_identity

USER = f"arn:aws:iam::{ACCOUNT}:user/tomas.nowak"
CUSTOMER = f"arn:aws:iam::{ACCOUNT}:policy/growth/growth-catalog-policy-admin"
RULES = "/remediation/autopilot/rules"
RUNS = "/remediation/autopilot/runs"
BODY = {"name": "idle", "systems": [f"aws:{ACCOUNT}"], "identities": ["*:user/tomas.nowak"], "unusedDays": 90}


@pytest.fixture
def iam(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    yield from mocked_account(monkeypatch)


@pytest.fixture
def client(engine: Engine, tmp_path: Path, iam: Any) -> Iterator[TestClient]:
    export = load_demo_account(engine, tmp_path / "estate")
    seed_identity(iam, export, USER)
    set_modification(engine, ACCOUNT, True, Cloud.AWS)
    app = create_app(engine, Settings(database_url="sqlite://", remediation_min_observation_days=7))
    with TestClient(app) as test_client:
        yield test_client


def test_roles_states_and_a_run_that_applies(
    client: TestClient, keys: dict[str, dict[str, str]], iam: Any
) -> None:
    assert client.get(RULES).status_code == 401
    assert client.post(RULES, json=BODY).status_code == 401
    assert client.post(RULES, json=BODY, headers=keys["viewer"]).status_code == 403
    assert client.post(RULES, json=BODY, headers=keys["approver"]).status_code == 403
    assert client.post(RULES, json=BODY, headers=keys["elsewhere"]).status_code == 403
    created = client.post(RULES, json=BODY, headers=keys["other-admin"])
    assert created.status_code == 201, created.text
    rule = created.json()
    url = f"{RULES}/{rule['id']}"
    assert rule["state"] == "proposed" and rule["createdBy"] == "carol"
    assert client.post(RULES, json=BODY, headers=keys["admin"]).status_code == 422  # the name is taken

    assert client.get(url, headers=keys["viewer"]).json()["name"] == "idle"
    assert client.get(url, headers=keys["elsewhere"]).status_code == 404
    assert client.get(RULES, headers=keys["elsewhere"]).json()["value"] == []
    assert [r["id"] for r in client.get(RULES, headers=keys["viewer"]).json()["value"]] == [rule["id"]]

    assert client.post(f"{url}/run", headers=keys["admin"]).status_code == 409  # proposed
    assert client.post(f"{url}/accept", headers=keys["other-admin"]).status_code == 403  # its author
    assert client.post(f"{url}/accept", headers=keys["viewer"]).status_code == 403
    accepted = client.post(f"{url}/accept", headers=keys["approver"])
    assert accepted.status_code == 200 and accepted.json()["acceptedBy"] == "bob"
    assert client.post(f"{url}/accept", headers=keys["admin"]).status_code == 409  # accepted already
    assert client.post(f"{url}/run", headers=keys["approver"]).status_code == 403
    assert client.post(f"{url}/run", headers=keys["viewer"]).status_code == 403

    before = iam_state(iam, USER, [CUSTOMER])
    dry = client.post(f"{url}/run?dryRun=true", headers=keys["admin"])
    assert dry.status_code == 200 and (dry.json()["plansMade"], dry.json()["plansApplied"]) == (1, 0)
    assert iam_state(iam, USER, [CUSTOMER]) == before
    real = client.post(f"{url}/run", headers=keys["admin"])
    assert real.status_code == 200, real.text
    (item,) = real.json()["items"]
    assert item["outcome"] == "applied" and CUSTOMER not in iam_state(iam, USER, [CUSTOMER])["attached"]
    listed = client.get(RUNS, headers=keys["viewer"]).json()["value"]
    assert [r["id"] for r in listed] == [real.json()["id"], dry.json()["id"]]
    assert client.get(RUNS, headers=keys["elsewhere"]).json()["value"] == []
    assert client.get(f"{RUNS}?rule=idle", headers=keys["elsewhere"]).status_code == 404

    plan = f"/remediation/plans/{item['planId']}"
    assert client.get(plan, headers=keys["viewer"]).json()["createdBy"] == "autopilot:idle"
    rolled = client.post(f"{plan}/rollback", headers=keys["admin"])
    assert rolled.status_code == 200 and rolled.json()["status"] == "rolled_back"
    assert iam_state(iam, USER, [CUSTOMER]) == before

    assert client.post(f"{url}/disable", headers=keys["viewer"]).status_code == 403
    assert client.post(f"{url}/disable", headers=keys["approver"]).json()["state"] == "disabled"
    assert client.post(f"{url}/disable", headers=keys["approver"]).status_code == 409
    assert client.post(f"{url}/run", headers=keys["admin"]).status_code == 409


BAD_BODIES = [
    ({"unusedDays": 0}, "unusedDays"),
    ({"unusedDays": 3}, "unusedDays"),  # shorter than the minimum observation window
    ({"systems": ["mars:1"]}, "systems"),
    ({"systems": []}, "systems"),
    ({"identities": ["  "]}, "identities"),
    ({"identityKinds": ["robot"]}, "kinds"),
    ({"tag": "=x"}, "tag"),
    ({"name": "!bad"}, "name"),
    ({"unknown": 1}, "unknown"),
    ({"unusedDays": "many"}, "unusedDays"),
]


def test_bad_bodies_answer_422_naming_the_field_and_unknown_rules_404(
    client: TestClient, keys: dict[str, dict[str, str]]
) -> None:
    for change, field in BAD_BODIES:
        answer = client.post(RULES, json={**BODY, **change}, headers=keys["admin"])
        assert answer.status_code == 422, (change, answer.text)
        assert field in answer.json()["error"]["message"], change
    assert client.get(RULES, headers=keys["admin"]).json()["value"] == []  # nothing half-written
    for method, path in [
        ("get", f"{RULES}/nope"),
        ("post", f"{RULES}/nope/accept"),
        ("post", f"{RULES}/nope/disable"),
        ("post", f"{RULES}/nope/run"),
    ]:
        assert getattr(client, method)(path, headers=keys["admin"]).status_code == 404


def test_an_autopilot_schedule_over_the_api(client: TestClient, keys: dict[str, dict[str, str]]) -> None:
    schedules = "/monitoring/schedules"
    body = {"name": "nightly autopilot", "task": "autopilot", "interval": "P1D"}
    scoped = client.post(schedules, json={**body, "authorizationSystemType": "aws"}, headers=keys["admin"])
    assert scoped.status_code == 400 and "autopilot" in scoped.json()["error"]["message"]
    assert (
        client.post(schedules, json=body, headers=keys["other-admin"]).status_code == 403
    )  # one account only
    created = client.post(schedules, json=body, headers=keys["admin"])
    assert created.status_code == 201, created.text
    assert (
        created.json()["task"] == "autopilot" and created.json()["source"] == "every accepted autopilot rule"
    )
