"""Super identities: every action on every resource, after denies, permissions boundaries and SCPs.

Rule (the one place it is decided; docs/findings.md explains it): an identity is super, administrator-
equivalent, when its effective permissions allow on every resource and without a condition (`allResources`)
1. every catalogue action, or
2. every action of the cloud's self-granting set (AWS: all of `iam:*`): such an identity can delete its own
   permissions boundary and deny statements and write itself any policy, so it holds what the organization's
   policies leave to `*` (`CloudView.organization_ceiling`);
and the actions still missing (none, or what the SCPs deny) are ones an SCP Deny statement names and at most
`SCP_GUARDRAIL_SHARE` of the catalogue: an administrator under the usual guardrail SCPs (deny leaving the
organization, deny stopping CloudTrail) still administers the account. An `iam:*` allow plus a
`NotAction: iam:*` allow is super; so is `iam:*` alone; AdministratorAccess with a deny-all, or with an
EC2-only boundary, is not, nor is `iam:*` with a Deny of one IAM action. A single self-granting action (only
iam:PutUserPolicy on itself) is an escalation path, not super: the identity must act first. Region-restricting
SCPs (a conditional Deny of nearly everything) make almost every action conditional, so such administrators
are not reported as super.
"""

from __future__ import annotations

from collections.abc import Iterator

from permscope.analytics.detector import ALL_CLOUDS, Detector, table_clouds, table_types
from permscope.analytics.subjects import (
    FUNCTION,
    INSTANCE,
    ROLE,
    SERVICE_ACCOUNT,
    SERVICE_PRINCIPAL,
    USER,
    TypeTable,
    cached,
    finding_type,
    identity_finding,
    per_identity,
    permissions,
    policy_names,
    subjects,
)
from permscope.core.findings import Finding, Severity
from permscope.core.ids import Cloud
from permscope.core.permissions import EffectivePermissions
from permscope.core.snapshot import SystemSnapshot

TYPES: TypeTable = {
    USER: "superUserFinding",
    ROLE: {Cloud.AWS: "superAwsRoleFinding"},
    SERVICE_PRINCIPAL: {Cloud.AZURE: "superAzureServicePrincipalFinding"},
    SERVICE_ACCOUNT: {Cloud.GCP: "superGcpServiceAccountFinding"},
    FUNCTION: "superServerlessFunctionFinding",
    INSTANCE: {Cloud.AWS: "superAwsResourceFinding"},
}
SCP_GUARDRAIL_SHARE = 0.05
MAX_LISTED = 20


def is_super_bits(snapshot: SystemSnapshot, permissions: EffectivePermissions) -> bool:
    """The super rule (see the module docstring) on a permission set."""
    return _gap(snapshot, permissions.all_resources) is not None


def super_gap(snapshot: SystemSnapshot, external_id: str) -> int | None:
    """None when the identity is not super; else the actions it lacks (0, or a few an SCP denies)."""
    found = permissions(snapshot, external_id)
    if found is None:
        return None
    # identities with equal policies share one permissions object: decide once per object
    return cached(snapshot, ("superGap", id(found)), lambda: (found, _gap(snapshot, found.all_resources)))[1]


def grants_itself_everything(snapshot: SystemSnapshot, all_resources: int) -> bool:
    """Rule 2: the identity holds every self-granting action on every resource, unconditionally."""
    granting = snapshot.view.self_granting()
    return bool(granting) and all_resources & granting == granting


def _gap(snapshot: SystemSnapshot, all_resources: int) -> int | None:
    missing = snapshot.index.full & ~all_resources
    if not missing:
        return 0
    if grants_itself_everything(snapshot, all_resources):
        missing = snapshot.index.full & ~snapshot.view.organization_ceiling()
        if not missing:
            return 0
    if missing & ~snapshot.view.guardrail_denied():
        return None
    if missing.bit_count() > SCP_GUARDRAIL_SHARE * snapshot.index.size:
        return None
    return missing


def is_super(snapshot: SystemSnapshot, external_id: str) -> bool:
    """Whether the identity (or function / instance through its role) is super (see the module rule)."""
    known: dict[str, bool] = per_identity(snapshot, "super")
    found = known.get(external_id)
    if found is None:
        found = known[external_id] = super_gap(snapshot, external_id) is not None
    return found


def _detect(snapshot: SystemSnapshot) -> Iterator[Finding]:
    size = snapshot.index.size
    for subject in subjects(snapshot):
        kind_type = finding_type(snapshot, subject, TYPES)
        if kind_type is None:
            continue
        if not is_super(snapshot, subject.external_id):
            continue
        gap = super_gap(snapshot, subject.external_id) or 0
        names = snapshot.index.names(gap)
        found = permissions(snapshot, subject.external_id)
        holds = found.all_resources if found is not None else 0
        rule = "every catalogue action on every resource"
        if snapshot.index.full & ~holds and grants_itself_everything(snapshot, holds):
            rule = "every IAM action on every resource, so it can give itself every action"
        if gap:
            rule += f" (but {len(names)} an SCP denies)"
        yield identity_finding(
            snapshot,
            DETECTOR,
            kind_type,
            subject,
            f"{subject.name} can perform {rule}.",
            evidence={
                "rule": rule,
                "allResourcesActions": holds.bit_count(),
                "catalogueActions": size,
                "deniedBySCP": names[:MAX_LISTED],
                "policies": policy_names(snapshot, subject.external_id),
            },
        )


DETECTOR = Detector(
    name="super",
    finding_types=table_types(TYPES),
    clouds=ALL_CLOUDS,
    type_clouds=table_clouds(TYPES),
    severity=Severity.HIGH,
    title="Super identities",
    description="Identities that can perform every action on every resource of the account after explicit "
    "denies, permissions boundaries and SCPs (a few actions denied by SCP guardrails excepted).",
    remediation="Replace administrator access with policies scoped to the actions and resources the identity "
    "uses; keep break-glass administrators few, with MFA, and monitored.",
    needs=frozenset(),
    detect=_detect,
)
