"""ARM scopes: ids compared case-insensitively, segment by segment, and which scopes cover a target.

A role or deny assignment at scope S applies to S and everything below it: management group -> subscription ->
resource group -> resource -> child resource (https://learn.microsoft.com/en-us/azure/role-based-access-control/
scope-overview). Management groups hold subscriptions (and other management groups) by membership, not by id, so
a subscription's management-group ancestors come from the tenant's hierarchy, nearest parent first, the tenant
root group (id = tenant id) last (https://learn.microsoft.com/en-us/azure/governance/management-groups/overview).
`/` (root scope, where elevated access assigns User Access Administrator) covers everything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache

ScopeKey = tuple[str, ...]  # an ARM id's segments, lower case; () is the root scope "/"
ROOT: ScopeKey = ()
MANAGEMENT_GROUP_PREFIX: ScopeKey = ("providers", "microsoft.management", "managementgroups")


@lru_cache(maxsize=65_536)
def scope_key(scope: str) -> ScopeKey:
    """The segments of an ARM id, lower case, empty segments dropped (`/`, `` and `//` are the root)."""
    return tuple(part for part in scope.lower().split("/") if part)


def is_management_group(key: ScopeKey) -> bool:
    """Whether a scope is a management group itself (not something under it)."""
    return len(key) == 4 and key[:3] == MANAGEMENT_GROUP_PREFIX


def describe(key: ScopeKey) -> str:
    """The level of a scope in words: root, management group, subscription, resource group, resource."""
    if not key:
        return "root"
    if key[:3] == MANAGEMENT_GROUP_PREFIX:
        return "management group" if len(key) == 4 else "resource under a management group"
    if key[0] == "subscriptions":
        if len(key) == 2:
            return "subscription"
        if len(key) == 4 and key[2] == "resourcegroups":
            return "resource group"
        return "resource"
    return "scope"


class ScopeTree:
    """The management-group hierarchy above subscriptions (and management groups), read from each
    subscription's list of ancestors, nearest first."""

    __slots__ = ("_parents",)

    def __init__(self, ancestry: Mapping[str, Sequence[str]] | None = None) -> None:
        # scope (subscription or management group) -> its management-group ancestors, nearest first
        self._parents: dict[ScopeKey, tuple[ScopeKey, ...]] = {}
        for child, chain in (ancestry or {}).items():
            keys = tuple(scope_key(parent) for parent in chain)
            self._parents[scope_key(child)] = keys
            for position, group in enumerate(
                keys
            ):  # a management group's own ancestors follow it in the chain
                self._parents.setdefault(group, keys[position + 1 :])

    def management_groups_above(self, key: ScopeKey) -> tuple[ScopeKey, ...]:
        """The management groups a scope sits under, nearest first (none for a subscription not in the tree)."""
        if not key:
            return ()
        if key[0] == "subscriptions" and len(key) >= 2:
            return self._parents.get(key[:2], ())
        if key[:3] == MANAGEMENT_GROUP_PREFIX and len(key) >= 4:
            return self._parents.get(key[:4], ())
        return ()

    def covering(self, key: ScopeKey) -> frozenset[ScopeKey]:
        """Every scope whose assignments reach `key`: itself, each id above it, its management groups, root."""
        found: set[ScopeKey] = {key[:length] for length in range(len(key) + 1)}
        found.update(self.management_groups_above(key))
        return frozenset(found)


def covers(assigned: ScopeKey, target: ScopeKey, tree: ScopeTree) -> bool:
    """Whether an assignment at `assigned` reaches `target`."""
    return target[: len(assigned)] == assigned or assigned in tree.management_groups_above(target)
