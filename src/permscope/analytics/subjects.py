"""What identity detectors share: the subjects they look at, per-snapshot caches, action summaries, findings.

A subject is a user, a role (service-linked roles excluded: AWS owns them), a Lambda function or an EC2
instance that carries a role (it acts with that role's permissions and usage). The root user is not a subject:
IAM policies do not bound it; only the credential detectors (MFA, keys) report on it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from permscope.analytics.context import EC2_INSTANCE, LAMBDA_FUNCTION
from permscope.clouds.aws.transform.dates import graph_instant, latest
from permscope.core.bitsets import bits_from_indexes, indexes_of
from permscope.core.findings import ActionSummary, Finding, FindingSubject
from permscope.core.ids import Cloud
from permscope.core.inventory import Identity, IdentityKind, JsonObject, Resource
from permscope.core.permissions import EffectivePermissions

if TYPE_CHECKING:
    from permscope.analytics.context import AwsAccountSnapshot
    from permscope.analytics.detector import Detector

T = TypeVar("T")
USER, ROLE, FUNCTION, INSTANCE = "user", "role", "function", "instance"
SUBJECT_KINDS = (USER, ROLE, FUNCTION, INSTANCE)
FUNCTION_TYPES = frozenset({LAMBDA_FUNCTION})  # the resource types of compute that acts as a role
INSTANCE_TYPES = frozenset({EC2_INSTANCE})
_FINDING_SUBJECTS = {
    USER: FindingSubject.IDENTITY,
    ROLE: FindingSubject.IDENTITY,
    FUNCTION: FindingSubject.SERVERLESS_FUNCTION,
    INSTANCE: FindingSubject.COMPUTE_INSTANCE,
}


def cached(snapshot: AwsAccountSnapshot, key: Any, compute: Callable[[], T]) -> T:
    """A value derived from the snapshot, computed once per snapshot and shared by every detector."""
    return snapshot.derive(key, compute)


def is_root(identity: Identity | None) -> bool:
    """Whether an identity is the account's root user."""
    return identity is not None and bool(identity.attributes.get("rootUser"))


@dataclass(frozen=True, slots=True)
class Subject:
    """A user, role, Lambda function or EC2 instance that identity findings are about."""

    kind: str  # user, role, function, instance
    external_id: str  # identity ARN, or the resource ARN of a function / instance
    name: str
    identity: (
        Identity | None
    )  # the user or role itself; for a function / instance, its role (None if unknown)
    resource: Resource | None = None

    @property
    def finding_subject(self) -> FindingSubject:
        """The relationship the finding embeds (identity, serverlessFunction, computeInstance)."""
        return _FINDING_SUBJECTS[self.kind]

    @property
    def role_id(self) -> str | None:
        """The role a function or instance acts as (the role itself for a role)."""
        if self.kind == ROLE:
            return self.external_id
        if self.resource is not None:
            role = self.resource.facts.get("executionRole") or self.resource.facts.get("instanceProfileRole")
            return str(role) if role else None
        return None


def subjects(snapshot: AwsAccountSnapshot) -> list[Subject]:
    """Every subject of identity findings in the snapshot, in a stable order (users, roles, functions,
    instances; each by external id)."""

    def compute() -> list[Subject]:
        found: list[Subject] = []
        for identity in sorted(snapshot.identities, key=lambda i: i.external_id):
            if identity.kind is IdentityKind.USER and not is_root(identity):
                found.append(Subject(USER, identity.external_id, identity.display_name, identity))
            elif identity.kind is IdentityKind.ROLE and not identity.managed_by_cloud:
                found.append(Subject(ROLE, identity.external_id, identity.display_name, identity))
        for kind, types in ((FUNCTION, FUNCTION_TYPES), (INSTANCE, INSTANCE_TYPES)):
            for resource in sorted(snapshot.resources or (), key=lambda r: r.external_id):
                if resource.resource_type not in types:
                    continue
                role = snapshot.role_of(resource)
                if not role:
                    continue
                role_identity = snapshot.identities_by_id.get(role)
                found.append(
                    Subject(kind, resource.external_id, resource.display_name, role_identity, resource)
                )
        return found

    return cached(snapshot, "subjects", compute)


def finding_type(kind: str, names: Mapping[str, str]) -> str:
    """The finding type of a subject kind from a detector's {kind: type} table."""
    return names[kind]


def permissions(snapshot: AwsAccountSnapshot, external_id: str) -> EffectivePermissions | None:
    """Effective permissions of an identity, group, function or instance (root: every action everywhere)."""
    known: dict[str, EffectivePermissions | None] = cached(snapshot, "permissions", dict)
    if external_id in known:
        return known[external_id]
    found: EffectivePermissions | None
    if is_root(snapshot.identities_by_id.get(external_id)):
        found = EffectivePermissions(all_resources=snapshot.index.full, specific_resources=0, conditional=0)
    else:
        found = snapshot.permissions(external_id)
    known[external_id] = found
    return found


def granted_bits(snapshot: AwsAccountSnapshot, external_id: str) -> int:
    """The actions granted in any way (0 when the identity has no permissions or is unknown)."""
    found = permissions(snapshot, external_id)
    return 0 if found is None else found.granted


def used_bits(snapshot: AwsAccountSnapshot, external_id: str) -> int:
    """The catalogue actions used inside the window: by the identity (a function / instance through its
    role), or for a group by any of its members."""

    def compute() -> int:
        identity = snapshot.identities_by_id.get(external_id)
        if identity is not None and identity.kind is IdentityKind.GROUP:
            bits = 0
            for member in snapshot.members_of.get(external_id, ()):
                bits |= used_bits(snapshot, member)
            return bits
        index = snapshot.index
        positions = (index.index_of(action) for action in snapshot.exercised(external_id))
        return bits_from_indexes(p for p in positions if p is not None)

    return cached(snapshot, ("used", external_id), compute)


def last_seen(snapshot: AwsAccountSnapshot, external_id: str) -> datetime | None:
    """The last activity known of an identity (or of a function's / instance's role): its last-active
    date or the latest usage, whichever is later."""
    latest_usage = cached(snapshot, "lastUsage", lambda: _latest_usage(snapshot))
    identity = snapshot.identities_by_id.get(external_id)
    if identity is None:
        resource = snapshot.resources_by_id.get(external_id)
        role = snapshot.role_of(resource) if resource is not None else None
        identity = snapshot.identities_by_id.get(role) if role else None
        external_id = role or external_id
    return latest(identity.last_active_at if identity else None, latest_usage.get(external_id))


def _latest_usage(snapshot: AwsAccountSnapshot) -> dict[str, datetime]:
    found: dict[str, datetime] = {}
    for usage in snapshot.usages or ():
        current = found.get(usage.identity_external_id)
        if current is None or usage.last_seen > current:
            found[usage.identity_external_id] = usage.last_seen
    return found


def action_summary(snapshot: AwsAccountSnapshot, external_id: str) -> ActionSummary:
    """The contract's actionSummary: actions granted, catalogue actions used in the window, catalogue size."""
    return ActionSummary(
        assigned=granted_bits(snapshot, external_id).bit_count(),
        exercised=used_bits(snapshot, external_id).bit_count(),
        available=snapshot.index.size,
    )


def identity_details(snapshot: AwsAccountSnapshot, subject: Subject) -> JsonObject:
    """The contract's identityDetails: creation and last activity (ISO text with Z, or None)."""
    created = subject.identity.created_at if subject.resource is None and subject.identity else None
    return {
        "createdDateTime": graph_instant(created),
        "lastActiveDateTime": graph_instant(last_seen(snapshot, subject.external_id)),
    }


def identity_finding(
    snapshot: AwsAccountSnapshot,
    detector: Detector,
    finding_type: str,
    subject: Subject,
    summary: str,
    properties: JsonObject | None = None,
    evidence: JsonObject | None = None,
) -> Finding:
    """A finding about a subject, with its identityDetails, actionSummary and PCI."""
    found_evidence: JsonObject = dict(evidence or {})
    if subject.resource is not None:
        found_evidence.setdefault("role", subject.role_id)
    return Finding(
        finding_type=finding_type,
        cloud=Cloud.AWS,
        system_id=snapshot.system_id,
        subject=subject.finding_subject,
        subject_id=subject.external_id,
        subject_name=subject.name,
        severity=detector.severity,
        summary=summary,
        properties={"identityDetails": identity_details(snapshot, subject), **(properties or {})},
        evidence=found_evidence,
        action_summary=action_summary(snapshot, subject.external_id),
        pci=snapshot.pci(subject.external_id),
    )


def action_bits(snapshot: AwsAccountSnapshot, key: str, patterns: tuple[str, ...]) -> int:
    """The bitset of some action patterns over the snapshot's catalogue, expanded once per snapshot."""

    def compute() -> int:
        bits, _unknown = snapshot.index.expand_all(patterns)
        return bits

    return cached(snapshot, ("actions", key), compute)


def flag_findings(
    snapshot: AwsAccountSnapshot,
    detector: Detector,
    types: Mapping[str, str],
    flags: Mapping[str, int],
    flag_property: str,
    describe: Callable[[Subject, list[str]], str],
    listed: int | None = None,
) -> Iterator[Finding]:
    """One finding per subject holding (in any way) some flag's actions: the contract's flags property
    (`flag_property`, e.g. securityTools) names the flags held; evidence lists the actions held per flag (at
    most `listed` of each, with their counts) and the policies that grant them. `types`: subject kind -> type."""
    for subject in subjects(snapshot):
        held = granted_flags(snapshot, subject.external_id, flag_property, flags)
        if not held:
            continue
        names = list(held)
        evidence: JsonObject = {
            "actions": {flag: dict(list(actions.items())[:listed]) for flag, actions in held.items()},
            "policies": policy_names(snapshot, subject.external_id),
        }
        if listed is not None:
            evidence["actionCounts"] = {flag: len(actions) for flag, actions in held.items()}
        yield identity_finding(
            snapshot,
            detector,
            types[subject.kind],
            subject,
            describe(subject, names),
            properties={flag_property: flags_text(names)},
            evidence=evidence,
        )


def flags_text(flags: list[str]) -> str:
    """A flags enumeration value as the contract writes it: comma-separated member names."""
    return ",".join(flags)


def policy_names(snapshot: AwsAccountSnapshot, external_id: str) -> list[str]:
    """The identity policies that reach a user, group or role (a function / instance: its role), for
    evidence; a user's group policies are named "group/policy"."""
    return cached(snapshot, ("policyNames", external_id), lambda: _policy_names(snapshot, external_id))


def _policy_names(snapshot: AwsAccountSnapshot, external_id: str) -> list[str]:
    resource = snapshot.resources_by_id.get(external_id)
    principal = (snapshot.role_of(resource) if resource is not None else None) or external_id
    identity = snapshot.identities_by_id.get(principal)
    if identity is None or identity.kind not in (IdentityKind.USER, IdentityKind.GROUP, IdentityKind.ROLE):
        return []
    applied = snapshot.evaluator.principal(principal)
    names = [f"{p.via.rsplit('/', 1)[-1]}/{p.name}" if p.via else p.name for p in applied.identity]
    if applied.boundary is not None:
        names.append(f"boundary {applied.boundary.name}")
    return sorted(set(names))


def granted_flags(
    snapshot: AwsAccountSnapshot, external_id: str, name: str, flags: Mapping[str, int]
) -> dict[str, dict[str, str]]:
    """For each flag whose actions the identity holds in any way: {action: grant status} of those actions.

    `name` names the flag table (one table per name and snapshot). Computed once per distinct
    effective-permissions object (identities with equal policies share one)."""
    found = permissions(snapshot, external_id)
    if found is None:
        return {}
    key = ("flags", name, id(found))
    return cached(snapshot, key, lambda: (found, _flags_of(snapshot, found, flags)))[1]


def _flags_of(
    snapshot: AwsAccountSnapshot, found: EffectivePermissions, flags: Mapping[str, int]
) -> dict[str, dict[str, str]]:
    result: dict[str, dict[str, str]] = {}
    statuses = (
        ("allResources", found.all_resources),
        ("specificResources", found.specific_resources),
        ("conditional", found.conditional),
    )
    for flag, bits in flags.items():
        if not found.granted & bits:
            continue
        held: dict[int, str] = {}
        for status, granted in statuses:
            held.update(dict.fromkeys(indexes_of(granted & bits), status))
        result[flag] = {snapshot.index.action(i).external_id: held[i] for i in sorted(held)}
    return result
