"""Privilege escalation: users, roles, functions and instances that can reach admin or more permissions.

A principal escalates when a chain of its cloud's techniques (AWS: the pathfinding.cloud ids and role
assumptions; GCP: `clouds.gcp.escalation`, service-account impersonation and Rhino Security Labs' methods), each
decided by the engine on the concrete resources, reaches a super identity (or writes `*` into
policies that no boundary or SCP limits), or reaches permissions holding notable actions it lacks (see
`privesc.search`). A Lambda function or EC2 instance escalates when its role does. Super identities are not
reported here (they are already everything). Each path becomes one contract `privilegeEscalation` object, with
our `steps` (technique id, actions, source, target, resources, whether it depends on a resource permscope has not
seen, whether it holds only under conditions permscope cannot decide). Works on an IAM export alone.

A principal that does not reach admin itself but can make ANOTHER principal administrator-equivalent (write
another user's or role's policies, a group's policies, add another user to an administrator group) is reported
too, with paths of their own kind (`reaches: grantsAdmin`): each names the beneficiary and, when one exists,
the chain by which the principal then reaches it (`reach`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from permscope.analytics.detector import AWS, AZURE, GCP, Detector, table_clouds, table_types
from permscope.analytics.detectors.super_identity import is_super
from permscope.analytics.privesc.analysis import escalation_analysis
from permscope.analytics.privesc.search import Path
from permscope.analytics.subjects import (
    FUNCTION,
    INSTANCE,
    ROLE,
    SERVICE_ACCOUNT,
    SERVICE_PRINCIPAL,
    USER,
    TypeTable,
    finding_type,
    identity_finding,
    subjects,
)
from permscope.core.arn import resource_name
from permscope.core.escalation import Step
from permscope.core.findings import Finding, Severity
from permscope.core.ids import Cloud
from permscope.core.snapshot import SystemSnapshot

AZURE_SERVICE_PRINCIPAL_TYPE = "privilegeEscalationAzureServicePrincipalFinding"
TYPES: TypeTable = {
    USER: "privilegeEscalationUserFinding",
    ROLE: {Cloud.AWS: "privilegeEscalationAwsRoleFinding"},
    FUNCTION: {Cloud.AWS: "privilegeEscalationAwsResourceFinding"},
    INSTANCE: {Cloud.AWS: "privilegeEscalationAwsResourceFinding"},
    SERVICE_ACCOUNT: {Cloud.GCP: "privilegeEscalationGcpServiceAccountFinding"},
    # Azure is beyond the contract (aws and gcp only): users under its user type, service principals and
    # managed identities under an extension type named like the contract's per-cloud ones (docs/findings.md)
    SERVICE_PRINCIPAL: {Cloud.AZURE: AZURE_SERVICE_PRINCIPAL_TYPE},
}


def _name(arn: str) -> str:
    return resource_name(arn)


GRANTS_ADMIN = "grantsAdmin"


def _outcome(path: Path, name: Callable[[str], str] = _name) -> str:
    if path.admin:
        return "administrator access"
    if path.grants:
        return f"grants administrator-equivalent rights to {name(path.target)}"
    return "more permissions"


def _words(step: Step, name: Callable[[str], str] = _name) -> str:
    used = f"{name(step.source)} uses {step.technique_name} ({step.technique_id})" + (
        f" through {step.via}" if step.via else ""
    )
    if step.grants:
        return used + f" to give {name(step.target)} administrator-equivalent rights"
    return used + (f" to act as {name(step.target)}" if step.target != step.source else " on itself")


def escalation_detail(path: Path, name: Callable[[str], str] = _name) -> dict[str, Any]:
    """The contract's privilegeEscalation object for one path, with our `steps` and flags (principals named by
    `name`: the last part of an ARN, or an Entra object's display name)."""
    hops = " -> ".join(f"{step.technique_id} {name(step.target)}" for step in path.steps)
    outcome = _outcome(path, name)
    words = [_words(step, name) for step in path.steps]
    flags = []
    if path.depends_on_unseen_resource:
        flags.append("it depends on a resource permscope has not seen")
    if path.conditional:
        keys = sorted({key for step in path.steps for key in step.condition_keys})
        flags.append(f"it holds only when conditions on {', '.join(keys)} are met")
    description = "; then ".join(words) + ("." if path.grants else f": {outcome}.")
    if path.grants:
        start = name(path.steps[0].source)
        description += (
            f" {start} can then reach {name(path.target)} through "
            + ", then ".join(f"{step.technique_name} ({step.technique_id})" for step in path.reach)
            + "."
            if path.reach
            else f" {start} cannot itself act as {name(path.target)}."
        )
    description += f" Note: {'; '.join(flags)}." if flags else ""
    actions = dict.fromkeys(action for step in path.steps for action in step.actions)
    resources = dict.fromkeys(resource for step in path.steps for resource in step.resources)
    detail: dict[str, Any] = {
        "displayName": f"{hops} ({outcome})",
        "description": description,
        "actions": [{"externalId": action} for action in actions],
        "resources": [{"externalId": resource} for resource in resources],
        "reaches": "admin" if path.admin else GRANTS_ADMIN if path.grants else "morePermissions",
        "target": path.target,
        "dependsOnUnseenResource": path.depends_on_unseen_resource,
        "conditional": path.conditional,
        "steps": [step.to_dict() for step in path.steps],
    }
    if path.grants:
        detail["beneficiaries"] = [path.target]
        detail["reach"] = [step.to_dict() for step in path.reach]
    return detail


def _detect(snapshot: SystemSnapshot) -> Iterator[Finding]:
    analysis = escalation_analysis(snapshot)
    if analysis is None:
        return
    identities = None if snapshot.cloud is Cloud.AWS else snapshot.identities_by_id
    names: dict[str, str] = {}  # the same principals appear in many paths

    def name(external_id: str) -> str:  # an ARN's last part; an Entra object id by its display name
        known = names.get(external_id)
        if known is None:
            found = identities.get(external_id) if identities is not None else None
            known = names[external_id] = found.display_name if found is not None else _name(external_id)
        return known

    for subject in subjects(snapshot):
        kind_type = finding_type(snapshot, subject, TYPES)
        principal = subject.principal_id
        if kind_type is None or is_super(snapshot, subject.external_id):
            continue
        paths = analysis.paths(principal)
        if not paths:
            continue
        best = paths[0]
        acting = f" (acting as {name(principal)})" if principal != subject.external_id else ""
        beneficiaries = list(dict.fromkeys(p.target for p in paths if p.grants))
        if best.grants:
            summary = (
                f"{subject.name}{acting} grants administrator-equivalent rights to "
                f"{', '.join(name(b) for b in beneficiaries)}: "
                f"{' -> '.join(step.technique_id for step in best.steps)}."
            )
        else:
            summary = (
                f"{subject.name}{acting} can escalate to {_outcome(best)} in {len(best.steps)} step(s): "
                f"{' -> '.join(step.technique_id for step in best.steps)}."
            )
        evidence: dict[str, Any] = {
            "reachesAdmin": best.admin,
            "paths": len(paths),
            "principal": principal,
            "techniques": sorted({s.technique_id for p in paths for s in p.steps}),
        }
        if beneficiaries:
            evidence["grantsAdminTo"] = beneficiaries
        finding = identity_finding(
            snapshot,
            DETECTOR,
            kind_type,
            subject,
            summary,
            properties={"privilegeEscalationDetails": [escalation_detail(path, name) for path in paths]},
            evidence=evidence,
        )
        finding.action_summary = None  # the contract's privilegeEscalationFinding has no actionSummary
        yield finding


DETECTOR = Detector(
    name="privilegeEscalation",
    finding_types=table_types(TYPES),
    clouds=AWS | AZURE | GCP,
    type_clouds=table_clouds(TYPES),
    severity=Severity.CRITICAL,
    title="Privilege escalation",
    description="Identities that can give themselves administrator access, or permissions they do not hold, "
    "through a chain of known escalation techniques (AWS: pathfinding.cloud ids and role assumptions; GCP: "
    "Rhino Security Labs' methods, actAs services and service-account impersonation), each step "
    "decided by the cloud's engine (AWS: identity policies, boundaries, SCPs, trust and resource policies; GCP: "
    "allow and deny policies with conditions); and identities that can "
    "give another principal administrator-equivalent rights (write its policies, add it to an administrator "
    "group) without becoming it.",
    remediation="Break the first step of each path: scope iam:PassRole to the roles and services it is meant "
    "for, remove policy-writing and credential-creating IAM actions on other principals, restrict who a role's "
    "trust policy lets assume it, and put a permissions boundary on principals that must manage IAM. On GCP: "
    "grant actAs, token creator and key admin roles on single service accounts rather than the project, and "
    "keep setIamPolicy and role-update permissions to administrators.",
    needs=frozenset(),
    detect=_detect,
)
