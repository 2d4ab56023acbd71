"""The groups identities are in, walked up through nested groups (one walk for every loader that needs it).

A system holding its own rows stores direct memberships: they are walked level by level. A system at a home
reads the home's `membership_closure` (already transitive: one query per chunk of members), restricted to the
identities it sees (`store.homes.SystemView`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from permscope.store.homes import SystemView
from permscope.store.tables import MembershipClosureRow, MembershipRow

CHUNK = 500  # values per IN (...) list


def membership_rows(
    session: Session, system: SystemView, members: Sequence[str], *, nested: bool
) -> list[tuple[str, str]]:
    """(member, group) of every membership of `members` the system sees and, when `nested`, of the groups
    found, up to the top (groups in groups: Azure, GCP); at a home, every (member, group) of the closure."""
    if system.at_home:
        return _closure_rows(session, system, members)
    query = select(MembershipRow.member_external_id, MembershipRow.group_external_id).where(
        system.memberships()
    )
    seen: set[str] = set()
    frontier = list(dict.fromkeys(members))
    rows: list[tuple[str, str]] = []
    while frontier:
        seen.update(frontier)
        found: list[Any] = []
        for start in range(0, len(frontier), CHUNK):
            part = frontier[start : start + CHUNK]
            found += session.execute(query.where(MembershipRow.member_external_id.in_(part)))
        rows += [(member, group) for member, group in found]
        if not nested:
            break
        frontier = list(dict.fromkeys(group for _member, group in found if group not in seen))
    return rows


def _closure_rows(session: Session, system: SystemView, members: Sequence[str]) -> list[tuple[str, str]]:
    """(member, group) of every transitive membership of `members` at the system's home that it sees."""
    table = MembershipClosureRow
    query = (
        select(table.member_external_id, table.group_external_id)
        .where(system.closure())
        .order_by(table.member_external_id, table.group_external_id)
    )
    wanted = list(dict.fromkeys(members))
    rows: list[tuple[str, str]] = []
    for start in range(0, len(wanted), CHUNK):
        part = wanted[start : start + CHUNK]
        rows += [
            (member, group)
            for member, group in session.execute(query.where(table.member_external_id.in_(part)))
        ]
    return rows


def group_closure(session: Session, system: SystemView, members: Sequence[str]) -> list[str]:
    """`members` and every group they are in, directly or through nested groups (the memberships the system
    sees)."""
    rows = membership_rows(session, system, members, nested=True)
    return list(dict.fromkeys([*members, *(group for _member, group in rows)]))
