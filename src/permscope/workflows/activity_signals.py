"""Monitoring's activity and anomaly signals of one authorization system over a range of days.

`activity_signals` reads the system's day profiles of the range and of the baseline before it, the actions first
used in the range and the resources first acted on in the range and its baseline (`store.activity_days`), and runs
the detectors (`analytics.activity_signals`) per
identity. It writes nothing: the alert rules (docs/monitoring.md) turn signals into alerts, and a signal's key
says whether it was seen before. `alert_on_activity` records them and evaluates the rules (`workflows.alerts`).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from permscope.analytics.activity_signals import AnomalySettings, NewResources, Subject, identity_signals
from permscope.core.activity_days import IdentityDay
from permscope.core.errors import InputError, NotFoundError
from permscope.core.ids import Cloud
from permscope.core.signals import Signal
from permscope.store.activity_days import (
    first_used_actions,
    first_used_resources,
    identity_labels,
    system_days,
)
from permscope.store.systems import stored_system
from permscope.workflows.alerts import EvaluationReport, record_and_evaluate

MAX_RANGE_DAYS = 366  # a longer range is refused: judge a year at most at once

__all__ = ["AnomalySettings", "activity_signals", "alert_on_activity"]


def activity_signals(
    session: Session,
    cloud: Cloud,
    system_id: str,
    since: date,
    until: date,
    settings: AnomalySettings | None = None,
    *,
    resources: bool = True,
) -> list[Signal]:
    """The activity and anomaly signals of a system's identities for the UTC days in [since, until], ordered by
    day, identity and kind; `anomaly.resource` only with `resources` (it reads the system's usage grouped by
    identity and resource). NotFoundError for a system not stored; InputError for a bad range or settings."""
    chosen = settings or AnomalySettings()
    problems = chosen.problems()
    if problems:
        raise InputError("anomaly settings", "; ".join(problems))
    if until < since:
        raise InputError("day range", f"ends ({until}) before it starts ({since})")
    if (until - since).days >= MAX_RANGE_DAYS:
        raise InputError("day range", f"is longer than {MAX_RANGE_DAYS} days")
    system = stored_system(session, cloud.value, system_id)
    if system is None:
        raise NotFoundError(f"no {cloud.value} authorization system {system_id!r} is stored")
    start = since - timedelta(days=chosen.baseline_days)
    days = system_days(session, system.id, start, until)
    first_used = first_used_actions(session, system.id, since, until)
    new_resources: dict[str, dict[date, NewResources]] = defaultdict(dict)
    for identity, resource, first in (
        first_used_resources(session, system.id, start, until) if resources else ()
    ):
        day = first.astimezone(UTC).date()
        per_day = new_resources[identity]
        found_today = per_day.get(day)
        if found_today is None:
            found_today = per_day[day] = NewResources()
        found_today.add(resource, first)
    by_identity: dict[str, list[IdentityDay]] = defaultdict(list)
    for item in days:
        by_identity[item.identity_external_id].append(item)
    firsts: dict[str, dict[str, datetime]] = defaultdict(dict)
    for (identity, action), first in first_used.items():
        firsts[identity][action] = first
    labels = identity_labels(session, system.id, by_identity)
    found: list[Signal] = []
    for identity, history in sorted(by_identity.items()):
        kind, name = labels.get(identity, ("identity", identity))
        subject = Subject(cloud=cloud, system_id=system_id, external_id=identity, kind=kind, name=name)
        found.extend(
            identity_signals(
                subject,
                history,
                firsts.get(identity, {}),
                since,
                until,
                chosen,
                new_resources.get(identity, {}) if resources else None,
            )
        )
    found.sort(
        key=lambda signal: (signal.evidence.get("day", ""), signal.subject_id, signal.kind, signal.key)
    )
    return found


def alert_on_activity(
    engine: Engine,
    cloud: Cloud,
    system_id: str,
    since: date,
    until: date,
    now: datetime,
    settings: AnomalySettings | None = None,
) -> tuple[int, EvaluationReport]:
    """Judge a system's days [since, until], record the signals not recorded before and evaluate the alert rules
    on them; (signals found, what the evaluation did). Judging the same days again alerts on nothing twice."""
    with Session(engine) as session:
        signals = activity_signals(session, cloud, system_id, since, until, settings)
    return len(signals), record_and_evaluate(engine, signals, now)
