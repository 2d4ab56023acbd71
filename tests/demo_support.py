"""The demo estate (AWS, Azure, GCP with activity and findings) in a SQLite database of a test module's own."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from permscope.store.engine import make_engine
from permscope.store.tables import AuthorizationSystemRow, EffectivePermissionRow, FindingRow, IdentityRow
from permscope.workflows.demo import load_demo


def demo_engine(template: Path, folder: Path) -> Engine:
    """A copy of the migrated template with the demo estate loaded and analyzed."""
    path = folder / "permscope.sqlite3"
    shutil.copyfile(template, path)
    engine = make_engine(f"sqlite:///{path}")
    load_demo(engine, folder=folder / "estate")
    return engine


def escalating(engine: Engine) -> dict[str, tuple[str, str]]:
    """Per cloud, the first (system id, identity) with an open privilege-escalation finding."""
    found: dict[str, tuple[str, str]] = {}
    stmt = (
        select(AuthorizationSystemRow.cloud, AuthorizationSystemRow.system_id, FindingRow.subject_id)
        .join(AuthorizationSystemRow, AuthorizationSystemRow.id == FindingRow.system_pk)
        .where(FindingRow.finding_type.like("privilegeEscalation%"), FindingRow.resolved_at.is_(None))
        .order_by(AuthorizationSystemRow.cloud, AuthorizationSystemRow.system_id, FindingRow.subject_id)
    )
    with Session(engine) as session:
        for cloud, system_id, subject in session.execute(stmt):
            found.setdefault(cloud, (system_id, subject))
    return found


def granted_everywhere(engine: Engine, cloud: str) -> tuple[str, str]:
    """The first (system id, identity) of a cloud granted some action on every resource, a group left out (no
    request names a group as its principal)."""
    stmt = (
        select(AuthorizationSystemRow.system_id, EffectivePermissionRow.identity_external_id)
        .join(AuthorizationSystemRow, AuthorizationSystemRow.id == EffectivePermissionRow.system_pk)
        .join(
            IdentityRow,
            (IdentityRow.system_pk == EffectivePermissionRow.system_pk)
            & (IdentityRow.external_id == EffectivePermissionRow.identity_external_id),
        )
        .where(
            AuthorizationSystemRow.cloud == cloud,
            EffectivePermissionRow.all_resources_count > 0,
            IdentityRow.kind != "group",
        )
        .order_by(AuthorizationSystemRow.system_id, EffectivePermissionRow.identity_external_id)
        .limit(1)
    )
    with Session(engine) as session:
        system_id, identity = session.execute(stmt).one()
    return str(system_id), str(identity)
