"""What identity detectors share: the subjects they look at, per-snapshot caches, action summaries, findings.

A subject is a user, a role, service principal, managed identity or service account (those the cloud manages
itself excluded: AWS service-linked roles, first-party apps, Google-managed accounts), or a function or instance
that runs as an identity (it acts with that identity's permissions and usage). An identity no policy bounds
(the AWS root user) is not a subject; only the credential detectors (MFA, keys) report on it. The same rules
hold for every cloud; the cloud answers what only it knows through the snapshot's view.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import TYPE_CHECKING, Any, TypeVar

from permscope.analytics.pci import pci_of
from permscope.core.bitsets import bits_from_indexes, indexes_of
from permscope.core.findings import ActionSummary, Finding, FindingSubject
from permscope.core.ids import Cloud
from permscope.core.inventory import Identity, IdentityKind, JsonObject, Resource
from permscope.core.permissions import EffectivePermissions
from permscope.core.snapshot import FUNCTION as FUNCTION
from permscope.core.snapshot import INSTANCE as INSTANCE
from permscope.core.snapshot import SystemSnapshot
from permscope.core.times import graph_instant, latest

if TYPE_CHECKING:
    from permscope.analytics.detector import Detector

T = TypeVar("T")
USER, ROLE = "user", "role"
SERVICE_PRINCIPAL, SERVICE_ACCOUNT = "servicePrincipal", "serviceAccount"
SUBJECT_KINDS = (USER, ROLE, SERVICE_PRINCIPAL, SERVICE_ACCOUNT, FUNCTION, INSTANCE)
# identity kind -> subject kind (a managed identity is an Entra service principal)
_IDENTITY_SUBJECTS = {
    IdentityKind.USER: USER,
    IdentityKind.ROLE: ROLE,
    IdentityKind.SERVICE_PRINCIPAL: SERVICE_PRINCIPAL,
    IdentityKind.MANAGED_IDENTITY: SERVICE_PRINCIPAL,
    IdentityKind.SERVICE_ACCOUNT: SERVICE_ACCOUNT,
}
_FINDING_SUBJECTS = {
    FUNCTION: FindingSubject.SERVERLESS_FUNCTION,
    INSTANCE: FindingSubject.COMPUTE_INSTANCE,
}
# A detector's finding types: subject kind -> the type, or cloud -> the type where the contract names one per cloud
TypeTable = Mapping[str, str | Mapping[Cloud, str]]


def cached(snapshot: SystemSnapshot, key: Any, compute: Callable[[], T]) -> T:
    """A value derived from the snapshot, computed once per snapshot and shared by every detector."""
    return snapshot.derive(key, compute)


def per_identity(snapshot: SystemSnapshot, name: str) -> dict[Any, Any]:
    """The snapshot's table of one value derived per identity (or subject), by external id: what every identity
    finding asks for several times (its PCI, action summary, used actions) is looked up there, without a
    cache key and a closure of its own each time."""
    return snapshot.identity_tables[name]


def is_unbounded(snapshot: SystemSnapshot, identity: Identity | None) -> bool:
    """Whether no policy bounds an identity (the AWS root user)."""
    return identity is not None and snapshot.view.is_unbounded(identity)


@dataclass(frozen=True, slots=True)
class Subject:
    """A user, role, service principal or account, function or instance that identity findings are about."""

    kind: str  # one of SUBJECT_KINDS
    external_id: str  # the identity's external id, or the resource id of a function / instance
    name: str
    identity: Identity | None  # the identity itself; for a function / instance, the one it runs as (if known)
    resource: Resource | None = None
    runs_as: str | None = None  # for a function / instance: the identity it runs as

    @property
    def finding_subject(self) -> FindingSubject:
        """The relationship the finding embeds (identity, serverlessFunction, computeInstance)."""
        return _FINDING_SUBJECTS.get(self.kind, FindingSubject.IDENTITY)

    @property
    def created_at(self) -> datetime | None:
        """When the identity was created; None for a function / instance (judged by its own use, not its
        identity's age) or when unknown."""
        return self.identity.created_at if self.resource is None and self.identity is not None else None

    @property
    def principal_id(self) -> str:
        """The identity whose permissions the subject holds (itself, or what a function / instance runs as)."""
        return self.runs_as or self.external_id


def subjects(snapshot: SystemSnapshot) -> list[Subject]:
    """Every subject of identity findings in the snapshot, in a stable order (identities, functions,
    instances; each by external id)."""

    def compute() -> list[Subject]:
        found: list[Subject] = []
        for identity in sorted(snapshot.identities, key=lambda i: i.external_id):
            kind = _IDENTITY_SUBJECTS.get(identity.kind)
            if kind is None or is_unbounded(snapshot, identity):
                continue
            if kind != USER and identity.managed_by_cloud:
                continue
            found.append(Subject(kind, identity.external_id, identity.display_name, identity))
        compute_resources: dict[str, list[tuple[Resource, str]]] = {FUNCTION: [], INSTANCE: []}
        for resource in sorted(snapshot.resources or (), key=lambda r: r.external_id):
            kind = snapshot.view.compute_kind(resource)
            runs_as = snapshot.acts_as(resource) if kind is not None else None
            if kind in compute_resources and runs_as:
                compute_resources[kind].append((resource, runs_as))
        for kind, members in compute_resources.items():
            for resource, runs_as in members:
                runner = snapshot.identities_by_id.get(runs_as)
                found.append(
                    Subject(kind, resource.external_id, resource.display_name, runner, resource, runs_as)
                )
        return found

    return cached(snapshot, "subjects", compute)


def finding_type(snapshot: SystemSnapshot, subject: Subject, types: TypeTable) -> str | None:
    """The finding type of a subject from a detector's table, None when the contract has none for it."""
    found = types.get(subject.kind)
    if found is None or isinstance(found, str):
        return found
    return found.get(snapshot.cloud)


def permissions(snapshot: SystemSnapshot, external_id: str) -> EffectivePermissions | None:
    """Effective permissions of an identity, group, function or instance (root: every action everywhere)."""
    known: dict[str, EffectivePermissions | None] = per_identity(snapshot, "permissions")
    try:
        return known[external_id]
    except KeyError:
        pass
    found: EffectivePermissions | None
    if is_unbounded(snapshot, snapshot.identities_by_id.get(external_id)):
        found = EffectivePermissions(all_resources=snapshot.index.full, specific_resources=0, conditional=0)
    else:
        found = snapshot.permissions(external_id)
    known[external_id] = found
    return found


def granted_bits(snapshot: SystemSnapshot, external_id: str) -> int:
    """The actions granted in any way (0 when the identity has no permissions or is unknown)."""
    found = permissions(snapshot, external_id)
    return 0 if found is None else found.granted


def used_bits(snapshot: SystemSnapshot, external_id: str) -> int:
    """The catalogue actions used inside the window: by the identity (a function / instance through its
    role), or for a group by any of its members."""
    known: dict[str, int] = per_identity(snapshot, "used")
    found = known.get(external_id)
    if found is None:
        found = known[external_id] = _used_bits(snapshot, external_id)
    return found


def _used_bits(snapshot: SystemSnapshot, external_id: str) -> int:
    identity = snapshot.identities_by_id.get(external_id)
    if identity is not None and identity.kind is IdentityKind.GROUP:
        bits = 0
        for member in snapshot.members_of.get(external_id, ()):
            bits |= used_bits(snapshot, member)
        return bits
    exercised = snapshot.exercised(external_id)
    if not exercised:  # most identities of a system: nothing used there
        return 0
    index = snapshot.index
    positions = (index.index_of(action) for action in exercised)
    return bits_from_indexes(p for p in positions if p is not None)


def last_seen(snapshot: SystemSnapshot, external_id: str) -> datetime | None:
    """The last activity known of an identity (or of a function's / instance's role): its last-active
    date or the latest usage, whichever is later (once per identity: every detector and the PCI ask)."""
    known: dict[str, datetime | None] = per_identity(snapshot, "lastSeen")
    try:
        return known[external_id]
    except KeyError:
        pass
    latest_usage = cached(snapshot, "lastUsage", lambda: _latest_usage(snapshot))
    principal = external_id
    identity = snapshot.identities_by_id.get(principal)
    if identity is None:
        principal = snapshot.principal_of(principal)
        identity = snapshot.identities_by_id.get(principal)
    found = known[external_id] = latest(
        identity.last_active_at if identity else None, latest_usage.get(principal)
    )
    return found


def _latest_usage(snapshot: SystemSnapshot) -> dict[str, datetime]:
    found: dict[str, datetime] = {}
    for usage in snapshot.usages or ():
        current = found.get(usage.identity_external_id)
        if current is None or usage.last_seen > current:
            found[usage.identity_external_id] = usage.last_seen
    return found


def action_summary(snapshot: SystemSnapshot, external_id: str) -> ActionSummary:
    """The contract's actionSummary: actions granted, catalogue actions used in the window, catalogue size
    (counted once per identity, however many findings it has)."""
    known: dict[str, ActionSummary] = per_identity(snapshot, "actionSummary")
    found = known.get(external_id)
    if found is None:
        found = known[external_id] = ActionSummary(
            assigned=granted_bits(snapshot, external_id).bit_count(),
            exercised=used_bits(snapshot, external_id).bit_count(),
            available=snapshot.index.size,
        )
    return found


def identity_details(snapshot: SystemSnapshot, subject: Subject) -> JsonObject:
    """The contract's identityDetails: creation and last activity (ISO text with Z, or None)."""
    created = subject.created_at
    known: dict[tuple[str, datetime | None], JsonObject] = per_identity(snapshot, "identityDetails")
    key = (subject.external_id, created)
    found = known.get(key)
    if found is None:
        found = known[key] = {
            "createdDateTime": graph_instant(created),
            "lastActiveDateTime": graph_instant(last_seen(snapshot, subject.external_id)),
        }
    return dict(found)  # each finding gets its own (written once per identity)


def identity_finding(
    snapshot: SystemSnapshot,
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
        found_evidence.setdefault("role", subject.runs_as)
    return Finding(
        finding_type=finding_type,
        cloud=snapshot.cloud,
        system_id=snapshot.system_id,
        subject=subject.finding_subject,
        subject_id=subject.external_id,
        subject_name=subject.name,
        severity=detector.severity,
        summary=summary,
        properties={"identityDetails": identity_details(snapshot, subject), **(properties or {})},
        evidence=found_evidence,
        action_summary=action_summary(snapshot, subject.external_id),
        pci=pci_of(snapshot, subject.external_id),
    )


def action_bits(snapshot: SystemSnapshot, key: str, patterns: tuple[str, ...]) -> int:
    """The bitset of some action patterns over the snapshot's catalogue, expanded once per snapshot."""

    def compute() -> int:
        bits, _unknown = snapshot.index.expand_all(patterns)
        return bits

    return cached(snapshot, ("actions", key), compute)


def flag_findings(
    snapshot: SystemSnapshot,
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
            "actions": {flag: dict(islice(actions.items(), listed)) for flag, actions in held.items()},
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


def policy_names(snapshot: SystemSnapshot, external_id: str) -> list[str]:
    """The policies that reach an identity (a function / instance: its identity), for evidence."""
    return cached(snapshot, ("policyNames", external_id), lambda: snapshot.view.policy_names(external_id))


def granted_flags(
    snapshot: SystemSnapshot, external_id: str, name: str, flags: Mapping[str, int]
) -> dict[str, dict[str, str]]:
    """For each flag whose actions the identity holds in any way: {action: grant status} of those actions.

    `name` names the flag table (one table per name and snapshot). Computed once per distinct
    effective-permissions object (identities with equal policies share one), and each flag's listing once per
    distinct way of holding its actions (most permission sets hold a flag's few actions alike)."""
    found = permissions(snapshot, external_id)
    if found is None:
        return {}
    key = ("flags", name, id(found))
    listings: dict[tuple[object, ...], dict[str, str]] = cached(snapshot, ("flagListings", name), dict)
    return cached(snapshot, key, lambda: (found, _flags_of(snapshot, found, flags, listings)))[1]


def _flags_of(
    snapshot: SystemSnapshot,
    found: EffectivePermissions,
    flags: Mapping[str, int],
    listings: dict[tuple[object, ...], dict[str, str]],
) -> dict[str, dict[str, str]]:
    result: dict[str, dict[str, str]] = {}
    granted = found.granted
    for flag, bits in flags.items():
        if not granted & bits:
            continue
        statuses = (
            ("allResources", found.all_resources & bits),
            ("specificResources", found.specific_resources & bits),
            ("conditional", found.conditional & bits),
        )
        key = (flag, *(held for _status, held in statuses))
        listing = listings.get(key)
        if listing is None:
            held: dict[int, str] = {}
            for status, positions in statuses:
                held.update(dict.fromkeys(indexes_of(positions), status))
            listing = listings[key] = {snapshot.index.action(i).external_id: held[i] for i in sorted(held)}
        result[flag] = listing
    return result
