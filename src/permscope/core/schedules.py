"""When scheduled work runs, pure: a cron expression (croniter, in UTC) or a fixed interval, and a jitter.

A schedule's *slots* are the times its cron expression or interval names; each slot is run at most once (the
scheduler keys its job by the slot). A slot's run starts at the slot plus a jitter offset between 0 and the
schedule's jitter, drawn from the schedule and the slot (a hash), so every process plans the same start and
schedules sharing a slot spread out instead of starting together.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from croniter import croniter

from permscope.core.errors import InputError

MIN_INTERVAL = timedelta(minutes=1)
MAX_INTERVAL = timedelta(days=366)
MAX_JITTER = timedelta(hours=1)
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
DURATION = re.compile(r"^\s*(\d{1,7})\s*([smhd]?)\s*$", re.IGNORECASE)


class ScheduleTask(StrEnum):
    """What a schedule runs: a collection (then, by default, an analysis of what it collected), or an
    analysis of what is stored."""

    COLLECT = "collect"
    ANALYZE = "analyze"


def parse_duration(text: str, what: str) -> timedelta:
    """`90s`, `15m`, `6h`, `1d` or a number of seconds; InputError naming `what` otherwise."""
    match = DURATION.match(text)
    if match is None:
        raise InputError(what, f"{text!r} is not a duration such as 90s, 15m, 6h or 1d")
    return timedelta(seconds=int(match.group(1)) * UNITS[(match.group(2) or "s").lower()])


def duration_text(value: timedelta) -> str:
    """A duration in its largest whole unit: `1d`, `6h`, `15m`, `90s`."""
    seconds = int(value.total_seconds())
    for unit in ("d", "h", "m"):
        if seconds and seconds % UNITS[unit] == 0:
            return f"{seconds // UNITS[unit]}{unit}"
    return f"{seconds}s"


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
            raise InputError("interval", f"must be between {duration_text(MIN_INTERVAL)} and 366d")
        if not timedelta(0) <= self.jitter <= MAX_JITTER:
            raise InputError("jitter", "must be between 0s and 1h")
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
        """`cron */5 * * * *` or `every 15m`, with `+30s jitter` when there is one."""
        if self.cron is not None:
            base = f"cron {self.cron}"
        else:
            base = f"every {duration_text(self.interval or timedelta(0))}"
        return base + (f" +{duration_text(self.jitter)} jitter" if self.jitter else "")

    def _cron_after(self, moment: datetime) -> datetime:
        found: datetime = croniter(self.cron, _utc(moment)).get_next(datetime)
        return _utc(found)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
