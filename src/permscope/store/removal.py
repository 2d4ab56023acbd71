"""Removing one authorization system with every row that belongs to it (the caller owns the transaction).

A system's rows are those of every table with a `system_pk` (inventory, usage, activity, effective permissions,
analyses, findings), the versions of its policies, its collection runs and its permissions requests with their
approval steps, changes, grants, scheduler jobs and pending notifications. They are deleted explicitly, table
by table (not left to the database's cascades), so SQLite and PostgreSQL remove exactly the same rows and the
counts can be shown before and after. API key scopes and auto-approve rules that name the system are
configuration, not its data: they stay, and apply again if the system comes back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, Table, delete, func, select
from sqlalchemy.orm import Session

from permscope.core.requests import FINAL_STATUSES
from permscope.store.tables import (
    AuthorizationSystemRow,
    Base,
    CollectionRunRow,
    PermissionsRequestRow,
    PolicyRow,
    PolicyVersionRow,
    RequestNotificationRow,
)

REQUEST_CHILDREN = (
    "permissions_approval_steps",
    "permissions_request_changes",
    "permissions_request_grants",
    "scheduler_jobs",
)


def _system_tables() -> list[Table]:
    """The tables whose rows belong to one system by `system_pk`, children before parents."""
    found = [table for table in Base.metadata.sorted_tables if "system_pk" in table.c]
    return list(reversed(found))


def _wheres(
    system: AuthorizationSystemRow,
) -> list[tuple[str, Table, Callable[[Table], ColumnElement[bool]]]]:
    """(label, table, condition) of every set of rows of the system, children first."""
    requests = select(PermissionsRequestRow.id).where(
        PermissionsRequestRow.cloud == system.cloud, PermissionsRequestRow.system_id == system.system_id
    )
    request_ids = select(PermissionsRequestRow.request_id).where(
        PermissionsRequestRow.cloud == system.cloud, PermissionsRequestRow.system_id == system.system_id
    )
    policies = select(PolicyRow.id).where(PolicyRow.system_pk == system.id)
    tables = Base.metadata.tables
    found: list[tuple[str, Table, Callable[[Table], ColumnElement[bool]]]] = [
        (name, tables[name], lambda table: table.c.request_pk.in_(requests)) for name in REQUEST_CHILDREN
    ]
    found.append(
        (
            RequestNotificationRow.__tablename__,
            tables[RequestNotificationRow.__tablename__],
            lambda table: table.c.request_id.in_(request_ids),
        )
    )
    found.append(
        (
            PermissionsRequestRow.__tablename__,
            tables[PermissionsRequestRow.__tablename__],
            lambda table: table.c.id.in_(requests),
        )
    )
    found.append(
        (
            PolicyVersionRow.__tablename__,
            tables[PolicyVersionRow.__tablename__],
            lambda table: table.c.policy_pk.in_(policies),
        )
    )
    for table in _system_tables():
        found.append((table.name, table, lambda table: table.c.system_pk == system.id))
    found.append(
        (
            CollectionRunRow.__tablename__,
            tables[CollectionRunRow.__tablename__],
            lambda table: (table.c.cloud == system.cloud) & (table.c.system_id == system.system_id),
        )
    )
    return found


def system_row_counts(session: Session, system: AuthorizationSystemRow) -> dict[str, int]:
    """How many rows of each table belong to the system (tables with none left out)."""
    counts: dict[str, int] = {}
    for label, table, where in _wheres(system):
        count = session.scalar(select(func.count()).select_from(table).where(where(table))) or 0
        if count:
            counts[label] = int(count)
    return counts


def open_requests(session: Session, system: AuthorizationSystemRow) -> list[str]:
    """The ids of the system's permissions requests that are not final (submitted or approved)."""
    stmt = select(PermissionsRequestRow.request_id).where(
        PermissionsRequestRow.cloud == system.cloud,
        PermissionsRequestRow.system_id == system.system_id,
        PermissionsRequestRow.status.not_in([status.value for status in FINAL_STATUSES]),
    )
    return list(session.scalars(stmt))


def delete_system(session: Session, system: AuthorizationSystemRow) -> dict[str, int]:
    """Delete the system and every row of it (see the module docstring): rows deleted per table."""
    removed: dict[str, int] = {}
    for label, table, where in _wheres(system):
        result = cast("CursorResult[Any]", session.execute(delete(table).where(where(table))))
        if result.rowcount:
            removed[label] = removed.get(label, 0) + int(result.rowcount)
    session.execute(delete(AuthorizationSystemRow).where(AuthorizationSystemRow.id == system.id))
    removed[AuthorizationSystemRow.__tablename__] = 1
    return removed
