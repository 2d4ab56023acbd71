"""Webhook notifications: Slack-compatible JSON, queued (an outbox) and sent by the scheduler, retried with
backoff (at least once, in order of queueing). Permissions on demand queues one per change of a request; alerts
queue one per alert and channel (`workflows.alert_delivery`), signed with the channel's shared secret.

Signing (docs/monitoring.md, "Deliveries"): `X-Permscope-Timestamp` holds the Unix time of sending and
`X-Permscope-Signature` is `v1=` + hex HMAC-SHA256 over `{timestamp}.{body}` with the shared secret, so a
receiver recomputes it over the raw body, compares in constant time and refuses old timestamps (replays)."""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import orjson
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from permscope.core.errors import PermscopeError
from permscope.core.requests import action_names
from permscope.store.requests import due_notifications
from permscope.store.tables import PermissionsRequestRow, RequestNotificationRow

log = logging.getLogger(__name__)

NOTIFY_EVENTS = frozenset(
    {
        "submitted",
        "approved",
        "rejected",
        "canceled",
        "granted",
        "grantingFailed",
        "revoked",
        "revokingFailed",
    }
)
MAX_ATTEMPTS = 10
CLAIM = timedelta(minutes=2)  # a message being sent is not picked up by another scheduler meanwhile
ICONS = {"grantingFailed": ":rotating_light:", "revokingFailed": ":rotating_light:", "rejected": ":no_entry:"}

Send = Callable[[dict[str, Any]], None]


class NotificationError(PermscopeError):
    """The webhook did not accept a message."""


def _what(request: PermissionsRequestRow) -> str:
    names = action_names(request.action)
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    return shown or "permissions"


def payload_for(
    request: PermissionsRequestRow, event: str, *, actor: str | None, detail: str | None, at: datetime
) -> dict[str, Any]:
    """A Slack-compatible message (`text`) with the facts in a `permscope` object for other receivers."""
    grantee = request.grantee or request.identity_external_id
    text = (
        f"{ICONS.get(event, ':key:')} permscope: request {request.request_id} ({_what(request)} for {grantee} "
        f"in {request.cloud} {request.system_id}) is now *{event}*"
    )
    if actor:
        text += f" by {actor}"
    if detail:
        text += f": {detail}"
    return {
        "text": text,
        "permscope": {
            "event": event,
            "requestId": request.request_id,
            "statusDetail": request.status,
            "activeOccurrenceStatus": request.occurrence_status,
            "authorizationSystemType": request.cloud,
            "authorizationSystemId": request.system_id,
            "identity": request.identity_external_id,
            "grantee": grantee,
            "createdBy": request.created_by,
            "actor": actor,
            "detail": detail,
            "startDateTime": request.grant_start.isoformat() if request.grant_start else None,
            "endDateTime": request.grant_end.isoformat() if request.grant_end else None,
            "modificationDateTime": at.isoformat(),
        },
    }


TIMESTAMP_HEADER = "X-Permscope-Timestamp"
SIGNATURE_HEADER = "X-Permscope-Signature"
SIGNATURE_VERSION = "v1"


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    """`v1=` + hex HMAC-SHA256 of `{timestamp}.{body}` keyed with the shared secret."""
    digest = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return f"{SIGNATURE_VERSION}={digest.hexdigest()}"


@dataclass(frozen=True, slots=True)
class WebhookSender:
    """POSTs JSON to one URL (the URL may hold a secret, e.g. Slack's: it is never logged), signed with
    `secret` when one is given (the timestamp and signature headers of the module docstring)."""

    url: str
    timeout: float = 5.0
    secret: str | None = field(default=None, repr=False)
    clock: Callable[[], float] = time.time

    def __call__(self, payload: dict[str, Any], headers: Mapping[str, str] | None = None) -> None:
        """Send one message (with extra `headers`); NotificationError unless the receiver answers 2xx."""
        if not self.url.startswith(("https://", "http://")):
            raise NotificationError("the webhook URL must start with https:// or http://")
        body = orjson.dumps(payload)
        sent = {"Content-Type": "application/json", **(headers or {})}
        if self.secret:
            timestamp = str(int(self.clock()))
            sent[TIMESTAMP_HEADER] = timestamp
            sent[SIGNATURE_HEADER] = webhook_signature(self.secret, timestamp, body)
        request = urllib.request.Request(  # noqa: S310 - scheme checked above
            self.url, data=body, headers=sent, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                status = int(response.status)
        except urllib.error.HTTPError as exc:
            raise NotificationError(f"the webhook answered HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise NotificationError(f"the webhook could not be reached: {reason}") from None
        if not 200 <= status < 300:
            raise NotificationError(f"the webhook answered HTTP {status}")


MAX_BACKOFF = timedelta(hours=1)


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, ... up to an hour (the wait before retrying a webhook or a scheduler job)."""
    return min(MAX_BACKOFF, timedelta(seconds=30 * 2 ** max(0, attempts - 1)))


OutboxTable = type[RequestNotificationRow] | type[Any]  # a table with id, status, due_at, attempts, ...


def claim_message(engine: Engine, table: OutboxTable, row_id: int, attempts: int, now: datetime) -> bool:
    """Claim one due message of an outbox table (pending, due) for sending: it counts the attempt and is not due
    again before CLAIM has passed, so another scheduler does not send it meanwhile. Whether it was claimed."""
    with Session(engine) as session, session.begin():
        claimed = session.execute(
            update(table)
            .where(table.id == row_id, table.status == "pending", table.due_at <= now)
            .values(due_at=now + CLAIM, attempts=attempts + 1)
        ).rowcount  # type: ignore[attr-defined]
    return bool(claimed)


def attempt_outcome(attempts: int, error: str | None, now: datetime) -> dict[str, Any]:
    """The outbox columns after attempt number `attempts`: sent; or due again after the backoff; or failed for
    good after MAX_ATTEMPTS."""
    if error is None:
        return {"status": "sent", "sent_at": datetime.now(UTC), "last_error": None}
    values: dict[str, Any] = {"last_error": error, "due_at": now + backoff(attempts)}
    if attempts >= MAX_ATTEMPTS:
        values["status"] = "failed"
    return values


def send_error(send: Callable[[], None]) -> str | None:
    """Run one send: None when it went through, else what went wrong (a receiver's failure, or a bug in
    building the message, must never stop the scheduler)."""
    try:
        send()
    except NotificationError as exc:
        return str(exc)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def deliver_due(engine: Engine, send: Send, now: datetime, limit: int = 50) -> tuple[int, int]:
    """Send queued messages that are due; (sent, failed attempts). A message is sent at least once."""
    sent = failures = 0
    with Session(engine) as session:
        due = [(row.id, row.payload, row.attempts) for row in due_notifications(session, now, limit)]
    for row_id, payload, attempts in due:
        if not claim_message(engine, RequestNotificationRow, row_id, attempts, now):
            continue
        error = send_error(partial(send, payload))
        values = attempt_outcome(attempts + 1, error, now)
        if error is None:
            sent += 1
        else:
            failures += 1
            final = values.get("status") == "failed"
            log.error(
                "webhook notification %s (%s of request %s) failed%s: %s",
                row_id,
                payload.get("permscope", {}).get("event"),
                payload.get("permscope", {}).get("requestId"),
                "; giving up" if final else "; will retry",
                error,
            )
        with Session(engine) as session, session.begin():
            session.execute(
                update(RequestNotificationRow).where(RequestNotificationRow.id == row_id).values(**values)
            )
    return sent, failures
