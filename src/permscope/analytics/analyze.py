"""Run the registered detectors over one system's snapshot: findings, what was skipped and why, and errors.

Only detectors that declare the snapshot's cloud run. A detector whose needs the snapshot does not meet is
skipped, and each of its finding types carries the reason, in the words of the cloud (`CloudPlugin.need_hints`).
"""

from __future__ import annotations

import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field

from permscope.analytics.detector import Detector
from permscope.analytics.registry import detectors
from permscope.clouds.base import plugin
from permscope.core.findings import Finding
from permscope.core.snapshot import SystemSnapshot


@dataclass(slots=True)
class AnalysisResult:
    """What one analysis found: findings (sorted), finding types skipped with the reason, detector errors."""

    findings: list[Finding] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # finding type -> why it was not looked for
    errors: dict[str, str] = field(default_factory=dict)  # detector name -> what went wrong
    ran: list[str] = field(default_factory=list)  # detector names that ran to the end


def available_data(snapshot: SystemSnapshot) -> set[str]:
    """Which of the detectors' `needs` the snapshot satisfies."""
    found = set(snapshot.available)
    if snapshot.has_activity:
        found.add("activity")
    if snapshot.has_resources:
        found.add("resources")
    return found


def skip_reason(missing: set[str], hints: Mapping[str, str]) -> str:
    """The words a skipped finding type carries, e.g. "needs activity: import CloudTrail or ..."."""
    return "; ".join(f"needs {need}: {hints.get(need, need)}" for need in sorted(missing))


def _type_and_subject(finding: Finding) -> tuple[str, str]:
    return (finding.finding_type, finding.subject_id)


def _fingerprint(finding: Finding) -> str:
    return finding.fingerprint


def sort_findings(findings: list[Finding]) -> None:
    """Sort by type, subject and fingerprint, in place; the fingerprint (a SHA-256, of the type, cloud, system
    and subject) is computed only where a type and subject repeat, the one place it can decide the order."""
    findings.sort(key=_type_and_subject)
    start = 0
    for end in range(1, len(findings) + 1):
        if end == len(findings) or _type_and_subject(findings[end]) != _type_and_subject(findings[start]):
            if end - start > 1:
                findings[start:end] = sorted(findings[start:end], key=_fingerprint)
            start = end


def analyze(snapshot: SystemSnapshot, only: set[str] | None = None) -> AnalysisResult:
    """Run every registered detector of the snapshot's cloud whose needs the snapshot satisfies (only those
    raising a type in `only` when given). A detector that raises is recorded in `errors`; the others still run."""
    result = AnalysisResult()
    have = available_data(snapshot)
    hints = plugin(snapshot.cloud).need_hints
    for detector in detectors():
        types = [t for t in detector.types_for(snapshot.cloud) if only is None or t in only]
        if not types:
            continue
        missing = set(detector.needs - have)
        if missing:
            reason = skip_reason(missing, hints)
            for finding_type in types:
                result.skipped[finding_type] = reason
            continue
        _run(detector, snapshot, set(types), result)
    sort_findings(result.findings)
    return result


def _run(detector: Detector, snapshot: SystemSnapshot, types: set[str], result: AnalysisResult) -> None:
    try:
        found = [finding for finding in detector.detect(snapshot) if finding.finding_type in types]
    except Exception as error:  # one broken detector must not stop the analysis
        frame = traceback.extract_tb(error.__traceback__)[-1] if error.__traceback__ else None
        where = f" at {frame.filename.rsplit('/', 1)[-1]}:{frame.lineno}" if frame else ""
        result.errors[detector.name] = f"{type(error).__name__}: {error}{where}"
        return
    result.findings.extend(found)
    result.ran.append(detector.name)
