"""Recording a collection that could not read an authorization system: the system goes offline, the run fails.

The inventory of the system is left as the last good run stored it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from permscope.core.inventory import AuthorizationSystem
from permscope.store.ingest import record_failed_run
from permscope.store.systems import stored_system
from permscope.store.tables import AuthorizationSystemRow


def record_collection_failure(
    engine: Engine,
    system: AuthorizationSystem,
    source: str,
    started: datetime,
    error: str,
    *,
    record_run: bool = True,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> None:
    """Mark the system offline (creating it, named and placed, if it was never collected) and, unless the
    failed run is already recorded (`record_run=False`), record a failed run with the error."""
    with Session(engine) as session, session.begin():
        row = stored_system(session, system.cloud.value, system.system_id)
        if row is None:
            session.add(
                AuthorizationSystemRow(
                    cloud=system.cloud.value,
                    system_id=system.system_id,
                    name=system.name,
                    parent_id=system.parent_id,
                    parent_kind=system.parent_kind.value if system.parent_kind else None,
                    attributes=system.attributes,
                    collection_status="offline",
                    last_collection_at=None,
                    modification_enabled=system.modification_enabled,
                    created_at=now(),
                )
            )
        else:
            row.collection_status = "offline"
    if record_run:
        record_failed_run(engine, system, source, started, error, now=now)
