"""Effective permissions of one AWS principal from its layers, and the reasons behind each action.

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

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from permscope.clouds.aws.effective.compile import (
    BOUNDARY_LAYER,
    IDENTITY_LAYER,
    SCP_LAYER,
    CompiledStatement,
)
from permscope.clouds.aws.effective.layers import AppliedPolicy, AppliedStatement, PrincipalPolicies
from permscope.clouds.aws.engine.resource_scope import covers, may_overlap
from permscope.core.bitsets import indexes_of
from permscope.core.permissions import (
    ActionVerdict,
    EffectivePermissions,
    GrantStatus,
    Reason,
    ResourceClause,
    ScopedClause,
    clause_of,
)


# -- combining ------------------------------------------------------------------------------------------------
def _union(policies: Iterable[AppliedPolicy], attribute: str) -> int:
    bits = 0
    for policy in policies:
        bits |= getattr(policy.compiled, attribute)
    return bits


def _applied_statements(principal: PrincipalPolicies, touching: int) -> list[AppliedStatement]:
    """Every statement of every layer whose actions meet `touching`."""
    found: list[AppliedStatement] = []
    for _layer, policies in principal.layers():
        for policy in policies:
            if policy.compiled.named & touching:
                found.extend(item for item in policy.items if item.statement.actions & touching)
    return found


def _partition(universe: int, applied: Sequence[AppliedStatement]) -> list[tuple[int, tuple[int, ...]]]:
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


# block verdicts by (layers, (layer, id of compiled statement) per member), each with its statements held (so
# their ids are not reused): principals with the same policies meet the same blocks
_VERDICTS: dict[tuple[object, ...], tuple[_Verdict, tuple[CompiledStatement, ...]]] = {}
_MAX_VERDICTS = 65_536


def _block_verdict(layers: Sequence[str], members: Sequence[AppliedStatement]) -> _Verdict:
    """The status of a block of actions, from the statements that name it (found once per such block)."""
    key = (tuple(layers), tuple([(item.policy.layer, id(item.statement)) for item in members]))
    found = _VERDICTS.get(key)
    if found is None:
        if len(_VERDICTS) >= _MAX_VERDICTS:
            _VERDICTS.clear()
        found = _VERDICTS[key] = (_judge_block(layers, members), tuple(item.statement for item in members))
    return found[0]


def _judge_block(layers: Sequence[str], members: Sequence[AppliedStatement]) -> _Verdict:
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


def _scoped_clauses(
    principal: PrincipalPolicies, rest: int, identity_everywhere: int
) -> tuple[ScopedClause, ...]:
    """For the actions in `rest`, every statement that shapes their scope or conditions (merged by clause)."""
    found: dict[tuple[str, ResourceClause], int] = {}
    if identity_everywhere:
        everywhere = rest & identity_everywhere
        if everywhere:
            found[("allows", _EVERY_RESOURCE_GRANT)] = everywhere
    # the statements of `_applied_statements(principal, rest)` that shape a scope (`layers.shapes_scope`), in the same
    # order, as each policy lists them once (`AppliedPolicy.scoped()`)
    for _layer, policies in principal.layers():
        for policy in policies:
            if not policy.compiled.named & rest:
                continue
            for key, actions in policy.scoped():
                bits = actions & rest
                if not bits:
                    continue
                earlier = found.get(key)
                found[key] = bits if earlier is None else earlier | bits
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
    # the bitsets span the whole catalogue: an operation with 0 (most policies leave most buckets empty) is
    # skipped rather than copying the other operand
    for layer, policies in layers:
        layer_all = layer_unconditional = layer_any = 0
        for policy in policies:
            compiled = policy.compiled
            if compiled.allow_all:
                layer_all = layer_all | compiled.allow_all if layer_all else compiled.allow_all
            if compiled.allow_scoped:
                layer_unconditional = (
                    layer_unconditional | compiled.allow_scoped
                    if layer_unconditional
                    else compiled.allow_scoped
                )
            if compiled.allow_conditional:
                layer_any = (
                    layer_any | compiled.allow_conditional if layer_any else compiled.allow_conditional
                )
            if compiled.deny_all:
                deny_all |= compiled.deny_all
            if compiled.deny_conditional:
                deny_conditional |= compiled.deny_conditional
            if compiled.deny_scoped:
                deny_scoped |= compiled.deny_scoped
        if layer_all:
            layer_unconditional = layer_unconditional | layer_all if layer_unconditional else layer_all
        if layer_unconditional:
            layer_any = layer_any | layer_unconditional if layer_any else layer_unconditional
        if layer == IDENTITY_LAYER:
            identity_everywhere = layer_all
        granted = layer_any if granted == -1 else granted & layer_any
        everywhere = layer_all if everywhere == -1 else everywhere & layer_all
        unconditional = layer_unconditional if unconditional == -1 else unconditional & layer_unconditional
    if deny_all:
        granted &= ~deny_all
    denied_somewhere = deny_conditional | deny_scoped
    all_resources = everywhere & granted & ~denied_somewhere if denied_somewhere else everywhere & granted
    specific = unconditional & granted & ~all_resources
    if deny_conditional:
        specific &= ~deny_conditional
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


def _reason(item: AppliedStatement, role: str) -> Reason:
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
