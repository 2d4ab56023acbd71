"""One escalation analysis per snapshot: the graph of every non-super principal and its path finder."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from permscope.analytics.context import AwsAccountSnapshot
from permscope.analytics.detectors.super_identity import is_super
from permscope.analytics.privesc.graph import DEFAULT_MAX_TARGETS, EscalationGraph, GraphBuilder, Step
from permscope.analytics.privesc.search import DEFAULT_MAX_DEPTH, DEFAULT_MAX_PATHS, Path, PathFinder, values
from permscope.analytics.subjects import cached


@dataclass(frozen=True, slots=True)
class EscalationAnalysis:
    """The graph, the path finder and what building them cost."""

    graph: EscalationGraph
    finder: PathFinder
    seconds: float

    def paths(self, principal: str) -> list[Path]:
        """The escalation paths of a user or role (none for a super identity)."""
        return self.finder.paths(principal)

    def stats(self) -> dict[str, Any]:
        """Counters for benchmarks and logs."""
        return {
            "sources": self.graph.checked_sources,
            "edges": sum(len(steps) for steps in self.graph.edges.values()),
            "evaluations": self.graph.evaluations,
            "reachAdmin": len(self.finder.next_hop),
            "seconds": round(self.seconds, 3),
        }


def escalation_analysis(
    snapshot: AwsAccountSnapshot,
    *,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_paths: int = DEFAULT_MAX_PATHS,
    max_targets: int = DEFAULT_MAX_TARGETS,
) -> EscalationAnalysis:
    """The snapshot's escalation analysis, computed once per snapshot and settings."""

    def compute() -> EscalationAnalysis:
        started = time.perf_counter()
        shared = values(snapshot)

        def value(external_id: str) -> int:
            # targets are tried most privileged first: admin-equivalent, then by granted actions
            permissions = shared.of(external_id)
            bonus = snapshot.index.size + 1 if shared.is_super(permissions) else 0
            return bonus + permissions.granted.bit_count()

        builder = GraphBuilder(
            snapshot,
            value=value,
            skip=lambda external_id: is_super(snapshot, external_id),
            admin=lambda step: shared.is_super(shared.after(step)),
            max_targets=max_targets,
        )
        graph = builder.build()
        finder = PathFinder(snapshot, graph, max_depth=max_depth, max_paths=max_paths)
        return EscalationAnalysis(graph, finder, time.perf_counter() - started)

    return cached(snapshot, ("privesc", max_depth, max_paths, max_targets), compute)


__all__ = ["EscalationAnalysis", "Step", "escalation_analysis"]
