"""Authorization systems by id: the one lookup every layer uses (raw or base64 id; one cloud or any)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, and_, false, or_, select, true
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from permscope.core.errors import AmbiguousSystemError, NotFoundError
from permscope.core.ids import decode_id
from permscope.store.tables import AuthorizationSystemRow

ANY = "*"  # a scope's wildcard for every cloud or every system
KIND_NAMES = {"aws": "AWS account", "azure": "Azure subscription", "gcp": "GCP project"}


def systems(cloud: str | None = None) -> Select[AuthorizationSystemRow]:
    """Every authorization system, or those of one cloud."""
    stmt = select(AuthorizationSystemRow)
    if cloud is not None:
        stmt = stmt.where(AuthorizationSystemRow.cloud == str(cloud))
    return stmt


def stored_system(session: Session, cloud: str, system_id: str) -> AuthorizationSystemRow | None:
    """The system stored under exactly this (cloud, authorizationSystemId): the key the write paths use."""
    stmt = systems(cloud).where(AuthorizationSystemRow.system_id == system_id)
    return session.execute(stmt).scalar_one_or_none()


def find_system(session: Session, system_id: str, cloud: str | None = None) -> AuthorizationSystemRow | None:
    """The system named by its authorizationSystemId or by the contract's base64 id of it, in `cloud` (any
    when None); None when there is none.

    The base64 reading is tried first (it is the API's id), then the id as given. An id that names systems
    of several clouds while no cloud is given is an AmbiguousSystemError naming the clouds.
    """
    decoded = decode_id(system_id) if system_id else None
    candidates = [c for c in dict.fromkeys((decoded, system_id)) if c]
    if not candidates:
        return None
    stmt = systems(cloud).where(AuthorizationSystemRow.system_id.in_(candidates))
    rows = list(session.execute(stmt.order_by(AuthorizationSystemRow.id)).scalars())
    for candidate in candidates:
        matching = [row for row in rows if row.system_id == candidate]
        if len(matching) > 1:
            raise AmbiguousSystemError(candidate, sorted(row.cloud for row in matching))
        if matching:
            return matching[0]
    return None


def get_system(session: Session, system_id: str, cloud: str | None = None) -> AuthorizationSystemRow:
    """`find_system`, or NotFoundError naming what was asked for."""
    row = find_system(session, system_id, cloud)
    if row is None:
        kind = (
            KIND_NAMES.get(str(cloud), f"{cloud} authorization system") if cloud else "authorization system"
        )
        raise NotFoundError(f"no {kind} {system_id!r}")
    return row


def system_pk(session: Session, system_id: str, cloud: str | None = None) -> int:
    """The primary key of `get_system`."""
    return int(get_system(session, system_id, cloud).id)


@dataclass(frozen=True, slots=True)
class SystemScope:
    """Which systems a caller may see: every one, or those (cloud, system id) pairs name (`*` matches any)."""

    everything: bool
    systems: tuple[tuple[str, str], ...] = ()


def in_scope(scope: SystemScope) -> ColumnElement[bool]:
    """The SQL condition over AuthorizationSystemRow of the systems in `scope`."""
    if scope.everything:
        return true()
    parts: list[ColumnElement[bool]] = []
    for cloud, system_id in scope.systems:
        terms: list[ColumnElement[bool]] = [true()]
        if cloud != ANY:
            terms.append(AuthorizationSystemRow.cloud == cloud)
        if system_id != ANY:
            terms.append(AuthorizationSystemRow.system_id == system_id)
        parts.append(and_(*terms))
    return or_(false(), *parts)
