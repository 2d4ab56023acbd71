"""Effective permissions of AWS principals: what each user, group and role can do, per catalogue action.

Each distinct policy document is compiled once (cached by content digest) into bitsets over the catalogue's
action indexes; each principal combines the bitsets of the policies that reach it with set algebra.

Rules (identity-based view of one account; https://docs.aws.amazon.com/IAM/latest/UserGuide/
reference_policies_evaluation-logic_policy-eval-denyallow.html):
- Layers that must all allow: the identity policies (own inline and managed, plus every group's for a
  user), the permissions boundary when one is set (users and roles), and every SCP level of the organization
  when it is known (root first; a level with no policy allows nothing). SCPs do not apply to service-linked
  roles (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html); the
  caller passes no levels for the management account. An explicit Deny in any of these policies applies.
- Per action, one status:
  * `allResources`: every layer allows it on `*` without a condition and no Deny statement of any kind
    names it. Only then is an action called unconditionally allowed everywhere.
  * `specificResources`: every layer allows it without a condition, but only on some resources (Resource
    patterns other than `*`, NotResource, or a Deny on some resources carved part of it out).
  * `conditional`: allowed only when a condition holds: an Allow with a Condition (in any layer that has no
    unconditional allow for it), or a conditional Deny on every resource (the action is then allowed only
    while the Deny's condition does not hold), or a conditional Deny covering every resource the
    unconditional allows name. The condition keys are kept.
  * not granted: no allow in some layer, an unconditional Deny on `*`, or Denies that cover every resource
    pattern the allows name.
- Partial Denies are judged by resource patterns only (`resource_scope.covers`): a Deny drops an allow
  only when it surely covers every resource the allow names; otherwise the action stays granted (its
  scoped clauses keep the Deny). This can over-report (e.g. an allow whose resources no boundary pattern
  intersects is still reported as `specificResources`) but never reports a narrower grant than exists or
  `allResources` for something restricted.
- Resource-based policies, session policies, RCPs and VPC endpoint policies are not part of this view.
- A statement with neither Resource nor NotResource (invalid in an identity policy) is read as `*`.
- Actions outside the catalogue cannot be counted: the patterns that match nothing are reported.
- A policy that does not parse grants nothing here and is reported as a problem of every principal it
  reaches (IAM would not have accepted it).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple

import orjson

from permscope.clouds.aws.catalog.index import ActionIndex, from_trimmed, indexes_of, trimmed_bytes
from permscope.clouds.aws.engine.policy import PolicyDocument, PolicyError, PolicyType, parse_policy
from permscope.clouds.aws.engine.resource_scope import covers, is_everything, may_overlap

IDENTITY_LAYER = "identity"
BOUNDARY_LAYER = "boundary"
SCP_LAYER = "scp"


class GrantStatus(StrEnum):
    """How an action is granted to a principal."""

    ALL_RESOURCES = "allResources"
    SPECIFIC_RESOURCES = "specificResources"
    CONDITIONAL = "conditional"
    NOT_GRANTED = "notGranted"


# -- compiled policies ----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CompiledStatement:
    """One statement as bitsets: its actions, resource scope and the condition keys it tests."""

    index: int
    label: str
    effect: str
    actions: int
    resources: tuple[str, ...] | None  # None: every resource
    not_resources: tuple[str, ...] | None
    condition_keys: tuple[str, ...]

    @property
    def is_allow(self) -> bool:
        """True for an Allow statement."""
        return self.effect == "Allow"

    @property
    def conditional(self) -> bool:
        """True when the statement has a Condition."""
        return bool(self.condition_keys)

    @property
    def every_resource(self) -> bool:
        """True when the statement applies to every resource (`*`)."""
        return self.resources is None and self.not_resources is None


@dataclass(frozen=True, slots=True)
class CompiledPolicy:
    """A policy document compiled over one catalogue; shared by every principal it reaches."""

    digest: str
    statements: tuple[CompiledStatement, ...]
    allow_all: int = 0  # unconditional Allow on every resource
    allow_scoped: int = 0  # unconditional Allow on some resources only
    allow_conditional: int = 0  # Allow with a Condition (any resources)
    deny_all: int = 0  # unconditional Deny on every resource
    deny_conditional: int = 0  # conditional Deny on every resource
    deny_scoped: int = 0  # Deny (conditional or not) on some resources only
    unknown_actions: tuple[str, ...] = ()
    problem: str | None = None  # why the document could not be read; it then grants nothing
    named: int = field(init=False, repr=False, compare=False)  # every action some statement names

    def __post_init__(self) -> None:
        named = 0
        for statement in self.statements:
            named |= statement.actions
        object.__setattr__(self, "named", named)

    @property
    def allow_unconditional(self) -> int:
        """Actions allowed without a condition, on every or on some resources."""
        return self.allow_all | self.allow_scoped

    @property
    def allow_any(self) -> int:
        """Actions allowed in any way."""
        return self.allow_all | self.allow_scoped | self.allow_conditional

    @property
    def deny_any(self) -> int:
        """Actions any Deny statement names."""
        return self.deny_all | self.deny_conditional | self.deny_scoped


def document_digest(document: object) -> str:
    """A stable content digest of a policy document (dict or JSON text)."""
    if isinstance(document, str | bytes):
        data = document.encode() if isinstance(document, str) else document
    else:
        data = orjson.dumps(document, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha1(data, usedforsecurity=False).hexdigest()


def _condition_keys(parsed_keys: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for key in parsed_keys:
        seen.setdefault(key.lower(), key)
    return tuple(seen.values())


def _bucket(statement: CompiledStatement) -> str:
    """Which of CompiledPolicy's bitsets a statement's actions go to."""
    if statement.is_allow:
        if statement.conditional:
            return "allow_conditional"
        return "allow_all" if statement.every_resource else "allow_scoped"
    if not statement.every_resource:
        return "deny_scoped"
    return "deny_conditional" if statement.conditional else "deny_all"


class PolicyCompiler:
    """Compiles policy documents over one catalogue, each distinct (document, type) once."""

    def __init__(self, index: ActionIndex) -> None:
        self.index = index
        self._cache: dict[tuple[str, PolicyType], CompiledPolicy] = {}

    def __len__(self) -> int:
        return len(self._cache)

    def compile(self, document: object, *, name: str, policy_type: PolicyType) -> CompiledPolicy:
        """The compiled form of a document; a malformed one compiles to a policy that grants nothing."""
        digest = document_digest(document)
        key = (digest, policy_type)
        compiled = self._cache.get(key)
        if compiled is None:
            try:
                parsed = parse_policy(document, name=name, policy_type=policy_type)
            except PolicyError as error:
                compiled = CompiledPolicy(digest=digest, statements=(), problem=error.problem)
            else:
                compiled = self._compile(digest, parsed)
            self._cache[key] = compiled
        return compiled

    def _compile(self, digest: str, parsed: PolicyDocument) -> CompiledPolicy:
        index = self.index
        statements: list[CompiledStatement] = []
        unknown: dict[str, None] = {}
        buckets = dict.fromkeys(
            ("allow_all", "allow_scoped", "allow_conditional", "deny_all", "deny_conditional", "deny_scoped"),
            0,
        )
        for raw in parsed.statements:
            if raw.actions is not None:
                actions, missing = index.expand_all(raw.actions)
            else:
                excluded, missing = index.expand_all(raw.not_actions or ())
                actions = index.full & ~excluded
            unknown.update(dict.fromkeys(pattern for pattern in missing if pattern != "*"))
            resources: tuple[str, ...] | None = raw.resources
            not_resources = raw.not_resources
            if resources is not None and any(is_everything(r) for r in resources):
                resources = None
            if not_resources is not None and any(is_everything(r) for r in not_resources):
                actions = 0  # NotResource "*" leaves no resource for the statement to apply to
            statement = CompiledStatement(
                index=raw.index,
                label=raw.label(),
                effect=raw.effect,
                actions=actions,
                resources=resources,
                not_resources=not_resources,
                condition_keys=_condition_keys(test.key for test in raw.conditions),
            )
            statements.append(statement)
            if actions:
                buckets[_bucket(statement)] |= actions
        return CompiledPolicy(
            digest=digest,
            statements=tuple(statements),
            allow_all=buckets["allow_all"],
            allow_scoped=buckets["allow_scoped"],
            allow_conditional=buckets["allow_conditional"],
            deny_all=buckets["deny_all"],
            deny_conditional=buckets["deny_conditional"],
            deny_scoped=buckets["deny_scoped"],
            unknown_actions=tuple(unknown),
        )


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


def _make_clause(layer: str, statement: CompiledStatement) -> ResourceClause:
    """The (shared) clause of a statement in a layer."""
    return clause_of(
        layer, statement.effect, statement.resources, statement.not_resources, statement.condition_keys
    )


# -- what reaches a principal --------------------------------------------------------------------------------
class _Applied(NamedTuple):
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
    items: tuple[_Applied, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        items = tuple(
            _Applied(self, statement, _make_clause(self.layer, statement))
            for statement in self.compiled.statements
        )
        object.__setattr__(self, "items", items)


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


# -- results --------------------------------------------------------------------------------------------------
def encode_actions(bits: int) -> str:
    """A bitset as text: "<byte offset>:<base64 of its little-endian bytes from that offset>"."""
    offset, data = trimmed_bytes(bits)
    return f"{offset}:{base64.b64encode(data).decode('ascii')}"


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

    @staticmethod
    def actions_of(entry: Mapping[str, Any]) -> int:
        """The actions bitset of a `to_dict` entry."""
        offset, _colon, data = str(entry["actions"]).partition(":")
        return from_trimmed(int(offset), base64.b64decode(data))


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

    @property
    def granted(self) -> int:
        """Every action granted in any way."""
        return self.all_resources | self.specific_resources | self.conditional

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


# -- combining ------------------------------------------------------------------------------------------------
def _union(policies: Iterable[AppliedPolicy], attribute: str) -> int:
    bits = 0
    for policy in policies:
        bits |= getattr(policy.compiled, attribute)
    return bits


def _applied_statements(principal: PrincipalPolicies, touching: int) -> list[_Applied]:
    """Every statement of every layer whose actions meet `touching`."""
    found: list[_Applied] = []
    for _layer, policies in principal.layers():
        for policy in policies:
            if policy.compiled.named & touching:
                found.extend(item for item in policy.items if item.statement.actions & touching)
    return found


def _partition(universe: int, applied: Sequence[_Applied]) -> list[tuple[int, tuple[int, ...]]]:
    """Split `universe` into blocks of actions named by exactly the same statements (by position)."""
    blocks: list[tuple[int, tuple[int, ...]]] = [(universe, ())] if universe else []
    for position, item in enumerate(applied):
        bits = item.statement.actions
        refined: list[tuple[int, tuple[int, ...]]] = []
        for block, signature in blocks:
            inside = block & bits
            if not inside:
                refined.append((block, signature))
            elif inside == block:
                refined.append((block, (*signature, position)))
            else:
                refined.append((inside, (*signature, position)))
                refined.append((block & ~bits, signature))
        blocks = refined
    return blocks


def _clause_covered(allow: CompiledStatement, denies: Sequence[CompiledStatement]) -> bool:
    """True when the Deny statements surely cover every resource the allow statement names."""
    for deny in denies:
        if deny.every_resource:
            return True
    if allow.resources is None and allow.not_resources is None:
        return False
    if allow.not_resources is not None:
        # the allow reaches every resource outside its NotResource list; a Deny NotResource whose list
        # lies inside it denies all of that
        return any(
            deny.not_resources is not None
            and all(
                any(covers(mine, theirs) for mine in allow.not_resources) for theirs in deny.not_resources
            )
            for deny in denies
        )
    assert allow.resources is not None
    return all(_pattern_covered(pattern, denies) for pattern in allow.resources)


def _pattern_covered(pattern: str, denies: Sequence[CompiledStatement]) -> bool:
    for deny in denies:
        if deny.resources is not None and any(covers(denied, pattern) for denied in deny.resources):
            return True
        if deny.not_resources is not None and not any(
            may_overlap(pattern, kept) for kept in deny.not_resources
        ):
            return True
    return False


@dataclass(frozen=True, slots=True)
class _Verdict:
    status: GrantStatus
    missing_layers: tuple[str, ...] = ()  # layers with no allow at all


_ALL = _Verdict(GrantStatus.ALL_RESOURCES)
_SPECIFIC = _Verdict(GrantStatus.SPECIFIC_RESOURCES)
_CONDITIONAL = _Verdict(GrantStatus.CONDITIONAL)
_DENIED = _Verdict(GrantStatus.NOT_GRANTED)


def _block_verdict(layers: Sequence[str], members: Sequence[_Applied]) -> _Verdict:
    """The status of a block of actions, from the statements that name it."""
    allows: dict[str, list[CompiledStatement]] = {layer: [] for layer in layers}
    denies: list[CompiledStatement] = []
    scoped_denies = False
    for item in members:
        statement = item.statement
        if statement.effect == "Allow":
            allows[item.layer].append(statement)
        else:
            if statement.every_resource:
                if not statement.condition_keys:
                    return _DENIED
            else:
                scoped_denies = True
            denies.append(statement)
    missing = tuple(layer for layer, found in allows.items() if not found)
    if missing:
        return _Verdict(GrantStatus.NOT_GRANTED, missing)
    unconditional = [[s for s in found if not s.condition_keys] for found in allows.values()]
    every_layer_unconditional = all(unconditional)
    if not scoped_denies:
        if denies or not every_layer_unconditional:
            return _CONDITIONAL
        if all(any(s.every_resource for s in found) for found in unconditional):
            return _ALL
        return _SPECIFIC
    hard_denies = [d for d in denies if not d.condition_keys]
    if all(_clause_covered(s, hard_denies) for s in allows[IDENTITY_LAYER]):
        return _DENIED
    open_grants = [s for s in unconditional[0] if not _clause_covered(s, hard_denies)]
    if every_layer_unconditional and open_grants and not all(_clause_covered(s, denies) for s in open_grants):
        return _SPECIFIC
    return _CONDITIONAL


_EVERY_RESOURCE_GRANT = clause_of(IDENTITY_LAYER, "Allow", None, None, ())


def _shapes_scope(statement: CompiledStatement) -> bool:
    """False for an unconditional Allow on every resource: it adds nothing to a scope or condition story."""
    return not (statement.effect == "Allow" and statement.every_resource and not statement.condition_keys)


def _scoped_clauses(
    principal: PrincipalPolicies, rest: int, identity_everywhere: int
) -> tuple[ScopedClause, ...]:
    """For the actions in `rest`, every statement that shapes their scope or conditions (merged by clause)."""
    found: dict[tuple[str, ResourceClause], int] = {}
    if rest & identity_everywhere:
        found[("allows", _EVERY_RESOURCE_GRANT)] = rest & identity_everywhere
    for item in _applied_statements(principal, rest):
        statement = item.statement
        if not _shapes_scope(statement):
            continue
        if statement.effect != "Allow":
            role = "denies"
        else:
            role = "allows" if item.layer == IDENTITY_LAYER else "limits"
        key = (role, item.clause)
        found[key] = found.get(key, 0) | (statement.actions & rest)
    return tuple(ScopedClause(role, clause, bits) for (role, clause), bits in found.items())


def effective_permissions(principal: PrincipalPolicies) -> EffectivePermissions:
    """The principal's granted actions by status, and the clauses that shape those not granted on every resource.

    Set algebra over the layers' bitsets decides every action that no resource-scoped Deny names; the actions
    such a Deny names are split into blocks that the same statements name and judged by `_block_verdict`
    (the same rules `explain_principal` applies action by action).
    """
    layers = principal.layers()
    granted = everywhere = unconditional = -1
    deny_all = deny_conditional = deny_scoped = identity_everywhere = 0
    for layer, policies in layers:
        layer_all = layer_unconditional = layer_any = 0
        for policy in policies:
            compiled = policy.compiled
            layer_all |= compiled.allow_all
            layer_unconditional |= compiled.allow_scoped
            layer_any |= compiled.allow_conditional
            deny_all |= compiled.deny_all
            deny_conditional |= compiled.deny_conditional
            deny_scoped |= compiled.deny_scoped
        layer_unconditional |= layer_all
        layer_any |= layer_unconditional
        if layer == IDENTITY_LAYER:
            identity_everywhere = layer_all
        granted &= layer_any
        everywhere &= layer_all
        unconditional &= layer_unconditional
    granted &= ~deny_all
    all_resources = everywhere & granted & ~(deny_conditional | deny_scoped)
    specific = unconditional & granted & ~all_resources & ~deny_conditional
    conditional = granted & ~all_resources & ~specific
    rest = specific | conditional
    if not rest:
        return EffectivePermissions(all_resources, 0, 0)
    tricky = rest & deny_scoped
    if tricky:
        applied = _applied_statements(principal, tricky)
        keys = [layer for layer, _policies in layers]
        for bits, signature in _partition(tricky, applied):
            verdict = _block_verdict(keys, [applied[position] for position in signature])
            specific &= ~bits
            conditional &= ~bits
            if verdict.status is GrantStatus.SPECIFIC_RESOURCES:
                specific |= bits
            elif verdict.status is GrantStatus.CONDITIONAL:
                conditional |= bits
        rest = specific | conditional
    clauses = _scoped_clauses(principal, rest, identity_everywhere)
    return EffectivePermissions(all_resources, specific, conditional, clauses)


# -- provenance for one principal -----------------------------------------------------------------------------
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


def _reason(item: _Applied, role: str) -> Reason:
    statement = item.statement
    return Reason(
        role=role,
        layer=item.layer,
        policy_name=item.policy.name,
        policy_id=item.policy.policy_id,
        statement=statement.label,
        via=item.policy.via,
        resources=statement.resources,
        not_resources=statement.not_resources,
        condition_keys=statement.condition_keys,
    )


def explain_principal(principal: PrincipalPolicies) -> list[ActionVerdict]:
    """Every action the identity policies allow (granted or not in the end), with its reasons.

    Uses the same block rules as `effective_permissions`, so both always agree.
    """
    universe = _union(principal.identity, "allow_any")
    if not universe:
        return []
    layers = [layer for layer, _policies in principal.layers()]
    applied = _applied_statements(principal, universe)
    verdicts: list[ActionVerdict] = []
    for bits, signature in _partition(universe, applied):
        members = [applied[position] for position in signature]
        verdict = _block_verdict(layers, members)
        reasons: list[Reason] = []
        for item in members:
            if not item.statement.is_allow:
                reasons.append(_reason(item, "denies"))
            elif item.layer == IDENTITY_LAYER:
                reasons.append(_reason(item, "allows"))
            elif item.statement.conditional or not item.statement.every_resource:
                reasons.append(_reason(item, "limits"))
        for layer in verdict.missing_layers:
            reasons.append(Reason(role="doesNotAllow", layer=layer, policy_name=None, policy_id=None,
                                  statement=None, via=_layer_label(principal, layer)))  # fmt: skip
        frozen = tuple(reasons)
        verdicts.extend(ActionVerdict(i, verdict.status, frozen) for i in indexes_of(bits))
    verdicts.sort(key=lambda verdict: verdict.action_index)
    return verdicts


def _layer_label(principal: PrincipalPolicies, layer: str) -> str | None:
    if layer == BOUNDARY_LAYER and principal.boundary is not None:
        return principal.boundary.name
    if layer.startswith(SCP_LAYER + ":"):
        level = principal.scp_levels[int(layer.split(":", 1)[1]) - 1]
        names = ", ".join(policy.name for policy in level) or "no policy"
        via = next((policy.via for policy in level if policy.via), None)
        return f"{via}: {names}" if via else names
    return None


# -- accounts ------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ScpLevel:
    """One level of the organization above the account (root first): a label and its SCP documents."""

    label: str
    policies: tuple[tuple[str, Any], ...]  # (name, document)

    def to_dict(self) -> dict[str, Any]:
        """JSON shape, as the conformance cases write a level: {"org_id", "policies": [{"name", "document"}]}."""
        return {"org_id": self.label, "policies": [{"name": n, "document": d} for n, d in self.policies]}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], position: int) -> ScpLevel:
        """Read the JSON shape of `to_dict` (labels default to "level N")."""
        label = str(raw.get("org_id") or raw.get("label") or f"level {position}")
        policies = tuple(
            (str(entry.get("name") or f"{label} SCP {number}"), entry["document"])
            for number, entry in enumerate(raw.get("policies") or [], start=1)
        )
        return cls(label=label, policies=policies)


@dataclass(frozen=True, slots=True)
class PrincipalRecord:
    """A principal of the account: its ARN, kind (user, group, role) and whether AWS links it to a service."""

    external_id: str
    kind: str
    service_linked: bool = False


@dataclass(frozen=True, slots=True)
class PolicyRecord:
    """A policy of the account: its id (ARN or inline id), name and document (dict or JSON text)."""

    policy_id: str
    name: str
    document: Any


@dataclass(slots=True)
class AccountInventory:
    """What effective permissions need of one account's inventory."""

    principals: list[PrincipalRecord]
    policies: dict[str, PolicyRecord]
    assignments: dict[str, list[tuple[str, str]]]  # identity -> [(policy id, attached | inline | boundary)]
    groups_of: dict[str, list[str]]  # user -> its groups


@dataclass(frozen=True, slots=True)
class PrincipalResult:
    """One principal's effective permissions and what could not be taken into account."""

    permissions: EffectivePermissions
    problems: tuple[str, ...]


class AccountEvaluator:
    """Effective permissions of an account's principals: compiled policies and equal combinations shared."""

    def __init__(
        self,
        inventory: AccountInventory,
        index: ActionIndex,
        scp_levels: Sequence[ScpLevel] = (),
        compiler: PolicyCompiler | None = None,
    ) -> None:
        self.inventory = inventory
        self.index = index
        self.compiler = compiler or PolicyCompiler(index)
        self.scp_levels = tuple(scp_levels)
        self._scps = tuple(
            tuple(
                AppliedPolicy(
                    policy_id=f"{level.label}#{name}",
                    name=name,
                    layer=scp_layer(number),
                    compiled=self.compiler.compile(document, name=name, policy_type=PolicyType.SCP),
                    via=level.label,
                )
                for name, document in level.policies
            )
            for number, level in enumerate(self.scp_levels, start=1)
        )
        self._kinds = {p.external_id: p for p in inventory.principals}
        self._applied: dict[tuple[str, str, str | None], AppliedPolicy] = {}
        self._compiled: dict[tuple[str, PolicyType], CompiledPolicy] = {}
        self._results: dict[tuple[object, ...], EffectivePermissions] = {}

    @property
    def distinct_combinations(self) -> int:
        """How many distinct policy combinations were evaluated."""
        return len(self._results)

    def _apply(self, policy_id: str, layer: str, via: str | None, relation: str) -> AppliedPolicy | None:
        key = (policy_id, layer, via)
        found = self._applied.get(key)
        if found is None:
            record = self.inventory.policies.get(policy_id)
            if record is None:
                return None
            policy_type = PolicyType.BOUNDARY if layer == BOUNDARY_LAYER else PolicyType.IDENTITY
            compiled = self._compiled.get((policy_id, policy_type))
            if compiled is None:
                compiled = self.compiler.compile(record.document, name=record.name, policy_type=policy_type)
                self._compiled[(policy_id, policy_type)] = compiled
            found = AppliedPolicy(policy_id, record.name, layer, compiled, via, relation)
            self._applied[key] = found
        return found

    def principal(self, external_id: str) -> PrincipalPolicies:
        """The policies that decide one principal's permissions (raises KeyError for an unknown principal)."""
        record = self._kinds[external_id]
        notes: list[str] = []
        identity: list[AppliedPolicy] = []
        boundary: AppliedPolicy | None = None
        owners: list[tuple[str, str | None]] = [(external_id, None)]
        if record.kind == "user":
            owners += [(group, group) for group in self.inventory.groups_of.get(external_id, ())]
        for owner, via in owners:
            for policy_id, relation in self.inventory.assignments.get(owner, ()):
                if relation == "boundary":
                    if owner != external_id or record.kind == "group":
                        continue
                    boundary = self._apply(policy_id, BOUNDARY_LAYER, None, relation)
                    if boundary is None:
                        notes.append(f"permissions boundary {policy_id} is not in the inventory; it is ignored,"
                                     " so permissions may be over-reported")  # fmt: skip
                    continue
                if relation not in ("attached", "inline"):
                    continue
                applied = self._apply(policy_id, IDENTITY_LAYER, via, relation)
                if applied is None:
                    notes.append(
                        f"policy {policy_id} attached to {owner} is not in the inventory; not counted"
                    )
                else:
                    identity.append(applied)
        scps = () if record.service_linked else self._scps
        return PrincipalPolicies(tuple(identity), boundary, scps, tuple(notes))

    def evaluate(self, external_id: str) -> PrincipalResult:
        """One principal's effective permissions (equal policy combinations are computed once)."""
        principal = self.principal(external_id)
        key = principal.cache_key()
        permissions = self._results.get(key)
        if permissions is None:
            permissions = effective_permissions(principal)
            self._results[key] = permissions
        return PrincipalResult(permissions, tuple(principal.problems()))

    def explain(self, external_id: str) -> list[ActionVerdict]:
        """Per action the identity policies allow: its status and the reasons (see `explain_principal`)."""
        return explain_principal(self.principal(external_id))

    def unknown_actions(self) -> dict[str, list[str]]:
        """Per policy name, the action patterns that match no catalogue action (policies compiled so far)."""
        found: dict[str, list[str]] = {}
        for applied in [*self._applied.values(), *(p for level in self._scps for p in level)]:
            if applied.compiled.unknown_actions:
                found.setdefault(applied.name, list(applied.compiled.unknown_actions))
        return dict(sorted(found.items()))
