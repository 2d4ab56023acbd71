"""One authorization system as analytics reads it, the same type for every cloud.

A `SystemSnapshot` holds the system's inventory as core objects, the usage inside the analysis window, and two
things its cloud supplies (through `clouds.base`): a `CloudView` that computes effective permissions and
answers the questions only that cloud can answer (which identity a function runs as, which account a principal
belongs to, who outside the system can act as a role, ...), and optionally the effective permissions the store
already holds (then nothing is recomputed). It is built from the store or from an in-memory batch, never reads
a database, and everything derived is computed once on first use and shared by every detector (`derive`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any, Protocol, TypeVar

import orjson

from permscope.core.catalog import ActionIndex
from permscope.core.findings import (
    DEFAULT_KEY_MAX_AGE_DAYS,
    DEFAULT_KEY_UNUSED_DAYS,
    DEFAULT_OVERPROVISIONED_RATIO,
    DEFAULT_WINDOW_DAYS,
)
from permscope.core.ids import Cloud
from permscope.core.inventory import (
    Assignment,
    AssignmentRelation,
    AuthorizationSystem,
    Identity,
    IdentityKind,
    Membership,
    Policy,
    Resource,
    Usage,
)
from permscope.core.permissions import EffectivePermissions, PrincipalResult

T = TypeVar("T")
FUNCTION, INSTANCE = "function", "instance"  # the compute kinds that act as an identity


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class AnalysisSettings:
    """The limits analyses use; every default is documented in docs/findings.md."""

    window_days: int = DEFAULT_WINDOW_DAYS  # activity window: exercised actions, inactivity
    overprovisioned_max_used_ratio: float = DEFAULT_OVERPROVISIONED_RATIO  # active, using less of its grants
    key_max_age_days: int = DEFAULT_KEY_MAX_AGE_DAYS  # access keys older than this are reported
    key_unused_days: int = DEFAULT_KEY_UNUSED_DAYS  # active access keys unused for this long are reported
    now: datetime = field(default_factory=_utc_now)
    # the start of the activity window, computed once: every subject of every detector compares with it
    window_start: datetime = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Compute the window start (the settings are frozen: it never changes)."""
        object.__setattr__(self, "window_start", self.now - timedelta(days=self.window_days))


@dataclass(frozen=True, slots=True)
class ExternalTrust:
    """Who from outside an authorization system may act as one of its identities (assume a role, impersonate a
    service account), as the identity's trust says; conditions are listed, not decided."""

    outside: dict[str, frozenset[str]]  # outside system (or "*": any) -> the principals named there
    whole_systems: frozenset[str]  # outside systems named as a whole (every principal there may)
    own_system: bool  # the identity's own system is named as a whole
    own_principals: frozenset[str]  # principals of its own system named one by one
    web_identity: frozenset[str]  # web-identity (OIDC) providers named
    saml: frozenset[str]  # SAML providers named
    condition_keys: frozenset[str]

    @property
    def kinds(self) -> list[str]:
        """Which kinds of outsiders it admits: anyAccount, crossAccount, webIdentity, sso."""
        found = []
        if "*" in self.outside:
            found.append("anyAccount")
        if set(self.outside) - {"*"}:
            found.append("crossAccount")
        if self.web_identity:
            found.append("webIdentity")
        if self.saml:
            found.append("sso")
        return found


class CloudView(Protocol):
    """What a cloud computes over one snapshot: effective permissions, and the facts only that cloud knows.

    Built by the cloud's plugin (`clouds.base.CloudPlugin.view`) once per snapshot, on first use.
    """

    def result(self, external_id: str) -> PrincipalResult | None:
        """The effective permissions (and problems) of an identity the cloud evaluates; None for others."""
        ...

    def policy_names(self, external_id: str) -> list[str]:
        """The policies (role definitions, roles) that reach an identity, for evidence."""
        ...

    def is_unbounded(self, identity: Identity) -> bool:
        """Whether no policy bounds the identity (the AWS root user): it holds every action everywhere."""
        ...

    def acts_as(self, resource: Resource) -> str | None:
        """The identity a compute resource runs as (its role, managed identity or service account)."""
        ...

    def compute_kind(self, resource: Resource) -> str | None:
        """`function` or `instance` for compute that runs as an identity, None for other resources."""
        ...

    def guardrail_denied(self) -> int:
        """The actions organization-level deny statements name (an administrator under such guardrails is
        still an administrator of the system)."""
        ...

    def self_granting(self) -> int:
        """The actions that, held unconditionally on every resource, let an identity give itself any permission
        (AWS: `iam:*`); 0 when the cloud has no such rule."""
        ...

    def organization_ceiling(self) -> int:
        """What such an identity can give itself: the actions organization-level policies leave allowed on every
        resource."""
        ...

    def system_of(self, principal: str) -> str | None:
        """The authorization system a principal value names (an AWS account id or an ARN's account)."""
        ...

    def pattern_intersects(self, pattern: str, resource_id: str) -> bool:
        """Whether a resource pattern of a policy may match some resource under `resource_id`."""
        ...

    def external_trust(self, identity: Identity) -> ExternalTrust | None:
        """Who from outside may act as this identity, None when it has no trust to read."""
        ...

    def assume_action(self) -> str | None:
        """The action that lets one identity act as another inside the system (AWS `sts:AssumeRole`)."""
        ...


@dataclass(frozen=True, slots=True)
class SnapshotSlice:
    """The part of a system's stored inventory that one decision reads (`store.snapshot.load_account(only=...)`).

    Read: the identities of `principals` with the groups they are in (through nested groups) and the
    memberships that lead there, and the identities of `identities` (e.g. a role named as the resource), each
    with its assignments; every identity of `kinds` (without its assignments); the assignments of
    `shared_principals` (a principal standing for everyone) and every assignment of `relations` (deny
    assignments, deny policies, trust policies); with `every_binding`, the first assignment of each policy
    attached at each scope with each condition (so the policies attached are known, in the order stored: GCP
    numbers a scope's bindings by it); the policies those assignments name (with their versions); the resources
    of `resources`; and the organization's policies. Usage, activity and stored effective permissions are not
    read. The cloud's plugin says what its decisions read (`decision_slice`, `acting_slice`).
    """

    principals: tuple[str, ...]
    identities: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    shared_principals: tuple[str, ...] = ()
    relations: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    every_binding: bool = False


def as_document(document: Any) -> Any:
    """A policy document as a dict (stored documents may be JSON text)."""
    if isinstance(document, str | bytes):
        return orjson.loads(document)
    return document


@dataclass(kw_only=True, eq=False)
class SystemSnapshot:
    """One authorization system as of `taken_at`, ready for detectors.

    `resources` is None when resources were never collected (an IAM export alone); `has_activity` is False when
    no activity (logs, last-used data) is known, and then detectors that need it do not run. `available` names
    the data detectors may need that the snapshot holds (see `analytics.analyze`). `organization` holds the
    organization's policy levels above the system, root first, in the cloud's own shape (AWS: SCP levels), None
    when unknown. `stored` holds effective permissions the store already computed for this catalogue version
    (used instead of recomputing them).
    """

    system: AuthorizationSystem
    identities: list[Identity]
    memberships: list[Membership]
    policies: list[Policy]
    assignments: list[Assignment]
    resources: list[Resource] | None
    usages: list[Usage] | None
    has_activity: bool
    index: ActionIndex
    view_factory: Callable[[SystemSnapshot], CloudView]
    available: frozenset[str] = frozenset()
    organization: Sequence[Mapping[str, Any]] | None = None  # policy levels above the system (cloud's shape)
    stored: Mapping[str, PrincipalResult] | None = None
    settings: AnalysisSettings = field(default_factory=AnalysisSettings)
    taken_at: datetime = field(default_factory=_utc_now)
    _results: dict[str, PrincipalResult | None] = field(default_factory=dict, repr=False)
    _derived: dict[Any, Any] = field(default_factory=dict, repr=False)
    # values derived per identity (or subject), one table per name (`analytics.subjects.per_identity`); not an
    # __init__ argument, so a snapshot made with `dataclasses.replace` starts with empty tables
    identity_tables: defaultdict[str, dict[Any, Any]] = field(
        default_factory=lambda: defaultdict(dict), init=False, repr=False
    )

    def derive(self, key: Any, compute: Callable[[], T]) -> T:
        """A value derived from the snapshot under `key`, computed once and shared by every detector."""
        derived = self._derived
        try:
            found: T = derived[key]
        except KeyError:
            found = derived[key] = compute()
        return found

    def release(self) -> None:
        """Drop everything derived: the shared values, the results read or computed, and the cloud's view. They
        refer back to the snapshot (the view and the escalation model hold it), which makes the snapshot garbage
        only the cyclic collector frees; released, it is freed as soon as nothing refers to it. The snapshot
        stays usable (what is asked again is derived again)."""
        self._derived.clear()
        self.identity_tables.clear()
        self._results.clear()
        self.__dict__.pop("view", None)

    # -- lookups ------------------------------------------------------------------------------------------
    @property
    def cloud(self) -> Cloud:
        """The cloud of the system."""
        return self.system.cloud

    @property
    def system_id(self) -> str:
        """The authorization system's id (AWS account, Azure subscription, GCP project)."""
        return self.system.system_id

    @property
    def has_resources(self) -> bool:
        """Whether resources were collected for this system."""
        return self.resources is not None

    @cached_property
    def view(self) -> CloudView:
        """The cloud's view of this snapshot (built on first use)."""
        return self.view_factory(self)

    @cached_property
    def identities_by_id(self) -> dict[str, Identity]:
        """Every identity by external id."""
        return {identity.external_id: identity for identity in self.identities}

    @cached_property
    def policies_by_id(self) -> dict[str, Policy]:
        """Every policy by external id."""
        return {policy.external_id: policy for policy in self.policies}

    @cached_property
    def resources_by_id(self) -> dict[str, Resource]:
        """Every collected resource by external id."""
        return {resource.external_id: resource for resource in self.resources or ()}

    def identities_of(self, kind: IdentityKind) -> list[Identity]:
        """The identities of one kind."""
        return [identity for identity in self.identities if identity.kind is kind]

    def resources_of(self, service: str, resource_type: str) -> list[Resource]:
        """The collected resources of one service and type (e.g. "lambda", "lambda:function")."""
        return [r for r in self.resources or () if r.service == service and r.resource_type == resource_type]

    @cached_property
    def groups_of(self) -> dict[str, list[str]]:
        """Member external id -> the groups it belongs to."""
        found: dict[str, list[str]] = {}
        for membership in self.memberships:
            found.setdefault(membership.member_external_id, []).append(membership.group_external_id)
        return found

    @cached_property
    def members_of(self) -> dict[str, list[str]]:
        """Group external id -> its members."""
        found: dict[str, list[str]] = {}
        for membership in self.memberships:
            found.setdefault(membership.group_external_id, []).append(membership.member_external_id)
        return found

    @cached_property
    def assignments_of(self) -> dict[str, list[Assignment]]:
        """Identity external id -> the assignments that reach it directly (not through groups)."""
        found: dict[str, list[Assignment]] = {}
        for assignment in self.assignments:
            found.setdefault(assignment.identity_external_id, []).append(assignment)
        return found

    def trust_policy(self, identity_id: str) -> dict[str, Any] | None:
        """The trust document of an identity (an AWS role's trust policy), None when it has none."""
        for assignment in self.assignments_of.get(identity_id, ()):
            if assignment.relation is AssignmentRelation.TRUST:
                policy = self.policies_by_id.get(assignment.policy_external_id)
                if policy is not None:
                    found = as_document(policy.document)
                    return found if isinstance(found, dict) else None
        return None

    def acts_as(self, resource: Resource) -> str | None:
        """The identity a function or instance runs as (see `CloudView.acts_as`)."""
        return self.view.acts_as(resource)

    def principal_of(self, external_id: str) -> str:
        """The identity whose permissions an id stands for: a compute resource's identity, else the id itself."""
        resource = self.resources_by_id.get(external_id)
        if resource is not None:
            return self.acts_as(resource) or external_id
        return external_id

    # -- permissions --------------------------------------------------------------------------------------
    def result(self, external_id: str) -> PrincipalResult | None:
        """The effective permissions (and problems) of an identity the cloud evaluates; None for others.

        Stored results are read when the store holds them; the cloud's evaluator computes the rest."""
        if external_id in self._results:
            return self._results[external_id]
        found = self.stored.get(external_id) if self.stored is not None else None
        if found is None:
            found = self.view.result(external_id)
        self._results[external_id] = found
        return found

    def permissions(self, external_id: str) -> EffectivePermissions | None:
        """The effective permissions of an identity, or of a function or instance through its identity."""
        result = self.result(external_id)
        if result is None:
            principal = self.principal_of(external_id)
            result = self.result(principal) if principal != external_id else None
        return None if result is None else result.permissions

    # -- activity -----------------------------------------------------------------------------------------
    @cached_property
    def exercised_by(self) -> dict[str, set[str]]:
        """Identity external id -> the catalogue actions (lower case) it used inside the activity window."""
        start = self.settings.window_start
        found: dict[str, set[str]] = {}
        for usage in self.usages or ():
            if usage.last_seen >= start:
                found.setdefault(usage.identity_external_id, set()).add(usage.action.lower())
        return found

    def exercised(self, external_id: str) -> set[str]:
        """The actions an identity (or a function / instance, through its identity) used inside the window."""
        found = self.exercised_by.get(external_id)
        if found is None:
            principal = self.principal_of(external_id)
            found = self.exercised_by.get(principal, set()) if principal != external_id else set()
        return found
