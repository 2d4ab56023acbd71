"""Escalation paths: which principals reach administrator access, or more permissions, over a cloud's graph.

The graph and the value of each step come from the cloud (`core.escalation.EscalationModel`). A chain reaches
**admin** when a step's value is super (the rule of `detectors.super_identity`: every catalogue action on every
resource, up to a few organization guardrail denies). Otherwise it reaches **more permissions** when a step's
value holds a *notable* action (the model's: high severity, or reading data) the starting principal lacks.
Comparison is by action, not by resource.

Admin reachability is computed once for the whole graph (a reverse breadth-first search from the steps whose
value is super), so every principal gets its shortest admin chains in linear time; chains of at most
`max_depth` steps are kept. Principals that do not reach admin get a bounded forward search (depth `max_depth`,
at most `MAX_VISITED` nodes) for more permissions. Cycles end both searches (visited sets).

The same forward search finds what a principal that does not reach admin **grants**: the graph's grants
(`EscalationGraph.grants`) of the principal, or of a principal it reaches, each making another principal
administrator-equivalent. Such a path ends with the grant; its `reach` is the chain by which the starting
principal then reaches that beneficiary, when one exists. A grant whose beneficiary is the starting principal
itself is a path to admin.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from permscope.core.escalation import EscalationGraph, EscalationModel, Step
from permscope.core.permissions import EffectivePermissions

DEFAULT_MAX_DEPTH = 5
DEFAULT_MAX_PATHS = 10
MAX_VISITED = 200


@dataclass(frozen=True, slots=True)
class Path:
    """A chain of steps from a principal, and what it reaches."""

    steps: tuple[Step, ...]
    admin: bool  # False: it reaches more permissions (or grants them), not admin
    gained: int  # notable actions the last step's value holds that the starting principal lacks
    grants: bool = False  # the last step makes another principal (its target) administrator-equivalent
    reach: tuple[Step, ...] = ()  # for a grant: the chain from the start to that principal, when one exists

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

    def rank(self) -> tuple[bool, bool, bool, bool, int, int]:
        """Sort key: admin first, then grants of admin, then certain and seen paths, shorter, larger gains."""
        return (
            not self.admin,
            not self.grants,
            self.conditional,
            self.depends_on_unseen_resource,
            len(self.steps),
            -self.gained,
        )


class PathFinder:
    """Escalation paths of every principal over one graph."""

    def __init__(self, model: EscalationModel, is_super: Callable[[EffectivePermissions], bool], *,
                 max_depth: int = DEFAULT_MAX_DEPTH, max_paths: int = DEFAULT_MAX_PATHS) -> None:  # fmt: skip
        self.model = model
        self.graph: EscalationGraph = model.graph
        self.is_super = is_super
        self.max_depth = max_depth
        self.max_paths = max_paths
        self._admin_step: dict[int, bool] = {}
        self.next_hop: dict[str, tuple[int, Step]] = {}  # node -> (steps to admin, first step)
        self._admin_reachability()
        self._near_grants = self._grant_reachability()

    def is_admin_step(self, step: Step) -> bool:
        """Whether the permissions after a step are super."""
        key = id(step)
        if key not in self._admin_step:
            self._admin_step[key] = self.is_super(self.model.after(step))
        return self._admin_step[key]

    def _admin_reachability(self) -> None:
        incoming: dict[str, list[Step]] = {}
        queue: deque[str] = deque()
        for source, steps in self.graph.edges.items():
            for step in steps:
                if step.moves:
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

    def _grant_reachability(self) -> set[str]:
        """The nodes that reach a granter by moves within `max_depth` (a reverse breadth-first search), so
        the forward grant search runs only for them."""
        if not self.graph.grants:
            return set()
        incoming: dict[str, list[str]] = {}
        for source, steps in self.graph.edges.items():
            for step in steps:
                if step.moves:
                    incoming.setdefault(step.target, []).append(source)
        depth = dict.fromkeys(self.graph.grants, 0)
        queue: deque[str] = deque(depth)
        while queue:
            node = queue.popleft()
            if depth[node] >= self.max_depth - 1:
                continue
            for source in incoming.get(node, ()):
                if source not in depth:
                    depth[source] = depth[node] + 1
                    queue.append(source)
        return set(depth)

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
        if not self.graph.out(source) and not self.graph.granted_by(source):
            return []  # no move and no grant (most principals): nothing gained, nothing granted
        found = self._grant_paths(source) + self._gain_paths(source)
        found.sort(key=Path.rank)
        return _distinct(found, self.max_paths)

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
        start = self.model.of(source).granted
        wanted = self.model.notable & ~start  # the notable actions the source lacks
        found: list[Path] = []
        seen = {source}
        queue: deque[tuple[str, tuple[Step, ...]]] = deque([(source, ())])
        while queue and len(seen) < MAX_VISITED:
            node, chain = queue.popleft()
            if len(chain) >= self.max_depth:
                continue
            for step in self.graph.out(node):
                if step.target == source == node:  # a step on itself (a policy version): it gains, stays
                    gained = self.model.after(step).granted & wanted
                    if gained:
                        found.append(Path((step,), False, gained.bit_count()))
                    continue
                if step.target in seen:
                    continue
                seen.add(step.target)
                steps = (*chain, step)
                gained = self.model.after(step).granted & wanted
                if gained:
                    found.append(Path(steps, False, gained.bit_count()))
                if step.moves:
                    queue.append((step.target, steps))
        found.sort(key=Path.rank)
        return found[: self.max_paths]

    def _grant_paths(self, source: str) -> list[Path]:
        """Grants of administrator-equivalent rights by the source or a principal it reaches (see the module
        docstring), each with the chain to its beneficiary when one exists."""
        if source not in self._near_grants:
            return []
        chains = self._reachable(source)
        found: list[Path] = []
        for node, chain in chains.items():
            if len(chain) >= self.max_depth:
                continue
            for grant in self.graph.granted_by(node):
                if not self.is_admin_step(grant):
                    continue
                if grant.target == source:
                    found.append(Path((*chain, grant), True, 0))
                else:
                    reach = chains.get(grant.target, ())
                    found.append(Path((*chain, grant), False, 0, grants=True, reach=reach))
        return found

    def _reachable(self, source: str) -> dict[str, tuple[Step, ...]]:
        """Every principal the source reaches by moves (itself included), with the shortest chain to it."""
        chains: dict[str, tuple[Step, ...]] = {source: ()}
        queue: deque[str] = deque([source])
        while queue and len(chains) < MAX_VISITED:
            node = queue.popleft()
            chain = chains[node]
            if len(chain) >= self.max_depth:
                continue
            for step in self.graph.out(node):
                if step.moves and step.target not in chains:
                    chains[step.target] = (*chain, step)
                    queue.append(step.target)
        return chains


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
        key = (first.technique_id, first.target, path.target)
        if key in seen:
            continue
        seen.add(key)
        kept.append(path)
        if len(kept) >= limit:
            break
    return kept


__all__ = ["Path", "PathFinder"]
