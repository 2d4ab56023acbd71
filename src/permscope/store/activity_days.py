"""Activity profiles per identity per day (`activity_days`): merged by each activity import, read by monitoring.

`merge_days` runs inside `store.usage.merge_activity`'s transaction: each (system, identity, day) row is created
empty when missing (`INSERT ... ON CONFLICT DO NOTHING`, so two imports never both create it), then read locked
(`FOR UPDATE` on PostgreSQL; SQLite's write lock is already held), added to (`DayProfile.merge`, bounds kept) and
written back, with core statements executed many rows at a time. The reads give the detectors a system's profiles over a range of days and the actions each
identity used, and the resources it acted on, for the first time in a range.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from permscope.core.activity_days import DayProfile, IdentityDay
from permscope.store.homes import system_view
from permscope.store.tables import ActivityDayRow, IdentityRow, UsageRow

CHUNK = 500


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def profile_of(row: Any) -> DayProfile:
    """The profile a stored row holds (an `ActivityDayRow` or a row of its columns)."""
    return DayProfile.stored(
        events=row.events,
        hours=row.hours,
        services=row.services,
        sources=row.sources,
        high_risk=row.high_risk,
        other=row.other,
    )


def _values(profile: DayProfile) -> dict[str, Any]:
    """The stored columns of a profile."""
    return {
        "events": profile.events,
        "hours": list(profile.hours),
        "services": dict(profile.services),
        "sources": profile.sources(),
        "high_risk": dict(profile.high_risk),
        "other": profile.other,
    }


TABLE: Table = ActivityDayRow.__table__  # type: ignore[assignment]
KEY_COLUMNS = ("system_pk", "identity_external_id", "day")


def merge_days(session: Session, system_pk: int, days: Sequence[IdentityDay]) -> int:
    """Add day profiles to a system's rows (one row per identity and day); the number of rows written.

    Core statements, many rows at a time: the batch's rows are created empty when missing, read locked, merged
    here and written back."""
    if not days:
        return 0
    wanted: dict[tuple[str, date], DayProfile] = {}
    for item in days:
        key = (item.identity_external_id, item.day)
        known = wanted.get(key)
        if known is None:
            wanted[key] = item.profile
        else:  # two profiles of one key (two actors of one identity): added in a new one, the given left alone
            total = wanted[key] = DayProfile()
            total.merge(known)
            total.merge(item.profile)
    insert = postgres_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    keys = sorted(wanted)  # in key order: rows locked in the same order by every import (no deadlock)
    empty = _values(DayProfile())
    created = insert(TABLE).on_conflict_do_nothing(index_elements=list(KEY_COLUMNS))
    for batch in _chunks(keys):
        session.execute(
            created,
            [{"system_pk": system_pk, "identity_external_id": i, "day": d, **empty} for i, d in batch],
        )
    identities = sorted({identity for identity, _day in keys})
    first, last = min(day for _i, day in keys), max(day for _i, day in keys)
    columns = (TABLE.c.identity_external_id, TABLE.c.day, *(TABLE.c[name] for name in empty))
    written: list[dict[str, Any]] = []
    for batch in _chunks(identities):
        query = (
            select(*columns)
            .where(
                TABLE.c.system_pk == system_pk,
                TABLE.c.identity_external_id.in_(list(batch)),
                TABLE.c.day.between(first, last),
            )
            .order_by(TABLE.c.identity_external_id, TABLE.c.day)
            .with_for_update()
        )
        for row in session.execute(query):
            added = wanted.get((row.identity_external_id, row.day))
            if added is not None:
                stored = profile_of(row)
                stored.merge(added)
                written.append({"k_identity": row.identity_external_id, "k_day": row.day, **_values(stored)})
    rewrite = update(TABLE).where(
        TABLE.c.system_pk == system_pk,
        TABLE.c.identity_external_id == bindparam("k_identity"),
        TABLE.c.day == bindparam("k_day"),
    )
    for batch in _chunks(written, 2000):
        session.execute(rewrite, list(batch))
    return len(keys)


def system_days(session: Session, system_pk: int, since: date, until: date) -> list[IdentityDay]:
    """A system's profiles of the days in [since, until], by identity and day."""
    query = (
        select(ActivityDayRow)
        .where(ActivityDayRow.system_pk == system_pk, ActivityDayRow.day.between(since, until))
        .order_by(ActivityDayRow.identity_external_id, ActivityDayRow.day)
    )
    return [IdentityDay(row.identity_external_id, row.day, profile_of(row)) for row in session.scalars(query)]


def _first_uses(
    session: Session, system_pk: int, since: date, until: date, column: Any, named_only: bool
) -> Iterator[tuple[str, str, datetime]]:
    """(identity, value of `column`, first use) for the values of `column` (an action, a resource) each identity
    first used in [since, until] (UTC days): the earliest first seen of its usage rows (over every other action or
    resource) falls in the range. One pass over the system's usage, grouped (a lookup of earlier rows per row would
    grow with the rows squared). `named_only` leaves out the empty value."""
    start = datetime.combine(since, time(), tzinfo=UTC)
    end = datetime.combine(until + timedelta(days=1), time(), tzinfo=UTC)
    first_seen = func.min(UsageRow.first_seen)
    conditions = [UsageRow.system_pk == system_pk]
    if named_only:
        conditions.append(column != "")
    query = (
        select(UsageRow.identity_external_id, column, first_seen)
        .where(*conditions)
        .group_by(UsageRow.identity_external_id, column)
        .having(first_seen >= start, first_seen < end)
    )
    for identity, value, first in session.execute(query.execution_options(yield_per=5000)):
        moment = first if isinstance(first, datetime) else datetime.fromisoformat(str(first))
        yield identity, value, moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def first_used_actions(
    session: Session, system_pk: int, since: date, until: date
) -> dict[tuple[str, str], datetime]:
    """(identity, action) -> when the identity first used the action, for the actions first used in [since, until]
    (UTC days): a usage row of it first seen in the range, and none of it (on any resource) first seen before.

    Usage keeps each identity x action x resource's first use over every import, so this is exact whatever order
    the logs were imported in."""
    return {
        (identity, action): first
        for identity, action, first in _first_uses(session, system_pk, since, until, UsageRow.action, False)
    }


def first_used_resources(
    session: Session, system_pk: int, since: date, until: date
) -> Iterator[tuple[str, str, datetime]]:
    """(identity, resource, first use) for the named resources each identity first acted on (with any action) in
    [since, until] (UTC days), streamed: exact whatever order the logs were imported in, as for actions."""
    return _first_uses(session, system_pk, since, until, UsageRow.resource, True)


def identity_labels(
    session: Session, system_pk: int, external_ids: Iterable[str]
) -> dict[str, tuple[str, str]]:
    """external id -> (kind, display name) of the stored identities among `external_ids` the system sees."""
    view = system_view(session, system_pk)
    wanted = sorted(set(external_ids))
    found: dict[str, tuple[str, str]] = {}
    for batch in _chunks(wanted):
        query = select(IdentityRow.external_id, IdentityRow.kind, IdentityRow.display_name).where(
            view.identities(), IdentityRow.external_id.in_(list(batch))
        )
        found.update({external_id: (kind, name) for external_id, kind, name in session.execute(query)})
    return found
