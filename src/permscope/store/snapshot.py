"""One AWS account read from the store as core objects, for analytics: one query per table, no per-row queries.

Decisions (documented here because detectors depend on them):
- `resources` is None when resources were never collected for the account: no resource row exists and no
  successful collection run of the account said it collected resources (`counts.seen.resources`, written by
  `store.ingest` whenever a batch carried resources, even zero of them). A run that collected resources and
  found none gives [] — "no buckets" — which is not "buckets unknown".
- `has_activity` is True when anything tells us who used what or when: usage rows, per-identity activity from
  activity logs (`identity_activity`), IAM Access Advisor reports (`attributes.accessAdvisor`) or a credential
  report (`attributes.credentialReport`, with password and access-key last use). `RoleLastUsed` alone does not
  count: every authorization-details export carries it, it covers roles only, and treating it as activity
  would make an IAM export alone report every user inactive.
- `usages` holds only the usage rows whose last use falls inside the window (`last_seen >= since`).
- `organization_policies` are the organization policies assigned in the account (scope, name, document,
  attributes), from which the cloud's plugin derives the policy levels above it; `previous_organization` the
  levels the last effective-permissions computation used (the fallback when no organization data is stored).
- `policies` carry their versions only for customer policies that have more than one (AWS managed policies
  cannot be changed by the account, so their other versions decide nothing): escalation reads them
  (iam:SetDefaultPolicyVersion).
- `effective` are the stored effective permissions of the evaluated identities (packed bitsets and details),
  read instead of recomputing them when their catalogue version is the installed one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Text, cast, exists, func, select, true, union_all
from sqlalchemy.orm import Session

from permscope.core.activity import activity_known
from permscope.core.ids import Cloud
from permscope.core.inventory import (
    Assignment,
    AssignmentRelation,
    AuthorizationSystem,
    Identity,
    IdentityKind,
    Membership,
    ParentKind,
    Policy,
    PolicyKind,
    PolicyVersion,
    Resource,
    Usage,
)
from permscope.core.snapshot import SnapshotSlice
from permscope.store.effective import (
    StoredEffective,
    last_run,
    stored_effective,
    stored_organization_policies,
)
from permscope.store.homes import SystemView, view_for, view_of_row
from permscope.store.memberships import group_closure
from permscope.store.tables import (
    AssignmentRow,
    AuthorizationSystemRow,
    CollectionRunRow,
    IdentityActivityRow,
    IdentityRow,
    MembershipRow,
    PolicyRow,
    PolicyVersionRow,
    ResourceRow,
    UsageRow,
)

# Rows are read through the session's connection (Core): the ORM's per-row result handling doubled the time;
# and all at once (`all()`: one fetch, not one per row).

# Kinds by stored value: a dictionary reads faster than the enum's call.
_IDENTITY_KINDS = {kind.value: kind for kind in IdentityKind}


@dataclass(slots=True, kw_only=True)
class StoredAccount:
    """One account's stored inventory as core objects, with what is known about its activity and resources."""

    system_pk: int
    system: AuthorizationSystem
    identities: list[Identity] = field(default_factory=list)
    memberships: list[Membership] = field(default_factory=list)
    policies: list[Policy] = field(default_factory=list)
    assignments: list[Assignment] = field(default_factory=list)
    resources: list[Resource] | None = None
    usages: list[Usage] = field(default_factory=list)
    has_activity: bool = False
    organization_policies: list[tuple[str, str, Any, dict[str, Any] | None]] = field(default_factory=list)
    previous_organization: list[dict[str, Any]] | None = None
    effective: list[StoredEffective] = field(default_factory=list)
    collected_at: datetime | None = None  # when the inventory was last collected or imported


def _system(row: AuthorizationSystemRow) -> AuthorizationSystem:
    return AuthorizationSystem(
        cloud=Cloud(row.cloud),
        system_id=row.system_id,
        name=row.name,
        parent_id=row.parent_id,
        parent_kind=ParentKind(row.parent_kind) if row.parent_kind else None,
        modification_enabled=row.modification_enabled,
        attributes=dict(row.attributes or {}),
    )


def _identities(session: Session, view: SystemView, where: ColumnElement[bool]) -> list[Identity]:
    return stored_identities(session, view, where=where)


def stored_identities(
    session: Session,
    system: SystemView | int,
    kinds: Sequence[str] | None = None,
    *,
    where: ColumnElement[bool] | None = None,
) -> list[Identity]:
    """A system's identities (those its view sees) as core objects (of `kinds` only, and matching `where`, when
    given); `system` is its view or its pk."""
    table = IdentityRow
    stmt = select(
        table.external_id,
        table.kind,
        table.display_name,
        table.source,
        table.created_at,
        table.last_active_at,
        table.managed_by_cloud,
        table.attributes,
    ).where(view_for(session, system).identities())
    if kinds is not None:
        stmt = stmt.where(table.kind.in_(list(kinds)))
    if where is not None:
        stmt = stmt.where(where)
    rows = session.connection().execute(stmt).all()
    return [
        Identity(
            external_id=external_id,
            kind=_IDENTITY_KINDS[kind],
            display_name=name,
            source=source,
            created_at=created,
            last_active_at=last_active,
            managed_by_cloud=managed,
            attributes=attributes or {},
        )
        for external_id, kind, name, source, created, last_active, managed, attributes in rows
    ]


def _policies(session: Session, view: SystemView, where: ColumnElement[bool]) -> list[Policy]:
    table = PolicyRow
    rows = session.connection().execute(
        select(
            table.external_id,
            table.name,
            table.kind,
            table.managed_by_cloud,
            table.document,
            table.default_version,
            table.created_at,
            table.updated_at,
            table.attributes,
        ).where(view.policies(), where)
    )
    versions = _customer_versions(session, view, where)
    return [
        Policy(
            external_id=external_id,
            name=name,
            kind=PolicyKind(kind),
            managed_by_cloud=managed,
            document=document,
            default_version=version,
            versions=versions.get(external_id, []),
            created_at=created,
            updated_at=updated,
            attributes=attributes or {},
        )
        for external_id, name, kind, managed, document, version, created, updated, attributes in rows
    ]


def _customer_versions(
    session: Session, view: SystemView, where: ColumnElement[bool]
) -> dict[str, list[PolicyVersion]]:
    """The versions of the account's customer policies (those `where` selects) that have a version besides the
    default one."""
    policy, version = PolicyRow, PolicyVersionRow
    several = (
        select(version.policy_pk)
        .join(policy, policy.id == version.policy_pk)
        .where(view.policies(), where, policy.managed_by_cloud.is_(False), version.is_default.is_(False))
    )
    rows = session.connection().execute(
        select(
            policy.external_id, version.version_id, version.is_default, version.document, version.created_at
        )
        .join(policy, policy.id == version.policy_pk)
        .where(version.policy_pk.in_(several))
        .order_by(version.id)
    )
    found: dict[str, list[PolicyVersion]] = {}
    for external_id, version_id, is_default, document, created in rows:
        found.setdefault(external_id, []).append(
            PolicyVersion(version_id=version_id, document=document, is_default=is_default, created_at=created)
        )
    return found


def _assignments(session: Session, view: SystemView, where: ColumnElement[bool]) -> list[Assignment]:
    """The assignments `where` selects, in the order they were stored (GCP numbers bindings by it)."""
    table = AssignmentRow
    rows = (
        session.connection()
        .execute(
            select(
                table.identity_external_id,
                table.policy_external_id,
                table.relation,
                table.scope,
                table.condition,
                table.starts_at,
                table.ends_at,
            )
            .where(view.assignments(), where)
            .order_by(table.id)
        )
        .all()
    )
    return [
        Assignment(
            identity_external_id=identity,
            policy_external_id=policy,
            relation=AssignmentRelation(relation),
            scope=scope,
            condition=condition,
            starts_at=starts,
            ends_at=ends,
        )
        for identity, policy, relation, scope, condition, starts, ends in rows
    ]


def _resources(
    session: Session, pk: int, cloud: str, system_id: str, where: ColumnElement[bool]
) -> list[Resource] | None:
    table = ResourceRow
    rows = (
        session.connection()
        .execute(
            select(
                table.external_id,
                table.resource_type,
                table.service,
                table.display_name,
                table.region,
                table.policy,
                table.facts,
            ).where(table.system_pk == pk, where)
        )
        .all()
    )
    if not rows and not _resources_collected(session, cloud, system_id):
        return None
    return [
        Resource(
            external_id=external_id,
            resource_type=resource_type,
            service=service,
            display_name=name,
            region=region,
            policy=policy,
            facts=facts or {},
        )
        for external_id, resource_type, service, name, region, policy, facts in rows
    ]


def _resources_collected(session: Session, cloud: str, system_id: str) -> bool:
    """Whether a successful run of the system carried resources (even none)."""
    counts = session.scalars(
        select(CollectionRunRow.counts).where(
            CollectionRunRow.cloud == cloud,
            CollectionRunRow.system_id == system_id,
            CollectionRunRow.status == "succeeded",
        )
    )
    return any("resources" in ((found or {}).get("seen") or {}) for found in counts)


def _usages(session: Session, pk: int, since: datetime | None) -> list[Usage]:
    table = UsageRow
    query = select(
        table.identity_external_id,
        table.action,
        table.resource,
        table.first_seen,
        table.last_seen,
        table.count,
    ).where(table.system_pk == pk)
    if since is not None:
        query = query.where(table.last_seen >= since)
    return [
        Usage(
            identity_external_id=identity,
            action=action,
            resource=resource or None,
            first_seen=first,
            last_seen=last,
            count=count,
        )
        for identity, action, resource, first, last, count in session.connection().execute(query).all()
    ]


def _has_activity(session: Session, pk: int, identities: list[Identity]) -> bool:
    if session.scalar(select(exists().where(UsageRow.system_pk == pk))):
        return True
    if session.scalar(select(exists().where(IdentityActivityRow.system_pk == pk))):
        return True
    return activity_known(identities, usage_recorded=False)


def _memberships(session: Session, view: SystemView, where: ColumnElement[bool]) -> list[Membership]:
    """The memberships `where` selects, by group and member: group walks follow the order, which is then the
    same for any part of the memberships (a slice's) as for all of them."""
    table = MembershipRow
    rows = (
        session.connection()
        .execute(
            select(table.group_external_id, table.member_external_id)
            .where(view.memberships(), where)
            .order_by(table.group_external_id, table.member_external_id)
        )
        .all()
    )
    return [Membership(group_external_id=group, member_external_id=member) for group, member in rows]


@dataclass(frozen=True, slots=True)
class _Rows:
    """Which rows of each table a load reads."""

    identities: ColumnElement[bool]
    memberships: ColumnElement[bool]
    policies: ColumnElement[bool] | None  # None: those the assignments read name
    assignments: ColumnElement[bool]
    resources: ColumnElement[bool]


EVERY_ROW = _Rows(true(), true(), true(), true(), true())
LISTED_POLICIES_MAX = 2_000  # a sliced load names up to this many policies in a list


def _any_of(table: Any, seen: ColumnElement[bool], terms: list[ColumnElement[bool]]) -> ColumnElement[bool]:
    """The rows of a system (those `seen`, its view's condition on `table`) any term selects, as `id IN (one
    SELECT per term, UNION ALL)`: each term is looked up by its own index (an OR of them made SQLite scan the
    system's rows)."""
    if len(terms) == 1:
        return terms[0]
    selects = [select(table.id).where(seen, term) for term in terms]
    found: ColumnElement[bool] = table.id.in_(union_all(*selects))
    return found


def _slice_rows(session: Session, view: SystemView, only: SnapshotSlice) -> _Rows:
    """The rows a decision reads (see `SnapshotSlice`): its principals' groups are walked first."""
    closure = group_closure(session, view, only.principals)
    named = list(dict.fromkeys([*closure, *only.identities]))
    people: list[ColumnElement[bool]] = [IdentityRow.external_id.in_(named)]
    if only.kinds:
        people.append(IdentityRow.kind.in_(only.kinds))
    table = AssignmentRow
    reach: list[ColumnElement[bool]] = [table.identity_external_id.in_([*named, *only.shared_principals])]
    if only.relations:
        reach.append(table.relation.in_(only.relations))
    if only.every_binding:
        first = (  # not correlated: the same table as the rows it selects from
            select(func.min(table.id))
            .where(view.assignments(), table.relation == AssignmentRelation.ATTACHED.value)
            .group_by(table.scope, table.policy_external_id, cast(table.condition, Text))
            .correlate(None)
        )
        reach.append(table.id.in_(first))
    return _Rows(
        identities=_any_of(IdentityRow, view.identities(), people),
        memberships=MembershipRow.member_external_id.in_(closure),
        policies=None,  # those the assignments read name
        assignments=_any_of(table, view.assignments(), reach),
        resources=ResourceRow.external_id.in_(list(only.resources)),
    )


def _named_by(view: SystemView, assignments: list[Assignment], rows: _Rows) -> ColumnElement[bool]:
    """The policies a sliced load reads: those its assignments name (by a list when it is short, else by the
    assignments' query again)."""
    if rows.policies is not None:
        return rows.policies
    named = sorted({assignment.policy_external_id for assignment in assignments})
    if len(named) <= LISTED_POLICIES_MAX:
        return PolicyRow.external_id.in_(named)
    table = AssignmentRow
    return PolicyRow.external_id.in_(
        select(table.policy_external_id).where(view.assignments(), rows.assignments)
    )


def load_account(
    session: Session,
    system_pk: int,
    *,
    usage_since: datetime | None = None,
    inventory_only: bool = False,
    only: SnapshotSlice | None = None,
) -> StoredAccount:
    """One system's stored inventory, usage since `usage_since` (all when None), activity, organization policies
    and stored effective permissions (`inventory_only`: the inventory and organization policies alone; `only`:
    the part of the inventory and resources one decision reads, organization policies included). The inventory
    is what the system's view sees (`store.homes`); resources, usage, activity and stored results are its own."""
    row = session.get(AuthorizationSystemRow, system_pk)
    if row is None:
        raise LookupError(f"no authorization system with primary key {system_pk}")
    view = view_of_row(row)
    rows = EVERY_ROW if only is None else _slice_rows(session, view, only)
    previous = last_run(session, system_pk)
    assignments = _assignments(session, view, rows.assignments)
    found = StoredAccount(
        system_pk=system_pk,
        system=_system(row),
        identities=_identities(session, view, rows.identities),
        memberships=_memberships(session, view, rows.memberships),
        policies=_policies(session, view, _named_by(view, assignments, rows)),
        assignments=assignments,
        organization_policies=stored_organization_policies(session, view),
        previous_organization=previous.scp_levels if previous is not None else None,
        collected_at=row.last_collection_at,
    )
    if inventory_only:  # who may do what: no resources, usage or stored results
        return found
    found.resources = _resources(session, system_pk, row.cloud, row.system_id, rows.resources)
    if only is not None:  # a decision reads no usage, activity or stored results
        return found
    found.usages = _usages(session, system_pk, usage_since)
    found.has_activity = _has_activity(session, system_pk, found.identities)
    found.effective = stored_effective(session, system_pk)
    return found
