"""One system's inventory as a person browses it: identities, policies (roles), resources, services and actions,
each searched (case-insensitive substring of name or id), filtered, counted and paged in SQL.

Each function returns a `queries.Page` with its total (`count`); the filter choices (kinds, types, services
present) come from GROUP BY queries too, so nothing loads a table into Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, case, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import SQLColumnExpression

from permscope.core.access import Systems
from permscope.store import queries
from permscope.store.homes import system_view
from permscope.store.queries import Page, fetch_page
from permscope.store.systems import systems
from permscope.store.tables import (
    ActionRow,
    AssignmentRow,
    AuthorizationSystemRow,
    IdentityRow,
    PolicyRow,
    ResourceRow,
)

T = TypeVar("T")
Window = tuple[int, int]  # (offset, limit): rows skipped, rows of the page
FIRST_PAGE: Window = (0, 50)


def matches(text: str, *columns: SQLColumnExpression[str]) -> list[ColumnElement[bool]]:
    """Conditions for a search box: any of `columns` contains `text` (case-insensitive, `%` and `_` literal);
    none when the text is blank."""
    wanted = text.strip()
    if not wanted:
        return []
    return [or_(*(column.icontains(wanted, autoescape=True) for column in columns))]


def _page(
    session: Session,
    stmt: Select[T],
    where: Sequence[ColumnElement[bool]],
    order_by: Sequence[SQLColumnExpression[Any]],
    page: Window,
) -> Page[T]:
    offset, limit = page
    return fetch_page(
        session, stmt, where=where, order_by=order_by, offset=offset, limit=limit, with_count=True
    )


def _choices(
    session: Session, column: SQLColumnExpression[str], *where: ColumnElement[bool]
) -> dict[str, int]:
    """The distinct values of a column among the rows `where` selects, with how many rows hold each."""
    stmt = select(column, func.count()).where(*where).group_by(column).order_by(column)
    return {str(value): int(n) for value, n in session.execute(stmt)}


# -------------------------------------------------------------------------------------------------- systems


def systems_page(
    session: Session,
    within: Systems,
    *,
    search: str = "",
    cloud: str = "",
    status: str = "",
    page: Window = FIRST_PAGE,
) -> Page[AuthorizationSystemRow]:
    """The systems in a key's view (of one cloud, one collection status) whose name or id contains `search`, by
    cloud then id."""
    where = matches(search, AuthorizationSystemRow.name, AuthorizationSystemRow.system_id)
    if status:
        where.append(AuthorizationSystemRow.collection_status == status)
    order = [AuthorizationSystemRow.cloud, AuthorizationSystemRow.system_id, AuthorizationSystemRow.id]
    return _page(session, systems(cloud or None, within), where, order, page)


# ------------------------------------------------------------------------------------------------ identities


def identities_page(
    session: Session, system_pk: int, *, search: str = "", kind: str = "", page: Window = FIRST_PAGE
) -> Page[IdentityRow]:
    """The identities a system sees, of one kind when given, whose name or id contains `search`, by name."""
    stmt = select(IdentityRow).where(system_view(session, system_pk).identities())
    where = matches(search, IdentityRow.display_name, IdentityRow.external_id)
    if kind:
        where.append(IdentityRow.kind == kind)
    return _page(session, stmt, where, [IdentityRow.display_name, IdentityRow.id], page)


def identity_kinds(session: Session, system_pk: int) -> dict[str, int]:
    """The kinds of identity a system sees, with how many of each."""
    return _choices(session, IdentityRow.kind, system_view(session, system_pk).identities())


# ------------------------------------------------------------------------------------------------- policies

POLICY_ORIGINS = {"system": True, "custom": False}  # the contract's policy / role type: cloud-managed or not


def policies_page(
    session: Session,
    system_pk: int,
    *,
    search: str = "",
    kind: str = "",
    origin: str = "",
    page: Window = FIRST_PAGE,
) -> Page[PolicyRow]:
    """The policies and role definitions a system's grants can name (of one kind; system or custom) by name."""
    stmt = select(PolicyRow).where(system_view(session, system_pk).policies())
    where = matches(search, PolicyRow.name, PolicyRow.external_id)
    if kind:
        where.append(PolicyRow.kind == kind)
    if origin in POLICY_ORIGINS:
        where.append(PolicyRow.managed_by_cloud.is_(POLICY_ORIGINS[origin]))
    return _page(session, stmt, where, [PolicyRow.name, PolicyRow.id], page)


def policy_kinds(session: Session, system_pk: int) -> dict[str, int]:
    """The kinds of policy a system's grants can name (managed, inline, roleDefinition, role, ...), with how
    many of each."""
    return _choices(session, PolicyRow.kind, system_view(session, system_pk).policies())


def assignee_counts(session: Session, system_pk: int, policy_ids: Sequence[str]) -> dict[str, int]:
    """For a page of policies, how many distinct identities each is assigned to by the grants that reach the
    system (by the policy index)."""
    if not policy_ids:
        return {}
    stmt = (
        select(AssignmentRow.policy_external_id, func.count(AssignmentRow.identity_external_id.distinct()))
        .where(
            system_view(session, system_pk).assignments(),
            AssignmentRow.policy_external_id.in_(list(dict.fromkeys(policy_ids))),
        )
        .group_by(AssignmentRow.policy_external_id)
    )
    return {policy: int(n) for policy, n in session.execute(stmt)}


# ------------------------------------------------------------------------------------------------ resources


def resources_page(
    session: Session,
    system_pk: int,
    *,
    search: str = "",
    resource_type: str = "",
    service: str = "",
    page: Window = FIRST_PAGE,
) -> Page[ResourceRow]:
    """A system's resources (of one type, of one service) by name."""
    stmt = queries.resources(system_pk)
    where = matches(search, ResourceRow.display_name, ResourceRow.external_id)
    if resource_type:
        where.append(ResourceRow.resource_type == resource_type)
    if service:
        where.append(ResourceRow.service == service)
    return _page(session, stmt, where, [ResourceRow.display_name, ResourceRow.id], page)


def resource_types(session: Session, system_pk: int) -> dict[str, int]:
    """The resource types a system holds, with how many of each."""
    return _choices(session, ResourceRow.resource_type, ResourceRow.system_pk == system_pk)


def resource_services(session: Session, system_pk: int) -> dict[str, int]:
    """The services of a system's resources, with how many resources each."""
    return _choices(session, ResourceRow.service, ResourceRow.system_pk == system_pk)


# ------------------------------------------------------------------------------------------------- services


@dataclass(frozen=True, slots=True)
class ServiceFacts:
    """One service of a cloud's catalogue: its actions, how many are high severity, the system's resources."""

    name: str
    actions: int
    high_severity: int
    resources: int


def services_page(
    session: Session, cloud: str, system_pk: int, *, search: str = "", page: Window = FIRST_PAGE
) -> Page[ServiceFacts]:
    """The services of a cloud's catalogue (whose name contains `search`), with their action counts and the
    system's resources of each, by name."""
    where = [ActionRow.cloud == cloud, *matches(search, ActionRow.service)]
    high = func.sum(case((ActionRow.severity == "high", 1), else_=0))
    grouped = select(ActionRow.service, func.count(), high).where(*where).group_by(ActionRow.service)
    total = int(session.execute(select(func.count()).select_from(grouped.subquery())).scalar_one())
    offset, limit = page
    rows = list(session.execute(grouped.order_by(ActionRow.service).offset(offset).limit(limit + 1)))
    shown = rows[:limit]
    resources = _choices(
        session,
        ResourceRow.service,
        ResourceRow.system_pk == system_pk,
        ResourceRow.service.in_([name for name, _n, _h in shown]),
    )
    items = [ServiceFacts(name, int(n), int(h or 0), resources.get(name, 0)) for name, n, h in shown]
    return Page(items=items, has_more=len(rows) > limit, count=total)


# -------------------------------------------------------------------------------------------------- actions


def actions_page(
    session: Session,
    cloud: str,
    *,
    search: str = "",
    service: str = "",
    severity: str = "",
    access_level: str = "",
    page: Window = FIRST_PAGE,
) -> Page[ActionRow]:
    """A cloud's catalogue actions (of one service, severity, access level) by name."""
    where = matches(search, ActionRow.external_id)
    if service:
        where.append(ActionRow.service == service)
    if severity:
        where.append(ActionRow.severity == severity)
    if access_level:
        where.append(ActionRow.access_level == access_level)
    return _page(session, queries.actions(cloud), where, [ActionRow.external_id, ActionRow.id], page)


def action_levels(session: Session, cloud: str) -> dict[str, int]:
    """The access levels of a cloud's catalogue, with how many actions each."""
    return _choices(session, ActionRow.access_level, ActionRow.cloud == cloud)


def action_severities(session: Session, cloud: str) -> dict[str, int]:
    """The severities of a cloud's catalogue, with how many actions each."""
    return _choices(session, ActionRow.severity, ActionRow.cloud == cloud)
