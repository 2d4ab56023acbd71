"""The identity explorer's reads: identities of every cloud found by name or external id (filtered, counted
and paged in SQL), and the stored findings about one identity."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVarTuple

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from permscope.core.access import Systems
from permscope.store.access import systems_condition
from permscope.store.findings import default_order
from permscope.store.tables import AuthorizationSystemRow, FindingRow, IdentityRow

LIKE_ESCAPE = "\\"
EVERY_SYSTEM = Systems(everything=True)
Columns = TypeVarTuple("Columns")


@dataclass(frozen=True, slots=True, kw_only=True)
class IdentitySearch:
    """Which identities to find: a text in the name or external id (no case), a cloud, system and kind, within
    the systems a reader may see."""

    text: str = ""
    cloud: str | None = None
    system_id: str | None = None
    kind: str | None = None
    within: Systems = field(default=EVERY_SYSTEM)


@dataclass(frozen=True, slots=True)
class IdentityHit:
    """One identity found, with its system."""

    cloud: str
    system_id: str
    system_name: str
    external_id: str
    display_name: str
    kind: str
    last_active_at: datetime | None


def like_pattern(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, its own `%`, `_` and escape characters taken literally."""
    escaped = text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", LIKE_ESCAPE + "%")
    return "%" + escaped.replace("_", LIKE_ESCAPE + "_") + "%"


def _conditions(search: IdentitySearch) -> list[ColumnElement[bool]]:
    conditions = [
        systems_condition(search.within, AuthorizationSystemRow.cloud, AuthorizationSystemRow.system_id)
    ]
    if search.cloud:
        conditions.append(AuthorizationSystemRow.cloud == search.cloud)
    if search.system_id:
        conditions.append(AuthorizationSystemRow.system_id == search.system_id)
    if search.kind:
        conditions.append(IdentityRow.kind == search.kind)
    text = search.text.strip()
    if text:
        pattern = like_pattern(text.lower())
        conditions.append(
            or_(
                IdentityRow.external_id == text,
                func.lower(IdentityRow.display_name).like(pattern, escape=LIKE_ESCAPE),
                func.lower(IdentityRow.external_id).like(pattern, escape=LIKE_ESCAPE),
            )
        )
    return conditions


def _joined(stmt: Select[*Columns], search: IdentitySearch) -> Select[*Columns]:
    """`stmt` over identities joined to their systems, narrowed to what the search finds."""
    return stmt.join(AuthorizationSystemRow, AuthorizationSystemRow.id == IdentityRow.system_pk).where(
        and_(*_conditions(search))
    )


def count_identities(session: Session, search: IdentitySearch) -> int:
    """How many identities the search finds (one COUNT)."""
    stmt = _joined(select(func.count()).select_from(IdentityRow), search)
    return int(session.scalar(stmt) or 0)


def search_identities(
    session: Session, search: IdentitySearch, *, limit: int, offset: int = 0
) -> list[IdentityHit]:
    """One page of the identities the search finds: by name, then cloud, system and external id."""
    columns = select(
        AuthorizationSystemRow.cloud,
        AuthorizationSystemRow.system_id,
        AuthorizationSystemRow.name,
        IdentityRow.external_id,
        IdentityRow.display_name,
        IdentityRow.kind,
        IdentityRow.last_active_at,
    ).select_from(IdentityRow)
    stmt = (
        _joined(columns, search)
        .order_by(
            IdentityRow.display_name,
            AuthorizationSystemRow.cloud,
            AuthorizationSystemRow.system_id,
            IdentityRow.external_id,
        )
        .limit(limit)
        .offset(offset)
    )
    return [IdentityHit(*row) for row in session.execute(stmt)]


def identity_kinds(session: Session, search: IdentitySearch) -> list[str]:
    """The kinds of identity stored in the systems a search may see (its cloud and system, not its kind or
    text): the choices of its kind filter."""
    wide = IdentitySearch(cloud=search.cloud, system_id=search.system_id, within=search.within)
    stmt = (
        _joined(select(IdentityRow.kind).select_from(IdentityRow), wide).distinct().order_by(IdentityRow.kind)
    )
    return [str(kind) for kind in session.scalars(stmt)]


def identity_findings(
    session: Session, system_pk: int, external_id: str, *, limit: int = 200
) -> list[FindingRow]:
    """The stored findings about one identity of a system (open ones first, then worst first)."""
    stmt = (
        select(FindingRow)
        .where(FindingRow.system_pk == system_pk, FindingRow.subject_id == external_id)
        .order_by(FindingRow.resolved_at.is_not(None), *default_order())
        .limit(limit)
    )
    return list(session.scalars(stmt))
