"""API keys: created once and shown once; only a hash of the secret is stored. A key acts for a principal name
and holds a global role plus roles scoped per authorization system (requestor, approver, administrator, viewer)."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, or_, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from permscope.core.access import ANY, Systems
from permscope.core.access import ApiRole as ApiRole  # defined in core: the command line reads it without SQL
from permscope.core.errors import InputError, NotFoundError
from permscope.core.ids import Cloud
from permscope.core.requests import SystemRole
from permscope.store.locks import waiting_at_most
from permscope.store.requests import key_with_scopes
from permscope.store.tables import ApiKeyRow, ApiKeyScopeRow

log = logging.getLogger(__name__)

KEY_USE_WAIT = 0.25  # seconds a key's last-use write waits for another writer before it is skipped
TOKEN_PREFIX = "psk"  # noqa: S105 - a public prefix of every token, not a secret
# psk_<key id: hex>_<secret: url-safe base64>; anything else (another alphabet, any non-ASCII) is no key
TOKEN_SHAPE = re.compile(rf"{TOKEN_PREFIX}_([0-9a-f]{{1,32}})_([A-Za-z0-9_-]{{1,256}})", re.ASCII)


@dataclass(frozen=True, slots=True)
class KeyScope:
    """A per-system role: `requestor:aws:123456789012`; `*` for every cloud or every system."""

    role: SystemRole
    cloud: str = ANY
    system_id: str = ANY

    def __str__(self) -> str:
        return f"{self.role.value}:{self.cloud}:{self.system_id}"

    @classmethod
    def parse(cls, text: str) -> KeyScope:
        """Read `ROLE[:CLOUD[:SYSTEM]]` (missing parts are `*`); InputError naming the text otherwise."""
        parts = [part.strip() for part in text.strip().split(":", 2)]
        try:
            role = SystemRole(parts[0].lower())
        except ValueError:
            roles = ", ".join(role.value for role in SystemRole)
            raise InputError(
                f"scope {text!r}", f"unknown role {parts[0]!r}; expected one of {roles}"
            ) from None
        cloud = parts[1].lower() if len(parts) > 1 and parts[1] else ANY
        if cloud != ANY:
            try:
                cloud = Cloud.parse(cloud).value
            except ValueError as exc:
                raise InputError(f"scope {text!r}", str(exc)) from None
        system_id = parts[2] if len(parts) > 2 and parts[2] else ANY
        return cls(role=role, cloud=cloud, system_id=system_id)


@dataclass(frozen=True, slots=True)
class ApiPrincipal:
    """Who is asking: the key that authenticated the request, the principal it acts for, its roles."""

    key_id: str
    name: str
    role: ApiRole
    principal: str = ""  # the person or service the key acts for; the key's name when not set
    scopes: tuple[KeyScope, ...] = ()

    @property
    def who(self) -> str:
        """The principal name used for createdBy, approvals and the self-approval check."""
        return self.principal or self.name

    def systems_with(self, roles: frozenset[SystemRole]) -> Systems:
        """The systems on which this key holds one of `roles`: admins hold every role everywhere, viewers the
        viewer role everywhere, scoped keys what their scopes give."""
        everywhere = self.role is ApiRole.ADMIN or (
            self.role is ApiRole.VIEWER and SystemRole.VIEWER in roles
        )
        scopes = tuple((s.cloud, s.system_id) for s in self.scopes if s.role in roles)
        return Systems(everything=everywhere, scopes=scopes)

    def roles_on(self, cloud: str, system_id: str) -> frozenset[SystemRole]:
        """The roles this key holds on one system."""
        return frozenset(
            role for role in SystemRole if self.systems_with(frozenset({role})).covers(cloud, system_id)
        )


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


def create_api_key(
    engine: Engine,
    role: ApiRole,
    name: str = "",
    *,
    principal: str | None = None,
    scopes: Iterable[KeyScope] = (),
) -> CreatedKey:
    """Create a key with a role (and per-system roles, acting for `principal`); the returned token must be
    shown to the user now, it cannot be recovered."""
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    with Session(engine) as session, session.begin():
        row = ApiKeyRow(
            key_id=key_id,
            secret_hash=_hash_secret(secret),
            role=role.value,
            name=name or key_id,
            created_at=datetime.now(UTC),
            disabled=False,
            principal=principal.strip() if principal and principal.strip() else None,
        )
        session.add(row)
        session.flush()
        for scope in dict.fromkeys(scopes):
            session.add(_scope_row(row.id, scope))
    return CreatedKey(
        key_id=key_id, name=name or key_id, role=role, token=f"{TOKEN_PREFIX}_{key_id}_{secret}"
    )


def verify_api_key(engine: Engine, token: str) -> ApiPrincipal | None:
    """The principal a bearer token belongs to, or None when it is unknown, malformed or disabled."""
    shape = TOKEN_SHAPE.fullmatch(token.strip())
    if shape is None:
        return None
    key_id, secret = shape.groups()
    with Session(engine) as session:
        found = _enabled_key(session, key_id)
        if found is None:
            return None
        row, scopes = found
        if not hmac.compare_digest(row.secret_hash, _hash_secret(secret)):
            return None
        return principal_of(row, scopes)


def enabled_key_principal(session: Session, key_id: str) -> ApiPrincipal | None:
    """The principal of the key `key_id` while it is enabled, with its roles as they are now; None once it is
    disabled or gone. For a caller that proved the key's secret earlier (a web session signed in with it)."""
    found = _enabled_key(session, key_id)
    return None if found is None else principal_of(*found)


def _enabled_key(session: Session, key_id: str) -> tuple[ApiKeyRow, list[ApiKeyScopeRow]] | None:
    """A key and its per-system roles, None when it is unknown or disabled."""
    found = key_with_scopes(session, key_id)
    return None if found is None or found[0].disabled else found


def principal_of(row: ApiKeyRow, scopes: Iterable[ApiKeyScopeRow]) -> ApiPrincipal:
    """The principal of a stored key (its scopes with unknown roles, from a newer version, are skipped)."""
    parsed = tuple(
        KeyScope(role=SystemRole(scope.role), cloud=scope.cloud, system_id=scope.system_id)
        for scope in scopes
        if scope.role in SystemRole.__members__.values()
    )
    return ApiPrincipal(
        key_id=row.key_id, name=row.name, role=ApiRole(row.role), principal=row.principal or "", scopes=parsed
    )


def _scope_row(key_pk: int, scope: KeyScope) -> ApiKeyScopeRow:
    return ApiKeyScopeRow(key_pk=key_pk, role=scope.role.value, cloud=scope.cloud, system_id=scope.system_id)


def _key_row(session: Session, key_id: str) -> ApiKeyRow:
    row = session.execute(select(ApiKeyRow).where(ApiKeyRow.key_id == key_id)).scalar_one_or_none()
    if row is None:
        raise NotFoundError(f"no API key {key_id!r}")
    return row


def add_key_scope(engine: Engine, key_id: str, scope: KeyScope) -> bool:
    """Give a key a per-system role; False when it already had it."""
    with Session(engine) as session, session.begin():
        row = _key_row(session, key_id)
        existing = key_with_scopes(session, key_id)
        if existing is not None and scope in principal_of(row, existing[1]).scopes:
            return False
        session.add(_scope_row(row.id, scope))
        return True


def remove_key_scope(engine: Engine, key_id: str, scope: KeyScope) -> bool:
    """Take a per-system role from a key; False when it did not have it."""
    with Session(engine) as session, session.begin():
        row = _key_row(session, key_id)
        result = session.execute(
            delete(ApiKeyScopeRow).where(
                ApiKeyScopeRow.key_pk == row.id,
                ApiKeyScopeRow.role == scope.role.value,
                ApiKeyScopeRow.cloud == scope.cloud,
                ApiKeyScopeRow.system_id == scope.system_id,
            )
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


def key_scopes(engine: Engine) -> dict[str, list[str]]:
    """Every key's per-system roles as text (`role:cloud:system`), by key id."""
    with Session(engine) as session:
        rows = session.execute(
            select(ApiKeyRow.key_id, ApiKeyScopeRow)
            .join(ApiKeyScopeRow, ApiKeyScopeRow.key_pk == ApiKeyRow.id)
            .order_by(ApiKeyScopeRow.id)
        ).all()
    result: dict[str, list[str]] = {}
    for key_id, scope in rows:
        result.setdefault(key_id, []).append(f"{scope.role}:{scope.cloud}:{scope.system_id}")
    return result


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


def record_key_use(engine: Engine, key_id: str, now: datetime, resolution: timedelta) -> bool:
    """Set a key's `last_used_at` to `now` unless it was set less than `resolution` before (one UPDATE whose
    condition keeps processes sharing the database from rewriting it); True when it was written. A database
    that cannot take the write within KEY_USE_WAIT (e.g. SQLite busy with an import, which may hold its write
    lock for many seconds) is logged, not raised: the caller's request goes on at once."""
    recent = now - resolution
    try:
        with Session(engine) as session, session.begin(), waiting_at_most(session, KEY_USE_WAIT):
            result = session.execute(
                update(ApiKeyRow)
                .where(
                    ApiKeyRow.key_id == key_id,
                    or_(ApiKeyRow.last_used_at.is_(None), ApiKeyRow.last_used_at <= recent),
                )
                .values(last_used_at=now)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]
    except OperationalError:
        log.warning("could not record the use of API key %s", key_id, exc_info=True)
        return False
