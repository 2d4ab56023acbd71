"""The AWS view of a snapshot: effective permissions through the account evaluator, and the facts analytics
asks of AWS (roles of functions and instances, SCP guardrails, accounts of principals, role trust)."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cached_property

from permscope.clouds.aws.effective.account import (
    AccountEvaluator,
    AccountInventory,
    PolicyRecord,
    PrincipalRecord,
    ScpLevel,
)
from permscope.clouds.aws.effective.compile import PolicyCompiler
from permscope.clouds.aws.effective.scp_levels import parse_scp_levels
from permscope.clouds.aws.engine.policy import PolicyType
from permscope.clouds.aws.engine.trust import external_trust
from permscope.core.arn import account_of
from permscope.core.globs import globs_intersect
from permscope.core.inventory import (
    Assignment,
    Identity,
    IdentityKind,
    Membership,
    Policy,
    PolicyKind,
    Resource,
)
from permscope.core.permissions import PrincipalResult
from permscope.core.snapshot import FUNCTION, INSTANCE, ExternalTrust, SystemSnapshot

PRINCIPAL_KINDS = frozenset({IdentityKind.USER, IdentityKind.GROUP, IdentityKind.ROLE})
PERMISSION_POLICY_KINDS = frozenset({PolicyKind.MANAGED, PolicyKind.INLINE})
PERMISSION_RELATIONS = frozenset({"attached", "inline", "boundary"})
LAMBDA_FUNCTION = "lambda:function"  # Resource.resource_type of a Lambda function
EC2_INSTANCE = "ec2:instance"  # Resource.resource_type of an EC2 instance
COMPUTE_KINDS = {LAMBDA_FUNCTION: FUNCTION, EC2_INSTANCE: INSTANCE}
ASSUME_ROLE = "sts:AssumeRole"


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


def is_root(identity: Identity | None) -> bool:
    """Whether an identity is the account's root user (IAM policies do not bound it)."""
    return identity is not None and bool(identity.attributes.get("rootUser"))


def role_of(resource: Resource) -> str | None:
    """The role a Lambda function or EC2 instance acts as (its execution or instance-profile role)."""
    role = resource.facts.get("executionRole") or resource.facts.get("instanceProfileRole")
    return str(role) if role else None


class AwsView:
    """What AWS computes over one account snapshot (see `core.snapshot.CloudView`)."""

    def __init__(self, snapshot: SystemSnapshot) -> None:
        self.snapshot = snapshot

    @cached_property
    def scp_levels(self) -> tuple[ScpLevel, ...]:
        """The organization's SCP levels above the account, root first (none when unknown or exempt)."""
        return tuple(parse_scp_levels(self.snapshot.organization) or ())

    @cached_property
    def evaluator(self) -> AccountEvaluator:
        """The effective-permissions evaluator of the account's users, groups and roles."""
        snapshot = self.snapshot
        inventory = account_inventory(
            snapshot.identities, snapshot.policies, snapshot.assignments, snapshot.memberships
        )
        return AccountEvaluator(inventory, snapshot.index, self.scp_levels)

    def result(self, external_id: str) -> PrincipalResult | None:
        """The effective permissions of a user, group or role; None for anything else."""
        identity = self.snapshot.identities_by_id.get(external_id)
        if identity is None or identity.kind not in PRINCIPAL_KINDS:
            return None
        return self.evaluator.evaluate(external_id)

    def policy_names(self, external_id: str) -> list[str]:
        """The identity policies that reach a user, group or role (a function / instance: its role); a user's
        group policies are named "group/policy", a boundary "boundary <name>"."""
        principal = self.snapshot.principal_of(external_id)
        identity = self.snapshot.identities_by_id.get(principal)
        if identity is None or identity.kind not in PRINCIPAL_KINDS:
            return []
        applied = self.evaluator.principal(principal)
        names = [f"{p.via.rsplit('/', 1)[-1]}/{p.name}" if p.via else p.name for p in applied.identity]
        if applied.boundary is not None:
            names.append(f"boundary {applied.boundary.name}")
        return sorted(set(names))

    def is_unbounded(self, identity: Identity) -> bool:
        """The root user: no IAM policy bounds it."""
        return is_root(identity)

    def acts_as(self, resource: Resource) -> str | None:
        """The role of a Lambda function or EC2 instance."""
        return role_of(resource) if resource.resource_type in COMPUTE_KINDS else None

    def compute_kind(self, resource: Resource) -> str | None:
        """`function` for a Lambda function, `instance` for an EC2 instance."""
        return COMPUTE_KINDS.get(resource.resource_type)

    @cached_property
    def _guardrail_denied(self) -> int:
        compiler = PolicyCompiler(self.snapshot.index)
        bits = 0
        for level in self.scp_levels:
            for name, document in level.policies:
                bits |= compiler.compile(document, name=name, policy_type=PolicyType.SCP).deny_any
        return bits

    def guardrail_denied(self) -> int:
        """Every action some SCP Deny statement of the account's organization names (any resources, any
        condition)."""
        return self._guardrail_denied

    def self_granting(self) -> int:
        """Every IAM action (`iam:*`): held on every resource, an identity can delete its own boundary and deny
        statements and write itself any policy."""
        return self.snapshot.index.service_bits("iam")

    def organization_ceiling(self) -> int:
        """The actions `*` keeps on every resource under the organization's SCPs (all of them without SCPs)."""
        return self.evaluator.organization_ceiling().all_resources

    def system_of(self, principal: str) -> str | None:
        """The account an AWS principal value names (an account id, or an ARN's account)."""
        return account_of(principal)

    def pattern_intersects(self, pattern: str, resource_id: str) -> bool:
        """Whether an IAM resource pattern may match something `resource_id` (itself a pattern) matches."""
        return globs_intersect(pattern, resource_id)

    def external_trust(self, identity: Identity) -> ExternalTrust | None:
        """Who a role's trust policy admits; None for anything but a role with a trust policy."""
        if identity.kind is not IdentityKind.ROLE:
            return None
        document = self.snapshot.trust_policy(identity.external_id)
        if document is None:
            return None
        return external_trust(document, self.snapshot.system_id)

    def assume_action(self) -> str | None:
        """sts:AssumeRole."""
        return ASSUME_ROLE


def aws_view(snapshot: SystemSnapshot) -> AwsView:
    """The AWS view of an AWS snapshot (TypeError for another cloud's)."""
    view = snapshot.view
    if not isinstance(view, AwsView):
        raise TypeError(f"{snapshot.cloud.value} snapshot {snapshot.system_id} has no AWS view")
    return view
