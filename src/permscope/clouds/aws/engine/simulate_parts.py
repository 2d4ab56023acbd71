"""The simulator's component cases: one condition operator, or one Resource / NotResource element.

Besides full requests, the conformance format has two smaller kinds of case (see ../shared/README.md):

    {"id", "suite": "condition_operator", "operator", "policy_values": [...], "request_value", "context": {...}}
    {"id", "suite": "resource_match", "element": "Resource" | "NotResource", "statement_values": [...],
     "effect", "policy_type", "request": {"resource", "resource_account", "context", "wildcard_only_action"?}}

Their answers are {"id", "matches", "per_value": [{"value", "matches"}]} and
{"id", "statement_matches", "per_value": [{"resource", "matches"}]}.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from permscope.clouds.aws.engine.conditions import RequestContext, operator_matches, operator_value_results
from permscope.clouds.aws.engine.matching import resource_element_applies, statement_resource_results
from permscope.clouds.aws.engine.policy import PolicyType
from permscope.core.errors import InputError

COMPONENT_SUITES = frozenset({"condition_operator", "resource_match"})

# The case format's short names of policy types.
POLICY_TYPES: dict[str, PolicyType] = {
    "identity": PolicyType.IDENTITY,
    "resource": PolicyType.RESOURCE,
    "session": PolicyType.SESSION,
    "pb": PolicyType.BOUNDARY,
    "boundary": PolicyType.BOUNDARY,
    "scp": PolicyType.SCP,
    "rcp": PolicyType.RCP,
    "vpce": PolicyType.VPC_ENDPOINT,
    "vpcEndpoint": PolicyType.VPC_ENDPOINT,
}


def is_component_case(case: Mapping[str, Any]) -> bool:
    """Whether a case tests one operator or one Resource element rather than a whole request."""
    return case.get("suite") in COMPONENT_SUITES


def _strings(value: object, source: str, field: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InputError(source, f"{field} must be a list of strings")
    return value


def _context(value: object, source: str) -> RequestContext:
    if value is None:
        return RequestContext({})
    if not isinstance(value, dict):
        raise InputError(source, "context must be an object of condition keys")
    try:
        return RequestContext(value)
    except (TypeError, ValueError) as error:
        raise InputError(source, f"context: {error}") from None


def _operator_case(case: Mapping[str, Any], source: str) -> dict[str, object]:
    operator = case.get("operator")
    if not isinstance(operator, str) or not operator:
        raise InputError(source, "operator must be a condition operator name, e.g. StringEquals")
    values = _strings(case.get("policy_values"), source, "policy_values")
    request_value = case.get("request_value")
    if request_value is not None and not isinstance(request_value, str | list):
        raise InputError(source, "request_value must be a string, a list of strings, or null")
    context = _context(case.get("context"), source)
    matched = operator_matches(operator, values, request_value, context)
    answer: dict[str, object] = {"id": case.get("id"), "matches": matched}
    if isinstance(request_value, str):
        per_value = operator_value_results(operator, values, request_value, context)
        answer["per_value"] = [{"value": v, "matches": m} for v, m in zip(values, per_value, strict=True)]
    return answer


def _resource_case(case: Mapping[str, Any], source: str) -> dict[str, object]:
    element = case.get("element")
    if element not in ("Resource", "NotResource"):
        raise InputError(source, "element must be Resource or NotResource")
    values = _strings(case.get("statement_values"), source, "statement_values")
    effect = case.get("effect", "Allow")
    if effect not in ("Allow", "Deny"):
        raise InputError(source, "effect must be Allow or Deny")
    policy_type = POLICY_TYPES.get(str(case.get("policy_type", "identity")))
    if policy_type is None:
        raise InputError(source, f"policy_type must be one of {', '.join(sorted(POLICY_TYPES))}")
    request = case.get("request")
    if not isinstance(request, dict) or not isinstance(request.get("resource"), str):
        raise InputError(source, "request must be an object with a resource string")
    arguments: dict[str, Any] = {
        "effect": effect,
        "policy_type": policy_type,
        "request_wildcards": not request.get("wildcard_only_action", False),
    }
    context = _context(request.get("context"), source)
    resource: str = request["resource"]
    per_value = statement_resource_results(str(element), values, resource, context, **arguments)
    return {
        "id": case.get("id"),
        "statement_matches": resource_element_applies(str(element), per_value),
        "per_value": [{"resource": v, "matches": m} for v, m in zip(values, per_value, strict=True)],
    }


def simulate_component(case: Mapping[str, Any], source: str) -> dict[str, object]:
    """Answer a condition_operator or resource_match case; InputError names `source` and the bad field."""
    if case.get("suite") == "condition_operator":
        return _operator_case(case, source)
    return _resource_case(case, source)
