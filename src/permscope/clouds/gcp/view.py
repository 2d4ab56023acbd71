"""The GCP view of a project snapshot: effective permissions through the project evaluator, and the facts
analytics asks of GCP (the service account a function, Cloud Run service or instance runs as, deny guardrails,
the project a principal names)."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cached_property

from permscope.clouds.base import EvaluatedIdentity, PermissionInventory
from permscope.clouds.gcp.effective.compile import compile_deny_levels
from permscope.clouds.gcp.effective.project import EVALUATED_KINDS, ProjectEvaluator
from permscope.clouds.gcp.transform.resources import FUNCTION, INSTANCE, RUN_SERVICE
from permscope.core.globs import globs_intersect
from permscope.core.inventory import Assignment, Identity, Membership, Policy, PolicyKind, Resource
from permscope.core.permissions import PrincipalResult
from permscope.core.snapshot import FUNCTION as FUNCTION_KIND
from permscope.core.snapshot import INSTANCE as INSTANCE_KIND
from permscope.core.snapshot import ExternalTrust, SystemSnapshot

COMPUTE_KINDS = {FUNCTION: FUNCTION_KIND, RUN_SERVICE: FUNCTION_KIND, INSTANCE: INSTANCE_KIND}
SELF_GRANTING = ("resourcemanager.projects.setIamPolicy",)  # held on the project: any role to oneself
IMPERSONATE = "iam.serviceAccounts.getAccessToken"


def project_inventory(
    identities: Iterable[Identity],
    policies: Iterable[Policy],
    assignments: Iterable[Assignment],
    memberships: Iterable[Membership],
) -> PermissionInventory:
    """The part of a project's inventory that decides its identities' permissions."""
    inventory = PermissionInventory(
        identities=[
            EvaluatedIdentity(i.external_id, i.kind.value, i.managed_by_cloud)
            for i in identities
            if i.kind.value in EVALUATED_KINDS
        ],
        policies={p.external_id: (p.name, p.document) for p in policies if p.kind is PolicyKind.ROLE},
    )
    for assignment in assignments:
        if assignment.relation.value == "attached":
            inventory.assignments.setdefault(assignment.identity_external_id, []).append(
                (assignment.policy_external_id, "attached")
            )
            inventory.scoped.setdefault(assignment.identity_external_id, []).append(
                (assignment.policy_external_id, "attached", assignment.scope, assignment.condition)
            )
    for membership in memberships:
        inventory.groups_of.setdefault(membership.member_external_id, []).append(membership.group_external_id)
    return inventory


class GcpView:
    """What GCP computes over one project snapshot (see `core.snapshot.CloudView`)."""

    def __init__(self, snapshot: SystemSnapshot) -> None:
        self.snapshot = snapshot

    @cached_property
    def evaluator(self) -> ProjectEvaluator:
        """The effective-permissions evaluator of the project's users, groups and service accounts."""
        snapshot = self.snapshot
        inventory = project_inventory(
            snapshot.identities, snapshot.policies, snapshot.assignments, snapshot.memberships
        )
        return ProjectEvaluator(inventory, snapshot.index, snapshot.organization)

    def result(self, external_id: str) -> PrincipalResult | None:
        """The effective permissions of a user, group or service account; None for anything else."""
        if external_id not in self.evaluator.kinds:
            return None
        return self.evaluator.evaluate(external_id)

    def policy_names(self, external_id: str) -> list[str]:
        """The roles that reach an identity (a compute resource: its service account's), with where."""
        principal = self.snapshot.principal_of(external_id)
        if principal not in self.evaluator.kinds:
            return []
        evaluator = self.evaluator
        grants = evaluator.grants(principal, evaluator.groups(principal))
        return sorted({f"{g.role} on {g.scope}" + (f" via {g.via}" if g.via else "") for g in grants})

    def is_unbounded(self, identity: Identity) -> bool:
        """No GCP identity is beyond IAM."""
        return False

    def acts_as(self, resource: Resource) -> str | None:
        """The service account a function, Cloud Run service or instance runs as."""
        if resource.resource_type not in COMPUTE_KINDS:
            return None
        found = resource.facts.get("serviceAccount")
        return str(found) if found else None

    def compute_kind(self, resource: Resource) -> str | None:
        """`function` for Cloud Functions and Cloud Run services, `instance` for Compute instances."""
        return COMPUTE_KINDS.get(resource.resource_type)

    @cached_property
    def _denied(self) -> int:
        problems: list[str] = []
        _lineage, rules = compile_deny_levels(self.snapshot.organization, self.snapshot.index, problems)
        bits = 0
        for rule in rules:
            bits |= rule.bits
        return bits

    def guardrail_denied(self) -> int:
        """Every permission a deny policy along the project's lineage names."""
        return self._denied

    def self_granting(self) -> int:
        """`resourcemanager.projects.setIamPolicy`: held on the project, it grants its holder any role."""
        bits = 0
        for name in SELF_GRANTING:
            position = self.snapshot.index.index_of(name)
            if position is not None:
                bits |= 1 << position
        return bits

    def organization_ceiling(self) -> int:
        """What such an identity can give itself: every permission deny policies leave."""
        return self.snapshot.index.full & ~self._denied

    def system_of(self, principal: str) -> str | None:
        """The project a service account's email or a `projects/P/...` name names."""
        from permscope.clouds.gcp.transform.members import email_of

        email = email_of(principal) or (principal if "@" in principal else None)
        if email is not None:
            domain = email.rpartition("@")[2]
            return domain.split(".", 1)[0] if domain.endswith(".iam.gserviceaccount.com") else None
        if principal.startswith("projects/"):
            return principal.split("/")[1]
        return None

    def pattern_intersects(self, pattern: str, resource_id: str) -> bool:
        """Whether a resource name pattern may name something under `resource_id`."""
        return globs_intersect(pattern, resource_id)

    def external_trust(self, identity: Identity) -> ExternalTrust | None:
        """GCP service accounts have no trust policy to read (impersonation is an IAM permission)."""
        return None

    def assume_action(self) -> str | None:
        """Impersonating a service account: `iam.serviceAccounts.getAccessToken`."""
        return IMPERSONATE
