"""One escalation analysis per snapshot: the cloud's graph of every non-super principal and its path finder."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from permscope.analytics.detectors.super_identity import is_super, is_super_bits
from permscope.analytics.privesc.search import DEFAULT_MAX_DEPTH, DEFAULT_MAX_PATHS, Path, PathFinder
from permscope.analytics.subjects import cached
from permscope.clouds.base import plugin
from permscope.core.escalation import EscalationGraph, Step
from permscope.core.permissions import EffectivePermissions
from permscope.core.snapshot import SystemSnapshot

DEFAULT_MAX_TARGETS = 3  # edges kept per source and technique, most privileged targets first


@dataclass(frozen=True, slots=True)
class EscalationAnalysis:
    """The graph, the path finder and what building them cost."""

    graph: EscalationGraph
    finder: PathFinder
    seconds: float

    def paths(self, principal: str) -> list[Path]:
        """The escalation paths of a principal (none for a super identity)."""
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
    snapshot: SystemSnapshot,
    *,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_paths: int = DEFAULT_MAX_PATHS,
    max_targets: int = DEFAULT_MAX_TARGETS,
) -> EscalationAnalysis | None:
    """The snapshot's escalation analysis, computed once per snapshot and settings; None when its cloud has no
    escalation model yet."""

    def compute() -> EscalationAnalysis | None:
        started = time.perf_counter()
        supers: dict[int, bool] = {}
        by_object: dict[int, tuple[EffectivePermissions, bool]] = {}

        def super_bits(permissions: EffectivePermissions) -> bool:
            # principals with equal policies share one permissions object: its id is found without hashing
            # the large bitset; the bitset itself (its unconditional actions) is the key across objects
            found = by_object.get(id(permissions))
            if found is not None and found[0] is permissions:
                return found[1]
            key = permissions.all_resources
            if key not in supers:
                supers[key] = is_super_bits(snapshot, permissions)
            by_object[id(permissions)] = (permissions, supers[key])
            return supers[key]

        model = plugin(snapshot.cloud).escalation(
            snapshot,
            is_super=super_bits,
            skip=lambda external_id: is_super(snapshot, external_id),
            max_targets=max_targets,
        )
        if model is None:
            return None
        finder = PathFinder(model, super_bits, max_depth=max_depth, max_paths=max_paths)
        return EscalationAnalysis(model.graph, finder, time.perf_counter() - started)

    return cached(snapshot, ("privesc", max_depth, max_paths, max_targets), compute)


__all__ = ["EscalationAnalysis", "Step", "escalation_analysis"]
