"""Request dependencies: the engine (opened lazily), a session per request, bearer-key authentication, roles."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from permscope.api.errors import GraphError
from permscope.settings import Settings
from permscope.workflows.apikeys import ApiPrincipal, ApiRole, record_key_use, verify_api_key
from permscope.workflows.database import open_engine

AUTH_CACHE_SECONDS = 2.0  # a disabled key stops working within this time


class EngineProvider:
    """The app's engine: given, or opened (and upgraded) on first use from the settings."""

    def __init__(self, engine: Engine | None, settings: Settings) -> None:
        self._engine = engine
        self._settings = settings
        self._lock = threading.Lock()

    def get(self) -> Engine:
        """The engine, opening it once."""
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    self._engine = open_engine(self._settings)
        return self._engine


@dataclass
class TokenCache:
    """Verified tokens for a few seconds, keyed by a hash of the token (never the token itself)."""

    ttl: float = AUTH_CACHE_SECONDS
    clock: Callable[[], float] = time.monotonic
    _entries: dict[str, tuple[float, ApiPrincipal]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def verify(self, engine: Engine, token: str) -> ApiPrincipal | None:
        """The principal of a token, from the cache when verified less than `ttl` seconds ago."""
        key = hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()
        now = self.clock()
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None and hit[0] > now:
                return hit[1]
        principal = verify_api_key(engine, token)
        with self._lock:
            if len(self._entries) > 10_000:
                self._entries.clear()
            if principal is None:
                self._entries.pop(key, None)
            elif self.ttl > 0:
                self._entries[key] = (now + self.ttl, principal)
        return principal


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class KeyUses:
    """Writes a key's `last_used_at` when it authenticates, at most once per `interval` per key (and per
    database, by the UPDATE's own condition), so a busy key does not turn every GET into a write."""

    interval: timedelta = timedelta(seconds=60)
    clock: Callable[[], datetime] = _utc_now
    _written: dict[str, datetime] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, engine: Engine, key_id: str) -> None:
        """Record that the key was used now, unless this process recorded it less than `interval` ago."""
        now = self.clock()
        with self._lock:
            last = self._written.get(key_id)
            if last is not None and now - last < self.interval:
                return
            if len(self._written) > 10_000:
                self._written.clear()
            self._written[key_id] = now
        record_key_use(engine, key_id, now, self.interval)


bearer_scheme = HTTPBearer(auto_error=False, description="An API key made with `permscope apikey create`.")


def _unauthenticated(message: str) -> GraphError:
    return GraphError(401, "unauthenticated", message, {"WWW-Authenticate": "Bearer"})


def authenticate_request(request: Request) -> ApiPrincipal:
    """Check the `Authorization: Bearer` header; store and return the principal, or raise a 401 GraphError."""
    cached = getattr(request.state, "principal", None)
    if isinstance(cached, ApiPrincipal):
        return cached
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise _unauthenticated("missing Authorization header; send 'Authorization: Bearer <api key>'")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthenticated("the Authorization header must be 'Bearer <api key>'")
    app = request.app
    cache: TokenCache = app.state.token_cache
    engine = app.state.engine_provider.get()
    principal = cache.verify(engine, token.strip())
    if principal is None:
        raise _unauthenticated("the API key is invalid or disabled")
    uses: KeyUses = app.state.key_uses
    uses.note(engine, principal.key_id)
    request.state.principal = principal
    return principal


def reject_nul_characters(request: Request) -> None:
    """No cloud id, name or query has a NUL character; PostgreSQL cannot even compare one. 400, not a 500."""
    if "\x00" in request.url.path or any(
        "\x00" in value for _key, value in request.query_params.multi_items()
    ):
        raise GraphError(400, "invalidRequest", "the request contains a NUL character")


def authenticate(
    request: Request, _credentials: HTTPAuthorizationCredentials | None = Depends(bearer_scheme)
) -> ApiPrincipal:
    """Dependency of every route: the authenticated principal (the bearer scheme documents it in OpenAPI)."""
    return authenticate_request(request)


def require_role(*roles: ApiRole) -> Callable[..., ApiPrincipal]:
    """A dependency admitting only principals with one of `roles` (403 accessDenied otherwise)."""
    allowed = frozenset(roles)

    def check(principal: ApiPrincipal = Depends(authenticate)) -> ApiPrincipal:
        if principal.role not in allowed:
            names = ", ".join(sorted(role.value for role in allowed))
            raise GraphError(
                403,
                "accessDenied",
                f"this operation needs the role {names}; the key has {principal.role.value}",
            )
        return principal

    return check


def get_engine(request: Request) -> Engine:
    """The app's engine."""
    engine: Engine = request.app.state.engine_provider.get()
    return engine


def get_session(engine: Engine = Depends(get_engine)) -> Iterator[Session]:
    """A read session for the request, closed afterwards."""
    with Session(engine) as session:
        yield session


def get_settings(request: Request) -> Settings:
    """The app's settings."""
    settings: Settings = request.app.state.settings
    return settings
