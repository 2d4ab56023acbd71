"""Escalation graphs, the same shape for every cloud: principals as nodes, techniques as edges.

A cloud builds the graph of one authorization system (its techniques, each requirement decided by its own
engine) and says what the attacker holds after each step (`EscalationModel`); `analytics.privesc` searches the
graph for paths to administrator access or to more permissions, whatever the cloud.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from permscope.core.permissions import EffectivePermissions
from permscope.core.records import quick_frozen_init

YIELDS_TARGET = "target"  # the target principal's (or group's) effective permissions
YIELDS_CEILING = "ceiling"  # whatever the target may be given: `*` within its own limits (boundary, SCPs)
YIELDS_JOINED = "joined"  # the target user's permissions once it is in the step's `via` group


@quick_frozen_init
@dataclass(frozen=True, slots=True)
class Step:
    """One edge: `source` uses a technique and so acts as (or with the permissions of) `target`.

    A *grant* (`grants`) is different: `source` changes `target`'s permissions and stays itself; what the step
    yields is what the target then holds. Grants are kept apart (`EscalationGraph.grants`): they are not moves.
    """

    technique_id: str
    technique_name: str
    actions: tuple[str, ...]  # the actions the technique needs
    source: str
    target: str  # the principal (or group) whose permissions the source gains; itself for self-escalation
    resources: tuple[str, ...]  # what the actions were decided on (role, user, policy, function, pattern)
    yields: str = YIELDS_TARGET
    moves: bool = True  # the source then acts as the target (False: it gains them as itself, e.g. a group)
    via: str | None = None  # the existing resource, group or policy the technique goes through
    depends_on_unseen_resource: bool = False
    conditional: bool = False
    condition_keys: tuple[str, ...] = ()
    grants: bool = False  # the source gives the target these permissions (the target gains, not the source)

    def to_dict(self) -> dict[str, Any]:
        """camelCase JSON shape (the `steps` of a privilegeEscalation object)."""
        return {
            "techniqueId": self.technique_id,
            "techniqueName": self.technique_name,
            "actions": list(self.actions),
            "source": self.source,
            "target": self.target,
            "resources": list(self.resources),
            "via": self.via,
            "yields": self.yields,
            "dependsOnUnseenResource": self.depends_on_unseen_resource,
            "conditional": self.conditional,
            "conditionKeys": list(self.condition_keys),
            "grants": self.grants,
        }


@dataclass(slots=True)
class EscalationGraph:
    """Edges by source, grants by granter, and the counters of the work done to find them."""

    edges: dict[str, list[Step]] = field(default_factory=dict)
    grants: dict[str, list[Step]] = field(default_factory=dict)  # steps by which a source makes others admin
    evaluations: int = 0
    checked_sources: int = 0

    def out(self, source: str) -> list[Step]:
        """The edges leaving a node."""
        return self.edges.get(source, [])

    def granted_by(self, source: str) -> list[Step]:
        """The grants a node can make: each makes its target administrator-equivalent."""
        return self.grants.get(source, [])


class EscalationModel(Protocol):
    """One system's escalation graph and what each step gives (built by the cloud, searched by analytics)."""

    graph: EscalationGraph
    notable: int  # actions worth gaining: high-severity ones and the cloud's data-reading actions

    def of(self, external_id: str) -> EffectivePermissions:
        """A principal's (or group's) effective permissions (none when unknown)."""
        ...

    def after(self, step: Step) -> EffectivePermissions:
        """The permissions the attacker holds after a step."""
        ...


@dataclass(frozen=True, slots=True)
class TechniqueInfo:
    """How a report names an escalation technique: its id, what it does in words, where it is described."""

    technique_id: str
    words: str  # e.g. "passes a privileged role to a new Lambda function and runs code as that role"
    url: str | None = None  # its public description (pathfinding.cloud for the catalogue's ids)
