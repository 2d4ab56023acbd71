"""Effective permissions, the same shape for every cloud: what an identity may do, per catalogue action.

A cloud's evaluator (reached through `clouds.base`) computes, for each identity, three disjoint bitsets over the
cloud's action catalogue (`core.catalog`): actions granted on every resource without a condition
(`allResources`), on some resources only (`specificResources`), and only under a condition (`conditional`).
The statements (assignments, bindings) that shape the last two are kept as scoped clauses, and every action
can be explained by its reasons.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from permscope.core.bitsets import decode_actions, encode_actions, indexes_of
from permscope.core.catalog import ActionIndex


class GrantStatus(StrEnum):
    """How an action is granted to a principal."""

    ALL_RESOURCES = "allResources"
    SPECIFIC_RESOURCES = "specificResources"
    CONDITIONAL = "conditional"
    NOT_GRANTED = "notGranted"


@dataclass(frozen=True, slots=True, eq=False)
class ResourceClause:
    """The resource part (and condition keys) of one statement, as scoped clauses and explanations show it.

    Clauses are interned (`clause_of`): equal clauses are one object, so they compare and hash by identity.
    """

    layer: str
    effect: str
    resources: tuple[str, ...] | None
    not_resources: tuple[str, ...] | None
    condition_keys: tuple[str, ...]
    json: dict[str, Any] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        found: dict[str, Any] = {"layer": self.layer, "effect": self.effect}
        if self.not_resources is not None:
            found["notResources"] = list(self.not_resources)
        else:
            found["resources"] = list(self.resources) if self.resources is not None else ["*"]
        if self.condition_keys:
            found["conditionKeys"] = list(self.condition_keys)
        object.__setattr__(self, "json", found)

    def to_dict(self) -> dict[str, Any]:
        """JSON shape: {"layer", "effect", "resources" | "notResources", "conditionKeys"} (a fresh dict)."""
        return dict(self.json)


_CLAUSES: dict[tuple[object, ...], ResourceClause] = {}


def clause_of(
    layer: str,
    effect: str,
    resources: tuple[str, ...] | None,
    not_resources: tuple[str, ...] | None,
    condition_keys: tuple[str, ...],
) -> ResourceClause:
    """The one clause object with these contents."""
    key = (layer, effect, resources, not_resources, condition_keys)
    found = _CLAUSES.get(key)
    if found is None:
        found = _CLAUSES[key] = ResourceClause(layer, effect, resources, not_resources, condition_keys)
    return found


@dataclass(frozen=True, slots=True)
class ScopedClause:
    """A statement that shapes the resource scope or conditions of some granted actions, and which ones.

    `role` is "allows" (an identity policy grants them: on `*` without a condition only when they are not
    granted on every resource for another reason), "limits" (a boundary or SCP allows them only on some
    resources or under a condition) or "denies".
    """

    role: str
    clause: ResourceClause
    actions: int

    def to_dict(self, encode: Callable[[int], str] | None = None) -> dict[str, Any]:
        """JSON shape: the clause, its role and the actions as `encode_actions` writes them (`encode` may be a
        caching equivalent)."""
        actions = (encode or encode_actions)(self.actions)
        return {"role": self.role, **self.clause.json, "actions": actions}

    @classmethod
    def from_dict(cls, entry: Mapping[str, Any]) -> ScopedClause:
        """The clause `to_dict` wrote (resources `["*"]` are every resource)."""
        not_resources = entry.get("notResources")
        resources = None if not_resources is not None else tuple(entry.get("resources") or ("*",))
        clause = clause_of(
            str(entry["layer"]),
            str(entry["effect"]),
            None if resources == ("*",) else resources,
            tuple(not_resources) if not_resources is not None else None,
            tuple(entry.get("conditionKeys") or ()),
        )
        return cls(str(entry["role"]), clause, decode_actions(str(entry["actions"])))

    @staticmethod
    def actions_of(entry: Mapping[str, Any]) -> int:
        """The actions bitset of a `to_dict` entry."""
        return decode_actions(str(entry["actions"]))


@dataclass(frozen=True, slots=True)
class PermissionCounts:
    """How many catalogue actions a principal holds, by category (the contract's `assigned` is `granted`)."""

    granted: int
    all_resources: int
    specific_resources: int
    conditional: int
    high_severity: int

    def to_dict(self) -> dict[str, int]:
        """camelCase JSON shape."""
        return {
            "granted": self.granted,
            "allResources": self.all_resources,
            "specificResources": self.specific_resources,
            "conditional": self.conditional,
            "highSeverity": self.high_severity,
        }


@dataclass(frozen=True, slots=True)
class EffectivePermissions:
    """One principal's granted actions as three disjoint bitsets, and the clauses that shape the non-`*` ones."""

    all_resources: int
    specific_resources: int
    conditional: int
    clauses: tuple[ScopedClause, ...] = ()
    # `granted`, once asked for: the bitsets span the catalogue, and one object is shared by every principal
    # with the same policies (the escalation graph, PCI and detectors each ask for it)
    _granted: int | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def granted(self) -> int:
        """Every action granted in any way."""
        found = self._granted
        if found is None:
            # an empty part adds nothing: the other part itself is kept rather than a copy of it
            parts = [bits for bits in (self.all_resources, self.specific_resources, self.conditional) if bits]
            found = 0 if not parts else parts[0] if len(parts) == 1 else functools.reduce(operator.or_, parts)
            object.__setattr__(self, "_granted", found)
        return found

    def counts(self, index: ActionIndex) -> PermissionCounts:
        """The counts per category, and how many granted actions are high severity."""
        granted = self.granted
        return PermissionCounts(
            granted=granted.bit_count(),
            all_resources=self.all_resources.bit_count(),
            specific_resources=self.specific_resources.bit_count(),
            conditional=self.conditional.bit_count(),
            high_severity=(granted & index.high_severity).bit_count(),
        )

    def statuses(self) -> dict[int, GrantStatus]:
        """The status of every granted action by position, as `status` gives it, read from the bitsets once
        (`status` of thousands of actions shifted and masked the whole bitsets for each)."""
        found = dict.fromkeys(indexes_of(self.conditional), GrantStatus.CONDITIONAL)
        found.update(dict.fromkeys(indexes_of(self.specific_resources), GrantStatus.SPECIFIC_RESOURCES))
        found.update(dict.fromkeys(indexes_of(self.all_resources), GrantStatus.ALL_RESOURCES))
        return found

    def status(self, action_index: int) -> GrantStatus:
        """The status of one action."""
        bit = 1 << action_index
        if self.all_resources & bit:
            return GrantStatus.ALL_RESOURCES
        if self.specific_resources & bit:
            return GrantStatus.SPECIFIC_RESOURCES
        if self.conditional & bit:
            return GrantStatus.CONDITIONAL
        return GrantStatus.NOT_GRANTED


@dataclass(frozen=True, slots=True)
class Reason:
    """One statement that allowed, limited or denied an action, or a layer that did not allow it."""

    role: str  # "allows", "limits", "denies", "doesNotAllow"
    layer: str
    policy_name: str | None
    policy_id: str | None
    statement: str | None
    via: str | None = None
    resources: tuple[str, ...] | None = None
    not_resources: tuple[str, ...] | None = None
    condition_keys: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """camelCase JSON shape, without empty fields."""
        found: dict[str, Any] = {"role": self.role, "layer": self.layer}
        for name, value in (
            ("policyName", self.policy_name),
            ("policyId", self.policy_id),
            ("statement", self.statement),
            ("via", self.via),
        ):
            if value is not None:
                found[name] = value
        if self.role != "doesNotAllow":
            if self.not_resources is not None:
                found["notResources"] = list(self.not_resources)
            else:
                found["resources"] = list(self.resources) if self.resources is not None else ["*"]
        if self.condition_keys:
            found["conditionKeys"] = list(self.condition_keys)
        return found


@dataclass(frozen=True, slots=True)
class ActionVerdict:
    """One action an identity policy allows: its final status and every reason behind it."""

    action_index: int
    status: GrantStatus
    reasons: tuple[Reason, ...]


@dataclass(frozen=True, slots=True)
class PrincipalResult:
    """One principal's effective permissions and what could not be taken into account."""

    permissions: EffectivePermissions
    problems: tuple[str, ...]
