"""Webhook notifications of permissions on demand: Slack-compatible JSON, queued with each change (an
outbox) and sent by the scheduler, retried with backoff (at least once, in order of queueing)."""

from __future__ import annotations

import logging
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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


@dataclass(frozen=True, slots=True)
class WebhookSender:
    """POSTs JSON to one URL (the URL may hold a secret, e.g. Slack's: it is never logged)."""

    url: str
    timeout: float = 5.0

    def __call__(self, payload: dict[str, Any]) -> None:
        """Send one message; NotificationError unless the receiver answers 2xx."""
        if not self.url.startswith(("https://", "http://")):
            raise NotificationError("PERMSCOPE_REQUESTS_WEBHOOK_URL must start with https:// or http://")
        request = urllib.request.Request(  # noqa: S310 - scheme checked above
            self.url, data=orjson.dumps(payload), headers={"Content-Type": "application/json"}, method="POST"
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


def deliver_due(engine: Engine, send: Send, now: datetime, limit: int = 50) -> tuple[int, int]:
    """Send queued messages that are due; (sent, failed attempts). A message is sent at least once."""
    sent = failures = 0
    with Session(engine) as session:
        due = [(row.id, row.payload, row.attempts) for row in due_notifications(session, now, limit)]
    for row_id, payload, attempts in due:
        with Session(engine) as session, session.begin():
            claimed = session.execute(
                update(RequestNotificationRow)
                .where(
                    RequestNotificationRow.id == row_id,
                    RequestNotificationRow.status == "pending",
                    RequestNotificationRow.due_at <= now,
                )
                .values(due_at=now + CLAIM, attempts=attempts + 1)
            ).rowcount  # type: ignore[attr-defined]
        if not claimed:
            continue
        error: str | None = None
        try:
            send(payload)
        except NotificationError as exc:
            error = str(exc)
        except Exception as exc:  # a receiver's failure must never stop the scheduler
            error = f"{type(exc).__name__}: {exc}"
        values: dict[str, Any]
        if error is None:
            values = {"status": "sent", "sent_at": datetime.now(UTC), "last_error": None}
            sent += 1
        else:
            failures += 1
            final = attempts + 1 >= MAX_ATTEMPTS
            values = {"last_error": error, "due_at": now + backoff(attempts + 1)}
            if final:
                values["status"] = "failed"
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
