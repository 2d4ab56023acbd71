"""Web UI sessions: sign in with an API key, find the signed-in principal of a session id, sign out.

A session id is 256 random bits, handed to the browser once (its cookie) and kept only as its SHA-256, so a copy
of the database signs nobody in. A session ends when its person signs out, after `web_session_idle_seconds`
without a request, `web_session_max_seconds` after sign-in, and as soon as its API key is disabled (checked on
every request: the key's roles are read afresh, so a changed scope applies at once)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from permscope.settings import Settings
from permscope.store.web_sessions import (
    add_web_session,
    end_expired_web_sessions,
    end_web_session,
    end_web_sessions_of_key,
    touch_web_session,
    web_session,
)
from permscope.workflows.apikeys import ApiPrincipal, enabled_key_principal, record_key_use, verify_api_key

TOUCH_INTERVAL = timedelta(seconds=60)  # a session's last request is written at most this often


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A live session: who it is, the CSRF token of its forms and its id's hash (never the id itself)."""

    principal: ApiPrincipal
    csrf_token: str
    session_id_hash: str


@dataclass(frozen=True, slots=True)
class NewSession:
    """A session just made: `session_id` is the cookie's value, the only copy of it."""

    session_id: str
    signed_in: SignedIn


def session_id_hash(session_id: str) -> str:
    """What the database keeps of a session id."""
    return hashlib.sha256(session_id.encode("utf-8", "replace")).hexdigest()


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _limits(settings: Settings, now: datetime) -> tuple[datetime, datetime]:
    """(idle since, started before): sessions last seen before the one or signed in before the other are over."""
    return (
        now - timedelta(seconds=settings.web_session_idle_seconds),
        now - timedelta(seconds=settings.web_session_max_seconds),
    )


def sign_in(engine: Engine, token: str, settings: Settings, now: datetime | None = None) -> NewSession | None:
    """A new session for the API key `token`, None when the key is unknown, malformed or disabled. Sessions that
    are over are deleted on the way."""
    principal = verify_api_key(engine, token)
    if principal is None:
        return None
    now = now or _utc_now()
    session_id = secrets.token_urlsafe(32)
    csrf_token = secrets.token_urlsafe(32)
    id_hash = session_id_hash(session_id)
    with Session(engine) as session, session.begin():
        end_expired_web_sessions(session, *_limits(settings, now))
        add_web_session(session, id_hash, principal.key_id, csrf_token, now)
    record_key_use(engine, principal.key_id, now, TOUCH_INTERVAL)
    return NewSession(session_id, SignedIn(principal, csrf_token, id_hash))


def signed_in(
    engine: Engine, session_id: str, settings: Settings, now: datetime | None = None
) -> SignedIn | None:
    """The live session of `session_id` with its key's principal as it is now; None when there is none, it is
    over (then it is deleted) or its key is disabled (then every session of that key is deleted)."""
    if not session_id:
        return None
    now = now or _utc_now()
    id_hash = session_id_hash(session_id)
    idle_since, started_before = _limits(settings, now)
    with Session(engine) as session:
        row = web_session(session, id_hash)
        if row is None:
            return None
        key_id, csrf_token = row.key_id, row.csrf_token
        over = row.last_seen_at < idle_since or row.created_at < started_before
        principal = None if over else enabled_key_principal(session, key_id)
        stale = row.last_seen_at <= now - TOUCH_INTERVAL
    if principal is None:
        with Session(engine) as session, session.begin():
            if over:
                end_web_session(session, id_hash)
            else:
                end_web_sessions_of_key(session, key_id)
        return None
    if stale:
        with Session(engine) as session, session.begin():
            touch_web_session(session, id_hash, now)
        record_key_use(engine, key_id, now, TOUCH_INTERVAL)
    return SignedIn(principal, csrf_token, id_hash)


def sign_out(engine: Engine, id_hash: str) -> bool:
    """End one session (by its id's hash); False when it had already ended."""
    with Session(engine) as session, session.begin():
        return end_web_session(session, id_hash)
