"""An Azure tenant's RBAC state compiled for decisions: each role definition once, role and deny assignments,
group membership, the management-group hierarchy; then any number of requests decided against it.

The simulator builds one per case (reusing one built from the same content); stored effective permissions can
build one per tenant.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from permscope.clouds.azure.engine.evaluate import (
    Decision,
    DenyAssignment,
    Request,
    RoleAssignment,
    decide,
    group_closure,
    group_parents,
)
from permscope.clouds.azure.engine.roles import CompiledRole
from permscope.clouds.azure.engine.scopes import ScopeTree

MAX_REMEMBERED_PRINCIPALS = 4_096  # principals whose groups one estate keeps


class CompiledEstate:
    """Roles by GUID, assignments, groups and hierarchy, ready to decide requests."""

    __slots__ = ("_closures", "_parents", "assignments", "by_principal", "denies", "roles", "tree")

    def __init__(
        self,
        roles: Mapping[str, CompiledRole],
        assignments: Sequence[RoleAssignment],
        denies: Sequence[DenyAssignment],
        group_members: Mapping[str, Iterable[str]],
        ancestry: Mapping[str, Sequence[str]],
    ) -> None:
        self.roles = roles
        self.assignments = assignments
        self.by_principal: dict[
            str, list[RoleAssignment]
        ] = {}  # principal or group id -> its role assignments
        for assignment in assignments:
            self.by_principal.setdefault(assignment.principal_id, []).append(assignment)
        self.denies = denies
        self.tree = ScopeTree(ancestry)
        self._parents = group_parents(group_members)
        self._closures: dict[str, tuple[str, ...]] = {}

    def groups_of(self, principal_id: str) -> tuple[str, ...]:
        """The groups a principal belongs to, directly or through nested groups (lower-case ids)."""
        found = self._closures.get(principal_id)
        if found is None:
            found = group_closure(principal_id, self._parents)
            if len(self._closures) >= MAX_REMEMBERED_PRINCIPALS:
                self._closures.clear()
            self._closures[principal_id] = found
        return found

    def decide(
        self, principal_id: str, action: str, data: bool, scope: str, attributes: Mapping[str, Any]
    ) -> Decision:
        """One principal's request: an operation on the control or data plane at a full ARM id."""
        groups = self.groups_of(principal_id)
        request = Request(principal_id, groups, action, data, scope, attributes)
        mine = self.by_principal.get(principal_id.lower(), [])
        for group in groups:
            mine = mine + self.by_principal.get(group, [])
        return decide(request, self.roles, mine, self.denies, self.tree)
