"""The identity explorer's reads: identities of every cloud found by name or external id (filtered, counted
and paged in SQL), and the stored findings about one identity."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVarTuple

from sqlalchemy import ColumnElement, Select, SQLColumnExpression, and_, func, literal, or_, select, true
from sqlalchemy.orm import Session

from permscope.core.access import Systems
from permscope.store.access import systems_condition
from permscope.store.findings import default_order
from permscope.store.homes import system_view, views_at_homes
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
    """One identity found, with the system it is stored under (a home, for an identity its members share)."""

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


def _contains(column: SQLColumnExpression[str], text: str, dialect: str) -> ColumnElement[bool]:
    """`column` holds `text`, without case: on PostgreSQL lower() LIKE (cheaper than ILIKE's case folding); on
    SQLite its LIKE, which ignores (ASCII) case as its lower() does, without computing lower() of every row."""
    if dialect == "postgresql":
        return func.lower(column).like(like_pattern(text.lower()), escape=LIKE_ESCAPE)
    return column.like(like_pattern(text), escape=LIKE_ESCAPE)


def _in_systems(session: Session, *where: ColumnElement[bool]) -> ColumnElement[bool]:
    """The identity is stored under a system `where` selects, or is seen by a listed system at a home it
    selects."""
    stored_in = and_(true(), *where)
    members = views_at_homes(session, AuthorizationSystemRow.listed.is_(True), *where)
    return or_(stored_in, *(view.identities() for view in members))


def _conditions(session: Session, search: IdentitySearch, dialect: str) -> list[ColumnElement[bool]]:
    within = systems_condition(search.within, AuthorizationSystemRow.cloud, AuthorizationSystemRow.system_id)
    conditions = [within if search.within.everything else _in_systems(session, within)]
    if search.cloud:
        conditions.append(AuthorizationSystemRow.cloud == search.cloud)
    if search.system_id:
        wanted = [AuthorizationSystemRow.system_id == search.system_id]
        if search.cloud:
            wanted.append(AuthorizationSystemRow.cloud == search.cloud)
        conditions.append(_in_systems(session, *wanted))
    if search.kind:
        conditions.append(IdentityRow.kind == search.kind)
    text = search.text.strip()
    if text:
        conditions.append(
            or_(
                IdentityRow.external_id == text,
                _contains(IdentityRow.display_name, text, dialect),
                _contains(IdentityRow.external_id, text, dialect),
            )
        )
    return conditions


def _joined(session: Session, stmt: Select[*Columns], search: IdentitySearch) -> Select[*Columns]:
    """`stmt` over identities joined to their systems, narrowed to what the search finds."""
    dialect = session.get_bind().dialect.name
    return stmt.join(AuthorizationSystemRow, AuthorizationSystemRow.id == IdentityRow.system_pk).where(
        and_(*_conditions(session, search, dialect))
    )


def count_identities(session: Session, search: IdentitySearch) -> int:
    """How many identities the search finds (one COUNT)."""
    stmt = _joined(session, select(func.count()).select_from(IdentityRow), search)
    return int(session.scalar(stmt) or 0)


def search_identities(
    session: Session, search: IdentitySearch, *, limit: int, offset: int = 0
) -> tuple[int, list[IdentityHit]]:
    """How many identities the search finds, and one page of them by name (the database's collation).

    Without text the page walks the name index and the count is an index COUNT; with text (a scan either
    way) the page's query counts its matches too (`count(*) OVER ()`), so the rows are scanned once."""
    columns = select(
        AuthorizationSystemRow.cloud,
        AuthorizationSystemRow.system_id,
        AuthorizationSystemRow.name,
        IdentityRow.external_id,
        IdentityRow.display_name,
        IdentityRow.kind,
        IdentityRow.last_active_at,
        func.count().over() if search.text.strip() else literal(None),
    ).select_from(IdentityRow)
    stmt = (
        _joined(session, columns, search)
        .order_by(IdentityRow.display_name, IdentityRow.id)  # ix_identities_display_name
        .limit(limit)
        .offset(offset)
    )
    rows = session.execute(stmt).all()
    if rows and rows[0][-1] is not None:
        total = int(rows[0][-1])
    elif not rows and offset == 0 and search.text.strip():
        total = 0
    else:
        total = count_identities(session, search)
    return total, [IdentityHit(*row[:-1]) for row in rows]


def identity_count(session: Session, system_pk: int) -> int:
    """How many identities a system sees (one COUNT over the system's index when it holds its own)."""
    stmt = select(func.count()).select_from(IdentityRow).where(system_view(session, system_pk).identities())
    return int(session.scalar(stmt) or 0)


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
