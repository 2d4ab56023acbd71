"""A project's effective permissions: the documented IAM rules over bitsets, explained action by action.

For each identity (user, group, service account; federated principals as users and groups):
- the bindings that reach it: its own, its groups' (nested, transitively) and its audiences' (`allUsers`,
  `allAuthenticatedUsers`, `domain:D`, pools: the transform records them as memberships);
- a binding's role grants its permissions (each distinct role compiled once, `compile.RoleCompiler`) unless it
  is a custom role defined in another project or organization (IAM refuses such bindings; one found is
  reported and grants nothing) or a deleted or unknown role;
- `allResources`: granted without a condition at the project or above (organization, folders: inherited);
  `specificResources`: granted only on resources inside the project (a bucket, a service account, ...);
  `conditional`: granted only under an IAM condition (the union, so an action granted both ways is in the
  widest set);
- deny policies attached to the project and its ancestors (the organization levels) are checked before allow:
  a rule whose denied principals cover the identity (directly, through its groups, `principalSet://goog/
  public:all`) and whose exception principals do not, removes its permissions (minus the exception
  permissions) from every set; a rule with a denial condition moves them to `conditional` instead (granted
  only where the condition is false).
Identities with equal bindings and equal deny rules share one result (`distinctCombinations`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from permscope.clouds.base import PermissionInventory
from permscope.clouds.gcp.effective.compile import DenyRule, RoleCompiler, compile_deny_levels
from permscope.clouds.gcp.engine.principals import Caller, CallerError, Membership, parse_caller
from permscope.core.bitsets import indexes_of
from permscope.core.catalog import ActionIndex
from permscope.core.permissions import (
    ActionVerdict,
    EffectivePermissions,
    GrantStatus,
    PrincipalResult,
    Reason,
    ScopedClause,
    clause_of,
)

LEVEL_PREFIXES = ("organizations/", "folders/", "projects/")
EVALUATED_KINDS = ("user", "group", "serviceAccount")


def is_level(scope: str) -> bool:
    """An organization, folder or project scope (bindings there reach every resource of the project)."""
    return (scope.startswith(LEVEL_PREFIXES) and scope.count("/") == 1) or scope == ""


def condition_text(condition: Any) -> str | None:
    """The expression of a stored condition (None for none)."""
    if isinstance(condition, Mapping) and condition.get("expression"):
        return str(condition["expression"])
    return None


@dataclass(frozen=True, slots=True)
class Grant:
    """One binding reaching an identity."""

    role: str
    scope: str
    condition: str | None
    via: str | None  # the group (or audience) chain, None when bound to the identity itself


@dataclass(frozen=True, slots=True)
class _Part:
    """What the bindings to one owner (an identity, group or audience) grant, before denies."""

    every: int
    specific: int
    conditional: int
    clauses: dict[Any, int]
    problems: dict[str, None]


class ProjectEvaluator:
    """Effective permissions of one project's identities (`clouds.base.PermissionEvaluator`)."""

    def __init__(
        self, inventory: PermissionInventory, index: ActionIndex, levels: Sequence[Any] | None
    ) -> None:
        self.inventory, self.index = inventory, index
        self.problems: list[str] = []
        self.lineage, self.rules = compile_deny_levels(levels, index, self.problems)
        self.project = self.lineage[-1] if self.lineage and self.lineage[-1].startswith("projects/") else None
        self.organization = next((n for n in self.lineage if n.startswith("organizations/")), None)
        self.roles = RoleCompiler(index)
        self.kinds = {identity.external_id: identity.kind for identity in inventory.identities}
        self._results: dict[tuple[Any, ...], PrincipalResult] = {}
        self._closures: dict[tuple[str, ...], dict[str, tuple[str, ...]]] = {}
        self._grants: dict[str, tuple[tuple[str, str, str | None], ...]] = {}
        self._parts: dict[str, _Part] = {}
        self._unknown: dict[str, list[str]] = {}

    # -- what reaches an identity -------------------------------------------------------------------------
    def groups(self, external_id: str) -> dict[str, tuple[str, ...]]:
        """Every group and audience of an identity, transitively, with the chain leading to each (identities
        with the same direct groups share one answer)."""
        direct = tuple(sorted(self.inventory.groups_of.get(external_id, ())))
        found = self._closures.get(direct)
        if found is None:
            groups_of = self.inventory.groups_of
            found = {}
            frontier: list[tuple[str, tuple[str, ...]]] = [(group, (group,)) for group in direct]
            for group, chain in frontier:
                found.setdefault(group, chain)
            while frontier:
                nxt: list[tuple[str, tuple[str, ...]]] = []
                for member, chain in frontier:
                    for group in groups_of.get(member, ()):
                        if group not in found:
                            found[group] = (*chain, group)
                            nxt.append((group, found[group]))
                frontier = nxt
            self._closures[direct] = found
        if external_id in found:  # a group nested in itself
            found = {group: chain for group, chain in found.items() if group != external_id}
        return found

    def _owner_grants(self, owner: str) -> tuple[tuple[str, str, str | None], ...]:
        """(role, scope, condition) of the bindings to one identity or group (read once)."""
        found = self._grants.get(owner)
        if found is None:
            rows = self.inventory.scoped.get(owner)
            if rows is None:  # an inventory without scopes: every assignment is unconditional on the project
                rows = [
                    (policy, relation, "", None)
                    for policy, relation in self.inventory.assignments.get(owner, ())
                ]
            found = tuple(
                (policy, scope, condition_text(condition))
                for policy, relation, scope, condition in rows
                if relation == "attached"
            )
            self._grants[owner] = found
        return found

    def grants(self, external_id: str, groups: Mapping[str, tuple[str, ...]]) -> list[Grant]:
        """The bindings that reach an identity (its own, then its groups' and audiences')."""
        found = []
        for owner, chain in ((external_id, ()), *groups.items()):
            via = " -> ".join(chain) or None
            found += [
                Grant(role, scope, condition, via) for role, scope, condition in self._owner_grants(owner)
            ]
        return found

    def _caller(self, external_id: str) -> Caller:
        if self.kinds.get(external_id) == "group" or external_id.startswith(("group:", "principalSet://")):
            return Caller(external_id, external_id, "group")
        try:
            return parse_caller(external_id)
        except CallerError:
            return Caller(external_id, external_id, "group")

    def denies(
        self, external_id: str, groups: dict[str, tuple[str, ...]]
    ) -> list[tuple[DenyRule, str | None]]:
        """The deny rules that apply to an identity, each with the group chain that brings it under the rule."""
        if not self.rules:
            return []
        member_groups = groups
        if external_id.startswith(("group:", "principalSet://")):
            member_groups = {**groups, external_id: ()}
        membership = Membership(self._caller(external_id), {}, {}, {}, groups=member_groups)
        found = []
        for rule in self.rules:
            covered = membership.covering(rule.denied)
            if covered is None or membership.covering(rule.exceptions) is not None:
                continue
            found.append((rule, " -> ".join(covered[1]) or None))
        return found

    # -- the rules ---------------------------------------------------------------------------------------
    def _home_problem(self, role: str) -> str | None:
        if role.startswith("projects/"):
            home = role.partition("/roles/")[0]
            if self.project is not None and home != self.project:
                return f"{role}: a custom role of {home} grants nothing in {self.project}"
        elif role.startswith("organizations/"):
            home = role.partition("/roles/")[0]
            if self.organization is not None and home != self.organization:
                return f"{role}: a custom role of {home} grants nothing outside it"
        return None

    def _role_bits(self, role: str) -> tuple[int, str | None]:
        policy = self.inventory.policies.get(role)
        if policy is None:
            return 0, f"{role}: the role is not in the inventory"
        problem = self._home_problem(role)
        if problem is not None:
            return 0, problem
        compiled = self.roles.compile(role, policy[1])
        if compiled.unknown:
            self._unknown[policy[0] or role] = list(compiled.unknown)
        if not compiled.grants:
            return 0, f"{role}: a deleted or unknown role grants nothing"
        return compiled.bits, None

    def evaluate(self, external_id: str) -> PrincipalResult:
        """One identity's effective permissions (KeyError for an unknown identity)."""
        if external_id not in self.kinds:
            raise KeyError(external_id)
        groups = self.groups(external_id)
        denies = self.denies(external_id, groups)
        key = (
            self._owner_grants(external_id),
            tuple(sorted(self.inventory.groups_of.get(external_id, ()))),
            tuple((rule.policy, rule.number) for rule, _ in denies),
        )
        found = self._results.get(key)
        if found is None:
            parts = [self._owner_part(owner) for owner in (external_id, *groups)]
            found = self._results[key] = self._combine(parts, denies)
        return found

    def _owner_part(self, owner: str) -> _Part:
        """What the bindings to one identity or group grant (computed once per owner)."""
        found = self._parts.get(owner)
        if found is None:
            found = self._parts[owner] = self._grant_part(
                [Grant(role, scope, condition, None) for role, scope, condition in self._owner_grants(owner)]
            )
        return found

    def _combine(self, parts: list[_Part], denies: list[tuple[DenyRule, str | None]]) -> PrincipalResult:
        every = specific = conditional = 0
        clauses: dict[Any, int] = {}
        problems: dict[str, None] = {}
        for part in parts:
            every |= part.every
            specific |= part.specific
            conditional |= part.conditional
            for clause, bits in part.clauses.items():
                clauses[clause] = clauses.get(clause, 0) | bits
            problems.update(part.problems)
        return self._finish(every, specific, conditional, clauses, problems, denies)

    def _grant_part(self, grants: list[Grant]) -> _Part:
        every = specific = conditional = 0
        clauses: dict[Any, int] = {}
        problems: dict[str, None] = {}
        for grant in grants:
            bits, problem = self._role_bits(grant.role)
            if problem is not None:
                problems[problem] = None
            if not bits:
                continue
            if grant.condition is not None:
                conditional |= bits
                clause = clause_of(
                    "binding",
                    "Allow",
                    None if is_level(grant.scope) else (grant.scope,),
                    None,
                    (grant.condition,),
                )
                clauses[clause] = clauses.get(clause, 0) | bits
            elif is_level(grant.scope):
                every |= bits
            else:
                specific |= bits
                clause = clause_of("binding", "Allow", (grant.scope,), None, ())
                clauses[clause] = clauses.get(clause, 0) | bits
        return _Part(every, specific, conditional, clauses, problems)

    def _finish(
        self,
        every: int,
        specific: int,
        conditional: int,
        clauses: dict[Any, int],
        problems: dict[str, None],
        denies: list[tuple[DenyRule, str | None]],
    ) -> PrincipalResult:
        denied_clauses: list[ScopedClause] = []
        for rule, _via in denies:
            bits = rule.bits & (every | specific | conditional)
            if not bits:
                continue
            condition = condition_text(rule.condition)
            if condition is None:
                every, specific, conditional = every & ~bits, specific & ~bits, conditional & ~bits
            else:
                conditional |= (every | specific) & bits
                every, specific = every & ~bits, specific & ~bits
            clause = clause_of("deny", "Deny", (rule.attachment,), None, (condition,) if condition else ())
            denied_clauses.append(ScopedClause("denies", clause, bits))
        specific &= ~every
        conditional &= ~(every | specific)
        scoped = tuple(
            ScopedClause("allows", clause, bits & (specific | conditional))
            for clause, bits in clauses.items()
            if bits & (specific | conditional)
        )
        return PrincipalResult(
            EffectivePermissions(every, specific, conditional, scoped + tuple(denied_clauses)),
            tuple(problems),
        )

    def explain(self, external_id: str) -> list[ActionVerdict]:
        """Every action a binding grants the identity, with its final status and every reason."""
        result = self.evaluate(external_id)
        groups = self.groups(external_id)
        reasons: dict[int, list[Reason]] = {}
        for grant in self.grants(external_id, groups):
            bits, _problem = self._role_bits(grant.role)
            policy = self.inventory.policies.get(grant.role)
            reason = Reason(
                "allows",
                "binding",
                policy[0] if policy else grant.role,
                grant.role,
                grant.scope,
                via=grant.via,
                resources=None if is_level(grant.scope) else (grant.scope,),
                condition_keys=(grant.condition,) if grant.condition else (),
            )
            for position in indexes_of(bits):
                reasons.setdefault(position, []).append(reason)
        for rule, via in self.denies(external_id, groups):
            condition = condition_text(rule.condition)
            reason = Reason(
                "denies",
                "deny",
                rule.display_name,
                rule.policy,
                f"rule {rule.number}",
                via=via,
                resources=(rule.attachment,),
                condition_keys=(condition,) if condition else (),
            )
            for position in indexes_of(rule.bits):
                if position in reasons:
                    reasons[position].append(reason)
        statuses = result.permissions.statuses()
        return [
            ActionVerdict(position, statuses.get(position, GrantStatus.NOT_GRANTED), tuple(found))
            for position, found in sorted(reasons.items())
        ]

    def statistics(self) -> dict[str, Any]:
        """Distinct roles compiled and combinations, and the permissions of roles the catalogue lacks."""
        return {
            "distinctPolicies": len(self.roles),
            "distinctCombinations": len(self._results),
            "unknownActions": dict(self._unknown),
        }


__all__ = ["EVALUATED_KINDS", "GrantStatus", "ProjectEvaluator", "is_level"]
