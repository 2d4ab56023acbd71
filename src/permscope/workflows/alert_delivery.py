"""Deliver queued alerts (the `alert_deliveries` outbox): a signed webhook or an e-mail per alert and channel,
sent by the scheduler's passes with the outbox rules of `workflows.notifications` (claimed, then sent; retried
with backoff; given up after MAX_ATTEMPTS). Every attempt is recorded with its outcome. Secrets are opened only
to send and never logged: errors name the channel and the alert.

A delivery is recorded as sent in the transaction after the send; a process killed between the two sends it
again when its claim runs out (at least once): webhooks carry `X-Permscope-Delivery` and e-mails a Message-ID
that name the delivery, so a receiver recognises the repeat.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any

from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from permscope.core.alerts import ChannelKind
from permscope.settings import Settings
from permscope.store import alerts as store
from permscope.store.tables import (
    AlertChannelRow,
    AlertDeliveryAttemptRow,
    AlertDeliveryRow,
    AlertRow,
    AlertSignalRow,
)
from permscope.workflows.alert_messages import AlertMessage, email_message, webhook_payload
from permscope.workflows.alert_rules import OpenedChannel, open_channel
from permscope.workflows.mail import EmailSender, SmtpServer
from permscope.workflows.notifications import WebhookSender, attempt_outcome, claim_message, send_error
from permscope.workflows.secrets import sealing_key

log = logging.getLogger(__name__)

DELIVERY_HEADER = "X-Permscope-Delivery"

WebhookFactory = Callable[[str, str], Callable[..., None]]  # (url, secret) -> a sender of JSON with headers
MailerFactory = Callable[[SmtpServer], Callable[[EmailMessage], list[str]]]


def _webhook(url: str, secret: str) -> Callable[..., None]:
    return WebhookSender(url, secret=secret)


def _mailer(server: SmtpServer) -> Callable[[EmailMessage], list[str]]:
    return EmailSender(server)


@dataclass(slots=True)
class DeliveryReport:
    """What one pass of deliveries did."""

    sent: int = 0
    failed: int = 0


def alert_link(settings: Settings, alert_id: str) -> str | None:
    """The alert's page in the web UI, when the server's public URL is configured."""
    return f"{settings.public_url}/ui/alerts/{alert_id}" if settings.public_url else None


def message_of(alert: AlertRow, evidence: dict[str, Any], link: str | None) -> AlertMessage:
    """What the deliveries of an alert say."""
    return AlertMessage(
        alert_id=alert.alert_id,
        rule_name=alert.rule_name,
        kind=alert.kind,
        severity=alert.severity,
        cloud=alert.cloud,
        system_id=alert.system_id,
        subject_kind=alert.subject_kind,
        subject_name=alert.subject_name,
        subject_id=alert.subject_id,
        observed_at=alert.observed_at,
        summary=alert.summary,
        explanation=alert.explanation,
        evidence=evidence,
        link=link,
    )


def send_to(
    channel: OpenedChannel,
    message: AlertMessage,
    delivery_id: int,
    now: datetime,
    *,
    webhooks: WebhookFactory = _webhook,
    mailers: MailerFactory = _mailer,
) -> str | None:
    """Send one alert through one channel; a note on partial success (recipients refused), else None."""
    if channel.kind is ChannelKind.WEBHOOK:
        send = webhooks(channel.url, channel.secret)
        send(webhook_payload(message), {DELIVERY_HEADER: f"{message.alert_id}.{delivery_id}"})
        return None
    settings = channel.settings
    mail = email_message(message, str(settings["sender"]), list(settings["recipients"]), delivery_id, now)
    refused = mailers(channel.smtp())(mail)
    return f"refused recipients: {', '.join(refused)}" if refused else None


def deliver_alerts(
    engine: Engine,
    settings: Settings,
    now: datetime,
    *,
    limit: int = 50,
    webhooks: WebhookFactory = _webhook,
    mailers: MailerFactory = _mailer,
) -> DeliveryReport:
    """Send the deliveries due at `now`, each at most once per pass."""
    report = DeliveryReport()
    with Session(engine) as session:
        due = store.due_deliveries(session, now, limit)
    if not due:
        return report
    key = sealing_key(engine, settings)
    for delivery_id, attempts in due:
        if not claim_message(engine, AlertDeliveryRow, delivery_id, attempts, now):
            continue
        with Session(engine) as session:
            loaded = _load(session, delivery_id)
        if loaded is None:
            continue  # its alert or channel was removed meanwhile (the delivery went with it)
        alert, evidence, channel_row = loaded
        message = message_of(alert, evidence, alert_link(settings, alert.alert_id))
        error, note = _attempt(key, channel_row, message, delivery_id, now, webhooks, mailers)
        values = attempt_outcome(attempts + 1, error, now)
        with Session(engine) as session, session.begin():
            session.execute(
                update(AlertDeliveryRow).where(AlertDeliveryRow.id == delivery_id).values(**values)
            )
            session.add(
                AlertDeliveryAttemptRow(
                    delivery_id=delivery_id, attempted_at=now, succeeded=error is None, error=error or note
                )
            )
        if error is None:
            report.sent += 1
            continue
        report.failed += 1
        log.error(
            "alert %s through channel %s failed (attempt %d)%s: %s",
            alert.alert_id,
            channel_row.name,
            attempts + 1,
            "; giving up" if values.get("status") == "failed" else "; will retry",
            error,
        )
    return report


def _attempt(
    key: bytes,
    channel_row: AlertChannelRow,
    message: AlertMessage,
    delivery_id: int,
    now: datetime,
    webhooks: WebhookFactory,
    mailers: MailerFactory,
) -> tuple[str | None, str | None]:
    """Open the channel and send: (the error, None when it went through; a note on partial success)."""
    notes: list[str | None] = []

    def send() -> None:
        channel = open_channel(key, channel_row)
        notes.append(send_to(channel, message, delivery_id, now, webhooks=webhooks, mailers=mailers))

    error = send_error(send)
    return error, notes[0] if notes else None


def _load(session: Session, delivery_id: int) -> tuple[AlertRow, dict[str, Any], AlertChannelRow] | None:
    delivery = session.get(AlertDeliveryRow, delivery_id)
    if delivery is None:
        return None
    alert = session.get(AlertRow, delivery.alert_pk)
    channel = session.get(AlertChannelRow, delivery.channel_id)
    if alert is None or channel is None:
        return None
    signal = session.get(AlertSignalRow, alert.signal_id)
    return alert, dict(signal.evidence or {}) if signal is not None else {}, channel


def send_test_message(engine: Engine, settings: Settings, name: str, now: datetime) -> str | None:
    """Send a test message through a channel now (nothing is recorded): a note, or NotificationError."""
    from permscope.core.errors import NotFoundError

    with Session(engine) as session:
        row = store.channel_named(session, name)
        if row is None:
            raise NotFoundError(f"no alert channel named {name!r}")
        channel = open_channel(sealing_key(engine, settings), row)
    message = AlertMessage(
        alert_id="test",
        rule_name="(test)",
        kind="test",
        severity="low",
        cloud="",
        system_id="",
        subject_kind="system",
        subject_name="permscope",
        subject_id="",
        observed_at=now,
        summary=f"Test message of the alert channel {name}",
        explanation="If you read this, alerts reach you through this channel.",
    )
    return send_to(channel, message, 0, now)
