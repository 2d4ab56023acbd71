"""The simulator's case format (a request + its policies, as JSON) to an evaluation and back.

A case is one JSON object (the format of ../shared/data/conformance/aws_eval_cases.jsonl):

    {"id": "...",
     "request": {"principal": "<ARN>" | {"type": "Anonymous"}, "action": "s3:GetObject",
                 "resource": "<ARN>" | "*", "resource_account": "123456789012", "context": {...},
                 "wildcard_only_action": true?, "service_linked_role": true?},
     "policies": {"identity": [{"name", "document"}], "session_policy": null | <document>,
                  "permission_boundaries": null | [] (no boundary) | [{"name", "document"}],
                  "scp_levels": [{"org_id", "policies": [{"name", "document"}]}],   # root first
                  "rcp_levels": [{"org_id", "policies": [...]}],
                  "resource_policy": null | <document>, "vpc_endpoint_policies": null | [{"name", "document"}],
                  "management_account_id": "123456789012"?}}

`service_linked_role` and `management_account_id` are permscope's additions. A request resource of "*" is
read literally (the resource of an action that supports no resource type), whatever
`wildcard_only_action` says; the context is exactly what the request carries.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, TypeGuard

import orjson

from permscope.clouds.aws.engine.evaluate import AuthorizationRequest, EvaluationResult, PolicySet, evaluate
from permscope.clouds.aws.engine.policy import (
    ConditionTest,
    PolicyDocument,
    PolicyError,
    PolicyType,
    parse_policy,
)
from permscope.clouds.aws.engine.principals import CallerError, parse_caller
from permscope.clouds.aws.engine.simulate_parts import is_component_case, simulate_component
from permscope.clouds.aws.engine.variables import EMPTY_CONTEXT, RequestContext
from permscope.core.errors import InputError
from permscope.core.fifo import Fifo
from permscope.core.limits import check_case, nul_free

_REQUEST_KEYS = frozenset(
    {
        "principal",
        "action",
        "resource",
        "resource_account",
        "context",
        "wildcard_only_action",
        "service_linked_role",
    }
)
_POLICY_KEYS = frozenset(
    {
        "identity",
        "session_policy",
        "permission_boundaries",
        "scp_levels",
        "rcp_levels",
        "resource_policy",
        "vpc_endpoint_policies",
        "management_account_id",
    }
)


# Policy sets already read, by the JSON of {"": their `policies` object}, in its own key order (read-only once
# shared; equal objects with their keys in another order are read again, to the same result). Larger documents
# than any IAM quota allows are parsed each time instead of kept.
MAX_SHARED_POLICY_SETS = 1024
MAX_CACHED_BYTES = 64 * 1024
_POLICY_SETS: Fifo[bytes, PolicySet] = Fifo(MAX_SHARED_POLICY_SETS)
# Parsed documents, by their JSON (in their own key order), name and type.
MAX_PARSED_POLICIES = 8192
_PARSED: Fifo[tuple[bytes, str, PolicyType], PolicyDocument] = Fifo(MAX_PARSED_POLICIES)
# Enum members read through their class are slow on Python 3.11 (a descriptor call each).
_IDENTITY, _SESSION, _BOUNDARY, _RESOURCE = (
    PolicyType.IDENTITY,
    PolicyType.SESSION,
    PolicyType.BOUNDARY,
    PolicyType.RESOURCE,
)
_SCP, _RCP, _VPC_ENDPOINT = PolicyType.SCP, PolicyType.RCP, PolicyType.VPC_ENDPOINT


def _is_map(value: object) -> TypeGuard[Mapping[str, Any]]:
    """isinstance(value, Mapping), fast for the dicts JSON gives."""
    return type(value) is dict or isinstance(value, Mapping)


def _in_key_order(policy: PolicyDocument) -> PolicyDocument:
    """`policy` with each statement's condition tests in key order (operator, then condition key).

    A parse of the document's key-sorted JSON lists the tests so; the parse of the document itself differs
    only in that order, which the explanation shows (its condition keys): a document reads the same whatever
    order its keys come in.
    """
    for statement in policy.statements:
        if len(statement.conditions) > 1:
            break
    else:
        return policy
    statements = tuple(
        replace(statement, conditions=tuple(sorted(statement.conditions, key=_test_key)))
        if len(statement.conditions) > 1
        else statement
        for statement in policy.statements
    )
    return replace(policy, statements=statements)


def _test_key(test: ConditionTest) -> tuple[str, str]:
    return test.operator, test.key


def _policy(
    document: object, name: str, policy_type: PolicyType, source: str, where: str, index: int | None = None
) -> PolicyDocument:
    """Parse one document; a parsed policy is cached by its JSON, name and type.

    Errors name `where` (`where[index].document` for an item of a list of {name, document} objects).
    """
    try:
        if type(document) is not dict and not _is_map(document):
            return parse_policy(document, name=name, policy_type=policy_type)
        text = orjson.dumps(document)
        if len(text) > MAX_CACHED_BYTES:
            return parse_policy(document, name=name, policy_type=policy_type)
        key = (text, name, policy_type)
        found = _PARSED.get(key)
        if found is None:
            try:
                found = _in_key_order(parse_policy(document, name=name, policy_type=policy_type))
            except PolicyError:  # worded as a parse of its key-sorted JSON words it
                ordered = orjson.loads(orjson.dumps(document, option=orjson.OPT_SORT_KEYS))
                found = parse_policy(ordered, name=name, policy_type=policy_type)
            _PARSED.remember(key, found)
        return found
    except PolicyError as error:
        place = where if index is None else f"{where}[{index}].document"
        raise InputError(source, f"{place} ({error.source}): {error.problem}") from None
    except TypeError as error:  # a document orjson cannot encode (only from Python callers)
        place = where if index is None else f"{where}[{index}].document"
        raise InputError(source, f"{place} ({name}): {error}") from None


def _named_list(value: object, policy_type: PolicyType, source: str, where: str) -> list[PolicyDocument]:
    """A list of {"name", "document"} objects as parsed policies."""
    if not isinstance(value, list):
        raise InputError(source, f"{where} must be a list of {{name, document}} objects")
    parsed = []
    for index, item in enumerate(value):
        if (type(item) is not dict and not _is_map(item)) or "document" not in item:
            raise InputError(source, f"{where}[{index}] must be an object with a name and a document")
        name = item.get("name")
        if name is None and "name" not in item:
            name = f"{policy_type.value}-{index}"
        if not isinstance(name, str) or not name:
            raise InputError(source, f"{where}[{index}].name must be a non-empty string")
        parsed.append(_policy(item["document"], name, policy_type, source, where, index))
    return parsed


def _single(
    value: object, default_name: str, policy_type: PolicyType, source: str, where: str
) -> PolicyDocument:
    """A bare document, or one wrapped as {"name", "document"}."""
    if _is_map(value) and "document" in value and "Statement" not in value:
        name = value.get("name") or default_name
        if not isinstance(name, str):
            raise InputError(source, f"{where}.name must be a string")
        return _policy(value["document"], name, policy_type, source, f"{where}.document")
    return _policy(value, default_name, policy_type, source, where)


def _levels(
    value: object, policy_type: PolicyType, source: str, where: str
) -> tuple[list[list[PolicyDocument]], list[str]]:
    if not isinstance(value, list):
        raise InputError(source, f"{where} must be a list of levels (root first)")
    levels: list[list[PolicyDocument]] = []
    names: list[str] = []
    for index, level in enumerate(value):
        if not _is_map(level) or "policies" not in level:
            raise InputError(source, f"{where}[{index}] must be an object with org_id and policies")
        org_id = level.get("org_id")
        if org_id is not None and not isinstance(org_id, str):
            raise InputError(source, f"{where}[{index}].org_id must be a string")
        levels.append(_named_list(level["policies"], policy_type, source, f"{where}[{index}].policies"))
        names.append(org_id or "")
    return levels, names


def _string(value: object, source: str, where: str, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value:
        raise InputError(source, f"{where} must be a non-empty string")
    return value


def _principal(value: object, source: str) -> str | None:
    if type(value) is not str and _is_map(value):
        if value.get("type") == "Anonymous" and len(value) == 1:
            return None
        raise InputError(source, 'request.principal must be an ARN or {"type": "Anonymous"}')
    principal = _string(value, source, "request.principal")
    try:
        parse_caller(principal)
    except CallerError as error:
        raise InputError(source, f"request.principal: {error.problem}") from None
    return principal


def case_request(case: Mapping[str, Any], source: str) -> tuple[AuthorizationRequest, PolicySet]:
    """The request and policies of a case; InputError(source, problem) names the field that is wrong."""
    return _request(case, source), case_policies(case.get("policies"), source)


def _request(case: Mapping[str, Any], source: str) -> AuthorizationRequest:
    request = case.get("request")
    if type(request) is not dict and not _is_map(request):
        raise InputError(source, "the case needs a request object")
    if not _REQUEST_KEYS.issuperset(request):
        unknown = sorted(set(request) - _REQUEST_KEYS)
        raise InputError(source, f"request has unknown keys {unknown} (known: {sorted(_REQUEST_KEYS)})")
    get = request.get
    action = get("action")
    if type(action) is not str or ":" not in action:
        action = _string(action, source, "request.action")
        if ":" not in action:  # type: ignore[operator]  # _string returned a string
            raise InputError(source, f"request.action {action!r} is not of the form service:Action")
    resource = get("resource")
    if type(resource) is not str or not resource:
        resource = _string(resource, source, "request.resource")
    context = get("context") or {}
    if type(context) is not dict and not _is_map(context):
        raise InputError(source, "request.context must be an object of condition keys")
    wildcard, linked = get("wildcard_only_action", False), get("service_linked_role", False)
    if type(wildcard) is not bool or type(linked) is not bool:
        flag = "wildcard_only_action" if type(wildcard) is not bool else "service_linked_role"
        raise InputError(source, f"request.{flag} must be true or false")
    try:
        request_context = RequestContext(context) if context else EMPTY_CONTEXT
    except InputError as error:
        raise InputError(source, f"request.context: {error.problem}") from None
    principal = get("principal")
    if type(principal) is str and principal:
        try:
            parse_caller(principal)
        except CallerError as error:
            raise InputError(source, f"request.principal: {error.problem}") from None
    else:
        principal = _principal(principal, source)
    account = get("resource_account")
    if account is not None and (type(account) is not str or not account):
        account = _string(account, source, "request.resource_account", optional=True)
    return AuthorizationRequest(principal, action, resource, account, request_context, linked)  # type: ignore[arg-type]


def case_policies(value: object, source: str) -> PolicySet:
    """The PolicySet of a case's `policies` object."""
    if type(value) is not dict and not _is_map(value):
        raise InputError(source, "the case needs a policies object")
    if not _POLICY_KEYS.issuperset(value):
        unknown = sorted(set(value) - _POLICY_KEYS)
        raise InputError(source, f"policies has unknown keys {unknown} (known: {sorted(_POLICY_KEYS)})")
    get = value.get
    identity = get("identity", [])
    if type(identity) is not list or identity:
        identity = _named_list(identity, _IDENTITY, source, "policies.identity")
    session = get("session_policy")
    if session is not None:
        session = _single(session, "session-policy", _SESSION, source, "policies.session_policy")
    boundaries = get("permission_boundaries")
    if boundaries is not None:
        boundaries = _named_list(boundaries, _BOUNDARY, source, "policies.permission_boundaries")
    scps, scp_names = (
        _levels(value["scp_levels"], _SCP, source, "policies.scp_levels") if get("scp_levels") else ([], None)
    )
    rcps, rcp_names = (
        _levels(value["rcp_levels"], _RCP, source, "policies.rcp_levels") if get("rcp_levels") else ([], None)
    )
    resource = get("resource_policy")
    if resource is not None:
        resource = _single(resource, "resource-policy", _RESOURCE, source, "policies.resource_policy")
    endpoint = get("vpc_endpoint_policies")
    if endpoint is not None:
        endpoint = _named_list(endpoint, _VPC_ENDPOINT, source, "policies.vpc_endpoint_policies")
    account = get("management_account_id")
    if account is not None:
        account = _string(account, source, "policies.management_account_id", optional=True)
    return PolicySet(
        identity, session, boundaries, scps, rcps, resource, endpoint, scp_names, rcp_names, account
    )  # fmt: skip


def result_dict(case_id: object, result: EvaluationResult) -> dict[str, object]:
    """The simulator's answer for one case: {"id", "decision", "explanation"}."""
    return {"id": case_id, "decision": result.decision.value, "explanation": result.explanation.to_dict()}


def _shared_policies(value: object, source: str, key: bytes | None = None) -> PolicySet:
    """case_policies, shared between cases whose policies are identical (a batch that reuses them).

    `key`: the JSON of {"": value}, when the caller has written it.
    """
    if type(value) is not dict and not _is_map(value):
        return case_policies(value, source)
    if key is None:
        try:
            key = orjson.dumps({"": value})
        except TypeError:
            return case_policies(value, source)
    if len(key) > MAX_CACHED_BYTES * 4:
        return case_policies(value, source)
    found = _POLICY_SETS.get(key)
    if found is None:
        found = _POLICY_SETS.remember(key, case_policies(value, source))
    return found


def clear_caches() -> None:
    """Forget every parsed policy and policy set (benchmarks measure a cold start with this)."""
    _POLICY_SETS.clear()
    _PARSED.clear()


def _case_source(case: object, source: str | None) -> str:
    """The name a case's errors use (`source`, else the case's id); InputError when it is not an object."""
    if not _is_map(case):
        raise InputError(source or "case", "a case must be a JSON object")
    return source if source is not None else str(case.get("id") or "case")


def simulate_read_json(case: dict[str, Any], source: str) -> bytes:
    """simulate_case_json of a case just read from JSON and not yet checked by `core.limits.check_case`.

    The batch path: the JSON its policy set is cached by, {"": policies}, nests the policies as deep as the
    case does, so that with the JSON of the rest of the case it tells what json_size would of the whole (one
    writing of the case instead of two); anything it cannot tell is asked of check_case.
    """
    policies = case.get("policies") if type(case) is dict else None
    key = None
    if type(policies) is dict:
        case["policies"] = None  # the rest of the case, written in its own key order
        try:
            rest = orjson.dumps(case)
            key = orjson.dumps({"": policies})
        except TypeError:  # nested too deep, a lone surrogate, an integer beyond 64 bits: check_case words it
            key = None
        case["policies"] = policies
        if key is not None and not (nul_free(key) and nul_free(rest)):
            key = None
    if key is None:
        check_case(case, source)
    return simulate_case_json(case, source=source, policies_key=key)


def simulate_case_json(
    case: Mapping[str, Any], *, source: str | None = None, policies_key: bytes | None = None
) -> bytes:
    """simulate_case's answer encoded as compact JSON.

    `policies_key`: the JSON of {"": the case's policies}, when the caller has written it.
    """
    where = source if source is not None and type(case) is dict else _case_source(case, source)
    if is_component_case(case):
        return orjson.dumps(simulate_component(case, where))
    result = evaluate(_request(case, where), _shared_policies(case.get("policies"), where, policies_key))
    # A dict, not the dataclass: orjson reads a slotted dataclass only after failing to find its __dict__.
    return orjson.dumps(
        {"id": case.get("id"), "decision": result.decision, "explanation": result.explanation.for_json()}
    )


def simulate_case(case: Mapping[str, Any], *, source: str | None = None) -> dict[str, object]:
    """Evaluate one case and return {"id", "decision", "explanation"} (the public Python API).

    A condition_operator or resource_match case gets its own answer (see `simulate_parts`). Raises
    InputError naming `source` (default: the case's id) and the field that is wrong. Parsed policies are
    kept (by content) for the next case that uses the same ones.
    """
    where = _case_source(case, source)
    if is_component_case(case):
        return simulate_component(case, where)
    request = _request(case, where)
    return result_dict(case.get("id"), evaluate(request, _shared_policies(case.get("policies"), where)))
