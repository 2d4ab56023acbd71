"""Over-provisioned identities: active in the window, but using a small share of what they hold.

Rule: the identity used at least one action in the window, used fewer than
`settings.overprovisioned_max_used_ratio` (10% by default) of its granted actions, and leaves at least
`MIN_UNUSED` granted actions unused (so a role holding 3 actions and using none of the 2 others is not
reported). Super identities are not reported here: the super finding already says more.
"""

from __future__ import annotations

from collections.abc import Iterator

from permscope.analytics.context import AwsAccountSnapshot
from permscope.analytics.detector import AWS, Detector
from permscope.analytics.detectors.super_identity import is_super
from permscope.analytics.subjects import (
    FUNCTION,
    INSTANCE,
    ROLE,
    USER,
    granted_bits,
    identity_finding,
    subjects,
    used_bits,
)
from permscope.core.findings import Finding, Severity

TYPES = {
    USER: "overprovisionedUserFinding",
    ROLE: "overprovisionedAwsRoleFinding",
    FUNCTION: "overprovisionedServerlessFunctionFinding",
    INSTANCE: "overprovisionedAwsResourceFinding",
}
MIN_UNUSED = 10
MAX_LISTED = 20


def _detect(snapshot: AwsAccountSnapshot) -> Iterator[Finding]:
    ratio = snapshot.settings.overprovisioned_max_used_ratio
    high = snapshot.index.high_severity
    for subject in subjects(snapshot):
        if not snapshot.exercised(subject.external_id):
            continue  # not active: the inactive finding covers it
        granted = granted_bits(snapshot, subject.external_id)
        used = used_bits(snapshot, subject.external_id) & granted
        unused = granted & ~used
        total = granted.bit_count()
        if not total or used.bit_count() >= ratio * total or unused.bit_count() < MIN_UNUSED:
            continue
        if is_super(snapshot, subject.external_id):
            continue
        share = used.bit_count() / total
        yield identity_finding(
            snapshot,
            DETECTOR,
            TYPES[subject.kind],
            subject,
            f"{subject.name} used {used.bit_count()} of its {total} granted actions ({share:.1%}) "
            f"in the last {snapshot.settings.window_days} days.",
            evidence={
                "usedShare": round(share, 4),
                "threshold": ratio,
                "usedActions": snapshot.index.names(used)[:MAX_LISTED],
                "unusedActions": unused.bit_count(),
                "unusedHighSeverityActions": (unused & high).bit_count(),
            },
        )


DETECTOR = Detector(
    name="overprovisioned",
    finding_types=tuple(TYPES.values()),
    clouds=AWS,
    severity=Severity.MEDIUM,
    title="Over-provisioned identities",
    description="Identities active in the window that used less than 10% (configurable) of the actions they "
    "hold, leaving at least 10 unused.",
    remediation="Right-size the identity's policies to the actions it used (permscope lists them), e.g. with "
    "a policy generated from its activity.",
    needs=frozenset({"activity"}),
    detect=_detect,
)
