"""Authorization systems by id: the one lookup every layer uses (raw or base64 id; one cloud or any)."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from permscope.core.access import Systems
from permscope.core.errors import AmbiguousSystemError, NotFoundError
from permscope.core.ids import Cloud, decode_id
from permscope.store.access import systems_condition
from permscope.store.tables import AuthorizationSystemRow


def systems(
    cloud: str | None = None, within: Systems | None = None, *, include_homes: bool = False
) -> Select[AuthorizationSystemRow]:
    """Every listed authorization system, or those of one cloud; only those in `within` when given (a key's
    view). A home (an Azure tenant, a GCP organization holding its members' inventory) is listed nowhere: only
    the write paths ask for it (`include_homes`)."""
    stmt = select(AuthorizationSystemRow)
    if not include_homes:
        stmt = stmt.where(AuthorizationSystemRow.listed)
    if cloud is not None:
        stmt = stmt.where(AuthorizationSystemRow.cloud == str(cloud))
    if within is not None:
        stmt = stmt.where(
            systems_condition(within, AuthorizationSystemRow.cloud, AuthorizationSystemRow.system_id)
        )
    return stmt


def stored_system(session: Session, cloud: str, system_id: str) -> AuthorizationSystemRow | None:
    """The system stored under exactly this (cloud, authorizationSystemId), a home too: the key the write paths
    use."""
    stmt = systems(cloud, include_homes=True).where(AuthorizationSystemRow.system_id == system_id)
    return session.execute(stmt).scalar_one_or_none()


def find_system(
    session: Session, system_id: str, cloud: str | None = None, within: Systems | None = None
) -> AuthorizationSystemRow | None:
    """The system named by its authorizationSystemId or by the contract's base64 id of it, in `cloud` (any
    when None); None when there is none, or when it is outside `within` (a key's view: a hidden system is
    answered exactly as a missing one, so its existence is never revealed).

    The base64 reading is tried first (it is the API's id), then the id as given. An id that names systems
    of several clouds while no cloud is given is an AmbiguousSystemError naming the clouds.
    """
    decoded = decode_id(system_id) if system_id else None
    candidates = [c for c in dict.fromkeys((decoded, system_id)) if c]
    if not candidates:
        return None
    stmt = systems(cloud, within).where(AuthorizationSystemRow.system_id.in_(candidates))
    rows = list(session.execute(stmt.order_by(AuthorizationSystemRow.id)).scalars())
    for candidate in candidates:
        matching = [row for row in rows if row.system_id == candidate]
        if len(matching) > 1:
            raise AmbiguousSystemError(candidate, sorted(row.cloud for row in matching))
        if matching:
            return matching[0]
    return None


def get_system(
    session: Session, system_id: str, cloud: str | None = None, within: Systems | None = None
) -> AuthorizationSystemRow:
    """`find_system`, or NotFoundError naming what was asked for (the same for a system outside `within`)."""
    row = find_system(session, system_id, cloud, within)
    if row is None:
        known = {c.value: c for c in Cloud}
        kind = (
            known[cloud].system_kind
            if cloud in known
            else f"{cloud} authorization system"
            if cloud
            else ("authorization system")
        )
        raise NotFoundError(f"no {kind} {system_id!r}")
    return row


def system_pk(session: Session, system_id: str, cloud: str | None = None) -> int:
    """The primary key of `get_system`."""
    return int(get_system(session, system_id, cloud).id)
