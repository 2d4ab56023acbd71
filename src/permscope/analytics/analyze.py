"""Run the registered detectors over one account snapshot: findings, what was skipped and why, and errors."""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field

from permscope.analytics.context import AwsAccountSnapshot
from permscope.analytics.detector import Detector
from permscope.analytics.registry import detectors
from permscope.core.findings import Finding
from permscope.core.inventory import IdentityKind

# What each kind of data is, and how to get it (the reason a skipped finding type gives).
NEED_HINTS = {
    "activity": "import CloudTrail or collect with Access Advisor",
    "resources": "collect resources (S3 buckets, EC2 instances and security groups, Lambda functions)",
    "credentials": "import or collect the IAM credential report",
    "organization": "collect the AWS Organization (its id and SCPs)",
}


@dataclass(slots=True)
class AnalysisResult:
    """What one analysis found: findings (sorted), finding types skipped with the reason, detector errors."""

    findings: list[Finding] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # finding type -> why it was not looked for
    errors: dict[str, str] = field(default_factory=dict)  # detector name -> what went wrong
    ran: list[str] = field(default_factory=list)  # detector names that ran to the end


def available_data(snapshot: AwsAccountSnapshot) -> set[str]:
    """Which of the detectors' `needs` the snapshot satisfies."""
    found: set[str] = set()
    if snapshot.has_activity:
        found.add("activity")
    if snapshot.has_resources:
        found.add("resources")
    if any(i.kind is IdentityKind.ACCESS_KEY for i in snapshot.identities) or any(
        i.kind is IdentityKind.USER and i.attributes.get("credentialReport") for i in snapshot.identities
    ):
        found.add("credentials")
    if snapshot.system.attributes.get("organizationId"):
        found.add("organization")
    return found


def skip_reason(missing: set[str]) -> str:
    """The words a skipped finding type carries, e.g. "needs activity: import CloudTrail or ..."."""
    return "; ".join(f"needs {need}: {NEED_HINTS.get(need, need)}" for need in sorted(missing))


def _sort_key(finding: Finding) -> tuple[str, str, str]:
    return (finding.finding_type, finding.subject_id, finding.fingerprint)


def analyze(snapshot: AwsAccountSnapshot, only: set[str] | None = None) -> AnalysisResult:
    """Run every registered detector whose needs the snapshot satisfies (only those raising a type in `only`
    when given). A detector that raises is recorded in `errors`; the others still run."""
    result = AnalysisResult()
    have = available_data(snapshot)
    for detector in detectors():
        types = [t for t in detector.finding_types if only is None or t in only]
        if not types:
            continue
        missing = set(detector.needs - have)
        if missing:
            reason = skip_reason(missing)
            for finding_type in types:
                result.skipped[finding_type] = reason
            continue
        _run(detector, snapshot, set(types), result)
    result.findings.sort(key=_sort_key)
    return result


def _run(detector: Detector, snapshot: AwsAccountSnapshot, types: set[str], result: AnalysisResult) -> None:
    try:
        found = [finding for finding in detector.detect(snapshot) if finding.finding_type in types]
    except Exception as error:  # one broken detector must not stop the analysis
        frame = traceback.extract_tb(error.__traceback__)[-1] if error.__traceback__ else None
        where = f" at {frame.filename.rsplit('/', 1)[-1]}:{frame.lineno}" if frame else ""
        result.errors[detector.name] = f"{type(error).__name__}: {error}{where}"
        return
    result.findings.extend(found)
    result.ran.append(detector.name)
