"""When scheduled work runs, pure: a cron expression (croniter, in UTC) or a fixed interval, and a jitter.

A schedule's *slots* are the times its cron expression or interval names; each slot is run at most once (the
scheduler keys its job by the slot). A slot's run starts at the slot plus a jitter offset between 0 and the
schedule's jitter, drawn from the schedule and the slot (a hash), so every process plans the same start and
schedules sharing a slot spread out instead of starting together.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from croniter import croniter

from permscope.core.errors import InputError
from permscope.core.requests import format_duration

MIN_INTERVAL = timedelta(minutes=1)
MAX_INTERVAL = timedelta(days=366)
MAX_JITTER = timedelta(hours=1)


class ScheduleTask(StrEnum):
    """What a schedule runs: a collection (then, by default, an analysis of what it collected), an analysis of
    what is stored, a report of what is stored mailed to its recipients, or every accepted autopilot rule."""

    COLLECT = "collect"
    ANALYZE = "analyze"
    REPORT = "report"
    AUTOPILOT = "autopilot"


@dataclass(frozen=True, slots=True)
class Timing:
    """When a schedule's slots fall: a cron expression (UTC) or an interval, and the jitter of each start."""

    cron: str | None = None
    interval: timedelta | None = None
    jitter: timedelta = timedelta(0)

    def __post_init__(self) -> None:
        if (self.cron is None) == (self.interval is None):
            raise InputError("schedule", "give a cron expression or an interval (one of them)")
        if self.cron is not None and not croniter.is_valid(self.cron):
            raise InputError("cron", f"{self.cron!r} is not a cron expression (e.g. '*/15 * * * *')")
        if self.cron is not None and len(self.cron.split()) not in (5, 6):
            raise InputError("cron", f"{self.cron!r}: give 5 fields (minute hour day month weekday)")
        if self.interval is not None and not MIN_INTERVAL <= self.interval <= MAX_INTERVAL:
            raise InputError("interval", "must be between PT1M and P366D")
        if not timedelta(0) <= self.jitter <= MAX_JITTER:
            raise InputError("jitter", "must be between PT0S and PT1H")
        if self.interval is not None and self.jitter >= self.interval:
            raise InputError("jitter", "must be shorter than the interval")

    def first_slot(self, now: datetime) -> datetime:
        """The first slot after `now` (an interval's first slot is one interval away)."""
        if self.interval is not None:
            return _utc(now) + self.interval
        return self._cron_after(now)

    def next_slot(self, slot: datetime, now: datetime) -> datetime:
        """The first slot after both `slot` and `now`: slots missed while nothing ran are skipped, not run late
        one after another (an interval keeps its phase: slot + k * interval)."""
        slot, now = _utc(slot), _utc(now)
        if self.interval is None:
            return self._cron_after(max(slot, now))
        if now < slot + self.interval:
            return slot + self.interval
        steps = (now - slot) // self.interval + 1
        return slot + self.interval * steps

    def start_of(self, slot: datetime, salt: str) -> datetime:
        """When the run of `slot` starts: the slot plus its jitter offset, between 0 and the jitter, the same
        for the same schedule (`salt`) and slot."""
        seconds = int(self.jitter.total_seconds())
        if seconds <= 0:
            return _utc(slot)
        digest = hashlib.sha256(f"{salt}|{_utc(slot).isoformat()}".encode()).digest()
        return _utc(slot) + timedelta(seconds=int.from_bytes(digest[:8], "big") % (seconds + 1))

    def describe(self) -> str:
        """`cron */5 * * * *` or `every PT15M`, with `+PT30S jitter` when there is one."""
        if self.cron is not None:
            base = f"cron {self.cron}"
        else:
            base = f"every {format_duration(self.interval or timedelta(0))}"
        return base + (f" +{format_duration(self.jitter)} jitter" if self.jitter else "")

    def _cron_after(self, moment: datetime) -> datetime:
        found: datetime = croniter(self.cron, _utc(moment)).get_next(datetime)
        return _utc(found)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
