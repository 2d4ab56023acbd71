"""SCP levels in the conformance-case shape read into the engine's `ScpLevel` objects."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from permscope.clouds.aws.effective.account import ScpLevel
from permscope.core.errors import InputError


def parse_scp_levels(raw: Sequence[Mapping[str, Any]] | None) -> list[ScpLevel] | None:
    """SCP levels in the conformance-case shape ([{"org_id", "policies": [{"name", "document"}]}], root
    first) as ScpLevel objects; None stays None (organization unknown)."""
    if raw is None:
        return None
    levels = []
    for position, level in enumerate(raw, start=1):
        if not isinstance(level, Mapping) or not isinstance(level.get("policies", []), list):
            raise InputError("scp_levels", f"level {position} must be an object with a list of policies")
        for entry in level.get("policies") or []:
            if not isinstance(entry, Mapping) or "document" not in entry:
                raise InputError("scp_levels", f"level {position}: every policy needs a document")
        levels.append(ScpLevel.from_dict(level, position))
    return levels
