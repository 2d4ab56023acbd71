"""Role definitions (and deny assignments' permissions) compiled once into catalogue bitsets.

A `permissions` entry grants `Actions` minus `NotActions` among control-plane operations and `DataActions` minus
`NotDataActions` among data-plane ones (the subtraction stays inside the entry: another entry, or another
role, may grant what one removed; `engine.roles` holds the same rule for single decisions). Patterns expand
over the catalogue through its index, whose matcher is the engine's (`engine.actions`): case-insensitive, `*`
any run of characters, an interior `/*/` also one slash. An entry with its own condition (rare) grants only
under it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from permscope.clouds.azure.catalog.planes import Planes, planes_of
from permscope.core.catalog import ActionIndex
from permscope.core.snapshot import as_document

_PLANES = (("actions", "notActions", False), ("dataActions", "notDataActions", True))


@dataclass(frozen=True, slots=True)
class RoleBits:
    """What a role grants: unconditionally, under its own condition, and the literal operations it names that
    the catalogue lacks."""

    granted: int
    conditional: int
    unknown: tuple[str, ...]

    @property
    def any(self) -> int:
        """Every operation granted in some way."""
        return self.granted | self.conditional


def _strings(value: object) -> list[str]:
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def permissions_of(document: Any) -> list[Mapping[str, Any]]:
    """The `permissions` entries of a role definition or deny assignment document (az or ARM shape)."""
    document = as_document(document)
    if not isinstance(document, Mapping):
        return []
    body = document.get("properties") if "permissions" not in document else document
    entries = body.get("permissions") if isinstance(body, Mapping) else None
    return [entry for entry in entries or () if isinstance(entry, Mapping)]


class RoleCompiler:
    """Compiles each distinct role (by id) once over one index."""

    def __init__(self, index: ActionIndex) -> None:
        self.index = index
        self.planes: Planes = planes_of(index)
        self._roles: dict[str, RoleBits] = {}

    def __len__(self) -> int:
        return len(self._roles)

    def _expand(self, patterns: Iterable[str], unknown: list[str]) -> int:
        bits = 0
        for pattern in patterns:
            found = self.index.expand(pattern)
            if not found and "*" not in pattern:
                unknown.append(pattern)
            bits |= found
        return bits

    def compile_entries(self, entries: Iterable[Mapping[str, Any]]) -> RoleBits:
        """The bits of some `permissions` entries."""
        granted = conditional = 0
        unknown: list[str] = []
        for entry in entries:
            bits = 0
            for grant_field, remove_field, data in _PLANES:
                plane = self.planes.data if data else self.planes.control
                allowed = self._expand(_strings(entry.get(grant_field)), unknown) & plane
                if allowed:
                    removed = self._expand(_strings(entry.get(remove_field)), unknown)
                    bits |= allowed & ~removed
            text = entry.get("condition")
            if isinstance(text, str) and text.strip():
                conditional |= bits
            else:
                granted |= bits
        return RoleBits(granted, conditional & ~granted, tuple(dict.fromkeys(unknown)))

    def compile(self, role_id: str, document: Any) -> RoleBits:
        """A role definition's bits (compiled on first use)."""
        found = self._roles.get(role_id)
        if found is None:
            found = self._roles[role_id] = self.compile_entries(permissions_of(document))
        return found

    def unknown_actions(self, names: Mapping[str, str]) -> dict[str, list[str]]:
        """Role name -> the literal operations it names that the catalogue lacks."""
        return {
            names.get(role, role): list(bits.unknown) for role, bits in self._roles.items() if bits.unknown
        }
