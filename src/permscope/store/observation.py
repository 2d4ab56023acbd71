"""What the store observed of a system in a window: how much of it the activity logs cover, and one identity's
usage there (what least-privilege generation reads)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from permscope.core.inventory import Usage
from permscope.core.least_privilege import Coverage
from permscope.store.tables import ActivityDayRow, IdentityActivityRow, UsageRow


def activity_coverage(session: Session, system_pk: int, since: datetime, until: datetime) -> Coverage:
    """The span of [since, until] the system's recorded activity covers: from the earliest to the latest activity
    of any of its identities (sign-ins and calls that need no permission included), clipped to the window, and
    the distinct UTC days inside it on which some identity acted."""
    first, last = session.execute(
        select(func.min(IdentityActivityRow.first_seen), func.max(IdentityActivityRow.last_seen)).where(
            IdentityActivityRow.system_pk == system_pk,
            IdentityActivityRow.last_seen >= since,
            IdentityActivityRow.first_seen <= until,
        )
    ).one()
    days = session.scalar(
        select(func.count(distinct(ActivityDayRow.day))).where(
            ActivityDayRow.system_pk == system_pk,
            ActivityDayRow.day >= since.date(),
            ActivityDayRow.day <= until.date(),
        )
    )
    if first is None or last is None:
        return Coverage(start=None, end=None, active_days=int(days or 0))
    return Coverage(start=max(first, since), end=min(last, until), active_days=int(days or 0))


def identity_usages(
    session: Session, system_pk: int, identity_external_id: str, since: datetime, until: datetime
) -> list[Usage]:
    """The identity's usage rows in the system used inside [since, until] (a row holds the first and last use
    only: it counts when its last use is on or after `since` and its first on or before `until`)."""
    rows = session.execute(
        select(UsageRow.action, UsageRow.resource, UsageRow.first_seen, UsageRow.last_seen, UsageRow.count)
        .where(
            UsageRow.system_pk == system_pk,
            UsageRow.identity_external_id == identity_external_id,
            UsageRow.last_seen >= since,
            UsageRow.first_seen <= until,
        )
        .order_by(UsageRow.action, UsageRow.resource)
    )
    return [
        Usage(
            identity_external_id=identity_external_id,
            action=action,
            resource=resource or None,
            first_seen=first,
            last_seen=last,
            count=int(count),
        )
        for action, resource, first, last, count in rows
    ]


def has_usage(session: Session, system_pk: int, identity_external_id: str) -> bool:
    """Whether the identity has any usage row in the system, whenever used."""
    found = session.scalar(
        select(UsageRow.id)
        .where(UsageRow.system_pk == system_pk, UsageRow.identity_external_id == identity_external_id)
        .limit(1)
    )
    return found is not None
