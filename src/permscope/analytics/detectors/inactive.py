"""Inactive identities and groups: nothing granted was used inside the activity window.

An identity (user, role, service principal or account, or a function / instance through the identity it runs
as) is inactive when it used no
action in the window and its last known activity (last-active date, latest usage) is absent or before the
window. Identities created inside the window are not judged yet. A group is inactive when none of its members
used any action the group grants in the window.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from permscope.analytics.detector import ALL_CLOUDS, Detector, table_clouds, table_types
from permscope.analytics.pci import pci_of
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
    last_seen,
    subjects,
    used_bits,
)
from permscope.core.findings import ActionSummary, Finding, FindingSubject, Severity
from permscope.core.ids import Cloud
from permscope.core.inventory import IdentityKind
from permscope.core.snapshot import SystemSnapshot
from permscope.core.times import iso_instant

TYPES: TypeTable = {
    USER: "inactiveUserFinding",
    ROLE: {Cloud.AWS: "inactiveAwsRoleFinding"},
    SERVICE_PRINCIPAL: {Cloud.AZURE: "inactiveAzureServicePrincipalFinding"},
    SERVICE_ACCOUNT: {Cloud.GCP: "inactiveGcpServiceAccountFinding"},
    FUNCTION: "inactiveServerlessFunctionFinding",
    INSTANCE: {Cloud.AWS: "inactiveAwsResourceFinding"},
}
GROUP_TYPE = "inactiveGroupFinding"


def created_in_window(snapshot: SystemSnapshot, created: datetime | None) -> bool:
    """Whether an identity is younger than the window (it is then not judged)."""
    return created is not None and created > snapshot.settings.window_start


def is_inactive(snapshot: SystemSnapshot, external_id: str) -> bool:
    """No action used in the window and no activity known since the window started."""
    if snapshot.exercised(external_id):
        return False
    seen = last_seen(snapshot, external_id)
    return seen is None or seen < snapshot.settings.window_start


def _detect(snapshot: SystemSnapshot) -> Iterator[Finding]:
    days = snapshot.settings.window_days
    for subject in subjects(snapshot):
        kind_type = finding_type(snapshot, subject, TYPES)
        if kind_type is None:
            continue
        created = subject.created_at
        if created_in_window(snapshot, created) or not is_inactive(snapshot, subject.external_id):
            continue
        seen = last_seen(snapshot, subject.external_id)
        when = f"last active {seen.date().isoformat()}" if seen else "no activity ever recorded"
        yield identity_finding(
            snapshot,
            DETECTOR,
            kind_type,
            subject,
            f"{subject.name} used none of its permissions in the last {days} days ({when}).",
            evidence={
                "windowDays": days,
                "lastActivity": iso_instant(seen),
                "created": iso_instant(created),
                "grantedActions": granted_bits(snapshot, subject.external_id).bit_count(),
            },
        )
    yield from _groups(snapshot)


def _groups(snapshot: SystemSnapshot) -> Iterator[Finding]:
    days = snapshot.settings.window_days
    for group in sorted(snapshot.identities_of(IdentityKind.GROUP), key=lambda g: g.external_id):
        if created_in_window(snapshot, group.created_at):
            continue
        granted = granted_bits(snapshot, group.external_id)
        members = sorted(snapshot.members_of.get(group.external_id, ()))
        if used_bits(snapshot, group.external_id) & granted:
            continue
        yield Finding(
            finding_type=GROUP_TYPE,
            cloud=snapshot.cloud,
            system_id=snapshot.system_id,
            subject=FindingSubject.GROUP,
            subject_id=group.external_id,
            subject_name=group.display_name,
            severity=DETECTOR.severity,
            summary=f"No member of group {group.display_name} used what it grants in the last {days} days.",
            evidence={
                "windowDays": days,
                "members": members,
                "grantedActions": granted.bit_count(),
                "created": iso_instant(group.created_at),
            },
            action_summary=ActionSummary(granted.bit_count(), 0, snapshot.index.size),
            pci=pci_of(snapshot, group.external_id),
        )


DETECTOR = Detector(
    name="inactive",
    finding_types=(*table_types(TYPES), GROUP_TYPE),
    clouds=ALL_CLOUDS,
    type_clouds=table_clouds(TYPES),
    severity=Severity.MEDIUM,
    title="Inactive identities and groups",
    description="Identities that used none of their permissions in the activity window (90 days by default), "
    "and groups whose members used none of what the group grants. Identities created inside the window "
    "are not judged.",
    remediation="Remove the identity, or detach its policies; for a group, remove its policies or the group.",
    needs=frozenset({"activity"}),
    detect=_detect,
)
