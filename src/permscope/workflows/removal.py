"""Use case: remove an authorization system and all its rows, in one transaction (`permscope systems remove`).

An import of CloudTrail activity creates an offline system for every account its events name; once removed,
such a system comes back only if activity naming it is imported again. A system with permissions requests still
submitted or approved is not removed: an approved grant would then never be revoked by the scheduler. Cancel
them first.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from permscope.core.errors import PermscopeError
from permscope.core.ids import Cloud
from permscope.store.removal import delete_system, open_requests, system_row_counts
from permscope.store.systems import get_system


@dataclass(frozen=True, slots=True)
class Removal:
    """A system and its rows per table: what would be removed, or what was."""

    cloud: str
    system_id: str
    name: str
    rows: dict[str, int]
    open_requests: list[str]


def removal_plan(engine: Engine, system_id: str, cloud: Cloud | None = None) -> Removal:
    """What removing the system would delete (NotFoundError when there is none; AmbiguousSystemError when the
    id names systems of several clouds and `cloud` is not given)."""
    with Session(engine) as session:
        system = get_system(session, system_id, cloud.value if cloud else None)
        return Removal(
            cloud=system.cloud,
            system_id=system.system_id,
            name=system.name,
            rows=system_row_counts(session, system),
            open_requests=open_requests(session, system),
        )


def remove_system(engine: Engine, system_id: str, cloud: Cloud | None = None) -> Removal:
    """Delete the system and all its rows in one transaction: the rows deleted per table.

    PermscopeError when the system has permissions requests still submitted or approved (nothing is deleted).
    """
    with Session(engine) as session, session.begin():
        system = get_system(session, system_id, cloud.value if cloud else None)
        pending = open_requests(session, system)
        if pending:
            raise PermscopeError(
                f"{system.cloud} {system.system_id} has {len(pending)} permissions request(s) still submitted or "
                f"approved ({', '.join(pending[:5])}): cancel them first (`permscope requests cancel ID`), so that "
                "no grant outlives the system"
            )
        found = Removal(system.cloud, system.system_id, system.name, {}, [])
        found.rows.update(delete_system(session, system))
        return found
