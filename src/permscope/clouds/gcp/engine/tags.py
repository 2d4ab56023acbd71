"""A resource's effective tags: its own and its ancestors', a lower binding of a key replacing a higher one.

https://cloud.google.com/resource-manager/docs/tags/tags-overview#inheritance
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Tag:
    """One tag binding: a key (namespaced name `PARENT/short` and permanent id) and a value."""

    key: str | None  # `123456789012/env` (the parent's id, then the key's short name)
    key_id: str | None  # `tagKeys/281478012345`
    value: str | None  # the value's short name: `prod`
    value_id: str | None  # `tagValues/281479000001`
    attached_to: str  # the full resource name the binding is on


class EffectiveTags:
    """The tags that hold for a resource, by key name and by key id."""

    __slots__ = ("by_key", "by_key_id")

    def __init__(self, by_key: dict[str, Tag], by_key_id: dict[str, Tag]) -> None:
        self.by_key = by_key
        self.by_key_id = by_key_id

    def match(self, key: str, value: str) -> bool:
        """resource.matchTag: the key holds with this value (short name)."""
        tag = self.by_key.get(key)
        return tag is not None and tag.value == value

    def match_id(self, key_id: str, value_id: str) -> bool:
        """resource.matchTagId: the key (by id) holds with this value (by id)."""
        tag = self.by_key_id.get(key_id)
        return tag is not None and tag.value_id == value_id

    def has_key(self, key: str) -> bool:
        """resource.hasTagKey."""
        return key in self.by_key

    def has_key_id(self, key_id: str) -> bool:
        """resource.hasTagKeyId."""
        return key_id in self.by_key_id

    def listed(self) -> list[dict[str, str | None]]:
        """The effective tags as the explanation shows them."""
        tags = {id(tag): tag for tag in (*self.by_key.values(), *self.by_key_id.values())}
        return [
            {"key": tag.key, "value": tag.value, "attached_to": tag.attached_to}
            for tag in sorted(tags.values(), key=lambda tag: (tag.key or "", tag.key_id or ""))
        ]


NO_TAGS = EffectiveTags({}, {})


def effective_tags(lineage: Sequence[str], bindings: Iterable[tuple[str, Sequence[Tag]]]) -> EffectiveTags:
    """The effective tags of `lineage[0]`, whose ancestors follow it (nearest first).

    `bindings` gives the tags attached to each name. A key bound on a lower resource replaces the same key
    (by name or by id) bound higher up.
    """
    attached = dict(bindings)
    if not attached:
        return NO_TAGS
    by_key: dict[str, Tag] = {}
    by_key_id: dict[str, Tag] = {}
    for name in reversed(lineage):  # organization first, the resource last
        for tag in attached.get(name, ()):
            for old in (
                by_key.get(tag.key) if tag.key else None,
                by_key_id.get(tag.key_id) if tag.key_id else None,
            ):
                if old is not None:
                    if old.key is not None and by_key.get(old.key) is old:
                        del by_key[old.key]
                    if old.key_id is not None and by_key_id.get(old.key_id) is old:
                        del by_key_id[old.key_id]
            if tag.key is not None:
                by_key[tag.key] = tag
            if tag.key_id is not None:
                by_key_id[tag.key_id] = tag
    return EffectiveTags(by_key, by_key_id)
