"""Keys derived from the server secret: PERMSCOPE_SECRET_KEY when it is set, else a random secret made once and
kept in the database, so that every server process on one database signs and checks alike."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from permscope.settings import Settings
from permscope.store.secrets import add_server_secret, server_secret

DATABASE_SECRET = "server-secret"  # noqa: S105 - the name of the generated secret in the database


def database_secret(engine: Engine) -> str:
    """The database's random server secret, made on first use (the first process to commit it wins)."""
    with Session(engine) as session:
        found = server_secret(session, DATABASE_SECRET)
    if found is not None:
        return found
    try:
        with Session(engine) as session, session.begin():
            add_server_secret(session, DATABASE_SECRET, secrets.token_urlsafe(32), datetime.now(UTC))
    except IntegrityError:
        pass  # another process kept its secret first: that one is read below
    with Session(engine) as session:
        kept = server_secret(session, DATABASE_SECRET)
    assert kept is not None
    return kept


def signing_key(engine: Engine, settings: Settings, purpose: str) -> bytes:
    """The HMAC key for one purpose (e.g. `skiptoken`), derived from the server secret."""
    if settings.secret_key is not None and settings.secret_key.get_secret_value():
        secret = settings.secret_key.get_secret_value()
    else:
        secret = database_secret(engine)
    return hmac.new(secret.encode("utf-8"), purpose.encode("utf-8"), hashlib.sha256).digest()
