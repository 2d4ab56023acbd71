"""Decisions about stored principals: may this identity do this action on this resource, and why (the answers of
`permscope who-can` and of `permscope simulate aws --principal`, whatever the cloud)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ALLOWED = "Allowed"


@dataclass(frozen=True, slots=True)
class AccessDecision:
    """One principal's request decided by its cloud's engine with the stored policies that apply to it.

    `conditional`: allowed only when conditions on `condition_keys` hold, keys an inventory cannot know (MFA,
    source IP, request tags); the decision is then the one those conditions being met gives. `explanation` is
    the engine's (the policy types that allowed, denied or failed to allow, and the statements that applied),
    as `permscope simulate` prints it.
    """

    principal: str
    kind: str
    display_name: str
    action: str
    resource: str
    decision: str
    explanation: dict[str, Any]
    conditional: bool = False
    condition_keys: tuple[str, ...] = ()
    resource_policy: str | None = (
        None  # the resource-based policy the decision read (a role's trust policy...)
    )
    context: dict[str, Any] = field(default_factory=dict)

    @property
    def allowed(self) -> bool:
        """Whether the request is allowed (possibly only under conditions)."""
        return self.decision == ALLOWED

    def to_dict(self) -> dict[str, Any]:
        """camelCase JSON shape."""
        return {
            "principal": self.principal,
            "kind": self.kind,
            "displayName": self.display_name,
            "action": self.action,
            "resource": self.resource,
            "decision": self.decision,
            "conditional": self.conditional,
            "conditionKeys": list(self.condition_keys),
            "resourcePolicy": self.resource_policy,
            "explanation": self.explanation,
        }
