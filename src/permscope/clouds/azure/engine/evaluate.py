"""One Azure RBAC request decided and explained, from compiled role definitions, role and deny assignments,
the requester's transitive groups and the management-group hierarchy.

The rules (https://learn.microsoft.com/en-us/azure/role-based-access-control/overview#how-azure-rbac-determines-
if-a-user-has-access-to-a-resource): deny assignments are checked first, and one that applies blocks the request
(`Denied`, even when no role would allow it); otherwise the request is `Allowed` when some role assignment of the
requester, or of a group it belongs to directly or through nested groups, at a scope covering the target, has a
role whose `Actions` - `NotActions` (control plane) or `DataActions` - `NotDataActions` (data plane) include the
operation and whose condition, if any, holds; roles are additive. Else `NotAllowed`.

This function is the seam for stored effective permissions as well: callers compile each distinct role once
(`roles.CompiledRole`), keep assignments as `RoleAssignment` / `DenyAssignment`, and ask `decide` per request.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from permscope.clouds.azure.engine.conditions import Condition
from permscope.clouds.azure.engine.roles import CompiledRole, PlaneMatch
from permscope.clouds.azure.engine.scopes import ScopeKey, ScopeTree, describe, scope_key

ALL_PRINCIPALS = "00000000-0000-0000-0000-000000000000"  # "Everyone" (SystemDefined) in a deny assignment
ALLOWED, NOT_ALLOWED, DENIED = "Allowed", "NotAllowed", "Denied"


@dataclass(slots=True)  # not frozen: a frozen dataclass is slower to build, and a batch builds many
class RoleAssignment:
    """A role assignment as a decision needs it (ids lower case); read-only once built."""

    id: str
    principal_id: str
    role_id: str  # the role definition's GUID
    scope: str
    key: ScopeKey
    condition: Condition | None = None
    condition_error: str | None = None  # a condition that cannot be evaluated: the assignment grants nothing


@dataclass(slots=True)
class DenyAssignment:
    """A deny assignment as a decision needs it (principal ids lower case); read-only once built."""

    id: str
    name: str
    scope: str
    key: ScopeKey
    permissions: CompiledRole
    principals: frozenset[str]
    excluded: frozenset[str] = frozenset()
    this_scope_only: bool = False  # doNotApplyToChildScopes

    @property
    def everyone(self) -> bool:
        """Whether it names the all-principals principal."""
        return ALL_PRINCIPALS in self.principals


@dataclass(slots=True)
class Request:
    """Who asks to do what where: a principal and its transitive groups, an operation on one plane, the full
    ARM id of the target, and the request's condition attributes (source -> name -> value)."""

    principal_id: str
    groups: tuple[str, ...]
    action: str
    data: bool
    scope: str
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Decision:
    """A decision, the assignments that made it, and the explanation (JSON-ready)."""

    decision: str
    granted_by: list[str]
    denied_by: list[str]
    explanation: dict[str, Any]


def group_parents(group_members: Mapping[str, Iterable[str]]) -> dict[str, list[str]]:
    """member -> the groups that list it directly (lower-case ids), from group -> its members."""
    parents: dict[str, list[str]] = {}
    for group, members in group_members.items():
        for member in members:
            parents.setdefault(member.lower(), []).append(group.lower())
    return parents


def group_closure(principal_id: str, parents: Mapping[str, Sequence[str]]) -> tuple[str, ...]:
    """Every group a principal belongs to, directly or through nested groups (lower-case ids, from
    `group_parents`); a group's own parent groups are reached from it, never the other way; cycles are
    harmless."""
    principal = principal_id.lower()
    return groups_above(parents.get(principal, ()), parents, {principal})


def groups_above(
    direct: Iterable[str], parents: Mapping[str, Sequence[str]], seen: set[str] | None = None
) -> tuple[str, ...]:
    """`direct` groups and every group above them, in `group_closure`'s order, leaving out (and not walking
    through) those in `seen` (which it fills)."""
    seen = set() if seen is None else seen
    found: list[str] = []
    pending: list[str] = []
    listed = direct
    while True:
        for group in listed:
            if group not in seen:
                seen.add(group)
                found.append(group)
                pending.append(group)
        if not pending:
            return tuple(found)
        listed = parents.get(pending.pop(), ())


def decide(
    request: Request,
    roles: Mapping[str, CompiledRole],
    assignments: Sequence[RoleAssignment],
    denies: Sequence[DenyAssignment],
    tree: ScopeTree,
) -> Decision:
    """Decide one request and say why."""
    action = request.action.lower()
    principal = request.principal_id.lower()
    identities = {principal, *request.groups}
    target = scope_key(request.scope)
    covering = tree.covering(target)
    if denies:
        deny_rows, denied = _denies(request, action, identities, target, covering, denies)
    else:
        deny_rows, denied = [], []
    rows, granted = _grants(request, action, principal, identities, covering, roles, assignments)
    if denied:
        decision = DENIED
    elif granted:
        decision = ALLOWED
    else:
        decision = NOT_ALLOWED
    explanation = {
        "principal_id": request.principal_id,
        "groups": list(request.groups),
        "action": request.action,
        "plane": "data" if request.data else "control",
        "scope": request.scope,
        "scope_level": describe(target),
        "reason": _reason(decision, request, rows, deny_rows),
        "role_assignment_ids": granted,
        "deny_assignment_ids": denied,
        "role_assignments": rows,
        "deny_assignments": deny_rows,
    }
    return Decision(decision, granted, denied, explanation)


def _denies(
    request: Request,
    action: str,
    identities: set[str],
    target: ScopeKey,
    covering: Container[ScopeKey],
    denies: Sequence[DenyAssignment],
) -> tuple[list[dict[str, Any]], list[str]]:
    rows: list[dict[str, Any]] = []
    applying: list[str] = []
    for deny in denies:
        row: dict[str, Any] = {"id": deny.id, "name": deny.name, "scope": deny.scope}
        rows.append(row)
        if deny.this_scope_only and deny.key != target:
            row["verdict"] = "scope_not_covered"
            row["reason"] = "doNotApplyToChildScopes: it applies at its own scope only"
            continue
        if deny.key not in covering:
            row["verdict"] = "scope_not_covered"
            row["reason"] = "its scope does not cover the request's"
            continue
        listed = identities & deny.principals
        if not deny.everyone and not listed:
            row["verdict"] = "principal_not_listed"
            row["reason"] = "it names neither the principal nor any of its groups"
            continue
        row["principal"] = "everyone" if deny.everyone else min(listed)
        excluded = sorted(identities & deny.excluded) if deny.excluded else None
        if excluded:
            row["verdict"] = "principal_excluded"
            row["excluded"] = excluded[0]
            row["reason"] = (
                f"excludePrincipals lists {'the principal' if excluded[0] == request.principal_id.lower() else 'its group ' + excluded[0]}"
            )
            continue
        matches = deny.permissions.answer(action, request.data)
        denying = next((match for match in matches if match.grants), None)
        plane = "DataActions" if request.data else "Actions"
        if denying is not None:
            row["verdict"] = "applies"
            row["matched"] = denying.matched
            row["reason"] = f"its {plane} pattern {denying.matched!r} denies the operation"
            applying.append(deny.id)
        elif matches:
            row["verdict"] = "action_excepted"
            row["matched"] = matches[0].matched
            row["excepted_by"] = matches[0].removed_by
            row["reason"] = f"its Not{plane} pattern {matches[0].removed_by!r} exempts the operation"
        else:
            row["verdict"] = "action_not_denied"
            row["reason"] = f"none of its {plane} matches the operation"
    return rows, applying


def _grants(
    request: Request,
    action: str,
    principal: str,
    identities: set[str],
    covering: Container[ScopeKey],
    roles: Mapping[str, CompiledRole],
    assignments: Sequence[RoleAssignment],
) -> tuple[list[dict[str, Any]], list[str]]:
    rows: list[dict[str, Any]] = []
    granting: list[str] = []
    data = request.data
    plane = "DataActions" if data else "Actions"
    for assignment in assignments:
        if assignment.principal_id not in identities:
            continue
        role = roles.get(assignment.role_id)
        row: dict[str, Any] = {
            "id": assignment.id,
            "role": role.role_name if role is not None else assignment.role_id,
            "role_id": assignment.role_id,
            "scope": assignment.scope,
            "via": "principal"
            if assignment.principal_id == principal
            else "group " + assignment.principal_id,
        }
        rows.append(row)
        if assignment.key not in covering:
            row["verdict"] = "scope_not_covered"
            row["reason"] = "its scope does not cover the request's"
            continue
        if role is None:
            row["verdict"] = "role_definition_missing"
            row["reason"] = "its role definition is unknown"
            continue
        matches = role.answer(action, data)
        granted = None
        for match in matches:
            if match.removed_by is None:
                granted = match
                break
        if granted is None:
            if matches:
                first = matches[0]
                row["verdict"] = "removed_by_not_actions"
                row["matched"] = first.matched
                row["removed_by"] = first.removed_by
                row["reason"] = first.reason
            else:
                row["verdict"] = "action_not_in_role"
                row["reason"] = f"none of the role's {plane} matches the operation"
            continue
        if role.has_conditions and not _role_conditions_hold(matches, action, request, row):
            continue
        row["matched"] = granted.matched
        condition = assignment.condition
        if assignment.condition_error is not None:
            row["verdict"] = "condition_invalid"
            row["condition"] = {"error": assignment.condition_error}
            row["reason"] = (
                f"its condition cannot be evaluated ({assignment.condition_error}), so it grants nothing"
            )
            continue
        if condition is not None:
            holds, trace, targeted = condition.evaluate(action, request.attributes)
            row["condition"] = {"result": holds, "targets_action": targeted, "expressions": trace}
            if not holds:
                row["verdict"] = "condition_false"
                row["reason"] = "its condition is false for this request"
                continue
            row["verdict"] = "grants"
            row["reason"] = granted.reason + " and its condition holds"
        else:
            row["verdict"] = "grants"
            row["reason"] = granted.reason
        granting.append(assignment.id)
    return rows, granting


def _role_conditions_hold(
    matches: list[PlaneMatch], action: str, request: Request, row: dict[str, Any]
) -> bool:
    """Whether some granting entry of the role has no condition, or one that holds (role-definition conditions)."""
    for match in matches:
        if match.removed_by is not None or match.condition_error is not None:
            continue
        if match.condition is None or match.condition.evaluate(action, request.attributes)[0]:
            return True
    row["verdict"] = "role_condition_false"
    row["reason"] = "the role definition's own condition does not hold for this request"
    return False


def _reason(
    decision: str, request: Request, rows: list[dict[str, Any]], deny_rows: list[dict[str, Any]]
) -> str:
    """One sentence saying why."""
    if decision == DENIED:
        deny = next(row for row in deny_rows if row["verdict"] == "applies")
        who = "everyone" if deny.get("principal") == "everyone" else deny.get("principal")
        return (
            f"deny assignment {deny['name'] or deny['id']!r} at {deny['scope']} denies {request.action} to {who}"
            f" ({deny['reason']}); deny assignments are checked before role assignments"
        )
    if decision == ALLOWED:
        row = next(row for row in rows if row["verdict"] == "grants")
        via = "the principal" if row["via"] == "principal" else row["via"]
        return f"role {row['role']!r} assigned to {via} at {row['scope']} grants it ({row['reason']})"
    if not rows:
        return "no role assignment names the principal or any of its groups"
    return "no role assignment of the principal or its groups grants the operation at a scope covering the target"
