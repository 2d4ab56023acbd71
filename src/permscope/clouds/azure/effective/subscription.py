"""Effective permissions of a subscription's identities: each role's bits placed by the scope and condition of
the assignment that gives it, then deny assignments.

The rules (docs/azure.md):
- An identity holds the role assignments made to it and to every group it belongs to, directly or through
  nested groups; roles are additive.
- Granted at the root, a management group above the subscription or the subscription itself without a
  condition: `allResources`. Only at resource groups or resources: `specificResources` (a clause names the
  scope). Only under an ABAC condition, or the role's own: `conditional` (a clause names the scope and the
  attributes the condition reads). A condition that cannot be read grants nothing (as the engine decides).
- A deny assignment applies when it names the identity, one of its groups or everyone, and excludes none of
  them. One at the subscription or above, to child scopes too and without a condition, removes what it denies;
  any other (narrower, this scope only, or conditional) limits it: an action held on every resource then holds
  on some only, and a `denies` clause names where.
Identities with the same assignments and applicable denies share one result.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from permscope.clouds.azure.effective.compile import RoleCompiler
from permscope.clouds.azure.engine.conditions import assignment_condition
from permscope.clouds.azure.engine.evaluate import ALL_PRINCIPALS, group_closure, groups_above
from permscope.clouds.azure.engine.scopes import ScopeKey, is_management_group, scope_key
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
from permscope.core.snapshot import as_document

ROLE_LAYER, DENY_LAYER = "roleAssignment", "denyAssignment"
ATTACHED, DENY = "attached", "deny"
_ATTRIBUTE = re.compile(r"@(Resource|Request|Principal|Environment)\[([^\]]+)\]", re.IGNORECASE)


def whole_subscription(key: ScopeKey) -> bool:
    """Whether an assignment at this scope covers the whole subscription it reaches: the root, a management
    group, or a subscription itself (the batch holds only assignments that reach its subscription)."""
    return not key or is_management_group(key) or (len(key) == 2 and key[0] == "subscriptions")


def condition_keys(text: str) -> tuple[str, ...]:
    """The attributes a condition reads, as `@Source[name]`."""
    return tuple(dict.fromkeys(f"@{m.group(1)}[{m.group(2)}]" for m in _ATTRIBUTE.finditer(text)))


@dataclass(frozen=True, slots=True)
class Grant:
    """A role assignment as the combination reads it."""

    role: str
    scope: str
    whole: bool
    condition: str | None  # the condition's text
    error: str | None  # why the condition cannot be evaluated (then it grants nothing)
    via: str | None  # the group it comes through, None when made to the identity

    @property
    def key(self) -> tuple[str, str, str, str]:
        """What the combination reads of it (equal keys grant the same, whichever principal holds them)."""
        return (self.role, self.scope.lower(), self.condition or "", self.error or "")


@dataclass(frozen=True, slots=True)
class DenyRule:
    """A deny assignment."""

    policy: str
    name: str
    scope: str
    key: ScopeKey
    principals: frozenset[str]
    excluded: frozenset[str]
    this_scope_only: bool
    conditional: bool

    @property
    def removes(self) -> bool:
        """Whether it removes what it denies everywhere in the subscription (rather than limiting it)."""
        return whole_subscription(self.key) and not self.this_scope_only and not self.conditional


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


class SubscriptionEvaluator:
    """Effective permissions of one subscription's identities (`clouds.base.PermissionEvaluator`)."""

    def __init__(
        self,
        index: ActionIndex,
        policies: Mapping[str, tuple[str, Any]],
        scoped: Mapping[str, Sequence[tuple[str, str, str, Any]]],
        groups_of: Mapping[str, Sequence[str]],
    ) -> None:
        self.index = index
        self.compiler = RoleCompiler(index)
        self.names = {policy: name for policy, (name, _document) in policies.items()}
        self._documents = {policy: document for policy, (_name, document) in policies.items()}
        self._groups_of = groups_of
        self._own: dict[str, list[Grant]] = {}
        denies: dict[str, DenyRule] = {}
        for identity, rows in scoped.items():
            for policy, relation, scope, condition in rows:
                if relation == ATTACHED:
                    self._own.setdefault(identity, []).append(self._grant(policy, scope, condition))
                elif relation == DENY and policy not in denies:
                    denies[policy] = self._deny(policy, scope, condition)
        # a deny assignment is stored once per principal it names: every principal is read from its document
        self.denies = list(denies.values())
        self._named = frozenset(p for deny in self.denies for p in (*deny.principals, *deny.excluded))
        self._results: dict[tuple[Any, ...], PrincipalResult] = {}
        # (own assignments, groups) -> result, for identities no deny assignment names (see `_signature`)
        self._by_signature: dict[tuple[Any, ...], PrincipalResult] = {}
        self._own_keys: dict[str, frozenset[tuple[str, str, str, str]]] = {}
        self._closures: dict[tuple[str, ...], tuple[str, ...]] = {}  # direct groups -> every group

    def _grant(self, role: str, scope: str, condition: Any) -> Grant:
        condition = as_document(condition) if condition else None
        text = _text(condition.get("condition")) if isinstance(condition, Mapping) else None
        error = None
        if text is not None:
            error = assignment_condition(text, condition.get("conditionVersion"))[1]
        return Grant(role, scope, whole_subscription(scope_key(scope)), text, error, None)

    def _deny(self, policy: str, scope: str, condition: Any) -> DenyRule:
        document = as_document(self._documents.get(policy)) or {}
        principals = frozenset(str(p).lower() for p in document.get("principals") or () if isinstance(p, str))
        excluded = frozenset(
            str(p).lower() for p in document.get("excludePrincipals") or () if isinstance(p, str)
        )
        conditional = bool(_text(document.get("condition"))) or bool(condition)
        return DenyRule(
            policy,
            self.names.get(policy, policy),
            scope,
            scope_key(scope),
            principals or frozenset({ALL_PRINCIPALS}),
            excluded,
            bool(document.get("doNotApplyToChildScopes")),
            conditional,
        )

    # -- what reaches an identity -------------------------------------------------------------------------
    def groups(self, external_id: str) -> tuple[str, ...]:
        """Every group of an identity, directly or through nested groups (`group_closure`; identities with the
        same direct groups share the walk)."""
        principal = external_id.lower()
        direct = self._groups_of.get(principal)
        if not direct:
            return ()
        listed = tuple(direct)
        found = self._closures.get(listed)
        if found is None:
            found = self._closures[listed] = groups_above(listed, self._groups_of)
        if principal in found:  # a group within its own ancestry: walk without it
            return group_closure(external_id, self._groups_of)
        return found

    def grants(self, external_id: str) -> list[Grant]:
        """The role assignments of an identity and of its groups (`via` names the group)."""
        return self._grants(external_id, self.groups(external_id))

    def _grants(self, external_id: str, groups: Sequence[str]) -> list[Grant]:
        found = list(self._own.get(external_id, ()))
        for group in groups:
            found += [
                Grant(g.role, g.scope, g.whole, g.condition, g.error, group) for g in self._own.get(group, ())
            ]
        return found

    def applicable_denies(self, external_id: str) -> list[DenyRule]:
        """The deny assignments that apply to an identity (named, through a group, or everyone; not excluded)."""
        return self._denies(external_id, self.groups(external_id))

    def _denies(self, external_id: str, groups: Sequence[str]) -> list[DenyRule]:
        who = {external_id.lower(), *groups}
        return [
            deny
            for deny in self.denies
            if (ALL_PRINCIPALS in deny.principals or who & deny.principals) and not who & deny.excluded
        ]

    # -- the combination ----------------------------------------------------------------------------------
    def evaluate(self, external_id: str) -> PrincipalResult:
        """One identity's effective permissions (identities with the same grants and denies share one)."""
        groups = self.groups(external_id)
        signature = self._signature(external_id, groups)
        found = None if signature is None else self._by_signature.get(signature)
        if found is None:
            grants = self._grants(external_id, groups)
            denies = self._denies(external_id, groups)
            key = (tuple(sorted({g.key for g in grants})), tuple(deny.policy for deny in denies))
            found = self._results.get(key)
            if found is None:
                found = self._results[key] = self._combine(grants, denies)
            if signature is not None:
                self._by_signature[signature] = found
        return found

    def _signature(self, external_id: str, groups: tuple[str, ...]) -> tuple[Any, ...] | None:
        """What decides an identity's result when no deny assignment names it (None when one does): its own
        role assignments and its groups (theirs and the denies naming them follow)."""
        if external_id.lower() in self._named:
            return None
        own = self._own_keys.get(external_id)
        if own is None:
            own = self._own_keys[external_id] = frozenset(g.key for g in self._own.get(external_id, ()))
        return (own, groups)

    def _combine(self, grants: Iterable[Grant], denies: Sequence[DenyRule]) -> PrincipalResult:
        whole = specific = conditional = 0
        problems: list[str] = []
        allow_clauses: list[tuple[Any, int, str]] = []  # (clause, bits, where it counts)
        for grant in grants:
            document = self._documents.get(grant.role)
            if document is None:
                problems.append(
                    f"role {grant.role} assigned at {grant.scope} is not defined: it grants nothing"
                )
                continue
            bits = self.compiler.compile(grant.role, document)
            if grant.error is not None:
                problems.append(
                    f"the condition of {self.names.get(grant.role, grant.role)} at {grant.scope} cannot be "
                    f"evaluated ({grant.error}): it grants nothing"
                )
                continue
            resources = None if grant.whole else (grant.scope,)
            if grant.condition is not None:
                conditional |= bits.any
                clause = clause_of(ROLE_LAYER, "Allow", resources, None, condition_keys(grant.condition))
                allow_clauses.append((clause, bits.any, "conditional"))
                continue
            if bits.conditional:
                conditional |= bits.conditional
                allow_clauses.append(
                    (
                        clause_of(ROLE_LAYER, "Allow", resources, None, ("roleDefinitionCondition",)),
                        bits.conditional,
                        "conditional",
                    )
                )
            if grant.whole:
                whole |= bits.granted
            else:
                specific |= bits.granted
                allow_clauses.append(
                    (clause_of(ROLE_LAYER, "Allow", resources, None, ()), bits.granted, "specific")
                )
        specific &= ~whole
        conditional &= ~(whole | specific)
        deny_clauses: list[ScopedClause] = []
        for deny in denies:
            denied = self.compiler.compile(deny.policy, self._documents.get(deny.policy)).any
            if deny.removes:
                whole, specific, conditional = whole & ~denied, specific & ~denied, conditional & ~denied
                continue
            limited = whole & denied
            whole &= ~denied
            specific |= limited
            touched = (specific | conditional) & denied
            if touched:
                clause = clause_of(
                    DENY_LAYER, "Deny", (deny.scope,), None, ("condition",) if deny.conditional else ()
                )
                deny_clauses.append(ScopedClause("denies", clause, touched))
        clauses = [
            ScopedClause("allows", clause, bits & (specific if where == "specific" else conditional))
            for clause, bits, where in allow_clauses
            if bits & (specific if where == "specific" else conditional)
        ]
        permissions = EffectivePermissions(whole, specific, conditional, tuple([*clauses, *deny_clauses]))
        return PrincipalResult(permissions, tuple(dict.fromkeys(problems)))

    # -- explanation --------------------------------------------------------------------------------------
    def explain(self, external_id: str) -> list[ActionVerdict]:
        """Every action a role assignment of the identity grants, with each assignment that grants it and each
        deny assignment that removes or limits it."""
        result = self.evaluate(external_id).permissions
        reasons: dict[int, list[Reason]] = {}
        for grant in self.grants(external_id):
            document = self._documents.get(grant.role)
            if document is None or grant.error is not None:
                continue
            bits = self.compiler.compile(grant.role, document).any
            keys = condition_keys(grant.condition) if grant.condition else ()
            reason = Reason(
                "allows",
                ROLE_LAYER,
                self.names.get(grant.role, grant.role),
                grant.role,
                f"assigned at {grant.scope}" + (" under a condition" if grant.condition else ""),
                via=f"group {grant.via}" if grant.via else None,
                resources=None if grant.whole else (grant.scope,),
                condition_keys=keys,
            )
            for position in indexes_of(bits):
                reasons.setdefault(position, []).append(reason)
        for deny in self.applicable_denies(external_id):
            denied = self.compiler.compile(deny.policy, self._documents.get(deny.policy)).any
            reason = Reason(
                "denies",
                DENY_LAYER,
                deny.name,
                deny.policy,
                f"deny assignment at {deny.scope}" + (" (this scope only)" if deny.this_scope_only else ""),
                resources=(deny.scope,),
            )
            for position in indexes_of(denied):
                if position in reasons:
                    reasons[position].append(reason)
        statuses = result.statuses()
        return [
            ActionVerdict(position, statuses.get(position, GrantStatus.NOT_GRANTED), tuple(found))
            for position, found in sorted(reasons.items())
        ]

    def statistics(self) -> dict[str, Any]:
        """Distinct roles compiled, distinct combinations, and the unknown operations per role."""
        return {
            "distinctPolicies": len(self.compiler),
            "distinctCombinations": len(self._results),
            "unknownActions": self.compiler.unknown_actions(self.names),
        }
