"""What identities used: usage rows and activity of one identity, with its distinct actions in the usage window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from permscope.clouds.base import plugin
from permscope.core.ids import Cloud
from permscope.store import usage as usage_store


@dataclass(frozen=True, slots=True)
class UsageView:
    """An identity's usage as the CLI shows it: when it acted, and what it used."""

    identity: str
    system_id: str | None
    first_active: datetime | None
    last_active: datetime | None
    events: int
    exercised_in_window: int
    window_start: datetime
    rows: list[usage_store.UsageSummary]


def usage_of(
    engine: Engine,
    identity: str,
    *,
    system_id: str | None = None,
    window_days: int = 90,
    as_of: datetime | None = None,
    limit: int | None = None,
    cloud: Cloud = Cloud.AWS,
) -> UsageView:
    """An identity's usage (an AWS ARN, an Azure object id, a GCP member); the system defaults to the one the
    identity names (an ARN's account), else every system of the cloud."""
    system = system_id or plugin(cloud).system_of(identity)
    every_row = usage_store.list_usage(engine, cloud.value, identity, system_id=system)
    activity = usage_store.identity_activity(engine, cloud.value, identity, system)
    moment = as_of or datetime.now(UTC)
    window_start = moment - timedelta(days=window_days)
    exercised = {
        row.action for row in every_row if row.last_seen >= window_start and row.first_seen <= moment
    }
    return UsageView(
        identity=identity,
        system_id=system,
        first_active=min((item.first_seen for item in activity), default=None),
        last_active=max((item.last_seen for item in activity), default=None),
        events=sum(item.events for item in activity),
        exercised_in_window=len(exercised),
        window_start=window_start,
        rows=every_row[:limit] if limit is not None else every_row,
    )
