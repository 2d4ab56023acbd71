"""API keys: created once and shown once; only a hash of the secret is stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from permscope.store.tables import ApiKeyRow

TOKEN_PREFIX = "psk"  # noqa: S105 - a public prefix of every token, not a secret


class ApiRole(StrEnum):
    """What a key may do. Admin: everything; viewer: read."""

    ADMIN = "admin"
    VIEWER = "viewer"


@dataclass(frozen=True, slots=True)
class ApiPrincipal:
    """Who is asking: the key that authenticated the request."""

    key_id: str
    name: str
    role: ApiRole


@dataclass(frozen=True, slots=True)
class CreatedKey:
    """A new key; `token` is the only copy of the secret and is never stored."""

    key_id: str
    name: str
    role: ApiRole
    token: str


def _hash_secret(secret: str) -> str:
    """The secret is 256 random bits, so one SHA-256 round is enough to make the stored hash useless to a thief."""
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def create_api_key(engine: Engine, role: ApiRole, name: str = "") -> CreatedKey:
    """Create a key with a role; the returned token must be shown to the user now, it cannot be recovered."""
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    with Session(engine) as session, session.begin():
        session.add(
            ApiKeyRow(
                key_id=key_id,
                secret_hash=_hash_secret(secret),
                role=role.value,
                name=name or key_id,
                created_at=datetime.now(UTC),
                disabled=False,
            )
        )
    return CreatedKey(
        key_id=key_id, name=name or key_id, role=role, token=f"{TOKEN_PREFIX}_{key_id}_{secret}"
    )


def verify_api_key(engine: Engine, token: str) -> ApiPrincipal | None:
    """The principal a bearer token belongs to, or None when it is unknown, malformed or disabled."""
    parts = token.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        return None
    _prefix, key_id, secret = parts
    with Session(engine) as session:
        row = session.execute(select(ApiKeyRow).where(ApiKeyRow.key_id == key_id)).scalar_one_or_none()
        if row is None or row.disabled:
            return None
        if not hmac.compare_digest(row.secret_hash, _hash_secret(secret)):
            return None
        return ApiPrincipal(key_id=row.key_id, name=row.name, role=ApiRole(row.role))


def list_api_keys(engine: Engine) -> list[ApiKeyRow]:
    """Every key (without secrets: none are stored)."""
    with Session(engine) as session:
        return list(session.execute(select(ApiKeyRow).order_by(ApiKeyRow.id)).scalars())


def disable_api_key(engine: Engine, key_id: str) -> bool:
    """Disable a key; False when no such key exists."""
    with Session(engine) as session, session.begin():
        result = session.execute(update(ApiKeyRow).where(ApiKeyRow.key_id == key_id).values(disabled=True))
        return bool(result.rowcount)  # type: ignore[attr-defined]


def disable_api_keys_named(engine: Engine, name: str) -> int:
    """Disable every enabled key with this name; returns how many were disabled."""
    with Session(engine) as session, session.begin():
        result = session.execute(
            update(ApiKeyRow)
            .where(ApiKeyRow.name == name, ApiKeyRow.disabled.is_(False))
            .values(disabled=True)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
