"""Activity and statistical-anomaly detectors over one identity's day profiles (docs/monitoring.md, "Activity and
anomaly detection"): pure functions from profiles to `core.signals.Signal`s.

For each judged day D of an identity, the baseline is its profiles of the `baseline_days` days before D (D
excluded); days without a profile are days it did not act. What fires:

- `activity.highRisk`: a high-risk action (permission management or deletion, `core.catalog.is_high_risk`)
  used on D; no history needed.
- `activity.firstAction`: an action whose first use ever (usage's first seen) falls on D, by an identity seen
  acting at least `first_action_history_days` days before D.
- `activity.newSource`: a source IP, region or user agent on D that no baseline day holds; a user agent is
  compared by its product (`user_agent_product`: `aws-cli/2.15.30 Python/3.11` is `aws-cli`), so that a tool's
  upgrade is no new source; judged with at least `min_history_days` active baseline days, and not for a kind of
  source whose baseline overflowed its bound (`core.activity_days.MAX_SOURCES`): then it is not known whole.
- `anomaly.volume`: D's events against the events of the active baseline days, by robust statistics: median m
  and median absolute deviation (MAD); the robust deviation is 1.4826 x MAD, floored at 10 % of m and at 1
  event; D fires when its events are at least `volume_min_events`, at least `volume_ratio` x m and at least
  `volume_threshold` robust deviations above m.
- `anomaly.hour`: events on D at UTC hours at which, with the hour before and after, the baseline holds less
  than `hour_share` of its events; fires when D has at least `hour_min_events` such events.
- `anomaly.newService`: a service on D that no baseline day holds (same history rule as new sources).
- `anomaly.resource`: named resources the identity acted on for the first time ever on D (usage's first seen,
  per identity and resource, over every action), judged with at least `min_history_days` active baseline days
  and only for an identity whose resources are stable: new resources came on at most `resource_novel_share` of
  its active baseline days (an identity that routinely touches new objects or instances is not judged).

A signal's key is a digest of its kind, cloud, system, identity, day and detail: judging the same day again
gives the same keys, so an alert is never raised twice for it.
"""

from __future__ import annotations

import hashlib
import statistics
from bisect import insort
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from permscope.core.activity_days import DayProfile, IdentityDay
from permscope.core.findings import Severity
from permscope.core.ids import Cloud
from permscope.core.signals import Signal, SignalKind

MAD_SCALE = 1.4826  # MAD x this estimates the standard deviation of normally distributed values
SOURCE_KINDS = (("ips", "source IP"), ("regions", "region"), ("agents", "user agent"))
SHOWN_VALUES = 5  # baseline values an explanation names


@dataclass(frozen=True, slots=True)
class AnomalySettings:
    """The thresholds of the detectors (docs/monitoring.md explains each)."""

    baseline_days: int = 28  # days before the judged day that form its baseline
    min_history_days: int = 7  # active baseline days needed before any statistical judgement
    first_action_history_days: int = 7  # days an identity must have been seen before its new actions count
    volume_threshold: float = 6.0  # robust deviations above the median
    volume_ratio: float = 4.0  # times the median
    volume_min_events: int = 50  # a day below this many events is never a volume anomaly
    hour_share: float = 0.01  # an hour (with its neighbours) holding less than this share of baseline events
    hour_min_events: int = 3  # events at unusual hours needed on the day
    resource_novel_share: float = 0.2  # new resources judged if at most this share of baseline days had some

    def problems(self) -> list[str]:
        """What makes these settings unusable (empty when they are fine)."""
        found = []
        if self.baseline_days < 1:
            found.append("baseline_days must be at least 1")
        if not 1 <= self.min_history_days <= self.baseline_days:
            found.append("min_history_days must be between 1 and baseline_days")
        if self.first_action_history_days < 1:
            found.append("first_action_history_days must be at least 1")
        if self.volume_threshold <= 0 or self.volume_ratio < 1 or self.volume_min_events < 1:
            found.append("volume thresholds must be positive (ratio at least 1)")
        if not 0 < self.hour_share < 1 or self.hour_min_events < 1:
            found.append("hour_share must be between 0 and 1 and hour_min_events at least 1")
        if not 0 <= self.resource_novel_share < 1:
            found.append("resource_novel_share must be at least 0 and under 1")
        return found


@dataclass(slots=True)
class NewResources:
    """The named resources an identity acted on for the first time on one day: how many, the first (by name)
    SHOWN_VALUES of them, and when the first of them was used."""

    count: int = 0
    examples: list[str] = field(default_factory=list)
    first: datetime | None = None

    def add(self, resource: str, when: datetime) -> None:
        """One more resource first used that day (at `when`)."""
        self.count += 1
        if len(self.examples) < SHOWN_VALUES or resource < self.examples[-1]:
            insort(self.examples, resource)
            del self.examples[SHOWN_VALUES:]
        if self.first is None or when < self.first:
            self.first = when


@dataclass(frozen=True, slots=True)
class Subject:
    """The identity judged, as signals name it."""

    cloud: Cloud
    system_id: str
    external_id: str
    kind: str  # user, role, serviceAccount, ... ("identity" when the inventory does not hold it)
    name: str


def signal_key(kind: SignalKind, subject: Subject, day: date, detail: str) -> str:
    """`<kind>:<sha256 of cloud, system, identity, day and detail>`: the same occurrence, the same key."""
    text = "\0".join((subject.cloud.value, subject.system_id, subject.external_id, day.isoformat(), detail))
    return f"{kind.value}:{hashlib.sha256(text.encode('utf-8', 'surrogateescape')).hexdigest()}"


def _at(day: date, hour: int = 0) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


def _signal(
    kind: SignalKind,
    subject: Subject,
    day: date,
    detail: str,
    *,
    severity: Severity,
    observed_at: datetime,
    summary: str,
    explanation: str,
    evidence: dict[str, object],
) -> Signal:
    return Signal(
        kind=kind,
        key=signal_key(kind, subject, day, detail),
        cloud=subject.cloud,
        system_id=subject.system_id,
        subject_id=subject.external_id,
        subject_kind=subject.kind,
        subject_name=subject.name,
        severity=severity,
        observed_at=observed_at,
        summary=summary,
        explanation=explanation,
        evidence={"day": day.isoformat(), **evidence},
    )


def _first_hour(profile: DayProfile) -> int:
    return next((hour for hour, count in enumerate(profile.hours) if count), 0)


def _names(values: Sequence[str]) -> str:
    shown = ", ".join(values[:SHOWN_VALUES])
    return shown + (f" and {len(values) - SHOWN_VALUES} more" if len(values) > SHOWN_VALUES else "")


# ------------------------------------------------------------------------------------------- activity


def high_risk_signals(subject: Subject, day: IdentityDay) -> list[Signal]:
    """`activity.highRisk`: each high-risk action the identity used that day."""
    found = []
    for action, count in sorted(day.profile.high_risk.items()):
        found.append(
            _signal(
                SignalKind.ACTIVITY_HIGH_RISK,
                subject,
                day.day,
                action,
                severity=Severity.HIGH,
                observed_at=_at(day.day, _first_hour(day.profile)),
                summary=f"{subject.name} used the high-risk action {action} on {day.day.isoformat()}",
                explanation=(
                    f"{action} manages permissions or deletes (a high-risk action); used {count:,} time(s) "
                    f"on {day.day.isoformat()}"
                ),
                evidence={"action": action, "count": count},
            )
        )
    return found


def first_action_signals(
    subject: Subject,
    day: IdentityDay,
    first_used: Mapping[str, datetime],
    seen_since: date | None,
    settings: AnomalySettings,
) -> list[Signal]:
    """`activity.firstAction`: the actions first used that day (`first_used`: action -> first use ever), when the
    identity was seen acting `first_action_history_days` days or more before (`seen_since`: its first day seen)."""
    if seen_since is None or (day.day - seen_since).days < settings.first_action_history_days:
        return []
    risky = day.profile.high_risk
    found = []
    for action, first in sorted(first_used.items()):
        if first.astimezone(UTC).date() != day.day:
            continue
        found.append(
            _signal(
                SignalKind.ACTIVITY_FIRST_ACTION,
                subject,
                day.day,
                action,
                severity=Severity.HIGH if action in risky else Severity.MEDIUM,
                observed_at=first,
                summary=f"{subject.name} used {action} for the first time",
                explanation=(
                    f"first use of {action} at {first.astimezone(UTC).isoformat()}: no earlier use in its usage "
                    f"history, and its activity is known since {seen_since.isoformat()} at least"
                ),
                evidence={"action": action, "firstUsed": first.astimezone(UTC).isoformat()},
            )
        )
    return found


def user_agent_product(agent: str) -> str:
    """The product a user agent names: its text before the first `/` or blank, lower-cased (`aws-cli`,
    `boto3`, `mozilla`, `google-cloud-sdk`)."""
    return agent.strip().split("/", 1)[0].split(None, 1)[0].lower() if agent.strip() else ""


def _overflowed(baseline: Sequence[IdentityDay], name: str) -> bool:
    return any(getattr(item.profile, f"{name}_other") for item in baseline)


def new_source_signals(
    subject: Subject, day: IdentityDay, baseline: Sequence[IdentityDay], settings: AnomalySettings
) -> list[Signal]:
    """`activity.newSource`: source IPs, regions and user agents of the day that no baseline day holds."""
    if len(baseline) < settings.min_history_days:
        return []
    found = []
    for name, label in SOURCE_KINDS:
        if _overflowed(baseline, name):
            continue
        same: Callable[[str], str] = user_agent_product if name == "agents" else str
        known: set[str] = set()
        for item in baseline:
            known.update(getattr(item.profile, name))
        usual = sorted(known)
        known = {same(value) for value in known}
        for value, count in sorted(getattr(day.profile, name).items()):
            if same(value) in known:
                continue
            found.append(
                _signal(
                    SignalKind.ACTIVITY_NEW_SOURCE,
                    subject,
                    day.day,
                    f"{name}\0{value}",
                    severity=Severity.MEDIUM,
                    observed_at=_at(day.day, _first_hour(day.profile)),
                    summary=f"{subject.name} acted from a new {label}: {value}",
                    explanation=(
                        f"{label} {value} ({count:,} events on {day.day.isoformat()}) was not seen in the "
                        f"{settings.baseline_days} days before ({len(baseline)} active days, "
                        f"{len(usual)} {label}(s): {_names(usual) or 'none'})"
                    ),
                    evidence={"source": name, "value": value, "events": count, "baseline": usual[:50]},
                )
            )
    return found


# ------------------------------------------------------------------------------------------- anomalies


@dataclass(frozen=True, slots=True)
class RobustBaseline:
    """Median and median absolute deviation of a baseline's daily events."""

    median: float
    mad: float
    days: int

    @property
    def deviation(self) -> float:
        """The robust deviation: 1.4826 x MAD, at least 10 % of the median and at least 1 event."""
        return max(MAD_SCALE * self.mad, 0.1 * self.median, 1.0)

    def score(self, value: float) -> float:
        """How many robust deviations `value` lies above the median."""
        return (value - self.median) / self.deviation


def robust_baseline(values: Sequence[int]) -> RobustBaseline:
    """The median and MAD of some daily counts (at least one)."""
    median = float(statistics.median(values))
    mad = float(statistics.median(abs(value - median) for value in values))
    return RobustBaseline(median=median, mad=mad, days=len(values))


def volume_signals(
    subject: Subject, day: IdentityDay, baseline: Sequence[IdentityDay], settings: AnomalySettings
) -> list[Signal]:
    """`anomaly.volume`: a day with far more events than the identity's active baseline days."""
    if len(baseline) < settings.min_history_days:
        return []
    events = day.profile.events
    stats = robust_baseline([item.profile.events for item in baseline])
    score = stats.score(events)
    if (
        events < settings.volume_min_events
        or events < settings.volume_ratio * stats.median
        or score < settings.volume_threshold
    ):
        return []
    return [
        _signal(
            SignalKind.ANOMALY_VOLUME,
            subject,
            day.day,
            "volume",
            severity=Severity.MEDIUM,
            observed_at=_at(day.day),
            summary=f"{subject.name} made {events:,} calls on {day.day.isoformat()}, far more than usual",
            explanation=(
                f"{events:,} events on {day.day.isoformat()}, baseline median {stats.median:,.0f} "
                f"(MAD {stats.mad:,.0f}) over {settings.baseline_days} days ({stats.days} active days): "
                f"{score:,.1f} robust deviations above the median (threshold {settings.volume_threshold:g}, "
                f"and at least {settings.volume_ratio:g} x the median)"
            ),
            evidence={
                "events": events,
                "median": stats.median,
                "mad": stats.mad,
                "score": round(score, 2),
                "baselineDays": stats.days,
            },
        )
    ]


def _hour_ranges(hours: Sequence[int]) -> str:
    """`02:00-03:59, 23:00-23:59` for hours [2, 3, 23]."""
    ranges: list[tuple[int, int]] = []
    for hour in sorted(hours):
        if ranges and ranges[-1][1] == hour - 1:
            ranges[-1] = (ranges[-1][0], hour)
        else:
            ranges.append((hour, hour))
    return ", ".join(f"{start:02d}:00-{end:02d}:59" for start, end in ranges)


def hour_signals(
    subject: Subject, day: IdentityDay, baseline: Sequence[IdentityDay], settings: AnomalySettings
) -> list[Signal]:
    """`anomaly.hour`: events at UTC hours at which the identity (nearly) never acts."""
    if len(baseline) < settings.min_history_days:
        return []
    usual = [sum(item.profile.hours[hour] for item in baseline) for hour in range(24)]
    total = sum(usual)
    if total == 0:
        return []
    unusual = [
        hour
        for hour in range(24)
        if day.profile.hours[hour]
        and (usual[hour - 1] + usual[hour] + usual[(hour + 1) % 24]) < settings.hour_share * total
    ]
    events = sum(day.profile.hours[hour] for hour in unusual)
    if events < settings.hour_min_events:
        return []
    active = [hour for hour in range(24) if usual[hour] >= 0.02 * total]
    return [
        _signal(
            SignalKind.ANOMALY_HOUR,
            subject,
            day.day,
            "hours",
            severity=Severity.MEDIUM,
            observed_at=_at(day.day, unusual[0]),
            summary=(
                f"{subject.name} acted at unusual hours on {day.day.isoformat()} ({_hour_ranges(unusual)} UTC)"
            ),
            explanation=(
                f"{events:,} events at {_hour_ranges(unusual)} UTC on {day.day.isoformat()}; in the "
                f"{settings.baseline_days} days before ({len(baseline)} active days, {total:,} events) these "
                f"hours and their neighbours held under {settings.hour_share:.0%} of its events; it usually "
                f"acts at {_hour_ranges(active) or 'no hour in particular'} UTC"
            ),
            evidence={
                "hours": unusual,
                "events": events,
                "baselineHours": usual,
                "baselineEvents": total,
            },
        )
    ]


def new_service_signals(
    subject: Subject, day: IdentityDay, baseline: Sequence[IdentityDay], settings: AnomalySettings
) -> list[Signal]:
    """`anomaly.newService`: services used that day that no baseline day holds."""
    if len(baseline) < settings.min_history_days or _overflowed(baseline, "services"):
        return []
    known: set[str] = set()
    for item in baseline:
        known.update(item.profile.services)
    found = []
    for service, count in sorted(day.profile.services.items()):
        if service in known:
            continue
        found.append(
            _signal(
                SignalKind.ANOMALY_NEW_SERVICE,
                subject,
                day.day,
                service,
                severity=Severity.LOW,
                observed_at=_at(day.day, _first_hour(day.profile)),
                summary=f"{subject.name} used a service new to it: {service}",
                explanation=(
                    f"{count:,} events of {service} on {day.day.isoformat()}; the {settings.baseline_days} "
                    f"days before ({len(baseline)} active days) used {_names(sorted(known))}"
                ),
                evidence={"service": service, "events": count, "baseline": sorted(known)[:50]},
            )
        )
    return found


def new_resource_signals(
    subject: Subject,
    day: IdentityDay,
    baseline: Sequence[IdentityDay],
    new_resources: Mapping[date, NewResources],
    settings: AnomalySettings,
) -> list[Signal]:
    """`anomaly.resource`: resources acted on for the first time that day, by an identity whose resources are
    stable (`new_resources`: day -> the resources first used that day)."""
    today = new_resources.get(day.day)
    if today is None or not today.count or len(baseline) < settings.min_history_days:
        return []
    novel = [item.day for item in baseline if item.day in new_resources]
    if len(novel) > settings.resource_novel_share * len(baseline):
        return []  # new resources are its routine: not judged
    shown = _names(today.examples) + (
        f" and {today.count - len(today.examples)} more" if today.count > len(today.examples) else ""
    )
    before = (
        f"it first acted on a resource on {len(novel)} of them ({', '.join(d.isoformat() for d in novel)})"
        if novel
        else "it acted on no resource it had not acted on before"
    )
    return [
        _signal(
            SignalKind.ANOMALY_RESOURCE,
            subject,
            day.day,
            "resources",
            severity=Severity.LOW,
            observed_at=today.first or _at(day.day),
            summary=(
                f"{subject.name} acted on {today.count:,} resource(s) new to it on {day.day.isoformat()}: "
                f"{today.examples[0]}" + (" and others" if today.count > 1 else "")
            ),
            explanation=(
                f"first use ever of {shown} on {day.day.isoformat()} (no earlier use in its usage history); in "
                f"the {settings.baseline_days} days before ({len(baseline)} active days) {before}: new resources "
                f"are judged only when at most {settings.resource_novel_share:.0%} of its active days brought some"
            ),
            evidence={
                "resources": list(today.examples),
                "count": today.count,
                "baselineDays": len(baseline),
                "novelDays": [d.isoformat() for d in novel],
            },
        )
    ]


# ------------------------------------------------------------------------------------------- one identity


def identity_signals(
    subject: Subject,
    days: Sequence[IdentityDay],
    first_used: Mapping[str, datetime],
    since: date,
    until: date,
    settings: AnomalySettings,
    new_resources: Mapping[date, NewResources] | None = None,
) -> list[Signal]:
    """Every signal of one identity for the days in [since, until], from its profiles (those days and the
    `baseline_days` before them, any order), the actions it first used in the range (action -> first use) and
    the resources it first acted on in the range and its baselines (day -> them; None: not judged)."""
    ordered = sorted(days, key=lambda item: item.day)
    seen_since = ordered[0].day if ordered else None
    found: list[Signal] = []
    window = timedelta(days=settings.baseline_days)
    for index, day in enumerate(ordered):
        if not since <= day.day <= until:
            continue
        baseline = [item for item in ordered[:index] if item.day >= day.day - window]
        found.extend(high_risk_signals(subject, day))
        found.extend(first_action_signals(subject, day, first_used, seen_since, settings))
        found.extend(new_source_signals(subject, day, baseline, settings))
        found.extend(volume_signals(subject, day, baseline, settings))
        found.extend(hour_signals(subject, day, baseline, settings))
        found.extend(new_service_signals(subject, day, baseline, settings))
        if new_resources is not None:
            found.extend(new_resource_signals(subject, day, baseline, new_resources, settings))
    return found
