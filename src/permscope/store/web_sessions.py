"""The web UI's sessions in the database: keep one, find one, touch one, end one or all of a key's."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from permscope.store.tables import WebSessionRow


def add_web_session(session: Session, id_hash: str, key_id: str, csrf_token: str, now: datetime) -> None:
    """Keep a new session, signed in now with the key `key_id`."""
    session.add(
        WebSessionRow(id_hash=id_hash, key_id=key_id, csrf_token=csrf_token, created_at=now, last_seen_at=now)
    )


def web_session(session: Session, id_hash: str) -> WebSessionRow | None:
    """The session whose id hashes to `id_hash`, None when there is none."""
    return session.get(WebSessionRow, id_hash)


def touch_web_session(session: Session, id_hash: str, now: datetime) -> None:
    """Record a request of the session now (its idle time starts again)."""
    session.execute(update(WebSessionRow).where(WebSessionRow.id_hash == id_hash).values(last_seen_at=now))


def end_web_session(session: Session, id_hash: str) -> bool:
    """Delete one session; False when there was none."""
    result = session.execute(delete(WebSessionRow).where(WebSessionRow.id_hash == id_hash))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def end_web_sessions_of_key(session: Session, key_id: str) -> int:
    """Delete every session signed in with the key; how many there were."""
    result = session.execute(delete(WebSessionRow).where(WebSessionRow.key_id == key_id))
    return int(result.rowcount)  # type: ignore[attr-defined]


def end_expired_web_sessions(session: Session, idle_since: datetime, started_before: datetime) -> int:
    """Delete the sessions idle since before `idle_since` or signed in before `started_before`; how many."""
    result = session.execute(
        delete(WebSessionRow).where(
            or_(WebSessionRow.last_seen_at < idle_since, WebSessionRow.created_at < started_before)
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def web_session_hashes(session: Session, key_id: str) -> list[str]:
    """The hashed ids of the key's sessions (for tests and an administrator's view)."""
    return list(
        session.execute(select(WebSessionRow.id_hash).where(WebSessionRow.key_id == key_id)).scalars()
    )
