"""The one inventory write path: a run for one authorization system is one transaction.

It upserts what the run saw, removes what the run no longer saw, and records the run; what is computed from
the inventory (effective permissions) is written in the same transaction. A run that fails changes nothing of
the inventory (the transaction rolls back) and is recorded as failed; a run killed midway leaves nothing.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Engine, delete, select, tuple_, update
from sqlalchemy.orm import Session

from permscope.core.gc_pause import collector_paused
from permscope.core.inventory import (
    Assignment,
    AuthorizationSystem,
    Identity,
    InventoryBatch,
    Membership,
    Policy,
    Resource,
    Usage,
)
from permscope.core.limits import printable
from permscope.core.warnings import summarize_warnings
from permscope.store.bulk import insert_rows
from permscope.store.locks import lock_system
from permscope.store.storable import check_batch
from permscope.store.systems import stored_system
from permscope.store.tables import (
    AssignmentRow,
    AuthorizationSystemRow,
    Base,
    CollectionRunRow,
    IdentityRow,
    MembershipClosureRow,
    MembershipRow,
    PolicyRow,
    PolicyVersionRow,
    ResidentRow,
    ResourceRow,
    SystemScopeRow,
    UsageRow,
)
from permscope.store.usage import apply_activity_last_active

log = logging.getLogger(__name__)
CHUNK = 500  # rows per IN (...) list; far below SQLite's and PostgreSQL's parameter limits


@dataclass(slots=True)
class TableChanges:
    """How many rows one table gained, changed and lost in a run."""

    inserted: int = 0
    updated: int = 0
    deleted: int = 0


@dataclass(slots=True)
class IngestResult:
    """What a run did to the store."""

    system_pk: int
    run_id: int
    changes: dict[str, TableChanges] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        """Whether the run changed any inventory row."""
        return any(c.inserted or c.updated or c.deleted for c in self.changes.values())


def _digest(values: Sequence[Any]) -> str:
    """A stable content hash of a row's values (sorted keys, datetimes as ISO text)."""
    return hashlib.sha1(
        orjson.dumps(list(values), option=orjson.OPT_SORT_KEYS), usedforsecurity=False
    ).hexdigest()


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def _sync(
    session: Session,
    table: type[Base],
    system_pk: int,
    key_columns: tuple[str, ...],
    rows: dict[tuple[str, ...], dict[str, Any]],
) -> TableChanges:
    """Make the system's rows of `table` equal `rows` (keyed by `key_columns`), touching only what differs."""
    columns = [getattr(table, name) for name in key_columns]
    existing: dict[tuple[str, ...], tuple[int, str]] = {}
    query = select(table.id, *columns, table.digest).where(table.system_pk == system_pk)  # type: ignore[attr-defined]
    for pk, *key, digest in session.execute(query):
        existing[tuple(key)] = (pk, digest)
    to_insert = [row for key, row in rows.items() if key not in existing]
    to_update = [
        {"id": existing[key][0], **row}
        for key, row in rows.items()
        if key in existing and existing[key][1] != row["digest"]
    ]
    stale = [pk for key, (pk, _digest) in existing.items() if key not in rows]
    insert_rows(session, table, to_insert)
    for batch in _chunks(to_update):
        session.execute(update(table), list(batch))
    for batch in _chunks(stale):
        session.execute(delete(table).where(table.id.in_(batch)))  # type: ignore[attr-defined]
    return TableChanges(len(to_insert), len(to_update), len(stale))


def _identity_rows(system_pk: int, items: list[Identity]) -> dict[tuple[str, ...], dict[str, Any]]:
    rows: dict[tuple[str, ...], dict[str, Any]] = {}
    for item in items:
        kind = item.kind.value
        values = [
            kind,
            item.display_name,
            item.source,
            item.created_at,
            item.last_active_at,
            item.managed_by_cloud,
            item.attributes,
        ]
        rows[(item.external_id,)] = {
            "system_pk": system_pk,
            "external_id": item.external_id,
            "kind": kind,
            "display_name": item.display_name,
            "source": item.source,
            "created_at": item.created_at,
            "last_active_at": item.last_active_at,
            "managed_by_cloud": item.managed_by_cloud,
            "attributes": item.attributes,
            "digest": _digest(values),
        }
    return rows


def _policy_rows(system_pk: int, items: list[Policy]) -> dict[tuple[str, ...], dict[str, Any]]:
    rows: dict[tuple[str, ...], dict[str, Any]] = {}
    for item in items:
        versions = [(v.version_id, v.is_default, v.created_at, v.document) for v in item.versions]
        values = [
            item.name,
            item.kind.value,
            item.managed_by_cloud,
            item.document,
            item.default_version,
            item.created_at,
            item.updated_at,
            item.attributes,
            versions,
        ]
        rows[(item.external_id,)] = {
            "system_pk": system_pk,
            "external_id": item.external_id,
            "name": item.name,
            "kind": item.kind.value,
            "managed_by_cloud": item.managed_by_cloud,
            "document": item.document,
            "default_version": item.default_version,
            "created_at": item.created_at,
            "updated_at": item.updated_at,
            "attributes": item.attributes,
            "digest": _digest(values),
        }
    return rows


def _membership_rows(system_pk: int, items: list[Membership]) -> dict[tuple[str, ...], dict[str, Any]]:
    return {
        (m.group_external_id, m.member_external_id): {
            "system_pk": system_pk,
            "group_external_id": m.group_external_id,
            "member_external_id": m.member_external_id,
        }
        for m in items
    }


def _assignment_rows(system_pk: int, items: list[Assignment]) -> dict[tuple[str, ...], dict[str, Any]]:
    rows: dict[tuple[str, ...], dict[str, Any]] = {}
    for a in items:
        key = (a.identity_external_id, a.policy_external_id, a.relation.value, a.scope)
        rows[key] = {
            "system_pk": system_pk,
            "identity_external_id": a.identity_external_id,
            "policy_external_id": a.policy_external_id,
            "relation": a.relation.value,
            "scope": a.scope,
            "condition": a.condition,
            "starts_at": a.starts_at,
            "ends_at": a.ends_at,
            "anchor": a.anchor,
            # the anchor counts only where there is one, so rows without it keep the digests they had
            "digest": _digest(
                [a.condition, a.starts_at, a.ends_at, *([] if a.anchor is None else [a.anchor])]
            ),
        }
    return rows


def _resource_rows(system_pk: int, items: list[Resource]) -> dict[tuple[str, ...], dict[str, Any]]:
    rows: dict[tuple[str, ...], dict[str, Any]] = {}
    for r in items:
        values = [r.resource_type, r.service, r.display_name, r.region, r.policy, r.facts]
        rows[(r.external_id,)] = {
            "system_pk": system_pk,
            "external_id": r.external_id,
            "resource_type": r.resource_type,
            "service": r.service,
            "display_name": r.display_name,
            "region": r.region,
            "policy": r.policy,
            "facts": r.facts,
            "digest": _digest(values),
        }
    return rows


def _usage_rows(system_pk: int, items: list[Usage]) -> dict[tuple[str, ...], dict[str, Any]]:
    rows: dict[tuple[str, ...], dict[str, Any]] = {}
    for u in items:
        resource = u.resource or ""
        rows[(u.identity_external_id, u.action, resource)] = {
            "system_pk": system_pk,
            "identity_external_id": u.identity_external_id,
            "action": u.action,
            "resource": resource,
            "first_seen": u.first_seen,
            "last_seen": u.last_seen,
            "count": u.count,
            "digest": _digest([u.first_seen, u.last_seen, u.count]),
        }
    return rows


def _sync_policy_versions(session: Session, system_pk: int, policies: list[Policy]) -> TableChanges:
    """Make each policy's stored versions equal the batch's versions."""
    pks = {
        external_id: pk
        for pk, external_id in session.execute(
            select(PolicyRow.id, PolicyRow.external_id).where(PolicyRow.system_pk == system_pk)
        )
    }
    wanted: dict[tuple[int, str], dict[str, Any]] = {}
    for policy in policies:
        pk = pks[policy.external_id]
        for v in policy.versions:
            wanted[(pk, v.version_id)] = {
                "policy_pk": pk,
                "version_id": v.version_id,
                "is_default": v.is_default,
                "document": v.document,
                "created_at": v.created_at,
            }
    existing: dict[tuple[int, str], tuple[int, bool, dict[str, Any]]] = {}
    query = (
        select(
            PolicyVersionRow.id,
            PolicyVersionRow.policy_pk,
            PolicyVersionRow.version_id,
            PolicyVersionRow.is_default,
            PolicyVersionRow.document,
        )
        .join(PolicyRow, PolicyRow.id == PolicyVersionRow.policy_pk)
        .where(PolicyRow.system_pk == system_pk)
    )
    for pk, policy_pk, version_id, is_default, document in session.execute(query):
        existing[(policy_pk, version_id)] = (pk, is_default, document)
    to_insert = [row for key, row in wanted.items() if key not in existing]
    to_update = [
        {"id": existing[key][0], "is_default": row["is_default"], "document": row["document"]}
        for key, row in wanted.items()
        if key in existing and (existing[key][1], existing[key][2]) != (row["is_default"], row["document"])
    ]
    stale = [pk for key, (pk, _d, _doc) in existing.items() if key not in wanted]
    insert_rows(session, PolicyVersionRow, to_insert)
    for batch in _chunks(to_update):
        session.execute(update(PolicyVersionRow), list(batch))
    for batch in _chunks(stale):
        session.execute(delete(PolicyVersionRow).where(PolicyVersionRow.id.in_(batch)))
    return TableChanges(len(to_insert), len(to_update), len(stale))


def _upsert_system(
    session: Session,
    system: AuthorizationSystem,
    now: datetime,
    *,
    home_pk: int | None = None,
    listed: bool = True,
) -> int:
    """Insert or refresh the system's row; `home_pk` and `listed` say where its inventory lives (its own: None)."""
    row = stored_system(session, system.cloud.value, system.system_id)
    if row is None:
        row = AuthorizationSystemRow(
            cloud=system.cloud.value,
            system_id=system.system_id,
            created_at=now,
            modification_enabled=system.modification_enabled,
        )
        session.add(row)
    row.name = system.name
    row.parent_id = system.parent_id
    row.parent_kind = system.parent_kind.value if system.parent_kind else None
    row.attributes = system.attributes
    row.collection_status = "online"
    row.last_collection_at = now
    row.home_pk = home_pk
    row.listed = listed
    session.flush()
    return row.id


def ingest(
    engine: Engine,
    batch: InventoryBatch,
    *,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    then: Callable[[Session], object] | None = None,
) -> IngestResult:
    """Write one run's batch in one transaction; on failure nothing changes and a failed run is recorded.

    The transaction is the system's only writer (`store.locks.lock_system`). `then(session)` runs inside it
    after the inventory is written and before it commits (imports compute the effective permissions there):
    the inventory, what `then` writes and the succeeded run commit together, or, after a failure or a crash,
    none of them.
    """
    started = now()
    try:
        check_batch(batch)  # what SQLite would keep and PostgreSQL refuse is refused on both (docs/limits.md)
        # the rows of a large batch are millions of small acyclic objects: see `collector_paused`
        with collector_paused(), Session(engine) as session, session.begin():
            lock_system(session, batch.system.cloud.value, batch.system.system_id)
            result, run = _write(session, batch, started, now)
            if then is not None:
                then(session)
                run.finished_at = now()
            return result
    except Exception as exc:
        _record_failure(engine, batch, started, exc, now)
        raise


def _write(
    session: Session, batch: InventoryBatch, started: datetime, now: Callable[[], datetime]
) -> tuple[IngestResult, CollectionRunRow]:
    """Write the batch and its succeeded run in the session's transaction."""
    system_pk = _upsert_system(session, batch.system, started)
    changes = _write_inventory(session, system_pk, batch)
    changes.update(_write_resources(session, system_pk, batch))
    run = _record_run(session, batch, started, now, changes)
    return IngestResult(system_pk=system_pk, run_id=run.id, changes=changes), run


def _write_inventory(session: Session, system_pk: int, batch: InventoryBatch) -> dict[str, TableChanges]:
    """Sync the batch's identities, policies (and versions), memberships and assignments under `system_pk`."""
    changes = {
        "identities": _sync(
            session, IdentityRow, system_pk, ("external_id",), _identity_rows(system_pk, batch.identities)
        ),
        "policies": _sync(
            session, PolicyRow, system_pk, ("external_id",), _policy_rows(system_pk, batch.policies)
        ),
    }
    apply_activity_last_active(session, system_pk)  # activity logs may know a later last use
    changes["policy_versions"] = _sync_policy_versions(session, system_pk, batch.policies)
    changes["memberships"] = _sync_links(session, system_pk, batch.memberships)
    changes["assignments"] = _sync(
        session,
        AssignmentRow,
        system_pk,
        ("identity_external_id", "policy_external_id", "relation", "scope"),
        _assignment_rows(system_pk, batch.assignments),
    )
    return changes


def _write_resources(session: Session, system_pk: int, batch: InventoryBatch) -> dict[str, TableChanges]:
    """Sync the batch's resources and usages under `system_pk`, each only when the run collected it."""
    changes: dict[str, TableChanges] = {}
    if batch.resources is not None:
        changes["resources"] = _sync(
            session, ResourceRow, system_pk, ("external_id",), _resource_rows(system_pk, batch.resources)
        )
    if batch.usages is not None:
        changes["usages"] = _sync(
            session,
            UsageRow,
            system_pk,
            ("identity_external_id", "action", "resource"),
            _usage_rows(system_pk, batch.usages),
        )
    return changes


def _record_run(
    session: Session,
    batch: InventoryBatch,
    started: datetime,
    now: Callable[[], datetime],
    changes: dict[str, TableChanges],
) -> CollectionRunRow:
    """Add the batch's succeeded collection run to the session (flushed: its id is known)."""
    run = CollectionRunRow(
        cloud=batch.system.cloud.value,
        system_id=batch.system.system_id,
        source=batch.source,
        started_at=started,
        finished_at=now(),
        status="succeeded",
        counts=_counts(batch, changes),
        warnings=summarize_warnings(batch.warnings),  # bounded, whatever the cloud gave
        error=None,
    )
    session.add(run)
    session.flush()
    return run


@dataclass(slots=True)
class HomeIngestResult:
    """What a home's run did: the home's own result, then one per member system in the order written."""

    home: IngestResult
    members: list[IngestResult] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether the run changed any row of the home or of a member."""
        return self.home.changed or any(member.changed for member in self.members)


MemberHook = Callable[[Session, InventoryBatch, IngestResult], object]


def ingest_home(
    engine: Engine,
    home: InventoryBatch,
    batches: Iterable[InventoryBatch],
    *,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    then: MemberHook | None = None,
) -> HomeIngestResult:
    """Write a home (an Azure tenant, a GCP organization) and its member systems in one transaction.

    The home batch's identities, memberships, policies and assignments are stored once under the home's row
    (not listed), with the closure of its groups; each member batch (built lazily, one alive at a time) gives
    its system row pointing at the home, its scopes, residents, resources and usages, and its run; whatever a
    pre-home import left under the member's own pk is removed. `then(session, batch, result)` runs after each
    member is written (imports compute its effective permissions there). On failure nothing changes and a
    failed run is recorded for the home (and for the member being written).
    """
    started = now()
    current: InventoryBatch | None = None
    try:
        check_batch(home)
        with collector_paused(), Session(engine) as session, session.begin():
            lock_system(session, home.system.cloud.value, home.system.system_id)
            home_result = _write_home(session, home, started, now)
            result = HomeIngestResult(home=home_result)
            for batch in batches:
                current = batch
                result.members.append(
                    _ingest_member(session, batch, home_result.system_pk, started, now, then)
                )
                current = None
            return result
    except Exception as exc:
        _record_failure(engine, home, started, exc, now)
        if current is not None:
            _record_failure(engine, current, started, exc, now)
        raise


def _write_home(
    session: Session, home: InventoryBatch, started: datetime, now: Callable[[], datetime]
) -> IngestResult:
    """Write the home's row (not listed, no home of its own), its inventory, its groups' closure and its run."""
    home_pk = _upsert_system(session, home.system, started, listed=False)
    changes = _write_inventory(session, home_pk, home)
    changes.update(_write_resources(session, home_pk, home))
    identities = {identity.external_id for identity in home.identities}
    changes["membership_closure"] = _sync_closure(
        session, home_pk, membership_closure(home.memberships, identities)
    )
    run = _record_run(session, home, started, now, changes)
    return IngestResult(system_pk=home_pk, run_id=run.id, changes=changes)


def _ingest_member(
    session: Session,
    batch: InventoryBatch,
    home_pk: int,
    started: datetime,
    now: Callable[[], datetime],
    then: MemberHook | None,
) -> IngestResult:
    """Check, lock and write one member system of the home, then run `then` for it."""
    check_batch(batch)
    if batch.identities or batch.memberships or batch.policies or batch.assignments:
        raise ValueError(
            f"{batch.system.cloud.value} {batch.system.system_id}: a member of a home holds no identities, "
            "memberships, policies or assignments of its own (they are the home's)"
        )
    lock_system(session, batch.system.cloud.value, batch.system.system_id)
    result, run = _write_member(session, batch, home_pk, started, now)
    if then is not None:
        then(session, batch, result)
        run.finished_at = now()
    return result


def _write_member(
    session: Session, batch: InventoryBatch, home_pk: int, started: datetime, now: Callable[[], datetime]
) -> tuple[IngestResult, CollectionRunRow]:
    """Write a member's row (pointing at its home), scopes, residents, resources and usages, and its run;
    remove the inventory a pre-home import left under its own pk."""
    system_pk = _upsert_system(session, batch.system, started, home_pk=home_pk)
    changes = _drop_own_inventory(session, system_pk)
    changes["system_scopes"] = _replace_scopes(session, system_pk, batch.scopes)
    changes["system_residents"] = _replace_residents(session, system_pk, batch.residents)
    changes.update(_write_resources(session, system_pk, batch))
    run = _record_run(session, batch, started, now, changes)
    return IngestResult(system_pk=system_pk, run_id=run.id, changes=changes), run


def _drop_own_inventory(session: Session, system_pk: int) -> dict[str, TableChanges]:
    """Delete the identities, memberships, policies (and versions) and assignments stored under the system's
    own pk (what an import before its home left); per-pair results (effective permissions, findings) stay."""
    versions = select(PolicyRow.id).where(PolicyRow.system_pk == system_pk)
    session.execute(delete(PolicyVersionRow).where(PolicyVersionRow.policy_pk.in_(versions)))
    changes = {}
    tables: tuple[tuple[str, type[IdentityRow | MembershipRow | PolicyRow | AssignmentRow]], ...] = (
        ("identities", IdentityRow),
        ("memberships", MembershipRow),
        ("policies", PolicyRow),
        ("assignments", AssignmentRow),
    )
    for name, table in tables:
        deleted = session.execute(delete(table).where(table.system_pk == system_pk))
        changes[name] = TableChanges(deleted=int(getattr(deleted, "rowcount", 0) or 0))
    return changes


def _replace_scopes(session: Session, system_pk: int, scopes: Sequence[str]) -> TableChanges:
    """Make the system's scopes `scopes`, depth = position (its own node 0, then its ancestry upward)."""
    wanted = {scope: depth for depth, scope in reversed(list(enumerate(scopes)))}  # a repeat: its first depth
    query = select(SystemScopeRow.scope, SystemScopeRow.depth).where(SystemScopeRow.system_pk == system_pk)
    existing = {scope: depth for scope, depth in session.execute(query)}
    if existing == wanted:
        return TableChanges()
    session.execute(delete(SystemScopeRow).where(SystemScopeRow.system_pk == system_pk))
    rows = [{"system_pk": system_pk, "scope": scope, "depth": depth} for scope, depth in wanted.items()]
    insert_rows(session, SystemScopeRow, rows)
    kept = sum(1 for scope, depth in wanted.items() if existing.get(scope) == depth)
    return TableChanges(len(wanted) - kept, 0, len(existing) - kept)


def _replace_residents(session: Session, system_pk: int, residents: Sequence[str]) -> TableChanges:
    """Make the identities living in the system exactly `residents`."""
    wanted = set(residents)
    existing = set(
        session.scalars(select(ResidentRow.identity_external_id).where(ResidentRow.system_pk == system_pk))
    )
    if existing == wanted:
        return TableChanges()
    session.execute(delete(ResidentRow).where(ResidentRow.system_pk == system_pk))
    rows = [{"system_pk": system_pk, "identity_external_id": external_id} for external_id in sorted(wanted)]
    insert_rows(session, ResidentRow, rows)
    return TableChanges(len(wanted - existing), 0, len(existing - wanted))


def membership_closure(memberships: Iterable[Membership], identities: set[str]) -> set[tuple[str, str]]:
    """(group, member) for every member of a group directly or through nested groups, walking only groups that
    are identities: an audience (GCP `domain:x`, `allUsers`) is a group of the memberships but no identity, so
    it associates nobody. Cycle-safe; a group in a cycle is not listed as its own member."""
    direct: dict[str, set[str]] = {}
    for membership in memberships:
        if membership.group_external_id in identities:
            direct.setdefault(membership.group_external_id, set()).add(membership.member_external_id)
    closure: set[tuple[str, str]] = set()
    for group in direct:
        seen: set[str] = set()
        pending = list(direct[group])
        while pending:
            member = pending.pop()
            if member in seen:
                continue
            seen.add(member)
            pending.extend(direct.get(member, ()))
        seen.discard(group)
        closure.update((group, member) for member in seen)
    return closure


def _sync_closure(session: Session, home_pk: int, closure: set[tuple[str, str]]) -> TableChanges:
    """Make the home's stored closure `closure`, touching only the pairs that differ."""
    query = select(MembershipClosureRow.group_external_id, MembershipClosureRow.member_external_id).where(
        MembershipClosureRow.system_pk == home_pk
    )
    existing = {(group, member) for group, member in session.execute(query)}
    stale = sorted(existing - closure)
    for batch in _chunks(stale):
        session.execute(
            delete(MembershipClosureRow).where(
                MembershipClosureRow.system_pk == home_pk,
                tuple_(MembershipClosureRow.group_external_id, MembershipClosureRow.member_external_id).in_(
                    list(batch)
                ),
            )
        )
    added = [
        {"system_pk": home_pk, "group_external_id": group, "member_external_id": member}
        for group, member in sorted(closure - existing)
    ]
    insert_rows(session, MembershipClosureRow, added)
    return TableChanges(len(added), 0, len(stale))


def _record_failure(
    engine: Engine, batch: InventoryBatch, started: datetime, error: Exception, now: Callable[[], datetime]
) -> None:
    """Record the failed run; should that fail too (the database gone or locked), the run's own error is the
    one reported, and the recording's is logged."""
    try:
        record_failed_run(
            engine, batch.system, batch.source, started, f"{type(error).__name__}: {error}", now=now
        )
    except Exception as recording:
        log.warning("the failed run of %s %s was not recorded: %s", batch.system.cloud.value,
                    batch.system.system_id, recording)  # fmt: skip


def _sync_links(session: Session, system_pk: int, memberships: list[Membership]) -> TableChanges:
    """Memberships have no content beyond their key; sync them by key alone."""
    wanted = _membership_rows(system_pk, memberships)
    existing = {
        (group, member): pk
        for pk, group, member in session.execute(
            select(MembershipRow.id, MembershipRow.group_external_id, MembershipRow.member_external_id).where(
                MembershipRow.system_pk == system_pk
            )
        )
    }
    to_insert = [row for key, row in wanted.items() if key not in existing]
    stale = [pk for key, pk in existing.items() if key not in wanted]
    insert_rows(session, MembershipRow, to_insert)
    for batch in _chunks(stale):
        session.execute(delete(MembershipRow).where(MembershipRow.id.in_(batch)))
    return TableChanges(len(to_insert), 0, len(stale))


def _counts(batch: InventoryBatch, changes: dict[str, TableChanges]) -> dict[str, Any]:
    seen = {
        "identities": len(batch.identities),
        "memberships": len(batch.memberships),
        "policies": len(batch.policies),
        "assignments": len(batch.assignments),
    }
    if batch.resources is not None:
        seen["resources"] = len(batch.resources)
    if batch.usages is not None:
        seen["usages"] = len(batch.usages)
    return {
        "seen": seen,
        "changes": {name: [c.inserted, c.updated, c.deleted] for name, c in changes.items()},
    }


def record_failed_run(
    engine: Engine,
    system: AuthorizationSystem,
    source: str,
    started: datetime,
    error: str,
    *,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> None:
    """Record a failed run in its own transaction; the inventory stays as the last good run left it."""
    with Session(engine) as session, session.begin():
        session.add(
            CollectionRunRow(
                cloud=system.cloud.value,
                system_id=system.system_id,
                source=source,
                started_at=started,
                finished_at=now(),
                status="failed",
                counts={},
                warnings=[],
                error=printable(error)[:4000],
            )
        )
