"""What the evaluation answers: a decision, and the policy types and statements that explain it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from permscope.core.records import quick_frozen_init


class Decision(StrEnum):
    """The answer to a request, as AWS reports it."""

    ALLOWED = "Allowed"
    IMPLICITLY_DENIED = "ImplicitlyDenied"
    EXPLICITLY_DENIED = "ExplicitlyDenied"


@quick_frozen_init
@dataclass(frozen=True, slots=True)
class StatementMatch:
    """One statement that applied to the request."""

    policy_type: str
    policy_name: str
    statement: str
    effect: str
    condition_keys: tuple[str, ...]
    level: str | None = None  # SCP / RCP level, e.g. "SCP level 2 of 3 (ou-1a)"

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict."""
        found = self.for_json()
        found["condition_keys"] = list(self.condition_keys)
        return found

    def for_json(self) -> dict[str, object]:
        """`to_dict` with the tuples left as they are (orjson writes them as arrays)."""
        return {
            "policy_type": self.policy_type,
            "policy_name": self.policy_name,
            "statement": self.statement,
            "effect": self.effect,
            "condition_keys": self.condition_keys,
            "level": self.level,
        }


@quick_frozen_init
@dataclass(frozen=True, slots=True)
class Explanation:
    """Why: which policy types allowed, denied, or failed to allow (though they had to), and the statements."""

    allowed_by: tuple[str, ...]
    denied_by: tuple[str, ...]
    not_allowed_by: tuple[str, ...]
    matches: tuple[StatementMatch, ...]
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict (lists, not tuples)."""
        found = self.for_json()
        for key in ("allowed_by", "denied_by", "not_allowed_by", "notes"):
            found[key] = list(found[key])  # type: ignore[call-overload]  # a tuple of strings
        found["matches"] = [match.to_dict() for match in self.matches]
        return found

    def for_json(self) -> dict[str, object]:
        """`to_dict` with the tuples left as they are (orjson writes them as arrays, with no list copied)."""
        return {
            "allowed_by": self.allowed_by,
            "denied_by": self.denied_by,
            "not_allowed_by": self.not_allowed_by,
            "matches": [match.for_json() for match in self.matches],
            "notes": self.notes,
        }


@quick_frozen_init
@dataclass(frozen=True, slots=True)
class EvaluationResult:
    """A decision and its explanation."""

    decision: Decision
    explanation: Explanation
