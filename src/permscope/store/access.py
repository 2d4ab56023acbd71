"""The SQL forms of the access rules in `core.access`: the systems a set of key scopes covers, the people of a
permissions request, and which requests a reader sees. tests/store/test_access.py checks each against its
Python form."""

from __future__ import annotations

from sqlalchemy import ColumnElement, SQLColumnExpression, and_, false, not_, or_, true

from permscope.core.access import ANY, RequestReader, Systems, principal_match
from permscope.store.tables import PermissionsRequestRow


def systems_condition(
    systems: Systems, cloud: SQLColumnExpression[str], system_id: SQLColumnExpression[str]
) -> ColumnElement[bool]:
    """`Systems.covers` over a (cloud, system id) pair of columns."""
    if systems.everything:
        return true()
    parts: list[ColumnElement[bool]] = []
    for scope_cloud, scope_system in systems.scopes:
        terms: list[ColumnElement[bool]] = [true()]
        if scope_cloud != ANY:
            terms.append(cloud == scope_cloud)
        if scope_system != ANY:
            terms.append(system_id == scope_system)
        parts.append(and_(*terms))
    return or_(false(), *parts)


def request_systems(systems: Systems) -> ColumnElement[bool]:
    """`Systems.covers` over the request's system."""
    return systems_condition(systems, PermissionsRequestRow.cloud, PermissionsRequestRow.system_id)


def requester_is(who: str) -> ColumnElement[bool]:
    """`RequestParties.is_requester`."""
    wanted = principal_match(who)
    return PermissionsRequestRow.requester_match == wanted if wanted else false()


def recipient_is(who: str) -> ColumnElement[bool]:
    """`RequestParties.receives`."""
    wanted = principal_match(who)
    return PermissionsRequestRow.recipient_match == wanted if wanted else false()


def own_request(who: str) -> ColumnElement[bool]:
    """`RequestParties.is_own`: `who` submitted it, receives it, or submitted its ticket."""
    wanted = principal_match(who)
    if not wanted:
        return false()
    return or_(
        PermissionsRequestRow.requester_match == wanted,
        PermissionsRequestRow.recipient_match == wanted,
        PermissionsRequestRow.submitter_match == wanted,
    )


def readable(reader: RequestReader) -> ColumnElement[bool]:
    """`RequestReader.may_see`."""
    if reader.full.everything:
        return true()
    return or_(request_systems(reader.full), and_(request_systems(reader.own), own_request(reader.who)))


def reviewable(approving: Systems, who: str) -> ColumnElement[bool]:
    """A request of a system in `approving` (where `who` holds an approving role) that is not `who`'s own:
    `core.access.may_review` without the status (filterByCurrentUser(on='approver') lists decided ones too)."""
    return and_(request_systems(approving), not_(own_request(who)))


def scope_columns_cover(
    scope_cloud: SQLColumnExpression[str],
    scope_system_id: SQLColumnExpression[str],
    cloud: str,
    system_id: str,
) -> ColumnElement[bool]:
    """`scope_covers` with the scope in columns (e.g. an auto-approve rule's) and the system given."""
    return and_(scope_cloud.in_((cloud, ANY)), scope_system_id.in_((system_id, ANY)))
