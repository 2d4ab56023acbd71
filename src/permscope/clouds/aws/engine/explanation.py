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
        return {
            "policy_type": self.policy_type,
            "policy_name": self.policy_name,
            "statement": self.statement,
            "effect": self.effect,
            "condition_keys": list(self.condition_keys),
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
        """A JSON-ready dict."""
        return {
            "allowed_by": list(self.allowed_by),
            "denied_by": list(self.denied_by),
            "not_allowed_by": list(self.not_allowed_by),
            "matches": [match.to_dict() for match in self.matches],
            "notes": list(self.notes),
        }


@quick_frozen_init
@dataclass(frozen=True, slots=True)
class EvaluationResult:
    """A decision and its explanation."""

    decision: Decision
    explanation: Explanation
