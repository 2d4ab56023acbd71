"""The groups identities are in, walked up through nested groups (one walk for every loader that needs it).

Memberships are stored direct and walked level by level, among those the system sees (`store.homes.SystemView`):
at a home, `membership_closure` cannot stand in for the walk, since it leaves out what is no identity (a GCP
audience, the groups a deny policy names), which a decision needs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from permscope.store.homes import SystemView
from permscope.store.tables import MembershipRow

CHUNK = 500  # values per IN (...) list


def membership_rows(
    session: Session, system: SystemView, members: Sequence[str], *, nested: bool
) -> list[tuple[str, str]]:
    """(member, group) of every membership of `members` the system sees and, when `nested`, of the groups
    found, up to the top (groups in groups: Azure, GCP)."""
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


def group_closure(session: Session, system: SystemView, members: Sequence[str]) -> list[str]:
    """`members` and every group they are in, directly or through nested groups (the memberships the system
    sees)."""
    rows = membership_rows(session, system, members, nested=True)
    return list(dict.fromkeys([*members, *(group for _member, group in rows)]))
