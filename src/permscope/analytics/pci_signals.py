"""Signals of the Permission Creep Index over time, pure: a score that reached a threshold from below
(`pci.threshold`), or rose by at least N points within D days (`pci.rise`), each with an explanation.

A series is one identity's (or one system's) scores over time; a point carries the analysis's time (a datetime)
or only its day (several analyses a day give several points). A crossing needs a point before it (the first score ever seen crosses nothing). A
rise is edge-triggered: it is signalled on the first point where it holds, not again on each following point
while the low score is still inside the window. Keys hold the subject, the rule's numbers and the day, so the
same movement always gives the same key. docs/monitoring.md, "Alert rules", states the method.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise

from permscope.core.alerts import PciParameters
from permscope.core.findings import Severity, pci_band
from permscope.core.ids import Cloud
from permscope.core.signals import Signal, SignalKind

PciPoint = tuple[date, int]  # (day, or the analysis's time; score 0-100)
BAND_SEVERITY = {"low": Severity.LOW, "medium": Severity.MEDIUM, "high": Severity.HIGH}


@dataclass(frozen=True, slots=True)
class PciSeries:
    """The PCI of one identity (or system, `subject_kind` "system") over time."""

    cloud: Cloud
    system_id: str
    subject_id: str
    subject_kind: str
    subject_name: str
    points: Sequence[PciPoint]


def _day(when: date) -> date:
    return when.date() if isinstance(when, datetime) else when


def _instant(when: date) -> datetime:
    if isinstance(when, datetime):
        return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
    return datetime.combine(when, time(), UTC)


def ordered(points: Iterable[PciPoint]) -> list[PciPoint]:
    """The points oldest first (a day's points by time); scores outside 0-100 are refused."""
    found = sorted(points, key=lambda point: _instant(point[0]))
    for _when, score in found:
        if not 0 <= score <= 100:
            raise ValueError(f"PCI score {score} is outside 0-100")
    return found


def pci_signals(
    series: Iterable[PciSeries],
    parameters: PciParameters,
    kinds: Iterable[SignalKind] = (SignalKind.PCI_THRESHOLD, SignalKind.PCI_RISE),
    since: date | None = None,
) -> list[Signal]:
    """The threshold crossings and rises of every series under one rule's numbers, on days from `since` on; at
    most one of each kind per subject and day (the day's first: keys hold the day)."""
    wanted = set(kinds)
    found: dict[str, Signal] = {}
    for one in series:
        points = ordered(one.points)
        made: list[Signal] = []
        if SignalKind.PCI_THRESHOLD in wanted:
            made += _crossings(one, points, parameters, since)
        if SignalKind.PCI_RISE in wanted:
            made += _rises(one, points, parameters, since)
        for signal in made:
            found.setdefault(signal.key, signal)
    return list(found.values())


def _crossings(
    one: PciSeries, points: list[PciPoint], parameters: PciParameters, since: date | None
) -> list[Signal]:
    found = []
    limit = parameters.threshold
    for (before, old), (when, score) in pairwise(points):
        if not old < limit <= score or (since is not None and _day(when) < since):
            continue
        explanation = (
            f"PCI {old} on {_day(before).isoformat()}, {score} on {_day(when).isoformat()}: it reached the "
            f"threshold of {limit} (now in the {pci_band(score)} band)"
        )
        found.append(
            _signal(one, SignalKind.PCI_THRESHOLD, f"{limit}", when, score, parameters, explanation,
                    f"PCI of {one.subject_name} reached {score} (threshold {limit})",
                    {"previous": old, "previousDate": _day(before).isoformat()})
        )  # fmt: skip
    return found


def _lowest_before(points: list[PciPoint], index: int, window: timedelta) -> PciPoint | None:
    """The lowest score of the points within `window` before point `index` (the earliest of equal ones)."""
    when = _day(points[index][0])
    inside = [p for p in points[:index] if when - window <= _day(p[0]) < when]
    return min(inside, key=lambda p: p[1]) if inside else None


def _rises(
    one: PciSeries, points: list[PciPoint], parameters: PciParameters, since: date | None
) -> list[Signal]:
    found = []
    window = timedelta(days=parameters.window_days)
    held = False
    for index, (when, score) in enumerate(points):
        low = _lowest_before(points, index, window)
        holds = low is not None and score - low[1] >= parameters.rise_points
        if holds and not held and low is not None and (since is None or _day(when) >= since):
            rise = score - low[1]
            explanation = (
                f"PCI rose by {rise} points, from {low[1]} on {_day(low[0]).isoformat()} to {score} on "
                f"{_day(when).isoformat()}: at least {parameters.rise_points} within {parameters.window_days} days"
            )
            found.append(
                _signal(one, SignalKind.PCI_RISE, f"{parameters.rise_points}/{parameters.window_days}", when,
                        score, parameters, explanation,
                        f"PCI of {one.subject_name} rose by {rise} points to {score}",
                        {"previous": low[1], "previousDate": _day(low[0]).isoformat(), "rise": rise})
            )  # fmt: skip
        held = holds
    return found


def _signal(
    one: PciSeries,
    kind: SignalKind,
    numbers: str,
    when: date,
    score: int,
    parameters: PciParameters,
    explanation: str,
    summary: str,
    facts: dict[str, object],
) -> Signal:
    day = _day(when).isoformat()
    return Signal(
        kind=kind,
        key=f"{kind.value}:{one.cloud.value}:{one.system_id}:{one.subject_id}:{numbers}:{day}",
        cloud=one.cloud,
        system_id=one.system_id,
        subject_id=one.subject_id,
        subject_kind=one.subject_kind,
        subject_name=one.subject_name,
        severity=BAND_SEVERITY[pci_band(score)],
        observed_at=_instant(when),
        summary=summary,
        explanation=explanation,
        evidence={"pci": score, "date": day, **facts, "parameters": parameters.to_dict()},
    )
