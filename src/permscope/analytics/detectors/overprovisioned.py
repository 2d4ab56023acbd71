"""Over-provisioned identities: active in the window, but using a small share of what they hold.

Rule: the identity used at least one action in the window, used fewer than
`settings.overprovisioned_max_used_ratio` (10% by default) of its granted actions, and leaves at least
`MIN_UNUSED` granted actions unused (so a role holding 3 actions and using none of the 2 others is not
reported). Super identities are not reported here: the super finding already says more.
"""

from __future__ import annotations

from collections.abc import Iterator

from permscope.analytics.detector import ALL_CLOUDS, Detector, table_clouds, table_types
from permscope.analytics.detectors.super_identity import is_super
from permscope.analytics.subjects import (
    FUNCTION,
    INSTANCE,
    ROLE,
    SERVICE_ACCOUNT,
    SERVICE_PRINCIPAL,
    USER,
    TypeTable,
    finding_type,
    granted_bits,
    identity_finding,
    subjects,
    used_bits,
)
from permscope.core.findings import Finding, Severity
from permscope.core.ids import Cloud
from permscope.core.snapshot import SystemSnapshot

TYPES: TypeTable = {
    USER: "overprovisionedUserFinding",
    ROLE: {Cloud.AWS: "overprovisionedAwsRoleFinding"},
    SERVICE_PRINCIPAL: {Cloud.AZURE: "overprovisionedAzureServicePrincipalFinding"},
    SERVICE_ACCOUNT: {Cloud.GCP: "overprovisionedGcpServiceAccountFinding"},
    FUNCTION: "overprovisionedServerlessFunctionFinding",
    INSTANCE: {Cloud.AWS: "overprovisionedAwsResourceFinding"},
}
MIN_UNUSED = 10
MAX_LISTED = 20


def _detect(snapshot: SystemSnapshot) -> Iterator[Finding]:
    ratio = snapshot.settings.overprovisioned_max_used_ratio
    high = snapshot.index.high_severity
    for subject in subjects(snapshot):
        kind_type = finding_type(snapshot, subject, TYPES)
        if kind_type is None:
            continue
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
            kind_type,
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
    finding_types=table_types(TYPES),
    clouds=ALL_CLOUDS,
    type_clouds=table_clouds(TYPES),
    severity=Severity.MEDIUM,
    title="Over-provisioned identities",
    description="Identities active in the window that used less than 10% (configurable) of the actions they "
    "hold, leaving at least 10 unused.",
    remediation="Right-size the identity's policies to the actions it used (permscope lists them), e.g. with "
    "a policy generated from its activity.",
    needs=frozenset({"activity"}),
    detect=_detect,
)
