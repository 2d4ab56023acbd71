"""The escalation model of one AWS account: its graph, and what the attacker holds after each step.

A step's value is the effective permissions the attacker holds after it: the target's (a user or role), the
source's combined with a group's (iam:AddUserToGroup: the group's policies under the user's own boundary and
SCPs), or the target's *ceiling* for techniques that write policies (`*` within its boundary and the SCPs).
Notable actions (worth gaining) are the high-severity ones and the data-reading actions of `DATA_READ`.
"""

from __future__ import annotations

from collections.abc import Callable

from permscope.clouds.aws.effective.combine import effective_permissions
from permscope.clouds.aws.effective.compile import IDENTITY_LAYER
from permscope.clouds.aws.effective.layers import AppliedPolicy, PrincipalPolicies
from permscope.clouds.aws.engine.policy import PolicyType
from permscope.clouds.aws.escalation.graph import DEFAULT_MAX_TARGETS, GraphBuilder
from permscope.clouds.aws.view import aws_view
from permscope.core.escalation import YIELDS_CEILING, YIELDS_JOINED, EscalationGraph, Step
from permscope.core.permissions import EffectivePermissions
from permscope.core.snapshot import SystemSnapshot

YIELDS_VERSION = "version"  # techniques.Yield.VERSION: another version of the `via` policy made its default

DATA_READ = (
    "s3:GetObject",
    "s3:GetObjectVersion",
    "secretsmanager:GetSecretValue",
    "ssm:GetParameter",
    "ssm:GetParameters",
    "ssm:GetParametersByPath",
    "kms:Decrypt",
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:Scan",
)
_ADMIN_DOCUMENT = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}
_NOTHING = EffectivePermissions(0, 0, 0)


class AwsEscalation:
    """The graph of one account and the value of its steps (`core.escalation.EscalationModel`)."""

    def __init__(self, snapshot: SystemSnapshot) -> None:
        self.snapshot = snapshot
        self.view = aws_view(snapshot)
        self.graph = EscalationGraph()
        self._admin: AppliedPolicy | None = None
        self._ceilings: dict[str, EffectivePermissions] = {}
        self._ceiling_of_limits: dict[
            tuple[int, int], tuple[AppliedPolicy | None, tuple[object, ...], EffectivePermissions]
        ] = {}
        self._by_content: dict[tuple[object, ...], EffectivePermissions] = {}  # by `cache_key()`
        self._joins: dict[tuple[str, str], EffectivePermissions] = {}
        self._versions: dict[tuple[str, str], EffectivePermissions] = {}
        index = snapshot.index
        self.notable = index.high_severity | index.expand_all(DATA_READ)[0]

    def of(self, external_id: str) -> EffectivePermissions:
        """A principal's (or group's) effective permissions (none when unknown)."""
        found = self.snapshot.permissions(external_id)
        return found if found is not None else _NOTHING

    def ceiling(self, principal: str) -> EffectivePermissions:
        """What a principal holds once an attacker writes `*` into its policies: its boundary and SCPs still
        apply."""
        found = self._ceilings.get(principal)
        if found is None:
            boundary, scp_levels = self.view.evaluator.limits(principal)
            # the evaluator hands out one object per boundary and one tuple of SCP levels: seen before, the
            # same objects give the same ceiling without building the content key again
            same = self._ceiling_of_limits.get((id(boundary), id(scp_levels)))
            if same is not None and same[0] is boundary and same[1] is scp_levels:
                found = same[2]
            else:
                policies = PrincipalPolicies((self._admin_policy(),), boundary, scp_levels)
                key = policies.cache_key()  # principals with the same boundary and SCPs share their ceiling
                found = self._by_content.get(key)
                if found is None:
                    found = self._by_content[key] = effective_permissions(policies)
                self._ceiling_of_limits[(id(boundary), id(scp_levels))] = (boundary, scp_levels, found)
            self._ceilings[principal] = found
        return found

    def joined(self, user: str, group: str) -> EffectivePermissions:
        """A user's permissions once added to a group (the group's policies under the user's boundary)."""
        key = (user, group)
        found = self._joins.get(key)
        if found is None:
            evaluator = self.view.evaluator
            mine = evaluator.principal(user)
            theirs = evaluator.principal(group)
            found = effective_permissions(
                PrincipalPolicies(mine.identity + theirs.identity, mine.boundary, mine.scp_levels)
            )
            self._joins[key] = found
        return found

    def after(self, step: Step) -> EffectivePermissions:
        """The permissions the attacker holds after a step (after a grant: what its target then holds)."""
        if step.grants:
            if step.yields == YIELDS_JOINED and step.via is not None:
                return self.joined(step.target, step.via)
            return self.ceiling(step.target) if step.yields == YIELDS_CEILING else self.of(step.target)
        if not step.moves:
            return self.joined(step.source, step.target)
        if step.yields == YIELDS_VERSION and step.via is not None:
            return self.versioned(step.target, step.via)
        if step.yields == YIELDS_CEILING:
            return self.ceiling(step.target)
        return self.of(step.target)

    def versioned(self, principal: str, version: str) -> EffectivePermissions:
        """A principal's permissions once `version` ("<policy ARN>#<version id>") is its policy's default."""
        found = self._versions.get((principal, version))
        if found is None:
            policy_id, _, version_id = version.rpartition("#")
            policy = self.snapshot.policies_by_id.get(policy_id)
            document = (
                next((v.document for v in policy.versions if v.version_id == version_id), None)
                if policy
                else None
            )
            applied = self.view.evaluator.principal(principal)
            if document is None:
                found = effective_permissions(applied)
            else:
                compiled = self.view.evaluator.compiler.compile(
                    document, name=f"{policy_id} {version_id}", policy_type=PolicyType.IDENTITY
                )
                identity = tuple(
                    AppliedPolicy(p.policy_id, p.name, p.layer, compiled, p.via, p.relation)
                    if p.policy_id == policy_id
                    else p
                    for p in applied.identity
                )
                policies = PrincipalPolicies(identity, applied.boundary, applied.scp_levels)
                key = policies.cache_key()  # principals holding the same policies share the result
                found = self._by_content.get(key)
                if found is None:
                    found = self._by_content[key] = effective_permissions(policies)
            self._versions[(principal, version)] = found
        return found

    def _admin_policy(self) -> AppliedPolicy:
        if self._admin is None:
            compiled = self.view.evaluator.compiler.compile(
                _ADMIN_DOCUMENT, name="permscope: any policy", policy_type=PolicyType.IDENTITY
            )
            self._admin = AppliedPolicy("permscope:any", "any policy", IDENTITY_LAYER, compiled)
        return self._admin


def build_escalation(
    snapshot: SystemSnapshot,
    *,
    is_super: Callable[[EffectivePermissions], bool],
    skip: Callable[[str], bool],
    max_targets: int = DEFAULT_MAX_TARGETS,
) -> AwsEscalation:
    """The escalation model of an account: every non-skipped user and role, its edges tried most privileged
    target first (admin-equivalent, then by granted actions); a source stops at its first certain step to admin."""
    model = AwsEscalation(snapshot)
    full = snapshot.index.size + 1

    ranks: dict[int, tuple[EffectivePermissions, int]] = {}

    def rank(external_id: str) -> int:
        permissions = model.of(external_id)
        # principals with equal policies share one permissions object: ranked once (its id, no large hash)
        found = ranks.get(id(permissions))
        if found is None or found[0] is not permissions:
            value = (full if is_super(permissions) else 0) + permissions.granted.bit_count()
            found = ranks[id(permissions)] = (permissions, value)
        return found[1]

    admin_after: dict[tuple[object, ...], bool] = {}

    def admin(step: Step) -> bool:
        # what a step yields depends on these fields alone (`AwsEscalation.after`): found once per such key
        key = (step.target, step.yields, step.via, step.grants, None if step.moves else step.source)
        found = admin_after.get(key)
        if found is None:
            found = admin_after[key] = is_super(model.after(step))
        return found

    def granted_admin(target: str, yields: str) -> bool:
        # `admin` of a grant step on `target` through no group: what `AwsEscalation.after` gives it
        return is_super(model.ceiling(target) if yields == YIELDS_CEILING else model.of(target))

    builder = GraphBuilder(
        snapshot,
        value=rank,
        skip=skip,
        admin=admin,
        max_targets=max_targets,
        more=lambda step: bool(model.after(step).granted & ~model.of(step.target).granted),
        granted_admin=granted_admin,
    )
    model.graph = builder.build()
    return model
