"""Effective permissions in the store: the inventory they are computed from, and the per-identity results."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, Text, cast, delete, select, update
from sqlalchemy.orm import Session

from permscope.store.bulk import insert_rows
from permscope.store.homes import SystemView, view_for
from permscope.store.memberships import membership_rows
from permscope.store.tables import (
    AssignmentRow,
    EffectivePermissionRow,
    EffectivePermissionRunRow,
    IdentityRow,
    MembershipRow,
    PolicyRow,
)

CHUNK = 500  # values per IN (...) list


@dataclass(frozen=True, slots=True)
class StoredIdentity:
    """An identity as effective permissions need it."""

    external_id: str
    kind: str
    display_name: str
    managed_by_cloud: bool


@dataclass(slots=True)
class PermissionInputs:
    """The stored inventory of one system that decides its identities' permissions."""

    identities: list[StoredIdentity] = field(default_factory=list)
    policies: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (name, document JSON text)
    assignments: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # identity -> [(policy, rel)]
    groups_of: dict[str, list[str]] = field(default_factory=dict)  # member -> groups
    # identity -> [(policy, relation, scope, condition)] (only when loaded `scoped`)
    scoped: dict[str, list[tuple[str, str, str, Any]]] = field(default_factory=dict)


@dataclass(slots=True)
class StoredEffective:
    """One identity's stored effective permissions as written (packed bitsets, details JSON bytes); not frozen:
    one is built per stored row, and a frozen dataclass's `__init__` costs three times as much."""

    external_id: str
    catalog_version: str
    all_resources: bytes
    specific_resources: bytes
    conditional: bytes
    details: bytes


@dataclass(frozen=True, slots=True)
class StoredCounts:
    """The stored counts of one identity (the contract's `actionSummary.assigned` is `granted`)."""

    external_id: str
    catalog_version: str
    granted: int
    all_resources: int
    specific_resources: int
    conditional: int
    high_severity: int


def _chunks(items: Sequence[str]) -> list[Sequence[str]]:
    return [items[start : start + CHUNK] for start in range(0, len(items), CHUNK)]


def load_permission_inputs(
    session: Session,
    system: SystemView | int,
    kinds: Sequence[str],
    policy_kinds: Sequence[str],
    relations: Sequence[str],
    external_ids: Sequence[str] | None = None,
    *,
    scoped: bool = False,
    shared_principals: Sequence[str] = (),
) -> PermissionInputs:
    """The identities of `kinds` (all, or those among `external_ids`) with their groups, their assignments of
    `relations` and the policies of `policy_kinds` (documents as JSON text) those reach (the cloud's
    `PermissionScope` names them). `scoped` loads each assignment's scope and condition too (`inputs.scoped`);
    the assignments of `shared_principals` (a principal standing for everyone) are loaded with any identity's.
    `system` is a system's view or its pk: the rows are those its view sees (`store.homes`)."""
    view = view_for(session, system)
    inputs = PermissionInputs()
    query = select(
        IdentityRow.external_id, IdentityRow.kind, IdentityRow.display_name, IdentityRow.managed_by_cloud
    ).where(view.identities(), IdentityRow.kind.in_(list(kinds)))
    if external_ids is None:
        inputs.identities = [StoredIdentity(*row) for row in session.execute(query)]
        rows = [
            (member, group)
            for member, group in session.execute(
                select(MembershipRow.member_external_id, MembershipRow.group_external_id).where(
                    view.memberships()
                )
            )
        ]
    else:
        wanted = list(dict.fromkeys(external_ids))
        for part in _chunks(wanted):
            inputs.identities += [
                StoredIdentity(*row)
                for row in session.execute(query.where(IdentityRow.external_id.in_(part)))
            ]
        rows = membership_rows(session, view, wanted, nested=scoped)  # groups nest in Azure and GCP
    for member, group in rows:
        inputs.groups_of.setdefault(member, []).append(group)

    columns: list[Any] = [
        AssignmentRow.identity_external_id,
        AssignmentRow.policy_external_id,
        AssignmentRow.relation,
    ]
    if scoped:
        columns += [AssignmentRow.scope, AssignmentRow.condition]
    assignments = select(*columns).where(view.assignments(), AssignmentRow.relation.in_(list(relations)))
    if external_ids is None:
        assignment_rows = list(session.execute(assignments))
    else:
        owners = list(
            dict.fromkeys(
                [*wanted, *(g for groups in inputs.groups_of.values() for g in groups), *shared_principals]
            )
        )
        assignment_rows = []
        for part in _chunks(owners):
            assignment_rows += session.execute(
                assignments.where(AssignmentRow.identity_external_id.in_(part))
            )
    for row in assignment_rows:
        identity, policy, relation = row[0], row[1], row[2]
        inputs.assignments.setdefault(identity, []).append((policy, relation))
        if scoped:
            inputs.scoped.setdefault(identity, []).append((policy, relation, row[3], row[4]))

    policies = select(PolicyRow.external_id, PolicyRow.name, cast(PolicyRow.document, Text)).where(
        view.policies(), PolicyRow.kind.in_(list(policy_kinds))
    )
    if external_ids is None:
        policy_rows = list(session.execute(policies))
    else:
        needed = list(dict.fromkeys(row[1] for row in assignment_rows))
        policy_rows = []
        for part in _chunks(needed):
            policy_rows += session.execute(policies.where(PolicyRow.external_id.in_(part)))
    inputs.policies = {policy_id: (name, document) for policy_id, name, document in policy_rows}
    return inputs


def replace_effective_permissions(
    session: Session, system_pk: int, rows: Sequence[dict[str, Any]], run: dict[str, Any]
) -> None:
    """Replace a system's stored effective permissions and its run record; the caller owns the transaction."""
    session.execute(delete(EffectivePermissionRow).where(EffectivePermissionRow.system_pk == system_pk))
    previous = session.get(EffectivePermissionRunRow, system_pk)  # through the session: it may hold it loaded
    if previous is not None:
        session.delete(previous)
        session.flush()
    insert_rows(session, EffectivePermissionRow, [{"system_pk": system_pk, **row} for row in rows])
    session.add(EffectivePermissionRunRow(system_pk=system_pk, **run))
    session.flush()


def record_seconds(session: Session, system_pk: int, seconds: float) -> None:
    """Set how long the computation being written took (in the caller's transaction)."""
    session.execute(
        update(EffectivePermissionRunRow)
        .where(EffectivePermissionRunRow.system_pk == system_pk)
        .values(seconds=seconds)
    )


def last_run(session: Session, system_pk: int) -> EffectivePermissionRunRow | None:
    """How the system's stored effective permissions were computed, or None when they never were."""
    return session.get(EffectivePermissionRunRow, system_pk)


def counts_query(system_pk: int) -> Select[str, str, int, int, int, int, int]:
    """Per identity of a system: external id, catalogue version and the five counts (joinable by the API)."""
    table = EffectivePermissionRow
    return select(
        table.identity_external_id,
        table.catalog_version,
        table.granted_count,
        table.all_resources_count,
        table.specific_resources_count,
        table.conditional_count,
        table.high_severity_count,
    ).where(table.system_pk == system_pk)


def permission_counts(
    session: Session, system_pk: int, external_ids: Sequence[str] | None = None
) -> dict[str, StoredCounts]:
    """The stored counts of a system's identities (all, or those among `external_ids`), by external id."""
    query = counts_query(system_pk)
    if external_ids is None:
        rows = list(session.execute(query))
    else:
        rows = []
        for part in _chunks(list(dict.fromkeys(external_ids))):
            rows += session.execute(query.where(EffectivePermissionRow.identity_external_id.in_(part)))
    return {
        identity: StoredCounts(identity, version, granted, everywhere, specific, conditional, high)
        for identity, version, granted, everywhere, specific, conditional, high in rows
    }


def find_effective_permissions(
    session: Session, system_pk: int, external_id: str
) -> EffectivePermissionRow | None:
    """One identity's stored effective permissions (bitsets and clauses), or None."""
    return session.execute(
        select(EffectivePermissionRow).where(
            EffectivePermissionRow.system_pk == system_pk,
            EffectivePermissionRow.identity_external_id == external_id,
        )
    ).scalar_one_or_none()


def stored_organization_policies(
    session: Session, system: SystemView | int
) -> list[tuple[str, str, Any, dict[str, Any] | None]]:
    """(scope, name, document, policy attributes) of every organization policy assigned in a system, or at a
    home at the system's scopes (the cloud's plugin turns them into the policy levels above the system)."""
    view = view_for(session, system)
    rows = session.execute(
        select(AssignmentRow.scope, PolicyRow.name, PolicyRow.document, PolicyRow.attributes)
        .join(
            PolicyRow,
            (PolicyRow.system_pk == AssignmentRow.system_pk)
            & (PolicyRow.external_id == AssignmentRow.policy_external_id),
        )
        .where(view.assignments(), view.policies(), PolicyRow.kind == "organization")
    )
    return [(str(scope), str(name), document, attributes) for scope, name, document, attributes in rows]


def stored_effective(session: Session, system_pk: int) -> list[StoredEffective]:
    """Every stored effective-permissions row of a system (one query, through the connection: the ORM's per-row
    result handling cost a third more)."""
    table = EffectivePermissionRow
    rows = (
        session.connection()
        .execute(
            select(
                table.identity_external_id,
                table.catalog_version,
                table.all_resources_actions,
                table.specific_resources_actions,
                table.conditional_actions,
                table.details,
            ).where(table.system_pk == system_pk)
        )
        .all()
    )
    return [StoredEffective(*row) for row in rows]
