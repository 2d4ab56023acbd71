"""Read helpers for the terminal and the API: systems with identity counts, the identities of one system, and
the action summaries (granted, used, existing) of a page of identities."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from permscope.core.ids import Cloud
from permscope.core.inventory import IdentityKind
from permscope.store import queries
from permscope.store.catalog import action_count
from permscope.store.effective import permission_counts
from permscope.store.homes import view_of_row, views_at_homes
from permscope.store.systems import get_system
from permscope.store.systems import systems as all_systems
from permscope.store.tables import AuthorizationSystemRow, IdentityRow
from permscope.store.usage import exercised_counts


@dataclass(frozen=True, slots=True)
class SystemSummary:
    """One authorization system and how many identities of each kind it holds."""

    cloud: str
    system_id: str
    name: str
    collection_status: str
    last_collection_at: datetime | None
    identities: int
    by_kind: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class IdentitySummary:
    """One identity as a list shows it."""

    external_id: str
    kind: str
    display_name: str
    source: str
    created_at: datetime | None
    last_active_at: datetime | None
    managed_by_cloud: bool
    granted: int | None = None  # effective permissions granted (actionSummary.assigned); None: not computed
    high_severity: int | None = None  # of those, write and permissions-management actions


def identity_kind_counts(
    session: Session, system_pks: Sequence[int] | None = None
) -> dict[int, dict[str, int]]:
    """Per system (of those given; every one when None), how many identities of each kind it sees: one GROUP
    BY over the systems holding their own rows, then one per system at a home (through its view)."""
    stmt = select(IdentityRow.system_pk, IdentityRow.kind, func.count()).group_by(
        IdentityRow.system_pk, IdentityRow.kind
    )
    if system_pks is not None:
        stmt = stmt.where(IdentityRow.system_pk.in_(list(system_pks)))
    counts: dict[int, dict[str, int]] = {}
    for system_pk, kind, count in session.execute(stmt):
        counts.setdefault(system_pk, {})[kind] = int(count)
    members = [] if system_pks is None else [AuthorizationSystemRow.id.in_(list(system_pks))]
    for view in views_at_homes(session, *members):
        counts.pop(view.pk, None)
        kinds = select(IdentityRow.kind, func.count()).where(view.identities()).group_by(IdentityRow.kind)
        for kind, count in session.execute(kinds):
            counts.setdefault(view.pk, {})[kind] = int(count)
    return counts


def list_systems(engine: Engine) -> list[SystemSummary]:
    """Every authorization system, ordered by cloud then id, with its identity counts per kind."""
    with Session(engine) as session:
        counts = identity_kind_counts(session)
        systems = session.execute(
            all_systems().order_by(AuthorizationSystemRow.cloud, AuthorizationSystemRow.system_id)
        ).scalars()
        return [
            SystemSummary(
                cloud=system.cloud,
                system_id=system.system_id,
                name=system.name,
                collection_status=system.collection_status,
                last_collection_at=system.last_collection_at,
                identities=sum(counts.get(system.id, {}).values()),
                by_kind=dict(sorted(counts.get(system.id, {}).items())),
            )
            for system in systems
        ]


def list_identities(
    engine: Engine, system_id: str, *, cloud: str | None = None, kind: str | None = None
) -> list[IdentitySummary]:
    """The identities of one system (by its cloud-side id), optionally of one kind, ordered by kind and name.

    Raises NotFoundError when no such system exists, AmbiguousSystemError when the id is in several clouds
    and no cloud is given.
    """
    with Session(engine) as session:
        system = get_system(session, system_id, cloud)
        system_pk = int(system.id)
        kinds = [kind] if kind is not None else [k.value for k in IdentityKind]
        query = queries.identities(view_of_row(system), kinds).order_by(
            IdentityRow.kind, IdentityRow.display_name, IdentityRow.external_id
        )
        counts = permission_counts(session, system_pk)
        summaries = []
        for row in session.execute(query).scalars():
            stored = counts.get(row.external_id)
            summaries.append(
                IdentitySummary(
                    external_id=row.external_id,
                    kind=row.kind,
                    display_name=row.display_name,
                    source=row.source,
                    created_at=row.created_at,
                    last_active_at=row.last_active_at,
                    managed_by_cloud=row.managed_by_cloud,
                    granted=stored.granted if stored is not None else None,
                    high_severity=stored.high_severity if stored is not None else None,
                )
            )
        return summaries


@dataclass(frozen=True, slots=True)
class ActionSummaries:
    """Per identity: actions used in a window and granted by its effective permissions; actions existing."""

    exercised: dict[str, int]
    assigned: dict[str, int]  # absent before the identity's effective permissions are computed
    available: int | None  # None when no catalogue is stored


def action_summaries(
    session: Session,
    system_pk: int,
    cloud: str,
    external_ids: Sequence[str],
    since: datetime,
    until: datetime | None,
) -> ActionSummaries:
    """The action summaries of identities of one system (usage between `since` and `until`), in three queries."""
    counts = permission_counts(session, system_pk, external_ids)
    return ActionSummaries(
        exercised=exercised_counts(session, system_pk, external_ids, since, until),
        assigned={identity: found.granted for identity, found in counts.items()},
        available=action_count(session, Cloud(cloud)) or None,
    )
