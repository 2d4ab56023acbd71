"""The Alerts page over the demo estate: alerts of the person's systems with filters, the rules, one alert with
its evidence and deliveries, acknowledge and mute forms (CSRF-checked, allowed to approvers and administrators
only), and hostile names shown as text."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from permscope.core.findings import Severity
from permscope.core.ids import Cloud
from permscope.core.signals import Signal, SignalKind
from permscope.store.tables import AlertMuteRow, AlertRow
from permscope.workflows.alert_rules import RuleSpec, add_rule, list_rules
from permscope.workflows.alerts import record_and_evaluate

from .conftest import WebClient

HOSTILE = '<script>alert("x")</script>'
ALERT_LINK = re.compile(r'<a href="/ui/alerts/([0-9a-f-]{36})">')


@pytest.fixture
def alerted(demo_engine: Engine) -> str:
    """A rule and one alert about a hostile-named subject of the demo's production account: its id."""
    now = datetime.now(UTC)
    if not any(view.row.name == "web page" for view in list_rules(demo_engine)):
        add_rule(demo_engine, RuleSpec("web page", ["finding.new"], min_severity="high"), "ada", now)
    key = f"web:{now.timestamp()}"
    signal = Signal(
        SignalKind.FINDING_NEW, key, Cloud.AWS, "111122223333", "arn:x", "user", HOSTILE, Severity.CRITICAL, now,
        f"New critical finding on {HOSTILE}", "because", {"findingType": "superUserFinding"},
    )  # fmt: skip
    record_and_evaluate(demo_engine, [signal], now)
    with Session(demo_engine) as session:
        return session.scalars(select(AlertRow.alert_id).order_by(AlertRow.id.desc())).first() or ""


def test_the_list_shows_alerts_and_rules_escaped(client_as: Callable[..., WebClient], alerted: str) -> None:
    page = client_as("viewer").get("/ui/alerts?severity=critical")
    assert page.status_code == 200
    assert alerted in ALERT_LINK.findall(page.text)
    assert HOSTILE not in page.text and "&lt;script&gt;" in page.text
    assert "web page" in page.text  # the rules table
    assert 'action="/ui/alerts/' not in page.text  # a viewer gets no forms
    assert client_as("viewer").get("/ui/alerts?severity=urgent").status_code == 400


def test_one_alert_with_its_evidence(client_as: Callable[..., WebClient], alerted: str) -> None:
    page = client_as("admin").get(f"/ui/alerts/{alerted}")
    assert page.status_code == 200 and "superUserFinding" in page.text and "Acknowledge" in page.text
    assert client_as("admin").get("/ui/alerts/00000000-0000-0000-0000-000000000000").status_code == 404


def test_acknowledge_and_mute_need_the_role_and_the_token(
    client_as: Callable[..., WebClient], alerted: str, demo_engine: Engine
) -> None:
    viewer = client_as("viewer")
    token = viewer.csrf_token("/ui/alerts")
    refused = viewer.post(f"/ui/alerts/{alerted}/acknowledge", data={"csrf_token": token})
    assert refused.status_code == 403 and "approver or administrator" in refused.text
    approver = client_as("approver")
    forged = approver.post(f"/ui/alerts/{alerted}/acknowledge", data={"csrf_token": "forged"})
    assert forged.status_code == 403 and "security token" in forged.text
    token = approver.csrf_token("/ui/alerts")
    done = approver.post(
        f"/ui/alerts/{alerted}/acknowledge",
        data={"csrf_token": token, "back": "/ui/alerts?status=acknowledged"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/ui/alerts?status=acknowledged"
    evil = approver.post(
        f"/ui/alerts/{alerted}/mute",
        data={"csrf_token": token, "duration": "P1D", "reason": "known", "back": "https://evil.example/"},
        follow_redirects=False,
    )
    assert evil.status_code == 303 and evil.headers["location"] == f"/ui/alerts/{alerted}"
    assert (
        approver.post(f"/ui/alerts/{alerted}/mute", data={"csrf_token": token, "duration": "P9Y"}).status_code
        == 400
    )
    with Session(demo_engine) as session:
        row = session.scalars(select(AlertRow).where(AlertRow.alert_id == alerted)).one()
        assert (row.status, row.acknowledged_by) == ("acknowledged", "abe.approver@example.com")
        assert (
            session.scalars(select(AlertMuteRow.reason).where(AlertMuteRow.subject_id == "arn:x")).first()
            == "known"
        )
