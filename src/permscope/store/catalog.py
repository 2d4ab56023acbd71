"""The action catalogue tables: `actions` (one row per action of a cloud) and `catalogs` (loaded version)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from permscope.core.ids import Cloud
from permscope.core.inventory import Action
from permscope.store.bulk import insert_rows
from permscope.store.tables import ActionRow, CatalogRow


def loaded_version(session: Session, cloud: Cloud) -> str | None:
    """The catalogue version stored for a cloud, or None when none is loaded."""
    row = session.get(CatalogRow, cloud.value)
    return row.version if row is not None else None


def action_count(session: Session, cloud: Cloud) -> int:
    """How many actions of a cloud are stored."""
    return int(
        session.scalar(select(func.count()).select_from(ActionRow).where(ActionRow.cloud == cloud.value)) or 0
    )


def replace_actions(
    session: Session,
    cloud: Cloud,
    version: str,
    actions: Sequence[Action],
    *,
    now: datetime | None = None,
) -> int:
    """Replace a cloud's stored actions and record the version; the caller owns the transaction."""
    session.execute(delete(ActionRow).where(ActionRow.cloud == cloud.value))
    rows = [
        {
            "cloud": cloud.value,
            "external_id": action.external_id,
            "service": action.service,
            "name": action.name,
            "access_level": action.access_level,
            "severity": action.severity,
            "action_type": action.action_type,
            "resource_types": list(action.resource_types),
        }
        for action in actions
    ]
    insert_rows(session, ActionRow, rows)
    catalog = session.get(CatalogRow, cloud.value)
    if catalog is None:
        catalog = CatalogRow(cloud=cloud.value)
        session.add(catalog)
    catalog.version = version
    catalog.action_count = len(rows)
    catalog.loaded_at = now or datetime.now(UTC)
    session.flush()
    return len(rows)
