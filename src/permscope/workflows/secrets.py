"""Keys derived from the server secret: PERMSCOPE_SECRET_KEY when it is set, else a random secret made once and
kept in the database, so that every server process on one database signs and checks alike; and the secrets the
server keeps for others (alert channels' webhook secrets, SMTP passwords), sealed with such a key (AES-GCM)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import UTC, datetime

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from permscope.core.errors import PermscopeError
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


SEALING_PURPOSE = "sealed-secrets"
SEALED_PREFIX = "v1."
NONCE_BYTES = 12


class SealedSecretError(PermscopeError):
    """A sealed secret cannot be opened: the server secret changed, or the stored value was altered."""


def sealing_key(engine: Engine, settings: Settings) -> bytes:
    """The AES-256 key that seals the secrets the server keeps (derived from the server secret, like every key)."""
    return signing_key(engine, settings, SEALING_PURPOSE)


def seal(key: bytes, plaintext: str, context: str) -> str:
    """Encrypt `plaintext` (AES-256-GCM, a random nonce) bound to `context` (what it belongs to), as text."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, plaintext.encode("utf-8"), context.encode("utf-8"))
    return SEALED_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def unseal(key: bytes, text: str, context: str) -> str:
    """The plaintext of `seal`; SealedSecretError when it cannot be opened with this key and context."""
    try:
        raw = base64.urlsafe_b64decode(text.removeprefix(SEALED_PREFIX).encode("ascii"))
        opened = AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.encode("utf-8"))
        return opened.decode("utf-8")
    except (InvalidTag, ValueError, UnicodeError):
        raise SealedSecretError(
            f"the stored secret of {context} cannot be decrypted: the server secret (PERMSCOPE_SECRET_KEY, or the "
            "database's own) is not the one it was sealed with; store the secret again"
        ) from None
