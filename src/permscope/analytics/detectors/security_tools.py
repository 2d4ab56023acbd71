"""Identities that can administer (disable, delete, reconfigure) the account's security tools.

Rule: the identity holds, in any way, a write or permissions-management action of the tool's services whose
name starts with a verb that turns the tool off or changes what it reports: Delete, Disable, Stop, Update,
Put, Disassociate, Deregister, Remove, Archive (and their Batch forms). Services per flag of the contract's
awsSecurityToolWebServices: macie (macie2, macie), wafShield (waf, wafv2, waf-regional, shield), cloudTrail
(cloudtrail), inspector (inspector, inspector2), securityHub (securityhub), detective (detective),
guardDuty (guardduty).
"""

from __future__ import annotations

from collections.abc import Iterator

from permscope.analytics.detector import AWS, Detector
from permscope.analytics.subjects import (
    FUNCTION,
    INSTANCE,
    ROLE,
    USER,
    cached,
    flag_findings,
)
from permscope.core.bitsets import bits_from_indexes, indexes_of
from permscope.core.catalog import HIGH_ACCESS_LEVELS
from permscope.core.findings import Finding, Severity
from permscope.core.snapshot import SystemSnapshot

TYPES = {
    USER: "securityToolAwsUserAdministratorFinding",
    ROLE: "securityToolAwsRoleAdministratorFinding",
    FUNCTION: "securityToolAwsServerlessFunctionAdministratorFinding",
    INSTANCE: "securityToolAwsResourceAdministratorFinding",
}
TOOL_SERVICES = {  # in the contract's flag order
    "macie": ("macie2", "macie"),
    "wafShield": ("waf", "wafv2", "waf-regional", "shield"),
    "cloudTrail": ("cloudtrail",),
    "inspector": ("inspector", "inspector2"),
    "securityHub": ("securityhub",),
    "detective": ("detective",),
    "guardDuty": ("guardduty",),
}
VERBS = ("Delete", "Disable", "Stop", "Update", "Put", "Disassociate", "Deregister", "Remove", "Archive")
BATCH_VERBS = tuple(f"Batch{verb}" for verb in VERBS)
MAX_LISTED = 10


def tool_actions(snapshot: SystemSnapshot) -> dict[str, int]:
    """Per flag, the administering actions of the tool's services in the catalogue (computed once)."""

    def compute() -> dict[str, int]:
        index = snapshot.index
        found: dict[str, int] = {}
        for flag, services in TOOL_SERVICES.items():
            members = []
            for service in services:
                for position in indexes_of(index.service_bits(service)):
                    action = index.action(position)
                    verb = action.external_id.split(":", 1)[-1]
                    if action.access_level in HIGH_ACCESS_LEVELS and verb.startswith((*VERBS, *BATCH_VERBS)):
                        members.append(position)
            found[flag] = bits_from_indexes(members)
        return found

    return cached(snapshot, "securityToolActions", compute)


def _detect(snapshot: SystemSnapshot) -> Iterator[Finding]:
    return flag_findings(
        snapshot,
        DETECTOR,
        TYPES,
        tool_actions(snapshot),
        "securityTools",
        lambda subject, names: f"{subject.name} can disable or reconfigure {', '.join(names)}.",
        listed=MAX_LISTED,
    )


DETECTOR = Detector(
    name="securityToolAdministrator",
    finding_types=tuple(TYPES.values()),
    clouds=AWS,
    severity=Severity.HIGH,
    title="Security tool administrators",
    description="Identities that can delete, disable, stop or reconfigure Macie, WAF/Shield, CloudTrail, "
    "Inspector, Security Hub, Detective or GuardDuty.",
    remediation="Keep these actions to the security team's roles; deny them to everyone else with an SCP "
    "guardrail (e.g. deny cloudtrail:StopLogging, guardduty:DeleteDetector).",
    needs=frozenset(),
    detect=_detect,
)
