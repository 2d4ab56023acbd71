"""The management-group tree: which management group holds each subscription, and each subscription's chain of
management groups up to the tenant root group (nearest first).

From `management-groups.json` (ARM `managementGroups/{root}/descendants` plus the root itself): a management
group's parent is `properties.parent.id` (descendants) or `properties.details.parent.id` (a group read alone);
a subscription appears there as a descendant whose id is `/subscriptions/<id>`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from permscope.clouds.azure.transform.common import guid, props

MG_PREFIX = "/providers/microsoft.management/managementgroups/"


@dataclass(slots=True)
class Hierarchy:
    """Management groups by name (lower case) and the parent of each group and subscription."""

    names: dict[str, str] = field(default_factory=dict)  # group name -> display name
    parents: dict[str, str] = field(default_factory=dict)  # group name or "sub:<id>" -> parent group name
    ids: dict[str, str] = field(default_factory=dict)  # group name -> its ARM id as given

    def chain(self, subscription: str) -> list[str]:
        """The management groups above a subscription, nearest first (names, lower case)."""
        found: list[str] = []
        current = self.parents.get("sub:" + subscription)
        while current is not None and current not in found:
            found.append(current)
            current = self.parents.get(current)
        return found

    def mg_id(self, name: str) -> str:
        """The ARM id of a management group."""
        return self.ids.get(name) or f"/providers/Microsoft.Management/managementGroups/{name}"

    def ancestry(self, subscription: str) -> list[str]:
        """The management groups above a subscription as ARM ids, nearest first (the engine's scope ancestry)."""
        return [self.mg_id(name) for name in self.chain(subscription)]


def _parent_name(item: Mapping[str, Any]) -> str | None:
    body = props(item)
    parent = body.get("parent")
    if not isinstance(parent, Mapping):
        details = body.get("details")
        parent = details.get("parent") if isinstance(details, Mapping) else None
    if not isinstance(parent, Mapping):
        return None
    identifier = parent.get("id") or parent.get("name")
    if not isinstance(identifier, str) or not identifier:
        return None
    return identifier.rstrip("/").rpartition("/")[2].lower()


def read_hierarchy(groups: Iterable[Mapping[str, Any]] | None) -> Hierarchy:
    """The tree the management-group items describe."""
    tree = Hierarchy()
    for item in groups or ():
        identifier = str(item.get("id", ""))
        lowered = identifier.lower()
        parent = _parent_name(item)
        if lowered.startswith("/subscriptions/") or str(item.get("type", "")).lower().endswith(
            "subscriptions"
        ):
            subscription = guid(item.get("name") or lowered.rpartition("/")[2])
            if parent:
                tree.parents["sub:" + subscription] = parent
            continue
        name = str(item.get("name") or lowered.rpartition("/")[2]).lower()
        tree.names[name] = str(props(item).get("displayName") or item.get("name") or name)
        tree.ids[name] = identifier if lowered.startswith(MG_PREFIX) else tree.mg_id(name)
        if parent and parent != name:
            tree.parents[name] = parent
    return tree
