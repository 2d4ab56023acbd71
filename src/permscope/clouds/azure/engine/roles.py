"""Role definitions (and deny assignments' permissions) compiled once: which operations a `permissions` entry
grants on each plane, and which of its patterns matched or removed one.

https://learn.microsoft.com/en-us/azure/role-based-access-control/role-definitions: `Actions` minus `NotActions`
are the control-plane operations a role grants, `DataActions` minus `NotDataActions` the data-plane ones; the
planes are separate (a control-plane wildcard such as Owner's `*` grants no data action). The subtraction happens
inside one `permissions` entry and is not a deny: another entry, or another role, can grant what `NotActions`
removed. `assignableScopes` say where a role may be assigned, not what it grants, so they play no part in a
decision.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from permscope.clouds.azure.engine.actions import PatternSet
from permscope.clouds.azure.engine.conditions import Condition, ConditionError, parse_condition

MAX_REMEMBERED_ANSWERS = 4_096  # operations whose answer one role keeps
MAX_REMEMBERED_ACTION_CHARS = 512  # longer operation names (none is) are answered each time


@dataclass(slots=True)
class PlaneMatch:
    """How one permissions entry answers an operation: the pattern that matched it, the pattern that removed it
    (then it is not granted), and the entry's own condition (a role-definition condition, rare)."""

    entry: int
    matched: str
    removed_by: str | None
    condition: Condition | None = None
    condition_error: str | None = None
    reason: str = ""  # in words: what grants, or what removes, the operation

    @property
    def grants(self) -> bool:
        """Whether the entry grants the operation (before any condition)."""
        return self.removed_by is None


class CompiledPermission:
    """One `permissions` entry: four pattern sets and an optional condition."""

    __slots__ = ("actions", "condition", "condition_error", "data_actions", "not_actions", "not_data_actions")

    def __init__(self, entry: Mapping[str, Any]) -> None:
        self.actions = PatternSet(_strings(entry.get("actions")))
        self.not_actions = PatternSet(_strings(entry.get("notActions")))
        self.data_actions = PatternSet(_strings(entry.get("dataActions")))
        self.not_data_actions = PatternSet(_strings(entry.get("notDataActions")))
        self.condition: Condition | None = None
        self.condition_error: str | None = None
        text = entry.get("condition")
        if isinstance(text, str) and text.strip():
            try:
                self.condition = parse_condition(text)
            except ConditionError as error:
                self.condition_error = str(error)

    def match(self, action: str, data: bool) -> tuple[str, str | None] | None:
        """(matching pattern, removing pattern or None) for a lower-case operation on one plane; None when no
        pattern of the plane matches."""
        granted, removed = (
            (self.data_actions, self.not_data_actions) if data else (self.actions, self.not_actions)
        )
        matched = granted.match(action)
        if matched is None:
            return None
        return matched, removed.match(action) if removed else None


def _strings(value: object) -> list[str]:
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, str)]


class CompiledRole:
    """A role definition (or a deny assignment's permissions) compiled for decisions."""

    __slots__ = (
        "_answers",
        "has_conditions",
        "pattern_chars",
        "pattern_count",
        "permissions",
        "role_id",
        "role_name",
        "role_type",
    )

    def __init__(
        self, role_id: str, role_name: str, role_type: str, permissions: Sequence[Mapping[str, Any]]
    ) -> None:
        self.role_id, self.role_name, self.role_type = role_id, role_name, role_type
        self.permissions = tuple(CompiledPermission(entry) for entry in permissions)
        self._answers: dict[tuple[str, bool], list[PlaneMatch]] = {}
        self.has_conditions = any(
            entry.condition is not None or entry.condition_error is not None for entry in self.permissions
        )
        every = [
            pattern
            for entry in self.permissions
            for patterns in (entry.actions, entry.not_actions, entry.data_actions, entry.not_data_actions)
            for pattern in patterns.patterns
        ]
        self.pattern_count = len(every)
        self.pattern_chars = sum(map(len, every))

    def answer(self, action: str, data: bool) -> list[PlaneMatch]:
        """Every entry that matches a lower-case operation on a plane, granting or removing it (remembered per
        operation: a batch asks the same roles about the same operations again and again)."""
        known = self._answers.get((action, data))
        if known is not None:
            return known  # shared: callers only read it
        found = []
        plane = "DataActions" if data else "Actions"
        for position, permission in enumerate(self.permissions):
            result = permission.match(action, data)
            if result is not None:
                matched, removed_by = result
                if removed_by is None:
                    reason = f"{plane} pattern {matched!r} grants the operation"
                else:
                    reason = f"{plane} pattern {matched!r} matches, but Not{plane} {removed_by!r} removes it"
                found.append(
                    PlaneMatch(
                        position,
                        matched,
                        removed_by,
                        permission.condition,
                        permission.condition_error,
                        reason,
                    )
                )
        if len(action) <= MAX_REMEMBERED_ACTION_CHARS:
            if len(self._answers) >= MAX_REMEMBERED_ANSWERS:
                self._answers.clear()
            self._answers[(action, data)] = found
        return found


def role_from_definition(definition: Mapping[str, Any]) -> CompiledRole:
    """A role definition in `az role definition list` shape, compiled (the caller checked its shape)."""
    properties = definition.get("properties")
    body = properties if isinstance(properties, Mapping) and "permissions" not in definition else definition
    permissions = body.get("permissions") or []
    return CompiledRole(
        str(definition.get("name", "")).lower(),
        str(body.get("roleName") or definition.get("name") or ""),
        str(body.get("roleType") or (body.get("type") if body is properties else None) or ""),
        [entry for entry in permissions if isinstance(entry, Mapping)],
    )
