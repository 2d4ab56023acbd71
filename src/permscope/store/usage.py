"""The one write path for activity, and the reads of usage.

`merge_activity` adds one batch of activity to the store in one transaction: usage rows (identity x action x
resource) are MERGED, never replaced (first seen: the earlier, last seen: the later, count: the sum); so is each
identity's activity (`identity_activity`), from which `identities.last_active_at` is raised, and each identity's
day profiles (`activity_days`, `store.activity_days.merge_days`); and the inputs the
batch came from are recorded in `activity_sources` in the same transaction. An input whose key is already there
is refused by the unique constraint, so a file, S3 object or LookupEvents window is never counted twice, and a
crash leaves either all of a batch or none of it.

(`store.ingest` still replaces a system's usage when an inventory batch carries `usages`: that is a snapshot of
usage from a source that reports totals, not a stream of events.)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, Table, and_, distinct, exists, func, or_, select, text, update
from sqlalchemy.orm import Session

from permscope.core.activity import ActivitySource, IdentityActivity, SystemActivity
from permscope.core.inventory import Usage
from permscope.store.activity_days import merge_days
from permscope.store.homes import SystemView, system_view, view_of_row
from permscope.store.systems import stored_system
from permscope.store.tables import (
    ActionRow,
    ActivitySourceRow,
    AuthorizationSystemRow,
    IdentityActivityRow,
    IdentityRow,
    UsageRow,
)

CHUNK = 500
MERGED_DIGEST = "activity"  # usage rows written by merges carry this digest instead of a content hash


@dataclass(frozen=True, slots=True)
class _MergeSpec:
    """How to merge rows into one table: its key columns and which columns take the min, max or sum."""

    table: Table
    keys: tuple[str, ...]
    earliest: tuple[str, ...]
    latest: tuple[str, ...]
    summed: tuple[str, ...]
    constant: dict[str, Any] = field(default_factory=dict)  # extra values of inserted rows

    @property
    def columns(self) -> tuple[str, ...]:
        return (*self.keys, *self.earliest, *self.latest, *self.summed)


def _table(row: type[Any]) -> Table:
    table = row.__table__
    assert isinstance(table, Table)
    return table


USAGE_MERGE = _MergeSpec(
    _table(UsageRow),
    keys=("system_pk", "identity_external_id", "action", "resource"),
    earliest=("first_seen",),
    latest=("last_seen",),
    summed=("count",),
    constant={"digest": MERGED_DIGEST},
)
ACTIVITY_MERGE = _MergeSpec(
    _table(IdentityActivityRow),
    keys=("system_pk", "identity_external_id"),
    earliest=("first_seen",),
    latest=("last_seen",),
    summed=("events",),
)


@dataclass(slots=True)
class MergeResult:
    """What one merge did."""

    systems: list[str] = field(default_factory=list)  # systems the batch touched
    systems_created: list[str] = field(default_factory=list)  # systems known only from activity so far
    usage_rows: int = 0  # usage rows merged (inserted or updated)
    identities_seen: int = 0  # identities whose activity was merged
    last_active_raised: int = 0  # inventory identities whose last_active_at moved later
    day_profiles: int = 0  # identity-day activity profiles merged (inserted or updated)
    sources: int = 0  # inputs recorded


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _system_of(session: Session, cloud: str, system_id: str, now: datetime, created: list[str]) -> SystemView:
    """The system's view; a system known only from its activity is created, offline, named by its id."""
    stored = stored_system(session, cloud, system_id)
    if stored is not None:
        return view_of_row(stored)
    row = AuthorizationSystemRow(
        cloud=cloud,
        system_id=system_id,
        name=system_id,
        collection_status="offline",
        created_at=now,
        modification_enabled=False,
    )
    session.add(row)
    session.flush()
    created.append(system_id)
    return SystemView(row.id)


Row = tuple[Any, ...]  # values in the order of a _MergeSpec's columns


def _merge_sqlite(session: Session, spec: _MergeSpec, rows: list[Row]) -> None:
    """One executemany of `INSERT ... ON CONFLICT DO UPDATE`, values bound as the columns' types bind them.

    The statement runs at driver level: SQLAlchemy's per-row parameter processing cost more than SQLite's
    insert. Values are converted by each column type's own bind processor (memoized: few distinct times),
    so they are stored exactly as through the ORM; rows go in key order (B-tree pages are then written in
    order); SQLite's two-argument min() and max() are scalar.
    """
    dialect = session.get_bind().dialect
    columns = (*spec.columns, *spec.constant)
    constants = tuple(spec.constant.values())
    converters: list[tuple[int, Any, dict[Any, Any]]] = []
    for index, name in enumerate(spec.columns):
        processor = spec.table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            converters.append((index, processor, {}))
    table = spec.table.name
    updates = [f'"{n}" = min("{table}"."{n}", excluded."{n}")' for n in spec.earliest]
    updates += [f'"{n}" = max("{table}"."{n}", excluded."{n}")' for n in spec.latest]
    updates += [f'"{n}" = "{table}"."{n}" + excluded."{n}"' for n in spec.summed]
    names = ", ".join(f'"{name}"' for name in columns)
    # every name comes from our table metadata; values are parameters
    statement = (
        f'INSERT INTO "{table}" ({names}) VALUES ({", ".join("?" for _ in columns)}) '  # noqa: S608
        f"ON CONFLICT ({', '.join(spec.keys)}) DO UPDATE SET {', '.join(updates)}"
    )
    values = []
    for row in sorted(rows, key=lambda row: row[: len(spec.keys)]):
        converted = list(row)
        for index, processor, cache in converters:
            value = converted[index]
            if value is not None:
                stored = cache.get(value)
                if stored is None:
                    stored = cache[value] = processor(value)
                converted[index] = stored
        values.append((*converted, *constants))
    connection = session.connection()
    for batch in _chunks(values, 5000):
        connection.exec_driver_sql(statement, list(batch))


def _merge_postgres(session: Session, spec: _MergeSpec, rows: list[Row]) -> None:
    """COPY the rows into a temporary table, then one INSERT ... ON CONFLICT DO UPDATE from it."""
    table = spec.table.name
    staging = f"_merge_{table}"
    columns = spec.columns
    types = {name: spec.table.c[name].type.compile(dialect=session.get_bind().dialect) for name in columns}
    session.execute(
        text(
            f'CREATE TEMP TABLE IF NOT EXISTS "{staging}" ('
            + ", ".join(f'"{name}" {types[name]}' for name in columns)
            + ") ON COMMIT DROP"
        )
    )
    session.execute(text(f'TRUNCATE "{staging}"'))
    driver_connection: Any = session.connection().connection.driver_connection
    quoted = ", ".join(f'"{name}"' for name in columns)
    with (
        driver_connection.cursor() as cursor,
        cursor.copy(f'COPY "{staging}" ({quoted}) FROM STDIN') as copy,
    ):
        for row in rows:
            copy.write_row(row)
    constant_names = list(spec.constant)
    insert_columns = ", ".join(f'"{name}"' for name in (*columns, *constant_names))
    selected = ", ".join([f'"{name}"' for name in columns] + [f":constant_{name}" for name in constant_names])
    updates = [f'"{n}" = LEAST("{table}"."{n}", EXCLUDED."{n}")' for n in spec.earliest]
    updates += [f'"{n}" = GREATEST("{table}"."{n}", EXCLUDED."{n}")' for n in spec.latest]
    updates += [f'"{n}" = "{table}"."{n}" + EXCLUDED."{n}"' for n in spec.summed]
    keys = ", ".join(f'"{name}"' for name in spec.keys)
    # every name comes from our table metadata; the only value (the constant) is a bound parameter
    session.execute(
        text(
            f'INSERT INTO "{table}" ({insert_columns}) SELECT {selected} FROM "{staging}" '  # noqa: S608
            f"ON CONFLICT ({keys}) DO UPDATE SET {', '.join(updates)}"
        ),
        {f"constant_{name}": value for name, value in spec.constant.items()},
    )


def _merge(session: Session, spec: _MergeSpec, rows: list[Row]) -> None:
    """Add rows to a table: a new key is inserted, an existing one takes the min / max / sum."""
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        _merge_postgres(session, spec, rows)
    else:
        _merge_sqlite(session, spec, rows)


def _usage_rows(system_pk: int, usages: Iterable[Usage]) -> list[Row]:
    """USAGE_MERGE rows, one per key (usages of two actors matched to one identity are added together)."""
    merged: dict[tuple[str, str, str], list[Any]] = {}
    for usage in usages:
        key = (usage.identity_external_id, usage.action, usage.resource or "")
        entry = merged.get(key)
        if entry is None:
            merged[key] = [usage.first_seen, usage.last_seen, usage.count]
            continue
        entry[0] = min(entry[0], usage.first_seen)
        entry[1] = max(entry[1], usage.last_seen)
        entry[2] += usage.count
    return [(system_pk, *key, *entry) for key, entry in merged.items()]


def _activity_rows(system_pk: int, activity: Iterable[IdentityActivity]) -> list[Row]:
    """ACTIVITY_MERGE rows, one per identity."""
    merged: dict[str, list[Any]] = {}
    for item in activity:
        entry = merged.get(item.identity_external_id)
        if entry is None:
            merged[item.identity_external_id] = [item.first_seen, item.last_seen, item.events]
            continue
        entry[0] = min(entry[0], item.first_seen)
        entry[1] = max(entry[1], item.last_seen)
        entry[2] += item.events
    return [(system_pk, identity, *entry) for identity, entry in merged.items()]


def apply_activity_last_active(
    session: Session, system: int | SystemView, identity_external_ids: Sequence[str] | None = None
) -> int:
    """Raise `identities.last_active_at` to the identity's latest activity where that is later; the count.

    The activity is the system's own (`identity_activity` keeps its pk); the identities raised are those it
    sees, wherever they are stored (at its home for a member system). `store.ingest` calls it after writing
    identities, so a re-import of an export whose last-used dates are older than the logs does not move an
    identity's last activity back.
    """
    view = system if isinstance(system, SystemView) else system_view(session, system)
    activity = _table(IdentityActivityRow).alias("activity")
    match = and_(
        activity.c.system_pk == view.pk,
        activity.c.identity_external_id == IdentityRow.external_id,
    )
    latest = select(activity.c.last_seen).where(match).scalar_subquery()
    newer = exists().where(
        match, or_(IdentityRow.last_active_at.is_(None), activity.c.last_seen > IdentityRow.last_active_at)
    )
    batches: Iterable[Sequence[str] | None] = (
        [None] if identity_external_ids is None else _chunks(list(identity_external_ids))
    )
    raised = 0
    for batch in batches:
        statement = update(IdentityRow).where(view.identities(), newer)
        if batch is not None:
            statement = statement.where(IdentityRow.external_id.in_(list(batch)))
        result = session.execute(
            statement.values(last_active_at=latest), execution_options={"synchronize_session": False}
        )
        raised += int(getattr(result, "rowcount", 0) or 0)
    return raised


def _source_row(cloud: str, source: ActivitySource, now: datetime) -> ActivitySourceRow:
    return ActivitySourceRow(
        cloud=cloud,
        kind=source.kind,
        source_key=source.key,
        location=source.location,
        details=source.details,
        events=source.events,
        first_event=source.first_event,
        last_event=source.last_event,
        stats=source.stats,
        imported_at=now,
    )


def merge_activity(
    engine: Engine,
    cloud: str,
    systems: Sequence[SystemActivity],
    sources: Sequence[ActivitySource],
    *,
    now: datetime | None = None,
) -> MergeResult:
    """Merge one batch of activity and record its inputs, in one transaction (see the module docstring).

    An input recorded before makes the whole batch fail with an IntegrityError and change nothing.
    """
    moment = now or datetime.now(UTC)
    result = MergeResult()
    with Session(engine) as session, session.begin():
        for system in systems:
            view = _system_of(session, cloud, system.system_id, moment, result.systems_created)
            result.systems.append(system.system_id)
            usage_rows = _usage_rows(view.pk, system.usages)
            activity_rows = _activity_rows(view.pk, system.activity)
            _merge(session, USAGE_MERGE, usage_rows)
            _merge(session, ACTIVITY_MERGE, activity_rows)
            result.usage_rows += len(usage_rows)
            result.identities_seen += len(activity_rows)
            result.last_active_raised += apply_activity_last_active(
                session, view, [row[1] for row in activity_rows]
            )
            result.day_profiles += merge_days(session, view.pk, system.days)
        for source in sources:
            session.add(_source_row(cloud, source, moment))
        session.flush()
        result.sources = len(sources)
    return result


# ------------------------------------------------------------------------------------------- reads


def counted_sources(engine: Engine, cloud: str, kind: str, keys: Iterable[str]) -> set[str]:
    """The keys, among `keys`, of inputs already counted."""
    wanted = list(dict.fromkeys(keys))
    found: set[str] = set()
    with Session(engine) as session:
        for batch in _chunks(wanted):
            found.update(
                session.scalars(
                    select(ActivitySourceRow.source_key).where(
                        ActivitySourceRow.cloud == cloud,
                        ActivitySourceRow.kind == kind,
                        ActivitySourceRow.source_key.in_(list(batch)),
                    )
                )
            )
    return found


def source_details(engine: Engine, cloud: str, kind: str, location: str) -> list[dict[str, Any]]:
    """The recorded details of every input of a kind at a location (e.g. LookupEvents windows of a region)."""
    with Session(engine) as session:
        return [
            dict(details)
            for details in session.scalars(
                select(ActivitySourceRow.details).where(
                    ActivitySourceRow.cloud == cloud,
                    ActivitySourceRow.kind == kind,
                    ActivitySourceRow.location == location,
                )
            )
        ]


@dataclass(frozen=True, slots=True)
class KnownIdentity:
    """An inventory identity, as activity matching needs it."""

    system_id: str
    external_id: str
    kind: str
    name: str
    unique_id: (
        str | None
    )  # AWS userId / roleId (AIDA... / AROA...); Azure userPrincipalName / appId; GCP uniqueId


def _unique_id() -> Any:
    """The attribute activity names an identity by, besides its external id (one per identity)."""
    return func.coalesce(
        IdentityRow.attributes["userId"].as_string(),
        IdentityRow.attributes["roleId"].as_string(),
        IdentityRow.attributes["appId"].as_string(),
        IdentityRow.attributes["userPrincipalName"].as_string(),
        IdentityRow.attributes["uniqueId"].as_string(),  # a GCP service account's numeric id
    )


def _system_views(
    session: Session, cloud: str, system_ids: Sequence[str] | None
) -> list[tuple[str, SystemView]]:
    """(system id, view) of the named systems of a cloud; with None, of every system it lists (not the homes,
    whose identities their member systems see: activity counts in the system it happened in)."""
    query = select(
        AuthorizationSystemRow.system_id, AuthorizationSystemRow.id, AuthorizationSystemRow.home_pk
    )
    query = query.where(AuthorizationSystemRow.cloud == cloud).order_by(AuthorizationSystemRow.id)
    if system_ids is None:
        query = query.where(AuthorizationSystemRow.listed.is_(True))
    else:
        query = query.where(AuthorizationSystemRow.system_id.in_(list(system_ids)))
    return [(system_id, SystemView(pk, home_pk)) for system_id, pk, home_pk in session.execute(query)]


def _known(system_id: str, rows: Iterable[Any]) -> Iterator[KnownIdentity]:
    """KnownIdentity of rows (external id, kind, name, unique id) the system sees."""
    return (KnownIdentity(system_id, external_id, kind, name, uid) for external_id, kind, name, uid in rows)


def known_identities(
    engine: Engine, cloud: str, system_ids: Iterable[str], kinds: Sequence[str]
) -> list[KnownIdentity]:
    """The identities of some kinds each of some systems sees (stored at its home or in it), with the names and
    unique ids activity names them by."""
    wanted = sorted(set(system_ids))
    columns = (IdentityRow.external_id, IdentityRow.kind, IdentityRow.display_name, _unique_id())
    found: list[KnownIdentity] = []
    with Session(engine) as session:
        for batch in _chunks(wanted):
            for system_id, view in _system_views(session, cloud, batch):
                query = select(*columns).where(view.identities(), IdentityRow.kind.in_(list(kinds)))
                found.extend(_known(system_id, session.execute(query)))
    return found


def matching_identities(
    engine: Engine, cloud: str, system_ids: Iterable[str], ids: Iterable[str], aliases: Iterable[str]
) -> list[KnownIdentity]:
    """The identities some systems of a cloud see (every listed system when none is named) whose external id is
    one of `ids` or whose unique id is one of `aliases` (compared lower-case: Azure object ids, UPNs and
    application ids have no case). One system at a time, so that the external ids are found through the
    identity key (under the system's home for a member system)."""
    wanted_ids = sorted({value.lower() for value in ids})
    wanted_aliases = sorted({value.lower() for value in aliases})
    named = sorted(set(system_ids))
    unique_id = _unique_id()
    columns = (IdentityRow.external_id, IdentityRow.kind, IdentityRow.display_name, unique_id)
    found: list[KnownIdentity] = []
    with Session(engine) as session:
        for system_id, view in _system_views(session, cloud, named or None):
            base = select(*columns).where(view.identities())
            queries = [base.where(IdentityRow.external_id.in_(list(batch))) for batch in _chunks(wanted_ids)]
            queries += [
                base.where(func.lower(unique_id).in_(list(batch))) for batch in _chunks(wanted_aliases)
            ]
            for query in queries:
                found.extend(_known(system_id, session.execute(query)))
    return found


@dataclass(frozen=True, slots=True)
class IdentityCenterUser:
    """An Identity Center user the collection stored in one system, with the names a session may carry."""

    system_id: str
    external_id: str  # arn:aws:identitystore:::user/<UserId>
    user_name: str | None
    email: str | None


def identity_center_users(engine: Engine, cloud: str) -> list[IdentityCenterUser]:
    """Every Identity Center user (identities of source `sso`, kind user) the cloud's listed systems see."""
    columns = (
        IdentityRow.external_id,
        IdentityRow.attributes["userName"].as_string(),
        IdentityRow.attributes["email"].as_string(),
    )
    found: list[IdentityCenterUser] = []
    with Session(engine) as session:
        for system_id, view in _system_views(session, cloud, None):
            query = select(*columns).where(
                view.identities(), IdentityRow.source == "sso", IdentityRow.kind == "user"
            )
            found.extend(IdentityCenterUser(system_id, *row) for row in session.execute(query))
    return found


def exercised_counts(
    session: Session,
    system_pk: int,
    identity_external_ids: Sequence[str],
    since: datetime,
    until: datetime | None = None,
) -> dict[str, int]:
    """Distinct actions each identity used in [since, until] (until: no upper bound when None).

    Usage rows hold only the first and last use: a row counts when its last use is on or after `since` and
    its first use on or before `until`.
    """
    counts: dict[str, int] = {}
    for batch in _chunks(list(dict.fromkeys(identity_external_ids))):
        query = (
            select(UsageRow.identity_external_id, func.count(distinct(UsageRow.action)))
            .where(
                UsageRow.system_pk == system_pk,
                UsageRow.identity_external_id.in_(list(batch)),
                UsageRow.last_seen >= since,
            )
            .group_by(UsageRow.identity_external_id)
        )
        if until is not None:
            query = query.where(UsageRow.first_seen <= until)
        counts.update({identity: int(count) for identity, count in session.execute(query)})
    return counts


@dataclass(frozen=True, slots=True)
class UsageSummary:
    """One usage row as the terminal shows it."""

    system_id: str
    identity_external_id: str
    action: str
    resource: str
    first_seen: datetime
    last_seen: datetime
    count: int
    access_level: str | None  # from the action catalogue, when it is loaded


def list_usage(
    engine: Engine,
    cloud: str,
    identity_external_id: str,
    *,
    system_id: str | None = None,
    since: datetime | None = None,
    limit: int | None = None,
) -> list[UsageSummary]:
    """An identity's usage rows, most recently used first (optionally of one system, and used since a time)."""
    query = (
        select(
            AuthorizationSystemRow.system_id,
            UsageRow.identity_external_id,
            UsageRow.action,
            UsageRow.resource,
            UsageRow.first_seen,
            UsageRow.last_seen,
            UsageRow.count,
            ActionRow.access_level,
        )
        .join(AuthorizationSystemRow, AuthorizationSystemRow.id == UsageRow.system_pk)
        .outerjoin(ActionRow, and_(ActionRow.cloud == cloud, ActionRow.external_id == UsageRow.action))
        .where(AuthorizationSystemRow.cloud == cloud, UsageRow.identity_external_id == identity_external_id)
        .order_by(UsageRow.last_seen.desc(), UsageRow.action, UsageRow.resource)
    )
    if system_id is not None:
        query = query.where(AuthorizationSystemRow.system_id == system_id)
    if since is not None:
        query = query.where(UsageRow.last_seen >= since)
    if limit is not None:
        query = query.limit(limit)
    with Session(engine) as session:
        return [UsageSummary(*row) for row in session.execute(query)]


def identity_activity(
    engine: Engine, cloud: str, identity_external_id: str, system_id: str | None = None
) -> list[IdentityActivity]:
    """When an identity was seen acting, per system it acted in."""
    query = (
        select(IdentityActivityRow)
        .join(AuthorizationSystemRow, AuthorizationSystemRow.id == IdentityActivityRow.system_pk)
        .where(
            AuthorizationSystemRow.cloud == cloud,
            IdentityActivityRow.identity_external_id == identity_external_id,
        )
    )
    if system_id is not None:
        query = query.where(AuthorizationSystemRow.system_id == system_id)
    with Session(engine) as session:
        return [
            IdentityActivity(
                identity_external_id=row.identity_external_id,
                first_seen=row.first_seen,
                last_seen=row.last_seen,
                events=row.events,
            )
            for row in session.scalars(query)
        ]
