"""Webhook notifications, received by a real local HTTP server: Slack-compatible messages for submit,
decision, grant and revoke; retries with backoff when the receiver fails; the URL is never logged."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from permscope.store.tables import RequestNotificationRow
from permscope.workflows.notifications import NotificationError, WebhookSender
from permscope.workflows.requests import RequestConfig, create_request, decide
from permscope.workflows.scheduler import Scheduler
from request_support import (
    Clock,
    mocked_aws,
    scheduler_settings,
    seed_account,
    statements_body,
    team,
)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto, with the test account."""
    yield from mocked_aws(monkeypatch)


class Receiver:
    """A webhook receiver: records JSON bodies; answers `status`."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length))
                if receiver.status == 200:
                    receiver.bodies.append(body)
                assert self.headers["Content-Type"] == "application/json"
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/T000/B000/secret-part"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hook = Receiver()
    hook.thread.start()
    yield hook
    hook.server.shutdown()
    hook.server.server_close()


def test_every_step_reaches_the_webhook(engine: Engine, receiver: Receiver, aws: Any) -> None:
    seed_account(engine)
    keys = team(engine)
    clock = Clock()
    settings = scheduler_settings(requests_webhook_url=receiver.url)
    config = RequestConfig.from_settings(settings)
    assert config.notify
    record = create_request(engine, keys["alice"].principal, statements_body(), config=config, now=clock())
    request_id = record.request.request_id
    decide(engine, keys["bob"].principal, request_id, True, "ok for the incident", config=config, now=clock())
    scheduler = Scheduler(engine, settings=settings, clock=clock)
    assert scheduler.send is not None
    report = scheduler.run_once()
    assert report.notifications_sent == 3
    clock.advance(hours=1)
    assert scheduler.run_once().notifications_sent == 1
    events = [body["permscope"]["event"] for body in receiver.bodies]
    assert events == ["submitted", "approved", "granted", "revoked"]
    approved = receiver.bodies[1]
    assert (
        approved["text"].startswith(":key: permscope: request ")
        and "approved* by bob: ok for the incident" in approved["text"]
    )
    assert approved["permscope"]["requestId"] == request_id
    assert approved["permscope"]["grantee"].endswith(":role/ops")
    assert receiver.bodies[3]["permscope"]["activeOccurrenceStatus"] == "revoked"


def test_a_failing_receiver_is_retried_with_backoff(
    engine: Engine, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    seed_account(engine)
    keys = team(engine)
    clock = Clock()
    settings = scheduler_settings(requests_webhook_url=receiver.url)
    create_request(
        engine,
        keys["alice"].principal,
        statements_body(),
        config=RequestConfig.from_settings(settings),
        now=clock(),
    )
    scheduler = Scheduler(engine, settings=settings, clock=clock)
    receiver.status = 500
    with caplog.at_level(logging.ERROR):
        report = scheduler.run_once()
    assert (report.notifications_sent, report.notification_failures) == (0, 1)
    assert "HTTP 500" in caplog.text and "secret-part" not in caplog.text
    receiver.status = 200
    assert scheduler.run_once().notifications_sent == 0  # not yet: 30 s backoff
    clock.advance(seconds=31)
    assert scheduler.run_once().notifications_sent == 1
    with Session(engine) as session:
        [row] = session.execute(select(RequestNotificationRow)).scalars()
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, None)
    clock.advance(days=1)
    assert scheduler.run_once().notifications_sent == 0  # sent once only


def test_the_sender_refuses_other_schemes_and_reports_unreachable_receivers() -> None:
    with pytest.raises(NotificationError, match="https://"):
        WebhookSender("file:///etc/passwd")({"text": "x"})
    with pytest.raises(NotificationError, match="could not be reached"):
        WebhookSender("http://127.0.0.1:9/hook", timeout=2)({"text": "x"})


def test_scheduler_without_a_webhook_sends_nothing(engine: Engine) -> None:
    scheduler = Scheduler(engine, settings=scheduler_settings(), clock=Clock())
    assert scheduler.send is None
    assert scheduler.run_once().notifications_sent == 0
    assert timedelta(0) < scheduler.lease
