"""Read queries of the inventory for the API: base statements per collection, lookups by key, and paging a
collection as its OData query options ask (`fetch_collection_page`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import BigInteger, Select, func, literal, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement, SQLColumnExpression

from permscope.store.collections import Collection
from permscope.store.homes import SystemView
from permscope.store.odata import Node, OrderItem
from permscope.store.odata_sql import order_by as order_terms
from permscope.store.odata_sql import to_sql
from permscope.store.tables import (
    ActionRow,
    IdentityRow,
    PolicyRow,
    ResourceRow,
)

T = TypeVar("T")

MANAGED_POLICY_KIND = "managed"
# The largest offset or position a page request may carry: twice it still fits the 64-bit integers both
# databases take ($skip plus the items already sent), and no table holds anywhere near as many rows.
MAX_OFFSET = 10**18


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a collection: its items, whether more follow, and the total when asked for."""

    items: list[T]
    has_more: bool
    count: int | None = None
    last_key: int | None = None  # primary key of the last item, when the next page continues after it


def fetch_page(
    session: Session,
    stmt: Select[T],
    *,
    where: Sequence[ColumnElement[bool]] = (),
    after: Sequence[ColumnElement[bool]] = (),
    order_by: Sequence[SQLColumnExpression[Any]] = (),
    offset: int = 0,
    limit: int = 100,
    with_count: bool = False,
) -> Page[T]:
    """Run a one-column statement with conditions, an order, an offset and a limit (one extra row detects more).

    `where` selects the collection (and is what the count counts); `after` only positions this page in it.
    """
    filtered = stmt.where(*where)
    count: int | None = None
    if with_count:
        counted = select(func.count()).select_from(filtered.order_by(None).subquery())
        count = int(session.execute(counted).scalar_one())
    if limit <= 0:
        return Page(items=[], has_more=False, count=count)
    offset = min(offset, MAX_OFFSET)  # beyond every row anyway: the same empty page, in the databases' range
    page = filtered.where(*after).order_by(*order_by).offset(offset).limit(limit + 1)
    rows = list(session.execute(page).scalars())
    return Page(items=rows[:limit], has_more=len(rows) > limit, count=count)


@dataclass(frozen=True, slots=True)
class PageRequest:
    """Which page of a collection to read: $filter, $orderby, $skip, and where the previous page ended."""

    filter: Node | None = None
    orderby: Sequence[OrderItem] = ()
    skip: int = 0
    returned: int = 0  # items already sent by earlier pages
    after: int | None = None  # primary key of the last item sent, in the default order
    limit: int = 100
    with_count: bool = False


def fetch_collection_page(
    session: Session, collection: Collection, stmt: Select[T], wanted: PageRequest
) -> Page[T]:
    """One page of `stmt` filtered and ordered through the collection's property map.

    In primary-key order a page continues after the last key sent (an index range, equally fast on every page,
    and rows deleted meanwhile do not shift it); a custom $orderby continues at an offset.
    """
    where = [to_sql(wanted.filter, collection.props)] if wanted.filter is not None else []
    order = [*order_terms(wanted.orderby, collection.props), collection.primary_key]
    keyset = collection.keyset and not wanted.orderby
    continues = keyset and wanted.after is not None
    page = fetch_page(
        session,
        stmt,
        where=where,
        after=[collection.primary_key > literal(wanted.after, BigInteger)] if continues else [],
        order_by=order,
        offset=0 if continues else wanted.skip + wanted.returned,  # the key already holds $skip
        limit=wanted.limit,
        with_count=wanted.with_count,
    )
    if keyset and page.items:
        return Page(page.items, page.has_more, page.count, int(page.items[-1].id))  # type: ignore[attr-defined]
    return page


def identities(view: SystemView, kinds: Sequence[str]) -> Select[IdentityRow]:
    """The identities a system sees that have one of `kinds`."""
    return select(IdentityRow).where(view.identities(), IdentityRow.kind.in_(list(kinds)))


def identities_by_external_id(
    view: SystemView, kinds: Sequence[str], external_ids: Sequence[str]
) -> Select[IdentityRow]:
    """The identities a system sees among `external_ids` (e.g. the roles a user may assume)."""
    return identities(view, kinds).where(IdentityRow.external_id.in_(list(external_ids)))


def find_identity(
    session: Session, view: SystemView, kinds: Sequence[str], external_id: str
) -> IdentityRow | None:
    """One identity a system sees, by external id, when it has one of `kinds`."""
    stmt = identities(view, kinds).where(IdentityRow.external_id == external_id)
    return session.execute(stmt).scalar_one_or_none()


def managed_policies(view: SystemView) -> Select[PolicyRow]:
    """The standalone (managed) policies of a system: AWS-managed and customer-managed."""
    return select(PolicyRow).where(view.policies(), PolicyRow.kind == MANAGED_POLICY_KIND)


def find_managed_policy(session: Session, view: SystemView, external_id: str) -> PolicyRow | None:
    """One managed policy by external id (ARN)."""
    stmt = managed_policies(view).where(PolicyRow.external_id == external_id)
    return session.execute(stmt).scalar_one_or_none()


# Policies a grant may name by id: AWS managed policies, Azure role definitions, GCP roles (never inline ones).
ASSIGNABLE_POLICY_KINDS = (MANAGED_POLICY_KIND, "roleDefinition", "role")


def assignable_policy_stored(session: Session, view: SystemView, external_id: str) -> bool:
    """Whether a system's grants can name a stored assignable policy (managed policy, role definition, role)
    of that id."""
    stmt = select(PolicyRow.id).where(
        view.policies(),
        PolicyRow.kind.in_(ASSIGNABLE_POLICY_KINDS),
        PolicyRow.external_id == external_id,
    )
    return session.execute(stmt.limit(1)).first() is not None


def role_definitions(view: SystemView) -> Select[PolicyRow]:
    """The Azure role definitions of a subscription (built-in and custom; at a home, every one of the home)."""
    return select(PolicyRow).where(view.policies(), PolicyRow.kind == "roleDefinition")


def find_role_definition(session: Session, view: SystemView, external_id: str) -> PolicyRow | None:
    """One role definition by its GUID (any case)."""
    stmt = role_definitions(view).where(PolicyRow.external_id == external_id.strip().lower())
    return session.execute(stmt).scalar_one_or_none()


def actions(cloud: str) -> Select[ActionRow]:
    """The action catalogue of a cloud."""
    return select(ActionRow).where(ActionRow.cloud == cloud)


def find_action(session: Session, cloud: str, external_id: str) -> ActionRow | None:
    """One catalogue action by name (e.g. s3:GetObject)."""
    return session.execute(actions(cloud).where(ActionRow.external_id == external_id)).scalar_one_or_none()


def find_action_any_case(session: Session, cloud: str, external_id: str) -> ActionRow | None:
    """One catalogue action by name, in any case (Azure operation names are case-insensitive)."""
    stmt = actions(cloud).where(func.lower(ActionRow.external_id) == external_id.strip().lower()).limit(1)
    return session.execute(stmt).scalar_one_or_none()


def services(cloud: str) -> Select[str]:
    """The distinct service names of a cloud's catalogue."""
    return select(ActionRow.service).where(ActionRow.cloud == cloud).distinct()


def find_service(session: Session, cloud: str, name: str) -> str | None:
    """A service name when the catalogue has it."""
    return session.execute(services(cloud).where(ActionRow.service == name)).scalar_one_or_none()


def resources(system_pk: int) -> Select[ResourceRow]:
    """The resources of a system."""
    return select(ResourceRow).where(ResourceRow.system_pk == system_pk)


def find_resource(session: Session, system_pk: int, external_id: str) -> ResourceRow | None:
    """One resource by external id (ARN)."""
    stmt = resources(system_pk).where(ResourceRow.external_id == external_id)
    return session.execute(stmt).scalar_one_or_none()


def roles(view: SystemView) -> Select[PolicyRow]:
    """The roles of a system (GCP basic, predefined and custom roles; at a home, every one of the home)."""
    return select(PolicyRow).where(view.policies(), PolicyRow.kind == "role")


def find_role(session: Session, view: SystemView, external_id: str) -> PolicyRow | None:
    """One role by external id (`roles/...`, `projects/p/roles/r`, `organizations/n/roles/r`)."""
    return session.execute(roles(view).where(PolicyRow.external_id == external_id)).scalar_one_or_none()
