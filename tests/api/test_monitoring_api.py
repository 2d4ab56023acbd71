"""Monitoring's extension: schedules (read by the keys that read their systems, changed by administrators only),
the PCI history (readers of the system only; a hidden system answers as a missing one), and the OpenAPI
document describing both."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from analysis_support import ACCOUNT, BOB, export
from permscope.api.app import create_app
from permscope.core.requests import SystemRole
from permscope.settings import Settings
from permscope.workflows.alert_rules import add_email_channel
from permscope.workflows.analysis import analyze_system
from permscope.workflows.apikeys import ApiRole, KeyScope, create_api_key
from permscope.workflows.collection import import_aws_files

OTHER = "222233334444"
Client = Callable[..., TestClient]


@pytest.fixture
def clients(engine: Engine, tmp_path: Path) -> Client:
    for account in (ACCOUNT, OTHER):
        path = tmp_path / f"{account}.json"
        path.write_text(json.dumps(export()).replace(ACCOUNT, account))
        import_aws_files(engine, [path])
        analyze_system(engine, account)
    app = create_app(engine, Settings(database_url="sqlite://"))

    def client(role: ApiRole, *scopes: KeyScope) -> TestClient:
        token = create_api_key(engine, role, "t", scopes=scopes).token
        return TestClient(app, headers={"Authorization": f"Bearer {token}"})

    return client


BODY = {"name": "nightly", "task": "analyze", "authorizationSystemType": "aws", "authorizationSystemId": ACCOUNT,
        "cron": "0 3 * * *", "jitter": "PT5M"}  # fmt: skip


@pytest.mark.postgres
def test_administrators_change_schedules_and_readers_read_them(clients: Client) -> None:
    admin = clients(ApiRole.ADMIN)
    created = admin.post("/monitoring/schedules", json=BODY)
    assert created.status_code == 201, created.text
    assert created.json()["schedule"] == "cron 0 3 * * * +PT5M jitter"
    assert created.json()["nextRunDateTime"].endswith("T03:00:00Z")
    viewer = clients(ApiRole.VIEWER)
    assert viewer.post("/monitoring/schedules", json={**BODY, "name": "mine"}).status_code == 403
    assert viewer.patch("/monitoring/schedules/nightly", json={"enabled": False}).status_code == 403
    assert viewer.delete("/monitoring/schedules/nightly").status_code == 403
    assert [s["name"] for s in viewer.get("/monitoring/schedules").json()["value"]] == ["nightly"]
    scoped_admin = clients(ApiRole.SCOPED, KeyScope(SystemRole.ADMINISTRATOR, "aws", OTHER))
    assert scoped_admin.get("/monitoring/schedules").json()["value"] == []  # not its system
    assert scoped_admin.get("/monitoring/schedules/nightly").status_code == 404
    own = scoped_admin.post(
        "/monitoring/schedules", json={**BODY, "name": "other", "authorizationSystemId": OTHER}
    )
    assert own.status_code == 201, own.text
    everything = scoped_admin.post(
        "/monitoring/schedules", json={**BODY, "name": "all", "authorizationSystemId": "*"}
    )
    assert everything.status_code == 403 and "every aws system" in everything.json()["error"]["message"]
    disabled = admin.patch("/monitoring/schedules/nightly", json={"enabled": False})
    assert disabled.status_code == 200 and disabled.json()["enabled"] is False
    assert admin.delete("/monitoring/schedules/nightly").status_code == 204
    assert admin.get("/monitoring/schedules/nightly").status_code == 404


def test_bad_schedules_are_refused_naming_the_problem(clients: Client) -> None:
    admin = clients(ApiRole.ADMIN)
    for body, status, words in (
        ({**BODY, "cron": "nope"}, 400, "cron"),
        ({**BODY, "cron": None, "interval": "15 minutes"}, 400, "interval"),
        ({**BODY, "cron": None}, 400, "cron expression or an interval"),
        ({**BODY, "extra": 1}, 422, "extra"),  # the body's shape: a validation error, as everywhere
        ({**BODY, "task": "delete"}, 422, "task"),
    ):
        answer = admin.post("/monitoring/schedules", json=body)
        assert answer.status_code == status, (body, answer.text)
        assert answer.json()["error"]["code"] == "invalidRequest" and words in answer.text
    assert (
        admin.post(
            "/monitoring/schedules", json={**BODY, "authorizationSystemId": "999999999999"}
        ).status_code
        == 404
    )


@pytest.mark.postgres
def test_pci_history_for_readers_of_the_system(clients: Client) -> None:
    viewer = clients(ApiRole.VIEWER)
    answer = viewer.get(
        "/monitoring/pciHistory", params={"authorizationSystemId": ACCOUNT, "identityExternalId": BOB}
    )
    assert answer.status_code == 200, answer.text
    assert [day["permissionsCreepIndex"] for day in answer.json()["days"]] == [100]
    system = viewer.get("/monitoring/pciHistory", params={"authorizationSystemId": ACCOUNT, "days": 7}).json()
    [day] = system["days"]
    assert day["permissionsCreepIndex"] > 0 and day["openFindings"]["superUserFinding"]
    outsider = clients(ApiRole.SCOPED, KeyScope(SystemRole.VIEWER, "aws", OTHER))
    hidden = outsider.get("/monitoring/pciHistory", params={"authorizationSystemId": ACCOUNT})
    assert hidden.status_code == 404
    assert outsider.get("/monitoring/pciHistory", params={"authorizationSystemId": OTHER}).status_code == 200
    requestor = clients(ApiRole.SCOPED, KeyScope(SystemRole.REQUESTOR, "aws", ACCOUNT))
    assert (
        requestor.get("/monitoring/pciHistory", params={"authorizationSystemId": ACCOUNT}).status_code == 404
    )
    too_few = viewer.get("/monitoring/pciHistory", params={"authorizationSystemId": ACCOUNT, "days": 0})
    assert too_few.status_code == 422 and "days" in too_few.text


def test_the_openapi_document_describes_the_extension(clients: Client) -> None:
    paths = clients(ApiRole.VIEWER).get("/openapi.json").json()["paths"]
    assert {"get", "post"} <= set(paths["/monitoring/schedules"])
    assert {"get", "patch", "delete"} <= set(paths["/monitoring/schedules/{name}"])
    assert "get" in paths["/monitoring/pciHistory"]


REPORT = {"name": "weekly", "task": "report", "authorizationSystemType": "aws", "authorizationSystemId": ACCOUNT,
          "cron": "0 7 * * 1", "report": {"kind": "analytics", "format": "pdf", "recipients": ["ciso@example.com"]}}  # fmt: skip


def test_report_schedules_take_and_give_their_report(engine: Engine, clients: Client) -> None:
    add_email_channel(
        engine, Settings(database_url="sqlite://"), "secops", host="smtp.example.com", sender="permscope@example.com",
        recipients=["secops@example.com"], created_by="admin", now=datetime.now(UTC),
    )  # fmt: skip
    admin = clients(ApiRole.ADMIN)
    created = admin.post("/monitoring/schedules", json=REPORT)
    assert created.status_code == 201, created.text
    report = {"kind": "analytics", "format": "pdf", "channel": "secops", "recipients": ["ciso@example.com"]}
    assert created.json()["report"] == report and created.json()["task"] == "report"
    assert created.json()["source"] == "analytics as pdf to ciso@example.com via secops"
    assert clients(ApiRole.VIEWER).get("/monitoring/schedules/weekly").json()["report"] == report
    assert admin.get("/monitoring/schedules/nightly").status_code == 404
    listed = {s["name"]: s["report"] for s in admin.get("/monitoring/schedules").json()["value"]}
    assert listed == {"weekly": report}
    bad = REPORT["report"]
    for body, status, words in (
        (
            {**REPORT, "report": {**bad, "kind": "weekly"}},
            422,
            "'analytics', 'pci', 'entitlements', 'credentials'",
        ),
        ({**REPORT, "report": {**bad, "format": "docx"}}, 422, "'csv', 'xlsx', 'pdf' or 'ocsf'"),
        ({**REPORT, "report": {**bad, "kind": "pci", "format": "ocsf"}}, 422, "ocsf carries findings"),
        ({**REPORT, "report": None}, 422, "needs `report`"),
        ({**BODY, "report": bad}, 422, "needs `report`"),
        ({**REPORT, "name": "x", "report": {**bad, "channel": "nope"}}, 400, "no alert channel named 'nope'"),
        ({**REPORT, "name": "x", "report": {**bad, "recipients": ["nobody"]}}, 400, "not an e-mail address"),
    ):
        answer = admin.post("/monitoring/schedules", json=body)
        assert answer.status_code == status, (body, answer.text)
        assert answer.json()["error"]["code"] == "invalidRequest" and words in answer.text, answer.text
    scoped = clients(ApiRole.SCOPED, KeyScope(SystemRole.VIEWER, "aws", ACCOUNT))
    assert scoped.post("/monitoring/schedules", json={**REPORT, "name": "mine"}).status_code == 403
