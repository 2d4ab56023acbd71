"""The Azure view of a subscription snapshot: effective permissions through the subscription evaluator, and the
facts analytics asks of Azure (the identity a Function app or VM runs as, subscriptions of ARM ids)."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cached_property
from typing import Any

from permscope.clouds.azure.effective.subscription import SubscriptionEvaluator
from permscope.clouds.azure.engine.scopes import scope_key
from permscope.clouds.azure.transform.common import subscription_of
from permscope.clouds.azure.transform.resources import VIRTUAL_MACHINE, WEB_APP
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

EVALUATED_KINDS = frozenset(
    {IdentityKind.USER, IdentityKind.GROUP, IdentityKind.SERVICE_PRINCIPAL, IdentityKind.MANAGED_IDENTITY}
)
PERMISSION_POLICY_KINDS = frozenset({PolicyKind.ROLE_DEFINITION, PolicyKind.INLINE})
PERMISSION_RELATIONS = frozenset({"attached", "deny"})
ROLE_ASSIGNMENTS_WRITE = "Microsoft.Authorization/roleAssignments/write"


def subscription_inputs(
    policies: Iterable[Policy], assignments: Iterable[Assignment], memberships: Iterable[Membership]
) -> tuple[dict[str, tuple[str, Any]], dict[str, list[tuple[str, str, str, Any]]], dict[str, list[str]]]:
    """(policies, scoped assignments, groups of each member) of a subscription's inventory, as the evaluator
    reads them from the store."""
    documents = {p.external_id: (p.name, p.document) for p in policies if p.kind in PERMISSION_POLICY_KINDS}
    scoped: dict[str, list[tuple[str, str, str, Any]]] = {}
    for assignment in assignments:
        if assignment.relation.value in PERMISSION_RELATIONS:
            scoped.setdefault(assignment.identity_external_id, []).append(
                (
                    assignment.policy_external_id,
                    assignment.relation.value,
                    assignment.scope,
                    assignment.condition,
                )
            )
    groups_of: dict[str, list[str]] = {}
    for membership in memberships:
        groups_of.setdefault(membership.member_external_id, []).append(membership.group_external_id)
    return documents, scoped, groups_of


def acts_as(resource: Resource) -> str | None:
    """The managed identity a Function app, web app or VM runs as (system-assigned first)."""
    found = resource.facts.get("actsAs")
    return str(found) if found else None


class AzureView:
    """What Azure computes over one subscription snapshot (see `core.snapshot.CloudView`)."""

    def __init__(self, snapshot: SystemSnapshot) -> None:
        self.snapshot = snapshot

    @cached_property
    def evaluator(self) -> SubscriptionEvaluator:
        """The effective-permissions evaluator of the subscription's identities."""
        snapshot = self.snapshot
        policies, scoped, groups_of = subscription_inputs(
            snapshot.policies, snapshot.assignments, snapshot.memberships
        )
        return SubscriptionEvaluator(snapshot.index, policies, scoped, groups_of)

    def result(self, external_id: str) -> PrincipalResult | None:
        """The effective permissions of a user, group, service principal or managed identity."""
        identity = self.snapshot.identities_by_id.get(external_id)
        if identity is None or identity.kind not in EVALUATED_KINDS:
            return None
        return self.evaluator.evaluate(external_id)

    def policy_names(self, external_id: str) -> list[str]:
        """The roles assigned to an identity (a Function app / VM: its identity), each with its scope, and
        "group/role" for those through a group."""
        principal = self.snapshot.principal_of(external_id)
        names = self.evaluator.names
        identities = self.snapshot.identities_by_id

        def group(via: str) -> str:
            found = identities.get(via)
            return found.display_name if found is not None else via

        return sorted(
            {
                (f"{group(g.via)}/" if g.via else "") + f"{names.get(g.role, g.role)} at {g.scope}"
                for g in self.evaluator.grants(principal)
            }
        )

    def is_unbounded(self, identity: Identity) -> bool:
        """No Azure identity is outside RBAC."""
        return False

    def acts_as(self, resource: Resource) -> str | None:
        """The managed identity a compute resource runs as."""
        return acts_as(resource)

    def compute_kind(self, resource: Resource) -> str | None:
        """`function` for Function apps, `instance` for virtual machines."""
        if resource.resource_type == WEB_APP and resource.facts.get("functionApp"):
            return FUNCTION
        if resource.resource_type == VIRTUAL_MACHINE:
            return INSTANCE
        return None

    def guardrail_denied(self) -> int:
        """Azure has no organization-level deny policy over RBAC here (Azure Policy is not an RBAC layer)."""
        return 0

    def self_granting(self) -> int:
        """`Microsoft.Authorization/roleAssignments/write`: held on the whole subscription, it assigns any role
        (Owner, every data role) to oneself."""
        position = self.snapshot.index.index_of(ROLE_ASSIGNMENTS_WRITE)
        return 0 if position is None else 1 << position

    def organization_ceiling(self) -> int:
        """Every catalogue action: nothing above a subscription limits what a role assignment gives."""
        return self.snapshot.index.full

    def system_of(self, principal: str) -> str | None:
        """The subscription an ARM id lies in."""
        return subscription_of(principal)

    def pattern_intersects(self, pattern: str, resource_id: str) -> bool:
        """Whether an assignment scope and a resource id overlap (one contains the other)."""
        scope, resource = scope_key(pattern), scope_key(resource_id)
        shorter = min(len(scope), len(resource))
        return scope[:shorter] == resource[:shorter]

    def external_trust(self, identity: Identity) -> ExternalTrust | None:
        """Azure identities have no trust policy to read."""
        return None

    def assume_action(self) -> str | None:
        """No Azure action lets one identity act as another in RBAC (managed identities are used by running
        code on their resource, which escalation models)."""
        return None
