"""The monitoring extension's access rules: readers list alerts and rules of their systems (others' alerts are
404), approvers of the alert's system acknowledge and mute, admin keys write rules and channels; bad bodies are
400 naming the problem; channels never show a secret."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from permscope.api.app import create_app
from permscope.core.findings import Severity
from permscope.core.ids import Cloud
from permscope.core.requests import SystemRole
from permscope.core.signals import Signal, SignalKind
from permscope.settings import Settings
from permscope.workflows.alerts import record_and_evaluate
from permscope.workflows.apikeys import ApiRole, KeyScope, create_api_key

NOW = datetime(2026, 12, 1, tzinfo=UTC)
M = "/monitoring"


@pytest.fixture
def app_keys(engine: Engine) -> Iterator[tuple[TestClient, dict[str, str]]]:
    app = create_app(engine, Settings(database_url="sqlite://"))
    app.state.clock = lambda: NOW
    tokens = {
        "admin": create_api_key(engine, ApiRole.ADMIN, "a", principal="ada").token,
        "viewer": create_api_key(engine, ApiRole.VIEWER, "v", principal="vic").token,
        "approver": create_api_key(
            engine, ApiRole.SCOPED, "p", principal="abe", scopes=[KeyScope(SystemRole.APPROVER, "aws", "111")]
        ).token,
        "requestor": create_api_key(
            engine, ApiRole.SCOPED, "r", principal="rita", scopes=[KeyScope(SystemRole.REQUESTOR)]
        ).token,
    }
    with TestClient(app) as client:
        yield client, tokens


def as_(tokens: dict[str, str], who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[who]}"}


def test_who_may_do_what(engine: Engine, app_keys: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = app_keys
    rule = {"name": "all", "kinds": ["finding.new"]}
    assert client.post(f"{M}/alertRules", json=rule, headers=as_(tokens, "viewer")).status_code == 403
    assert client.post(f"{M}/alertRules", json=rule).status_code == 401
    assert client.post(f"{M}/alertRules", json=rule, headers=as_(tokens, "admin")).status_code == 201
    signals = [
        Signal(
            SignalKind.FINDING_NEW, f"k{s}", Cloud.AWS, s, "u", "user", "<b>u</b>", Severity.HIGH, NOW, "s"
        )
        for s in ("111", "222")
    ]
    record_and_evaluate(engine, signals, NOW)
    listed = client.get(f"{M}/alerts", headers=as_(tokens, "approver")).json()["value"]
    assert [a["authorizationSystemId"] for a in listed] == ["111"]
    everything = client.get(f"{M}/alerts?$orderby=authorizationSystemId desc", headers=as_(tokens, "viewer"))
    assert [a["authorizationSystemId"] for a in everything.json()["value"]] == ["222", "111"]
    other = everything.json()["value"][0]["id"]
    mine = listed[0]["id"]
    assert client.get(f"{M}/alerts/{other}", headers=as_(tokens, "approver")).status_code == 404
    assert client.post(f"{M}/alerts/{mine}/acknowledge", headers=as_(tokens, "viewer")).status_code == 403
    done = client.post(f"{M}/alerts/{mine}/acknowledge", headers=as_(tokens, "approver"))
    assert done.status_code == 200 and done.json()["acknowledgedBy"] == "abe"
    assert client.get(f"{M}/alertRules", headers=as_(tokens, "requestor")).status_code == 403
    assert client.get(f"{M}/alertRules", headers=as_(tokens, "viewer")).json()["value"][0]["name"] == "all"
    assert client.get(f"{M}/alertChannels", headers=as_(tokens, "viewer")).status_code == 403
    mute = client.post(
        f"{M}/alerts/{mine}/muteSubject", json={"reason": "x"}, headers=as_(tokens, "approver")
    )
    assert mute.status_code == 400 and "duration" in mute.json()["error"]["message"]


def test_bad_bodies_are_clear_and_secrets_never_shown(app_keys: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = app_keys
    admin = as_(tokens, "admin")
    bad = client.post(f"{M}/alertRules", json={"name": "x", "kinds": ["finding.old"]}, headers=admin)
    assert bad.status_code == 400 and "unknown signal kind 'finding.old'" in bad.json()["error"]["message"]
    typo = client.post(
        f"{M}/alertRules", json={"name": "x", "kinds": ["finding.new"], "kind": 1}, headers=admin
    )
    assert typo.status_code == 422 and "kind" in typo.json()["error"]["message"]
    hook = {"name": "h", "kind": "webhook", "url": "https://hooks.example.com/T/B/sekrit", "secret": "s" * 20}
    made = client.post(f"{M}/alertChannels", json=hook, headers=admin)
    assert made.status_code == 201 and "secret" not in made.json()
    listed = client.get(f"{M}/alertChannels", headers=admin).text
    assert "sekrit" not in listed and "s" * 20 not in listed and "https://hooks.example.com/…" in listed
    assert client.delete(f"{M}/alertRules/none", headers=admin).status_code == 404
    unmuted = client.patch(f"{M}/alertRules/none", json={"mutedUntilDateTime": None}, headers=admin)
    assert unmuted.status_code == 404


@pytest.mark.postgres
@pytest.mark.parametrize("mute_id", [str(2**63), str(-(2**63) - 1), "153179352942012825600"])
def test_a_mute_id_beyond_the_stores_integers_is_not_found(
    app_keys: tuple[TestClient, dict[str, str]], mute_id: str
) -> None:
    client, tokens = app_keys
    gone = client.delete(f"{M}/alertMutes/{mute_id}", headers=as_(tokens, "admin"))
    assert gone.status_code == 404 and gone.json()["error"]["code"]
