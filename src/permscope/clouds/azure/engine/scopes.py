"""ARM scopes: ids compared case-insensitively, segment by segment, and which scopes cover a target.

A role or deny assignment at scope S applies to S and everything below it: management group -> subscription ->
resource group -> resource -> child resource (https://learn.microsoft.com/en-us/azure/role-based-access-control/
scope-overview). Management groups hold subscriptions (and other management groups) by membership, not by id, so
a subscription's management-group ancestors come from the tenant's hierarchy, nearest parent first, the tenant
root group (id = tenant id) last (https://learn.microsoft.com/en-us/azure/governance/management-groups/overview).
`/` (root scope, where elevated access assigns User Access Administrator) covers everything.
"""

from __future__ import annotations

from collections.abc import Container, Mapping, Sequence
from functools import lru_cache

ScopeKey = tuple[str, ...]  # an ARM id's segments, lower case; () is the root scope "/"
ROOT: ScopeKey = ()
MANAGEMENT_GROUP_PREFIX: ScopeKey = ("providers", "microsoft.management", "managementgroups")


MAX_CACHED_SCOPE_CHARS = 2_048  # ARM ids are far shorter; a longer one is split each time, not kept
MAX_PREFIX_SEGMENTS = (
    32  # ARM ids have a dozen or so segments; a longer target is compared assignment by assignment
)
MAX_REMEMBERED_TARGETS = 4_096  # targets whose covering scopes one tree keeps


def _segments(scope: str) -> ScopeKey:
    return tuple(part for part in scope.lower().split("/") if part)


_cached_segments = lru_cache(maxsize=65_536)(_segments)


def scope_key(scope: str) -> ScopeKey:
    """The segments of an ARM id, lower case, empty segments dropped (`/`, `` and `//` are the root)."""
    if len(scope) > MAX_CACHED_SCOPE_CHARS:
        return _segments(scope)
    return _cached_segments(scope)


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
    subscription's list of ancestors, nearest first. Chains are read when a scope below them is asked about."""

    __slots__ = ("_ancestry", "_children", "_covering", "_parents")

    def __init__(self, ancestry: Mapping[str, Sequence[str]] | None = None) -> None:
        self._ancestry = ancestry or {}
        self._children: dict[ScopeKey, str] | None = None  # a child's key -> its key in `ancestry`
        self._parents: dict[ScopeKey, tuple[ScopeKey, ...]] = {}
        self._covering: dict[ScopeKey, Container[ScopeKey]] = {}

    def _chain(self, key: ScopeKey) -> tuple[ScopeKey, ...]:
        """The management groups above a subscription or management group `key`, nearest first."""
        found = self._parents.get(key)
        if found is not None:
            return found
        if self._children is None:
            self._children = {scope_key(child): child for child in self._ancestry}
        child = self._children.get(key)
        if child is not None:
            found = tuple(scope_key(parent) for parent in self._ancestry[child])
        elif is_management_group(
            key
        ):  # a management group's ancestors follow it in some subscription's chain
            found = ()
            for chain in self._ancestry.values():
                keys = [scope_key(parent) for parent in chain]
                if key in keys:
                    found = tuple(keys[keys.index(key) + 1 :])
                    break
        else:
            found = ()
        self._parents[key] = found
        return found

    def management_groups_above(self, key: ScopeKey) -> tuple[ScopeKey, ...]:
        """The management groups a scope sits under, nearest first (none for a subscription not in the tree)."""
        if len(key) >= 2 and key[0] == "subscriptions":
            return self._chain(key[:2])
        if len(key) >= 4 and key[:3] == MANAGEMENT_GROUP_PREFIX:
            return self._chain(key[:4])
        return ()

    def covering(self, key: ScopeKey) -> Container[ScopeKey]:
        """Every scope whose assignments reach `key`: itself, each id above it, its management groups, root."""
        found = self._covering.get(key)
        if found is None:
            if len(key) > MAX_PREFIX_SEGMENTS:  # not every prefix of an absurdly long id: compare on demand
                return _Above(key, frozenset(self.management_groups_above(key)))
            scopes = {key[:length] for length in range(len(key) + 1)}
            scopes.update(self.management_groups_above(key))
            if len(self._covering) >= MAX_REMEMBERED_TARGETS:
                self._covering.clear()
            found = self._covering[key] = frozenset(scopes)
        return found


class _Above:
    """The scopes covering a (very long) target, tested one at a time: a prefix of it, or a management group
    above it."""

    __slots__ = ("groups", "target")

    def __init__(self, target: ScopeKey, groups: frozenset[ScopeKey]) -> None:
        self.target, self.groups = target, groups

    def __contains__(self, scope: object) -> bool:
        if not isinstance(scope, tuple):
            return False
        return self.target[: len(scope)] == scope or scope in self.groups


def covers(assigned: ScopeKey, target: ScopeKey, tree: ScopeTree) -> bool:
    """Whether an assignment at `assigned` reaches `target`."""
    return target[: len(assigned)] == assigned or assigned in tree.management_groups_above(target)
