"""Per-identity, per-UTC-day activity profiles: what the activity importers keep besides aggregated usage.

While a cloud's reader streams its logs, every successful event of an identity is noted into the profile of
(actor, day): events per hour of day (UTC), per service, the distinct source IPs, regions and user agents (at
most MAX_SOURCES of each, the events of further values counted in `other`), and the actions used that day (held
only while importing: the importer keeps the high-risk ones, `core.catalog.is_high_risk`). Memory grows with
the distinct (actor, day) pairs and their bounded contents, never with the events. The store keeps one row per
identity per system per day (`store.activity_days`), merged when more logs of the same day arrive; the
monitoring detectors (`analytics.activity_signals`) read them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from operator import add
from typing import Any

from permscope.core.limits import text_problem

MAX_SOURCES = 16  # distinct source IPs, regions and user agents kept per identity-day, each
MAX_SERVICES = 64  # distinct services kept per identity-day
MAX_HIGH_RISK = 64  # distinct high-risk actions kept per identity-day
MAX_VALUE_CHARS = 256  # a longer user agent (or other value) is cut to this many characters
SIGN_IN_SERVICE = "signin"  # the service a sign-in is noted under, in every cloud


@dataclass(slots=True)
class DayProfile:
    """What one identity did on one UTC day: events per hour and service, sources, high-risk actions."""

    events: int = 0
    hours: list[int] = field(default_factory=lambda: [0] * 24)  # events per UTC hour of day
    services: dict[str, int] = field(default_factory=dict)
    ips: dict[str, int] = field(default_factory=dict)
    regions: dict[str, int] = field(default_factory=dict)
    agents: dict[str, int] = field(default_factory=dict)  # user agents (cut to MAX_VALUE_CHARS)
    high_risk: dict[str, int] = field(default_factory=dict)  # high-risk action -> events
    # events whose value was not kept (the map was full), per map
    services_other: int = 0
    ips_other: int = 0
    regions_other: int = 0
    agents_other: int = 0
    high_risk_other: int = 0
    actions: dict[str, int] = field(default_factory=dict)  # while importing only: every action used that day

    def note(self, hour: int, service: str | None, ip: Any, region: Any, agent: Any) -> None:
        """One event at a UTC hour, of a service, from a source (values that are no string are not noted).

        Written out for speed: it runs once per event of every import."""
        self.events += 1
        self.hours[hour] += 1
        if service is not None:
            counts = self.services
            seen = counts.get(service)
            if seen is not None:
                counts[service] = seen + 1
            elif len(counts) < MAX_SERVICES:
                counts[service] = 1
            else:
                self.services_other += 1
        if type(ip) is str and ip:
            counts = self.ips
            seen = counts.get(ip)
            if seen is not None:
                counts[ip] = seen + 1
            elif len(counts) < MAX_SOURCES:
                counts[ip] = 1
            else:
                self.ips_other += 1
        if type(region) is str and region:
            counts = self.regions
            seen = counts.get(region)
            if seen is not None:
                counts[region] = seen + 1
            elif len(counts) < MAX_SOURCES:
                counts[region] = 1
            else:
                self.regions_other += 1
        if type(agent) is str and agent:
            if len(agent) > MAX_VALUE_CHARS:
                agent = agent[:MAX_VALUE_CHARS]
            counts = self.agents
            seen = counts.get(agent)
            if seen is not None:
                counts[agent] = seen + 1
            elif len(counts) < MAX_SOURCES:
                counts[agent] = 1
            else:
                self.agents_other += 1

    def note_action(self, action: str) -> None:
        """One use of an action (bounded by the cloud's catalogue, so not by MAX_*)."""
        actions = self.actions
        actions[action] = actions.get(action, 0) + 1

    @property
    def other(self) -> dict[str, int]:
        """Events of values not kept, per map (only the maps that overflowed), as stored."""
        counts = {
            "services": self.services_other,
            "ips": self.ips_other,
            "regions": self.regions_other,
            "agents": self.agents_other,
            "highRisk": self.high_risk_other,
        }
        return {name: count for name, count in counts.items() if count}

    def merge(self, other: DayProfile) -> None:
        """Add another profile of the same identity and day to this one (bounds kept: values beyond a full map
        count in its `other`). Runs once per identity-day of every input read: kept cheap."""
        self.events += other.events
        self.hours = list(map(add, self.hours, other.hours))
        self.services_other += other.services_other + _add_counts(self.services, other.services, MAX_SERVICES)
        self.ips_other += other.ips_other + _add_counts(self.ips, other.ips, MAX_SOURCES)
        self.regions_other += other.regions_other + _add_counts(self.regions, other.regions, MAX_SOURCES)
        self.agents_other += other.agents_other + _add_counts(self.agents, other.agents, MAX_SOURCES)
        self.high_risk_other += other.high_risk_other + _add_counts(
            self.high_risk, other.high_risk, MAX_HIGH_RISK
        )
        if other.actions:
            if self.actions:
                for action, count in other.actions.items():
                    self.actions[action] = self.actions.get(action, 0) + count
            else:
                self.actions = dict(other.actions)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Pickled as its field values (profiles cross from reading processes to the importer by the thousand)."""
        return (
            DayProfile,
            (
                self.events,
                self.hours,
                self.services,
                self.ips,
                self.regions,
                self.agents,
                self.high_risk,
                self.services_other,
                self.ips_other,
                self.regions_other,
                self.agents_other,
                self.high_risk_other,
                self.actions,
            ),
        )

    def keep_high_risk(self, is_high_risk: Callable[[str], bool]) -> None:
        """Keep the day's high-risk actions and forget the other actions (the importer, with the catalogue)."""
        for action, count in sorted(self.actions.items(), key=lambda item: (-item[1], item[0])):
            if not is_high_risk(action):
                continue
            if action in self.high_risk or len(self.high_risk) < MAX_HIGH_RISK:
                self.high_risk[action] = self.high_risk.get(action, 0) + count
            else:
                self.high_risk_other += count
        self.actions = {}

    def clean(self) -> None:
        """Drop values no database keeps the same (a NUL, a lone surrogate), counting their events as other."""
        for name, _limit in _BOUNDED:
            counts: dict[str, int] = getattr(self, name)
            for key in [key for key in counts if text_problem(key, 4 * MAX_VALUE_CHARS) is not None]:
                setattr(self, f"{name}_other", getattr(self, f"{name}_other") + counts.pop(key))

    def sources(self) -> dict[str, dict[str, int]]:
        """The source maps, as stored."""
        return {"ips": dict(self.ips), "regions": dict(self.regions), "agents": dict(self.agents)}

    @classmethod
    def stored(
        cls,
        *,
        events: int,
        hours: list[int],
        services: dict[str, int],
        sources: dict[str, dict[str, int]],
        high_risk: dict[str, int],
        other: dict[str, int],
    ) -> DayProfile:
        """A profile from its stored columns."""
        return cls(
            events=events,
            hours=[int(count) for count in hours] if len(hours) == 24 else [0] * 24,
            services=dict(services),
            ips=dict(sources.get("ips", {})),
            regions=dict(sources.get("regions", {})),
            agents=dict(sources.get("agents", {})),
            high_risk=dict(high_risk),
            services_other=int(other.get("services", 0)),
            ips_other=int(other.get("ips", 0)),
            regions_other=int(other.get("regions", 0)),
            agents_other=int(other.get("agents", 0)),
            high_risk_other=int(other.get("highRisk", 0)),
        )


def _add_counts(counts: dict[str, int], added: dict[str, int], limit: int) -> int:
    """Add a bounded map to another, in `added`'s order; the events of values that found no room."""
    if not added:
        return 0
    if not counts and len(added) <= limit:
        counts.update(added)
        return 0
    overflow = 0
    for value, count in added.items():
        if value in counts:
            counts[value] += count
        elif len(counts) < limit:
            counts[value] = count
        else:
            overflow += count
    return overflow


# the bounded maps of a profile and their bounds
_BOUNDED = (
    ("services", MAX_SERVICES),
    ("ips", MAX_SOURCES),
    ("regions", MAX_SOURCES),
    ("agents", MAX_SOURCES),
    ("high_risk", MAX_HIGH_RISK),
)


@dataclass(slots=True)
class IdentityDay:
    """One identity's profile of one day (in one system)."""

    identity_external_id: str
    day: date
    profile: DayProfile


DayKey = tuple[str, str]  # (actor, "YYYY-MM-DD")
HOUR_OF = {f"{hour:02d}": hour for hour in range(24)}  # "HH" of an ISO time -> the hour


def fold_days(mine: dict[DayKey, DayProfile], theirs: dict[DayKey, DayProfile]) -> None:
    """Move `theirs` into `mine` (profiles of the same key merged); `theirs` is emptied."""
    for key, profile in theirs.items():
        current = mine.get(key)
        if current is None:
            mine[key] = profile
        else:
            current.merge(profile)
    theirs.clear()
