"""Access decisions for people and programs: why a principal may (or may not) do a request, in words (tables,
CSV) and as JSON (the API's whoCan extension, `who-can --format json`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from permscope.core.access_decisions import AccessDecision

if TYPE_CHECKING:
    from permscope.workflows.who_can import WhoCan

# the engine's policy types, as people name them
POLICY_TYPES = {
    "identity": "identity policy",
    "resource": "resource policy",
    "boundary": "permissions boundary",
    "session": "session policy",
    "scp": "SCP",
    "rcp": "RCP",
    "vpcEndpoint": "VPC endpoint policy",
    "serviceRule": "AWS service rule",
}


def _statements(explanation: dict[str, Any], effect: str) -> list[str]:
    """`policy (statement)` of each matching statement of one effect, once each."""
    found: dict[str, None] = {}
    for match in explanation.get("matches") or ():
        if match.get("effect") == effect:
            kind = POLICY_TYPES.get(str(match.get("policy_type")), str(match.get("policy_type")))
            found[f"{kind} {match.get('policy_name')} ({match.get('statement')})"] = None
    return list(found)


def decision_reason(decision: AccessDecision) -> str:
    """One sentence: the statements that allow (or deny) the request, and the conditions it depends on (the
    engine's own sentence when its explanation has one: Azure's `reason`, GCP's `summary`)."""
    explanation = decision.explanation
    own = explanation.get("summary") or explanation.get("reason")
    if isinstance(own, str) and own.strip():
        text = own.strip().rstrip(".")
    elif decision.allowed:
        statements = _statements(explanation, "Allow")
        text = "allowed by " + (
            "; ".join(statements) if statements else ", ".join(explanation.get("allowed_by") or ())
        )
    elif explanation.get("denied_by"):
        text = "denied by " + "; ".join(_statements(explanation, "Deny"))
    else:
        missing = [POLICY_TYPES.get(kind, kind) for kind in explanation.get("not_allowed_by") or ()]
        text = "not allowed" + (f": no {', '.join(missing)} allows it" if missing else "")
    if decision.conditional:
        text += " - only if conditions on " + ", ".join(decision.condition_keys) + " hold"
    return text


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part.capitalize() for part in rest)


def explanation_to_wire(explanation: dict[str, Any]) -> dict[str, Any]:
    """The engine's explanation with camelCase keys (allowedBy, deniedBy, notAllowedBy, matches, notes)."""
    wire: dict[str, Any] = {}
    for key, value in explanation.items():
        if key == "matches":
            value = [{_camel(k): v for k, v in match.items()} for match in value]
        wire[_camel(key)] = value
    return wire


def decision_to_wire(decision: AccessDecision) -> dict[str, Any]:
    """One principal's decision as the API and `who-can --format json` show it."""
    return {**decision.to_dict(), "explanation": explanation_to_wire(decision.explanation)}


def who_can_to_wire(answer: WhoCan) -> dict[str, Any]:
    """The answer of `who-can` as the API's whoCan extension and `who-can --format json` show it."""
    return {
        "authorizationSystemId": answer.system_id,
        "action": answer.action,
        "resource": answer.resource,
        "principals": [decision_to_wire(decision) for decision in answer.principals],
    }
