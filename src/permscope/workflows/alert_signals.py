"""The signals of one analysis, recorded in the analysis's own transaction: its new and reopened findings (as
`store.findings.record_analysis` decided them) and the PCI movements of its identities under the PCI rules'
numbers. Being written with the findings, they are never lost to a crash between the two; evaluation (which
turns them into alerts) follows, and anything it leaves pending is taken by the next one.

The first analysis of a system is its baseline: every finding is new to it, so it raises no `finding.new`.

A PCI movement needs the identity's earlier scores: `stored_pci_history` reads them from the PCI history
(`store.pci_history`, one row per identity and day it changed) over the longest window of the enabled PCI rules,
before this analysis writes its own day.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from permscope.analytics.finding_signals import Reopened, finding_signals
from permscope.analytics.pci import pci_of
from permscope.analytics.pci_signals import PciPoint, PciSeries, pci_signals
from permscope.analytics.subjects import subjects
from permscope.core.alerts import PCI_KINDS
from permscope.core.findings import Finding
from permscope.core.signals import Signal, SignalKind
from permscope.core.snapshot import SystemSnapshot
from permscope.store import alerts as store
from permscope.store.findings import RecordResult
from permscope.store.pci_history import identities_pci_series, system_pci_series
from permscope.store.tables import AnalysisDayRow, AnalysisRunRow
from permscope.workflows.alert_rules import rule_of_row

ACTIVITY_KINDS = frozenset(
    kind for kind in SignalKind if kind.value.startswith(("activity.", "anomaly."))
)  # judged from the day profiles (workflows.activity_signals)

SYSTEM_SERIES = ""  # the key of the system's own PCI series in a PciHistory (no identity has an empty id)

PciHistory = Callable[[Session, int], dict[str, list[PciPoint]]]  # (session, system pk) -> id -> points


def stored_pci_history(session: Session, system_pk: int) -> dict[str, list[PciPoint]]:
    """Each identity's stored PCI series over the longest window of the enabled PCI rules, counted back from the
    system's latest analyzed day (an analysis "as of" a past day, as the monitoring demo runs, keeps its history),
    the day before the window included so that a threshold crossing on its first day is seen."""
    rules = [rule_of_row(row) for row in store.rule_rows(session, enabled_only=True)]
    window = max((rule.pci.window_days for rule in rules if rule.kinds & PCI_KINDS), default=0)
    latest = session.scalar(select(func.max(AnalysisDayRow.day)).where(AnalysisDayRow.system_pk == system_pk))
    if latest is None:
        return {}
    since = latest - timedelta(days=window + 1)
    history = identities_pci_series(session, system_pk, since=since)
    system = system_pci_series(session, system_pk, since=since)
    if system:
        history[SYSTEM_SERIES] = system
    return history


def wants_pci(session: Session) -> bool:
    """Whether an enabled rule selects PCI signals (else no history is read)."""
    return any(rule_of_row(row).kinds & PCI_KINDS for row in store.rule_rows(session, enabled_only=True))


def activity_kinds(session: Session) -> frozenset[SignalKind]:
    """The activity and anomaly kinds enabled rules select (none: no day profile is judged)."""
    rules = [rule_of_row(row) for row in store.rule_rows(session, enabled_only=True)]
    return frozenset(kind for rule in rules for kind in rule.kinds & ACTIVITY_KINDS)


def is_baseline(session: Session, system_pk: int) -> bool:
    """Whether the system was never analyzed before (read before the analysis records its run)."""
    return session.get(AnalysisRunRow, system_pk) is None


def record_analysis_signals(
    session: Session,
    system_pk: int,
    snapshot: SystemSnapshot,
    findings: Sequence[Finding],
    recorded: RecordResult,
    *,
    baseline: bool,
    previous_pci: dict[str, list[PciPoint]],
    at: datetime,
    system_score: int | None = None,
) -> int:
    """Record the signals of one analysis in the caller's transaction; how many were new."""
    new_keys = () if baseline else recorded.new_fingerprints
    # a baseline that reopened nothing (every import's first analysis) looks no finding up
    by_fingerprint = (
        {finding.fingerprint: finding for finding in findings} if new_keys or recorded.reopened_times else {}
    )
    new = [by_fingerprint[key] for key in new_keys if key in by_fingerprint]
    reopened = [
        Reopened(by_fingerprint[key], times)
        for key, times in recorded.reopened_times.items()
        if key in by_fingerprint
    ]
    kinds = (
        {identity.external_id: identity.kind.value for identity in snapshot.identities}
        if new or reopened
        else {}
    )
    signals: list[Signal] = finding_signals(new, reopened, at, kinds)
    signals += _pci_signals(session, snapshot, previous_pci, at, system_score)
    return store.record_signals(session, signals, at)


def _pci_signals(
    session: Session,
    snapshot: SystemSnapshot,
    previous: dict[str, list[PciPoint]],
    at: datetime,
    system_score: int | None,
) -> list[Signal]:
    """PCI movements of this analysis (today's points only) under each enabled PCI rule's numbers: of each
    identity, and of the system itself (its PCI, `analytics.pci.system_pci`) when its score is given."""
    rules = [rule_of_row(row) for row in store.rule_rows(session, enabled_only=True)]
    wanted = [rule for rule in rules if rule.kinds & PCI_KINDS]
    if not wanted or not previous:
        return []
    series = [
        PciSeries(
            snapshot.cloud,
            snapshot.system.system_id,
            subject.external_id,
            subject.kind,
            subject.name,
            [*previous[subject.external_id], (at, pci_of(snapshot, subject.external_id).score)],
        )
        for subject in subjects(snapshot)
        if subject.external_id in previous
    ]
    if system_score is not None and SYSTEM_SERIES in previous:
        system = snapshot.system
        series.append(
            PciSeries(
                snapshot.cloud,
                system.system_id,
                system.system_id,
                "system",
                system.name or system.system_id,
                [*previous[SYSTEM_SERIES], (at, system_score)],
            )
        )
    found: dict[str, Signal] = {}
    for parameters in sorted(
        {rule.pci for rule in wanted}, key=lambda p: (p.threshold, p.rise_points, p.window_days)
    ):
        kinds: set[SignalKind] = set().union(
            *(rule.kinds & PCI_KINDS for rule in wanted if rule.pci == parameters)
        )
        for signal in pci_signals(series, parameters, kinds, since=at.date()):
            found.setdefault(signal.key, signal)
    return list(found.values())
