"""Super identities: every action on every resource, after denies, permissions boundaries and SCPs.

Rule: an identity is super when its effective permissions allow every catalogue action on every resource
without a condition (`allResources` is the whole catalogue), or when the only actions missing are ones an SCP
Deny statement names and they are at most `SCP_GUARDRAIL_SHARE` of the catalogue: an administrator under
the usual guardrail SCPs (deny leaving the organization, deny stopping CloudTrail) still administers the
account. An `iam:*` allow plus a `NotAction: iam:*` allow is super; AdministratorAccess with a deny-all, or
with an EC2-only boundary, is not. Region-restricting SCPs (a conditional Deny of nearly everything) make
almost every action conditional, so such administrators are not reported as super.
"""

from __future__ import annotations

from collections.abc import Iterator

from permscope.analytics.context import AwsAccountSnapshot
from permscope.analytics.detector import AWS, Detector
from permscope.analytics.subjects import (
    FUNCTION,
    INSTANCE,
    ROLE,
    USER,
    cached,
    identity_finding,
    permissions,
    policy_names,
    subjects,
)
from permscope.clouds.aws.effective.compile import PolicyCompiler
from permscope.clouds.aws.engine.policy import PolicyType
from permscope.core.findings import Finding, Severity

TYPES = {
    USER: "superUserFinding",
    ROLE: "superAwsRoleFinding",
    FUNCTION: "superServerlessFunctionFinding",
    INSTANCE: "superAwsResourceFinding",
}
SCP_GUARDRAIL_SHARE = 0.05
MAX_LISTED = 20


def scp_denied(snapshot: AwsAccountSnapshot) -> int:
    """Every action some SCP Deny statement of the account's organization names (any resources, any
    condition)."""

    def compute() -> int:
        compiler = PolicyCompiler(snapshot.index)
        bits = 0
        for level in snapshot.scp_levels:
            for name, document in level.policies:
                bits |= compiler.compile(document, name=name, policy_type=PolicyType.SCP).deny_any
        return bits

    return cached(snapshot, "scpDenied", compute)


def super_gap(snapshot: AwsAccountSnapshot, external_id: str) -> int | None:
    """None when the identity is not super; else the actions it lacks (0, or a few an SCP denies)."""
    found = permissions(snapshot, external_id)
    if found is None:
        return None
    # identities with equal policies share one permissions object: decide once per object
    return cached(snapshot, ("superGap", id(found)), lambda: (found, _gap(snapshot, found.all_resources)))[1]


def _gap(snapshot: AwsAccountSnapshot, all_resources: int) -> int | None:
    missing = snapshot.index.full & ~all_resources
    if not missing:
        return 0
    if missing & ~scp_denied(snapshot):
        return None
    if missing.bit_count() > SCP_GUARDRAIL_SHARE * snapshot.index.size:
        return None
    return missing


def is_super(snapshot: AwsAccountSnapshot, external_id: str) -> bool:
    """Whether the identity (or function / instance through its role) is super (see the module rule)."""
    return cached(snapshot, ("super", external_id), lambda: super_gap(snapshot, external_id) is not None)


def _detect(snapshot: AwsAccountSnapshot) -> Iterator[Finding]:
    size = snapshot.index.size
    for subject in subjects(snapshot):
        if not is_super(snapshot, subject.external_id):
            continue
        gap = super_gap(snapshot, subject.external_id) or 0
        names = snapshot.index.names(gap)
        rule = "every catalogue action on every resource"
        if gap:
            rule = f"every catalogue action on every resource but {len(names)} an SCP denies"
        yield identity_finding(
            snapshot,
            DETECTOR,
            TYPES[subject.kind],
            subject,
            f"{subject.name} can perform {rule}.",
            evidence={
                "rule": rule,
                "allResourcesActions": size - gap.bit_count(),
                "catalogueActions": size,
                "deniedBySCP": names[:MAX_LISTED],
                "policies": policy_names(snapshot, subject.external_id),
            },
        )


DETECTOR = Detector(
    name="super",
    finding_types=tuple(TYPES.values()),
    clouds=AWS,
    severity=Severity.HIGH,
    title="Super identities",
    description="Identities that can perform every action on every resource of the account after explicit "
    "denies, permissions boundaries and SCPs (a few actions denied by SCP guardrails excepted).",
    remediation="Replace administrator access with policies scoped to the actions and resources the identity "
    "uses; keep break-glass administrators few, with MFA, and monitored.",
    needs=frozenset(),
    detect=_detect,
)
