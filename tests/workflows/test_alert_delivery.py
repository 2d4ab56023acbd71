"""Alerts delivered for real: a new high finding after an analysis reaches a loopback webhook (signed, verified as
docs/monitoring.md says) and an in-process SMTP server (STARTTLS, AUTH; text and HTML parts), through the
scheduler driven by a clock; failures are retried with backoff and every attempt recorded; a restart in the
middle sends nothing twice; secrets are sealed in the database and never logged."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from alert_support import SMTP_PASSWORD, SMTP_USER, Clock, SmtpServerThread, WebhookReceiver, load_account
from analysis_support import ACCOUNT, BOB
from permscope.settings import Settings
from permscope.store.tables import AlertDeliveryAttemptRow, AlertDeliveryRow, AlertRow
from permscope.workflows.alert_delivery import send_test_message
from permscope.workflows.alert_rules import RuleSpec, add_email_channel, add_rule, add_webhook_channel
from permscope.workflows.alerts import evaluate_pending, reevaluate
from permscope.workflows.analysis import analyze_system
from permscope.workflows.notifications import NotificationError, WebhookSender
from permscope.workflows.scheduler import Scheduler

SECRET = "a-shared-secret-of-the-receiver"


@pytest.fixture
def settings() -> Settings:
    return Settings(database_url="sqlite://", public_url="https://permscope.example.com")


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver(SECRET) as hook:
        yield hook


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[SmtpServerThread]:
    with SmtpServerThread(tmp_path) as server:
        yield server


def channels(engine: Engine, settings: Settings, receiver: WebhookReceiver, smtp: SmtpServerThread) -> None:
    add_webhook_channel(engine, settings, "slack", receiver.url, SECRET, "admin", Clock()())
    add_email_channel(
        engine,
        settings,
        "security team",
        host="127.0.0.1",
        port=smtp.port,
        security="starttls",
        username=SMTP_USER,
        password=SMTP_PASSWORD,
        ca_file=str(smtp.cert),
        sender="permscope@example.com",
        recipients=["secops@example.com", "oncall@example.com"],
        created_by="admin",
        now=Clock()(),
    )


def high_findings_rule(engine: Engine, *names: str) -> None:
    spec = RuleSpec("new high findings", ["finding.new"], channels=names, min_severity="high", clouds=["aws"])
    add_rule(engine, spec, "admin", Clock()())


def a_new_high_finding(engine: Engine, folder: Path) -> int:
    """Baseline (bob read-only), then bob becomes an administrator: new high findings; how many alerts."""
    load_account(engine, folder, bob_admin=False)
    analyze_system(engine, ACCOUNT)
    load_account(engine, folder, bob_admin=True)
    analyze_system(engine, ACCOUNT)
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(AlertRow)) or 0)


def test_a_new_high_finding_reaches_the_webhook_and_the_mailbox(
    engine: Engine, tmp_path: Path, settings: Settings, receiver: WebhookReceiver, smtp: SmtpServerThread
) -> None:
    channels(engine, settings, receiver, smtp)
    high_findings_rule(engine, "slack", "security team")
    made = a_new_high_finding(engine, tmp_path)
    assert made >= 1
    clock = Clock()
    report = Scheduler(engine, settings=settings, clock=clock).run_once()
    assert (report.alerts_sent, report.alert_failures) == (2 * made, 0)

    assert len(receiver.received) == made and all(r.verified for r in receiver.received)
    bob = next(
        r
        for r in receiver.received
        if r.body["permscope"]["subjectId"] == BOB
        and r.body["permscope"]["evidence"]["findingType"] == "superUserFinding"
    )
    facts = bob.body["permscope"]
    assert facts["kind"] == "finding.new" and facts["severity"] == "high"
    assert facts["evidence"]["findingType"] == "superUserFinding"
    assert facts["link"] == f"https://permscope.example.com/ui/alerts/{facts['alertId']}"
    assert bob.body["text"].startswith(":warning: permscope [high] New high finding superUserFinding on")
    assert [block["type"] for block in bob.body["blocks"]] == ["header", "section", "section", "context"]
    assert bob.headers["X-Permscope-Delivery"].startswith(facts["alertId"] + ".")

    assert len(smtp.mailbox.messages) == made and smtp.mailbox.logins == [SMTP_USER] * made
    sender, recipients, mail = next(
        m for m in smtp.mailbox.messages if m[2]["X-Permscope-Alert"] == facts["alertId"]
    )
    assert sender == "permscope@example.com" and sorted(recipients) == [
        "oncall@example.com",
        "secops@example.com",
    ]
    assert mail["Subject"].startswith("[permscope] high: New high finding superUserFinding")
    plain = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "First seen by the analysis of" in plain and f"Subject id:  {BOB}" in plain
    assert "<table" in html and "superUserFinding" in html and f"alerts/{facts['alertId']}" in html
    assert mail["Message-ID"].startswith(f"<alert-{facts['alertId']}.")

    with Session(engine) as session:
        attempts = session.scalars(select(AlertDeliveryAttemptRow)).all()
        assert len(attempts) == 2 * made and all(a.succeeded for a in attempts)
        assert set(session.scalars(select(AlertDeliveryRow.status))) == {"sent"}
    # nothing is sent again: another pass, the same analysis evaluated again, another analysis
    assert Scheduler(engine, settings=settings, clock=clock).run_once().alerts_sent == 0
    assert reevaluate(engine, clock.now.replace(year=2000), clock.now).alerts == 0
    analyze_system(engine, ACCOUNT)
    clock.advance(minutes=5)
    assert Scheduler(engine, settings=settings, clock=clock).run_once().alerts_sent == 0
    assert len(receiver.received) == made and len(smtp.mailbox.messages) == made


def test_secrets_are_sealed_in_the_database(
    engine: Engine, settings: Settings, receiver: WebhookReceiver, smtp: SmtpServerThread
) -> None:
    channels(engine, settings, receiver, smtp)
    with engine.connect() as connection:
        stored = " ".join(str(row) for row in connection.execute(text("SELECT * FROM alert_channels")))
    assert SECRET not in stored and SMTP_PASSWORD not in stored and "secret-path-part" not in stored
    assert "127.0.0.1" in stored  # what may be shown is shown


def test_a_failing_receiver_is_retried_with_backoff_and_each_attempt_recorded(
    engine: Engine,
    tmp_path: Path,
    settings: Settings,
    receiver: WebhookReceiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    add_webhook_channel(engine, settings, "slack", receiver.url, SECRET, "admin", Clock()())
    high_findings_rule(engine, "slack")
    made = a_new_high_finding(engine, tmp_path)
    clock = Clock()
    scheduler = Scheduler(engine, settings=settings, clock=clock)
    receiver.status = 500
    with caplog.at_level(logging.ERROR):
        report = scheduler.run_once()
    assert (report.alerts_sent, report.alert_failures) == (0, made)
    assert "HTTP 500" in caplog.text and "will retry" in caplog.text
    assert "secret-path-part" not in caplog.text and SECRET not in caplog.text
    assert scheduler.run_once().alert_failures == 0  # not due yet: 30 s of backoff
    clock.advance(seconds=29)
    assert scheduler.run_once().alert_failures == 0
    receiver.status = 200
    clock.advance(seconds=2)
    assert scheduler.run_once().alerts_sent == made
    with Session(engine) as session:
        outcomes = [(a.succeeded, a.error) for a in session.scalars(select(AlertDeliveryAttemptRow))]
        deliveries = session.scalars(select(AlertDeliveryRow)).all()
    assert sorted(outcomes, key=str) == sorted(
        [(False, "the webhook answered HTTP 500")] * made + [(True, None)] * made, key=str
    )
    assert all(d.status == "sent" and d.attempts == 2 for d in deliveries)
    assert len(receiver.received) == 2 * made  # each alert refused once, then accepted once


class Dies(BaseException):
    """The process is killed (not an Exception: nothing catches it)."""


def test_a_restart_in_the_middle_sends_no_alert_twice(
    engine: Engine,
    tmp_path: Path,
    settings: Settings,
    receiver: WebhookReceiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    add_webhook_channel(engine, settings, "slack", receiver.url, SECRET, "admin", Clock()())
    add_webhook_channel(engine, settings, "second", receiver.url, SECRET, "admin", Clock()())
    high_findings_rule(engine, "slack", "second")
    # the analysis's evaluation dies after its first batch: the rest of the signals stay pending
    import permscope.workflows.alerts as alerts

    real_apply = alerts._apply
    calls = {"n": 0}

    def dying_apply(*args: Any) -> Any:
        calls["n"] += 1
        if calls["n"] > 1:
            raise RuntimeError("killed")
        return real_apply(*args)

    monkeypatch.setattr(alerts, "BATCH", 1)
    monkeypatch.setattr(alerts, "_apply", dying_apply)
    made_before = a_new_high_finding(engine, tmp_path)  # evaluate_quietly logs the failure
    monkeypatch.setattr(alerts, "_apply", real_apply)
    made = made_before + evaluate_pending(engine, Clock()()).alerts
    assert made_before >= 1 and made >= made_before
    # delivery dies after the first message went out and was recorded
    sent: list[str] = []

    def dying_sender(url: str, secret: str) -> Callable[..., None]:
        real = WebhookSender(url, secret=secret)

        def send(payload: dict[str, Any], headers: dict[str, str]) -> None:
            if sent:
                raise Dies
            real(payload, headers)
            sent.append(headers["X-Permscope-Delivery"])

        return send

    clock = Clock()
    first = Scheduler(engine, settings=settings, clock=clock)
    first.alert_senders = {"webhooks": dying_sender}
    with pytest.raises(Dies):
        first.run_once()
    assert len(receiver.received) == 1
    clock.advance(minutes=3)  # the dead process's claim has run out
    report = Scheduler(engine, settings=settings, clock=clock).run_once()
    assert report.alerts_sent == 2 * made - 1
    ids = [r.headers["X-Permscope-Delivery"] for r in receiver.received]
    assert len(ids) == len(set(ids)) == 2 * made
    with Session(engine) as session:
        assert int(session.scalar(select(func.count()).select_from(AlertRow)) or 0) == made


def test_email_over_implicit_tls_and_a_wrong_password(
    engine: Engine, tmp_path: Path, settings: Settings
) -> None:
    with SmtpServerThread(tmp_path, implicit_tls=True) as smtp:
        for name, password in (("good", SMTP_PASSWORD), ("bad", "wrong-password")):
            add_email_channel(
                engine, settings, name, host="127.0.0.1", port=smtp.port, security="tls", username=SMTP_USER,
                password=password, ca_file=str(smtp.cert), sender="p@example.com", recipients=["a@example.com"],
                created_by="admin", now=Clock()(),
            )  # fmt: skip
        assert send_test_message(engine, settings, "good", Clock()()) is None
        (_sender, _to, mail) = smtp.mailbox.messages[0]
        assert "Test message of the alert channel good" in mail["Subject"]
        with pytest.raises(NotificationError, match=r"refused the login of 'alerts@example\.com'") as refused:
            send_test_message(engine, settings, "bad", Clock()())
        assert "wrong-password" not in str(refused.value)


def test_a_changed_server_secret_is_a_clear_failed_attempt(
    engine: Engine, tmp_path: Path, settings: Settings, receiver: WebhookReceiver
) -> None:
    add_webhook_channel(engine, settings, "slack", receiver.url, SECRET, "admin", Clock()())
    high_findings_rule(engine, "slack")
    a_new_high_finding(engine, tmp_path)
    other = settings.model_copy(update={"secret_key": SecretStr("another-secret")})
    Scheduler(engine, settings=other, clock=Clock()).run_once()
    with Session(engine) as session:
        errors = set(session.scalars(select(AlertDeliveryAttemptRow.error)))
    assert len(errors) == 1 and "cannot be decrypted: the server secret" in errors.pop()
    assert receiver.received == []
