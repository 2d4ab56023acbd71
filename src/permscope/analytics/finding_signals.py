"""Signals of findings: a finding an analysis saw for the first time (`finding.new`), or saw again after an
earlier analysis had resolved it (`finding.reopened`). The analysis decides which findings those are
(`store.findings.record_analysis`); this turns them into `Signal`s, pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from permscope.core.findings import Finding
from permscope.core.signals import Signal, SignalKind


@dataclass(frozen=True, slots=True)
class Reopened:
    """A finding seen again, and how often it has now been reopened (1 the first time)."""

    finding: Finding
    times: int


def finding_signals(
    new: Sequence[Finding],
    reopened: Sequence[Reopened],
    at: datetime,
    subject_kinds: Mapping[str, str] | None = None,
) -> list[Signal]:
    """The signals of one analysis run at `at`; `subject_kinds` gives an identity's kind by external id (user,
    role, ...), for rules scoped by identity kind (else the finding's subject, e.g. `storageBucket`)."""
    kinds = subject_kinds or {}
    found = [
        _signal(finding, SignalKind.FINDING_NEW, f"finding.new:{finding.fingerprint}", at, kinds)
        for finding in new
    ]
    for item in reopened:
        key = f"finding.reopened:{item.finding.fingerprint}:{item.times}"
        found.append(_signal(item.finding, SignalKind.FINDING_REOPENED, key, at, kinds, item.times))
    return found


def _signal(
    finding: Finding, kind: SignalKind, key: str, at: datetime, kinds: Mapping[str, str], times: int = 0
) -> Signal:
    when = at.isoformat(timespec="seconds")
    if kind is SignalKind.FINDING_NEW:
        summary = f"New {finding.severity.value} finding {finding.finding_type} on {finding.subject_name}"
        explanation = f"First seen by the analysis of {when}: {finding.summary}"
    else:
        again = "once before" if times == 1 else f"{times} times now"
        summary = (
            f"Reopened {finding.severity.value} finding {finding.finding_type} on {finding.subject_name}"
        )
        explanation = (
            f"An earlier analysis had resolved it; the analysis of {when} found it again (reopened {again}): "
            f"{finding.summary}"
        )
    evidence: dict[str, object] = {
        "findingType": finding.finding_type,
        "fingerprint": finding.fingerprint,
        "findingSubject": finding.subject.value,
        "findingSummary": finding.summary,
    }
    if finding.pci is not None:
        evidence["pci"] = finding.pci.score
    if times:
        evidence["reopenedTimes"] = times
    return Signal(
        kind=kind,
        key=key,
        cloud=finding.cloud,
        system_id=finding.system_id,
        subject_id=finding.subject_id,
        subject_kind=kinds.get(finding.subject_id, finding.subject.value),
        subject_name=finding.subject_name,
        severity=finding.severity,
        observed_at=at,
        summary=summary,
        explanation=explanation,
        evidence=evidence,
    )
