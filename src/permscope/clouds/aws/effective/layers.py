"""What reaches one AWS principal: its identity policies, boundary and SCP levels, each a layer that must allow."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from permscope.clouds.aws.effective.compile import (
    BOUNDARY_LAYER,
    IDENTITY_LAYER,
    SCP_LAYER,
    CompiledPolicy,
    CompiledStatement,
)
from permscope.core.permissions import ResourceClause, clause_of


def _make_clause(layer: str, statement: CompiledStatement) -> ResourceClause:
    """The (shared) clause of a statement in a layer."""
    return clause_of(
        layer, statement.effect, statement.resources, statement.not_resources, statement.condition_keys
    )


def shapes_scope(statement: CompiledStatement) -> bool:
    """False for an unconditional Allow on every resource: it adds nothing to a scope or condition story."""
    return not (statement.effect == "Allow" and statement.every_resource and not statement.condition_keys)


# -- what reaches a principal --------------------------------------------------------------------------------
class AppliedStatement(NamedTuple):
    """One statement as it reaches a principal (the same compiled statement may reach it twice)."""

    policy: AppliedPolicy
    statement: CompiledStatement
    clause: ResourceClause

    @property
    def layer(self) -> str:
        """The layer key of the statement's policy."""
        return self.policy.layer


@dataclass(frozen=True, slots=True)
class AppliedPolicy:
    """A compiled policy as it reaches one principal: which layer, its name, and through which group."""

    policy_id: str
    name: str
    layer: str  # "identity", "boundary", or "scp:N" for the N-th SCP level (1 = the root)
    compiled: CompiledPolicy
    via: str | None = None  # the group a user inherits it from, or the SCP level's label
    relation: str = "attached"  # attached or inline (identity policies)
    items: tuple[AppliedStatement, ...] = field(init=False, repr=False, compare=False)
    _scoped: tuple[tuple[tuple[str, ResourceClause], int], ...] | None = field(
        init=False, default=None, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        items = tuple(
            AppliedStatement(self, statement, _make_clause(self.layer, statement))
            for statement in self.compiled.statements
        )
        object.__setattr__(self, "items", items)

    def scoped(self) -> tuple[tuple[tuple[str, ResourceClause], int], ...]:
        """The statements that shape a scope or a condition story (`shapes_scope`), as ((role, clause),
        actions): what `combine._scoped_clauses` merges, listed on first use."""
        found = self._scoped
        if found is None:
            allow_role = "allows" if self.layer == IDENTITY_LAYER else "limits"
            found = tuple(
                ((allow_role if item.statement.is_allow else "denies", item.clause), item.statement.actions)
                for item in self.items
                if shapes_scope(item.statement)
            )
            object.__setattr__(self, "_scoped", found)
        return found


def scp_layer(level: int) -> str:
    """The layer key of the SCP level `level` (1 = the organization root)."""
    return f"{SCP_LAYER}:{level}"


@dataclass(frozen=True, slots=True)
class PrincipalPolicies:
    """Everything that decides one principal's effective permissions."""

    identity: tuple[AppliedPolicy, ...]
    boundary: AppliedPolicy | None = None
    scp_levels: tuple[tuple[AppliedPolicy, ...], ...] = ()
    notes: tuple[str, ...] = ()  # facts the caller found (e.g. a boundary missing from the export)

    def __post_init__(self) -> None:
        for layer, policies in self.layers():
            for policy in policies:
                if policy.layer != layer:
                    raise ValueError(f"policy {policy.name} is in layer {layer} but says {policy.layer}")

    def layers(self) -> list[tuple[str, tuple[AppliedPolicy, ...]]]:
        """(layer key, policies) for every layer that must allow, identity first."""
        found: list[tuple[str, tuple[AppliedPolicy, ...]]] = [(IDENTITY_LAYER, self.identity)]
        if self.boundary is not None:
            found.append((BOUNDARY_LAYER, (self.boundary,)))
        for number, level in enumerate(self.scp_levels, start=1):
            found.append((scp_layer(number), level))
        return found

    def cache_key(self) -> tuple[object, ...]:
        """Equal for principals whose policies have the same contents (their results are then equal)."""
        return (
            frozenset(p.compiled.digest for p in self.identity),
            self.boundary.compiled.digest if self.boundary is not None else None,
            tuple(frozenset(p.compiled.digest for p in level) for level in self.scp_levels),
        )

    def problems(self) -> list[str]:
        """Policies that could not be read, and what the caller noted."""
        found = list(self.notes)
        for _layer, policies in self.layers():
            for policy in policies:
                if policy.compiled.problem is not None:
                    found.append(f"policy {policy.name} could not be read and grants nothing here: "
                                 f"{policy.compiled.problem}")  # fmt: skip
        return found

    def unknown_actions(self) -> list[str]:
        """Action patterns of these policies that match no catalogue action."""
        seen: dict[str, None] = {}
        for _layer, policies in self.layers():
            for policy in policies:
                seen.update(dict.fromkeys(policy.compiled.unknown_actions))
        return list(seen)
