"""What detectors read: one AWS account's inventory, its effective permissions, usage and settings.

`AwsAccountSnapshot` is built from core objects (the store's loader or an in-memory batch), never from the
database, so analytics stays pure. Everything derived (effective permissions, usage per identity, lookups) is
computed once on first use and shared by every detector.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any, TypeVar

import orjson

from permscope.clouds.aws.effective.account import (
    AccountEvaluator,
    AccountInventory,
    PolicyRecord,
    PrincipalRecord,
    ScpLevel,
)
from permscope.core.catalog import ActionIndex
from permscope.core.findings import (
    DEFAULT_KEY_MAX_AGE_DAYS,
    DEFAULT_KEY_UNUSED_DAYS,
    DEFAULT_OVERPROVISIONED_RATIO,
    DEFAULT_WINDOW_DAYS,
    PciScore,
)
from permscope.core.inventory import (
    Assignment,
    AuthorizationSystem,
    Identity,
    IdentityKind,
    Membership,
    Policy,
    PolicyKind,
    Resource,
    Usage,
)
from permscope.core.permissions import EffectivePermissions, PrincipalResult

T = TypeVar("T")
PRINCIPAL_KINDS = frozenset({IdentityKind.USER, IdentityKind.GROUP, IdentityKind.ROLE})
PERMISSION_POLICY_KINDS = frozenset({PolicyKind.MANAGED, PolicyKind.INLINE})
PERMISSION_RELATIONS = frozenset({"attached", "inline", "boundary"})
LAMBDA_FUNCTION = "lambda:function"  # Resource.resource_type of a Lambda function
EC2_INSTANCE = "ec2:instance"  # Resource.resource_type of an EC2 instance


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

    @property
    def window_start(self) -> datetime:
        """The start of the activity window."""
        return self.now - timedelta(days=self.window_days)


def account_inventory(
    identities: Iterable[Identity],
    policies: Iterable[Policy],
    assignments: Iterable[Assignment],
    memberships: Iterable[Membership],
) -> AccountInventory:
    """The part of an account's inventory that decides its users', groups' and roles' permissions."""
    principals = [
        PrincipalRecord(
            external_id=identity.external_id,
            kind=identity.kind.value,
            service_linked=identity.kind is IdentityKind.ROLE and identity.managed_by_cloud,
        )
        for identity in identities
        if identity.kind in PRINCIPAL_KINDS
    ]
    records = {
        policy.external_id: PolicyRecord(policy.external_id, policy.name, policy.document)
        for policy in policies
        if policy.kind in PERMISSION_POLICY_KINDS
    }
    by_identity: dict[str, list[tuple[str, str]]] = {}
    for assignment in assignments:
        if assignment.relation.value in PERMISSION_RELATIONS:
            by_identity.setdefault(assignment.identity_external_id, []).append(
                (assignment.policy_external_id, assignment.relation.value)
            )
    groups_of: dict[str, list[str]] = {}
    for membership in memberships:
        groups_of.setdefault(membership.member_external_id, []).append(membership.group_external_id)
    return AccountInventory(principals, records, by_identity, groups_of)


def as_document(document: Any) -> Any:
    """A policy document as a dict (stored documents may be JSON text)."""
    if isinstance(document, str | bytes):
        return orjson.loads(document)
    return document


@dataclass(kw_only=True, eq=False)
class AwsAccountSnapshot:
    """One AWS account as of `taken_at`, ready for detectors.

    `resources` is None when resources were never collected (an IAM export alone); `has_activity` is False when
    no activity (CloudTrail, Access Advisor, last-used data) is known, and then detectors that need it do not run.
    `scp_levels` are the organization's SCP levels above the account, root first ([] = none apply).
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
    scp_levels: Sequence[ScpLevel] = ()
    settings: AnalysisSettings = field(default_factory=AnalysisSettings)
    taken_at: datetime = field(default_factory=_utc_now)
    _results: dict[str, PrincipalResult] = field(default_factory=dict, repr=False)
    _pci: dict[str, PciScore] = field(default_factory=dict, repr=False)
    _derived: dict[Any, Any] = field(default_factory=dict, repr=False)

    def derive(self, key: Any, compute: Callable[[], T]) -> T:
        """A value derived from the snapshot under `key`, computed once and shared by every detector."""
        if key not in self._derived:
            self._derived[key] = compute()
        found: T = self._derived[key]
        return found

    # -- lookups ------------------------------------------------------------------------------------------
    @property
    def system_id(self) -> str:
        """The account id."""
        return self.system.system_id

    @property
    def has_resources(self) -> bool:
        """Whether resources were collected for this account."""
        return self.resources is not None

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
        """Member external id -> the groups it belongs to (IAM groups, and SSO roles for SSO people)."""
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

    def trust_policy(self, role_arn: str) -> dict[str, Any] | None:
        """The trust policy document of a role, None when it has none in the inventory."""
        for assignment in self.assignments_of.get(role_arn, ()):
            if assignment.relation.value == "trust":
                policy = self.policies_by_id.get(assignment.policy_external_id)
                if policy is not None:
                    found = as_document(policy.document)
                    return found if isinstance(found, dict) else None
        return None

    def role_of(self, resource: Resource) -> str | None:
        """The role a Lambda function or EC2 instance acts as (its execution or instance-profile role)."""
        role = resource.facts.get("executionRole") or resource.facts.get("instanceProfileRole")
        return str(role) if role else None

    # -- permissions --------------------------------------------------------------------------------------
    @cached_property
    def evaluator(self) -> AccountEvaluator:
        """The effective-permissions evaluator of the account's users, groups and roles."""
        inventory = account_inventory(self.identities, self.policies, self.assignments, self.memberships)
        return AccountEvaluator(inventory, self.index, self.scp_levels)

    def result(self, external_id: str) -> PrincipalResult | None:
        """The effective permissions (and problems) of a user, group or role; None for anything else."""
        found = self._results.get(external_id)
        if found is None:
            identity = self.identities_by_id.get(external_id)
            if identity is None or identity.kind not in PRINCIPAL_KINDS:
                return None
            found = self.evaluator.evaluate(external_id)
            self._results[external_id] = found
        return found

    def permissions(self, external_id: str) -> EffectivePermissions | None:
        """The effective permissions of a user, group or role, or of a function or instance through its role."""
        result = self.result(external_id)
        if result is None:
            resource = self.resources_by_id.get(external_id)
            role = self.role_of(resource) if resource is not None else None
            result = self.result(role) if role else None
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
        """The actions an identity (or a function / instance, through its role) used inside the window."""
        found = self.exercised_by.get(external_id)
        if found is None:
            resource = self.resources_by_id.get(external_id)
            role = self.role_of(resource) if resource is not None else None
            found = self.exercised_by.get(role, set()) if role else set()
        return found

    def pci(self, external_id: str) -> PciScore:
        """The Permission Creep Index of an identity (or function / instance), computed once."""
        found = self._pci.get(external_id)
        if found is None:
            from permscope.analytics.pci import identity_pci

            found = identity_pci(self, external_id)
            self._pci[external_id] = found
        return found
