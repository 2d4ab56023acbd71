"""Escalation paths: which principals reach administrator access, or more permissions, over the graph.

A step's *value* is the effective permissions the attacker holds after it: the target's (a user or role), the
source's combined with a group's (iam:AddUserToGroup: the group's policies under the user's own boundary and
SCPs), or the target's *ceiling* for techniques that write policies (`*` within its boundary and the SCPs).
A chain reaches **admin** when a step's value is super (the rule of `detectors.super_identity`: every
catalogue action on every resource, up to a few SCP guardrail denies). Otherwise it reaches **more
permissions** when a step's value holds a *notable* action the starting principal lacks: a write or
permissions-management action, or one of the data-reading actions in `DATA_READ` (s3:GetObject,
secretsmanager:GetSecretValue, ...). Comparison is by action, not by resource.

Admin reachability is computed once for the whole graph (a reverse breadth-first search from the steps whose
value is super), so every principal gets its shortest admin chains in linear time; chains of at most
`max_depth` steps are kept. Principals that do not reach admin get a bounded forward search (depth `max_depth`,
at most `MAX_VISITED` nodes) for more permissions. Cycles end both searches (visited sets).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from permscope.analytics.context import AwsAccountSnapshot
from permscope.analytics.detectors.super_identity import SCP_GUARDRAIL_SHARE, scp_denied
from permscope.analytics.privesc.graph import EscalationGraph, Step
from permscope.analytics.privesc.techniques import Kind, Yield
from permscope.analytics.subjects import cached
from permscope.clouds.aws.effective.combine import effective_permissions
from permscope.clouds.aws.effective.compile import IDENTITY_LAYER
from permscope.clouds.aws.effective.layers import AppliedPolicy, PrincipalPolicies
from permscope.clouds.aws.engine.policy import PolicyType
from permscope.core.permissions import EffectivePermissions

DEFAULT_MAX_DEPTH = 5
DEFAULT_MAX_PATHS = 10
MAX_VISITED = 200
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


@dataclass(frozen=True, slots=True)
class Path:
    """A chain of steps from a principal, and what it reaches."""

    steps: tuple[Step, ...]
    admin: bool  # False: it reaches more permissions, not admin
    gained: int  # notable actions the last step's value holds that the starting principal lacks

    @property
    def conditional(self) -> bool:
        """Whether some step holds only under conditions permscope cannot decide."""
        return any(step.conditional for step in self.steps)

    @property
    def depends_on_unseen_resource(self) -> bool:
        """Whether some step goes through a resource permscope has not seen."""
        return any(step.depends_on_unseen_resource for step in self.steps)

    @property
    def target(self) -> str:
        """The principal (or group) the chain ends at."""
        return self.steps[-1].target

    def rank(self) -> tuple[bool, bool, bool, int, int]:
        """Sort key: admin first, then certain and seen paths, shorter, larger gains."""
        return (
            not self.admin,
            self.conditional,
            self.depends_on_unseen_resource,
            len(self.steps),
            -self.gained,
        )


def is_super_bits(snapshot: AwsAccountSnapshot, permissions: EffectivePermissions) -> bool:
    """The super rule of `detectors.super_identity`, on a permission set."""
    missing = snapshot.index.full & ~permissions.all_resources
    if not missing:
        return True
    if missing & ~scp_denied(snapshot):
        return False
    return missing.bit_count() <= SCP_GUARDRAIL_SHARE * snapshot.index.size


class Values:
    """Effective permissions of principals, ceilings and group joins, computed once each."""

    def __init__(self, snapshot: AwsAccountSnapshot) -> None:
        self.snapshot = snapshot
        self._admin: AppliedPolicy | None = None
        self._ceilings: dict[str, EffectivePermissions] = {}
        self._joins: dict[tuple[str, str], EffectivePermissions] = {}
        self._super: dict[int, bool] = {}
        index = snapshot.index
        self.notable = index.high_severity | index.expand_all(DATA_READ)[0]

    def of(self, external_id: str) -> EffectivePermissions:
        """A principal's (or group's) effective permissions (none when unknown)."""
        found = self.snapshot.permissions(external_id)
        return found if found is not None else EffectivePermissions(0, 0, 0)

    def is_super(self, permissions: EffectivePermissions) -> bool:
        """Whether a permission set is super (cached by its unconditional actions)."""
        key = permissions.all_resources
        if key not in self._super:
            self._super[key] = is_super_bits(self.snapshot, permissions)
        return self._super[key]

    def ceiling(self, principal: str) -> EffectivePermissions:
        """What a principal holds once an attacker writes `*` into its policies: its boundary and SCPs still
        apply."""
        found = self._ceilings.get(principal)
        if found is None:
            applied = self.snapshot.evaluator.principal(principal)
            found = effective_permissions(PrincipalPolicies((self._admin_policy(),), applied.boundary,
                                                            applied.scp_levels))  # fmt: skip
            self._ceilings[principal] = found
        return found

    def joined(self, user: str, group: str) -> EffectivePermissions:
        """A user's permissions once added to a group (the group's policies under the user's boundary)."""
        key = (user, group)
        found = self._joins.get(key)
        if found is None:
            evaluator = self.snapshot.evaluator
            mine = evaluator.principal(user)
            theirs = evaluator.principal(group)
            found = effective_permissions(
                PrincipalPolicies(mine.identity + theirs.identity, mine.boundary, mine.scp_levels)
            )
            self._joins[key] = found
        return found

    def after(self, step: Step) -> EffectivePermissions:
        """The permissions the attacker holds after a step."""
        if step.technique.kind is Kind.JOIN_GROUP:
            return self.joined(step.source, step.target)
        if step.yields is Yield.CEILING:
            return self.ceiling(step.target)
        return self.of(step.target)

    def _admin_policy(self) -> AppliedPolicy:
        if self._admin is None:
            compiled = self.snapshot.evaluator.compiler.compile(
                _ADMIN_DOCUMENT, name="permscope: any policy", policy_type=PolicyType.IDENTITY
            )
            self._admin = AppliedPolicy("permscope:any", "any policy", IDENTITY_LAYER, compiled)
        return self._admin


def values(snapshot: AwsAccountSnapshot) -> Values:
    """The snapshot's shared `Values`."""
    return cached(snapshot, "privescValues", lambda: Values(snapshot))


class PathFinder:
    """Escalation paths of every principal over one graph."""

    def __init__(self, snapshot: AwsAccountSnapshot, graph: EscalationGraph, *,
                 max_depth: int = DEFAULT_MAX_DEPTH, max_paths: int = DEFAULT_MAX_PATHS) -> None:  # fmt: skip
        self.snapshot = snapshot
        self.graph = graph
        self.values = values(snapshot)
        self.max_depth = max_depth
        self.max_paths = max_paths
        self._admin_step: dict[int, bool] = {}
        self.next_hop: dict[str, tuple[int, Step]] = {}  # node -> (steps to admin, first step)
        self._admin_reachability()

    def is_admin_step(self, step: Step) -> bool:
        """Whether the permissions after a step are super."""
        key = id(step)
        if key not in self._admin_step:
            self._admin_step[key] = self.values.is_super(self.values.after(step))
        return self._admin_step[key]

    def _admin_reachability(self) -> None:
        incoming: dict[str, list[Step]] = {}
        queue: deque[str] = deque()
        for source, steps in self.graph.edges.items():
            for step in steps:
                if step.technique.kind is not Kind.JOIN_GROUP:
                    incoming.setdefault(step.target, []).append(step)
                if self.is_admin_step(step):
                    best = self.next_hop.get(source)
                    if best is None or _better(step, best[1]):
                        self.next_hop[source] = (1, step)
        queue.extend(sorted(self.next_hop))
        while queue:
            node = queue.popleft()
            distance = self.next_hop[node][0]
            if distance >= self.max_depth:
                continue
            for step in incoming.get(node, ()):
                if step.source not in self.next_hop:
                    self.next_hop[step.source] = (distance + 1, step)
                    queue.append(step.source)

    def _chain(self, node: str) -> tuple[Step, ...] | None:
        steps: list[Step] = []
        seen = {node}
        while True:
            hop = self.next_hop.get(node)
            if hop is None:
                return None
            step = hop[1]
            steps.append(step)
            if self.is_admin_step(step) and hop[0] == 1:
                return tuple(steps)
            node = step.target
            if node in seen:
                return None
            seen.add(node)

    def paths(self, source: str) -> list[Path]:
        """The escalation paths of one principal, best first (at most `max_paths`)."""
        if source in self.next_hop:
            return self._admin_paths(source)
        return self._gain_paths(source)

    def _admin_paths(self, source: str) -> list[Path]:
        found: list[Path] = []
        for step in self.graph.out(source):
            if self.is_admin_step(step):
                found.append(Path((step,), True, 0))
                continue
            hop = self.next_hop.get(step.target)
            if hop is None or hop[0] >= self.max_depth:
                continue
            rest = self._chain(step.target)
            if rest is None or any(s.target == source for s in rest):
                continue
            found.append(Path((step, *rest), True, 0))
        found.sort(key=Path.rank)
        return _distinct(found, self.max_paths)

    def _gain_paths(self, source: str) -> list[Path]:
        start = self.values.of(source).granted
        notable = self.values.notable
        found: list[Path] = []
        seen = {source}
        queue: deque[tuple[str, tuple[Step, ...]]] = deque([(source, ())])
        while queue and len(seen) < MAX_VISITED:
            node, chain = queue.popleft()
            if len(chain) >= self.max_depth:
                continue
            for step in self.graph.out(node):
                if step.target in seen:
                    continue
                seen.add(step.target)
                steps = (*chain, step)
                gained = self.values.after(step).granted & notable & ~start
                if gained:
                    found.append(Path(steps, False, gained.bit_count()))
                if step.technique.kind is not Kind.JOIN_GROUP:
                    queue.append((step.target, steps))
        found.sort(key=Path.rank)
        return found[: self.max_paths]


def _better(step: Step, other: Step) -> bool:
    return (step.conditional, step.depends_on_unseen_resource) < (
        other.conditional,
        other.depends_on_unseen_resource,
    )


def _distinct(paths: list[Path], limit: int) -> list[Path]:
    """Paths with distinct (first technique, target) pairs, at most `limit`."""
    kept: list[Path] = []
    seen: set[tuple[str, str, str]] = set()
    for path in paths:
        first = path.steps[0]
        key = (first.technique.technique_id, first.target, path.target)
        if key in seen:
            continue
        seen.add(key)
        kept.append(path)
        if len(kept) >= limit:
            break
    return kept


__all__ = ["DATA_READ", "Path", "PathFinder", "Values", "is_super_bits", "values"]
