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

from sqlalchemy import exists, select
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
from permscope.store.effective import (
    StoredEffective,
    last_run,
    stored_effective,
    stored_organization_policies,
)
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

# Rows are read through the session's connection (Core): the ORM's per-row result handling doubled the time.


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


def _identities(session: Session, pk: int) -> list[Identity]:
    return stored_identities(session, pk)


def stored_identities(session: Session, pk: int, kinds: Sequence[str] | None = None) -> list[Identity]:
    """A system's identities as core objects (of `kinds` only, when given)."""
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
    ).where(table.system_pk == pk)
    if kinds is not None:
        stmt = stmt.where(table.kind.in_(list(kinds)))
    rows = session.connection().execute(stmt)
    return [
        Identity(
            external_id=external_id,
            kind=IdentityKind(kind),
            display_name=name,
            source=source,
            created_at=created,
            last_active_at=last_active,
            managed_by_cloud=managed,
            attributes=attributes or {},
        )
        for external_id, kind, name, source, created, last_active, managed, attributes in rows
    ]


def _policies(session: Session, pk: int) -> list[Policy]:
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
        ).where(table.system_pk == pk)
    )
    versions = _customer_versions(session, pk)
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


def _customer_versions(session: Session, pk: int) -> dict[str, list[PolicyVersion]]:
    """The versions of the account's customer policies that have a version besides the default one."""
    policy, version = PolicyRow, PolicyVersionRow
    several = (
        select(version.policy_pk)
        .join(policy, policy.id == version.policy_pk)
        .where(policy.system_pk == pk, policy.managed_by_cloud.is_(False), version.is_default.is_(False))
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


def _assignments(session: Session, pk: int) -> list[Assignment]:
    table = AssignmentRow
    rows = session.connection().execute(
        select(
            table.identity_external_id,
            table.policy_external_id,
            table.relation,
            table.scope,
            table.condition,
            table.starts_at,
            table.ends_at,
        ).where(table.system_pk == pk)
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


def _resources(session: Session, pk: int, cloud: str, system_id: str) -> list[Resource] | None:
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
            ).where(table.system_pk == pk)
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
        for identity, action, resource, first, last, count in session.connection().execute(query)
    ]


def _has_activity(session: Session, pk: int, identities: list[Identity]) -> bool:
    if session.scalar(select(exists().where(UsageRow.system_pk == pk))):
        return True
    if session.scalar(select(exists().where(IdentityActivityRow.system_pk == pk))):
        return True
    return activity_known(identities, usage_recorded=False)


def _memberships(session: Session, pk: int) -> list[Membership]:
    rows = session.connection().execute(
        select(MembershipRow.group_external_id, MembershipRow.member_external_id).where(
            MembershipRow.system_pk == pk
        )
    )
    return [Membership(group_external_id=group, member_external_id=member) for group, member in rows]


def load_account(
    session: Session, system_pk: int, *, usage_since: datetime | None = None, inventory_only: bool = False
) -> StoredAccount:
    """One system's stored inventory, usage since `usage_since` (all when None), activity, organization policies
    and stored effective permissions (`inventory_only`: the inventory and organization policies alone)."""
    row = session.get(AuthorizationSystemRow, system_pk)
    if row is None:
        raise LookupError(f"no authorization system with primary key {system_pk}")
    previous = last_run(session, system_pk)
    found = StoredAccount(
        system_pk=system_pk,
        system=_system(row),
        identities=_identities(session, system_pk),
        memberships=_memberships(session, system_pk),
        policies=_policies(session, system_pk),
        assignments=_assignments(session, system_pk),
        organization_policies=stored_organization_policies(session, system_pk),
        previous_organization=previous.scp_levels if previous is not None else None,
        collected_at=row.last_collection_at,
    )
    if inventory_only:  # who may do what: no resources, usage or stored results
        return found
    found.resources = _resources(session, system_pk, row.cloud, row.system_id)
    found.usages = _usages(session, system_pk, usage_since)
    found.has_activity = _has_activity(session, system_pk, found.identities)
    found.effective = stored_effective(session, system_pk)
    return found
