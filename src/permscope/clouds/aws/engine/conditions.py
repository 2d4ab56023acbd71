"""IAM condition operators: String, Numeric, Date, Bool, Binary, IP address, ARN and Null, with set
qualifiers (ForAllValues / ForAnyValue), IfExists and policy variables."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from permscope.clouds.aws.engine.matching import arn_regex
from permscope.clouds.aws.engine.policy import ConditionTest
from permscope.clouds.aws.engine.variables import (
    EMPTY_CONTEXT,
    RequestContext,
    glob_from_policy,
    substitute_variables,
)
from permscope.core.arn import arn_fields
from permscope.core.globs import glob_regex

__all__ = [
    "ConditionOutcome",
    "ParsedOperator",
    "RequestContext",
    "conditions_match",
    "operator_matches",
    "operator_value_results",
    "parse_operator",
    "substitute_variables",
]

# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
# base operator (lower case) -> (family, comparison, negated)
_OPERATORS: dict[str, tuple[str, str, bool]] = {
    "stringequals": ("string", "equals", False),
    "stringnotequals": ("string", "equals", True),
    "stringequalsignorecase": ("string", "equalsIgnoreCase", False),
    "stringnotequalsignorecase": ("string", "equalsIgnoreCase", True),
    "stringlike": ("string", "like", False),
    "stringnotlike": ("string", "like", True),
    "numericequals": ("numeric", "eq", False),
    "numericnotequals": ("numeric", "eq", True),
    "numericlessthan": ("numeric", "lt", False),
    "numericlessthanequals": ("numeric", "le", False),
    "numericgreaterthan": ("numeric", "gt", False),
    "numericgreaterthanequals": ("numeric", "ge", False),
    "dateequals": ("date", "eq", False),
    "datenotequals": ("date", "eq", True),
    "datelessthan": ("date", "lt", False),
    "datelessthanequals": ("date", "le", False),
    "dategreaterthan": ("date", "gt", False),
    "dategreaterthanequals": ("date", "ge", False),
    "bool": ("bool", "eq", False),
    "binaryequals": ("binary", "eq", False),
    "ipaddress": ("ip", "in", False),
    "notipaddress": ("ip", "in", True),
    "arnequals": ("arn", "like", False),
    "arnlike": ("arn", "like", False),
    "arnnotequals": ("arn", "like", True),
    "arnnotlike": ("arn", "like", True),
    "null": ("null", "null", False),
}
_SHAPE = re.compile(r"^(?:(forallvalues|foranyvalue):)?(.+?)(ifexists)?$")
# Families whose policy values may hold policy variables. AWS documents variables for string comparisons
# (and ARNs); Bool is accepted too. Date operators take none ("You cannot use a policy variable with the
# Date condition operator"), so ${...} there is literal text that is not a date.
_VARIABLE_FAMILIES = frozenset({"string", "arn", "bool"})


@dataclass(frozen=True, slots=True)
class ParsedOperator:
    """A condition operator split into its parts, parsed once per distinct operator text."""

    text: str
    known: bool
    family: str  # string, numeric, date, bool, binary, ip, arn, null ("" when unknown)
    comparison: str
    negated: bool
    set_qualifier: str | None  # "ForAllValues" | "ForAnyValue" | None
    if_exists: bool


@lru_cache(maxsize=4096)
def parse_operator(operator: str) -> ParsedOperator:
    """The parts of a condition operator ("ForAnyValue:StringLikeIfExists"); unknown ones have known=False."""
    unknown = ParsedOperator(operator, False, "", "", False, None, False)
    shape = _SHAPE.match(operator.lower())
    if shape is None:
        return unknown
    qualifier_text, base, if_exists = shape.group(1), shape.group(2), shape.group(3) is not None
    entry = _OPERATORS.get(base)
    if entry is None:
        return unknown
    family, comparison, negated = entry
    if family == "null" and (if_exists or qualifier_text):
        return unknown  # Null takes neither a set qualifier nor IfExists
    qualifier = {"forallvalues": "ForAllValues", "foranyvalue": "ForAnyValue"}.get(qualifier_text or "")
    return ParsedOperator(operator, True, family, comparison, negated, qualifier, if_exists)


# ---------------------------------------------------------------------------------------------- values

_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")
_EPOCH = re.compile(r"^[+-]?\d+(?:\.\d+)?$")
_EPOCH_START = datetime(1970, 1, 1, tzinfo=UTC)


@lru_cache(maxsize=8192)
def parse_number(text: str) -> Decimal | None:
    """A Numeric operator value as an exact decimal; None when it is not a number."""
    text = text.strip()
    if not _NUMBER.match(text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the regex admits only valid literals
        return None


@lru_cache(maxsize=8192)
def parse_date(text: str) -> Decimal | None:
    """A Date operator value as epoch seconds: ISO 8601 (UTC unless an offset is given) or epoch seconds."""
    text = text.strip()
    if not text:
        return None
    if _EPOCH.match(text):
        return Decimal(text)
    candidate = text[:-1] + "+00:00" if text[-1] in "zZ" else text
    try:
        moment = datetime.fromisoformat(candidate)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    since = moment - _EPOCH_START  # exact arithmetic: no float rounding, right for dates before 1970 too
    return Decimal(since.days * 86_400 + since.seconds) + Decimal(since.microseconds) / Decimal(1_000_000)


def _parse_bool(text: str) -> bool | None:
    folded = text.strip().lower()
    return True if folded == "true" else False if folded == "false" else None


@lru_cache(maxsize=8192)
def _parse_binary(text: str) -> bytes | None:
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None


@lru_cache(maxsize=8192)
def _parse_network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None


@lru_cache(maxsize=8192)
def _parse_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _is_arn(text: str) -> bool:
    """Whether a request value is ARN-shaped enough for ArnEquals / ArnLike: six segments, a partition and a
    service (the segments are matched one by one against the policy's, so they are not checked here)."""
    fields = arn_fields(text)
    return fields is not None and bool(fields[0]) and bool(fields[1])


_ORDER: dict[str, Callable[[Decimal, Decimal], bool]] = {
    "eq": lambda request, policy: request == policy,
    "lt": lambda request, policy: request < policy,
    "le": lambda request, policy: request <= policy,
    "gt": lambda request, policy: request > policy,
    "ge": lambda request, policy: request >= policy,
}


def _positive_match(
    parsed: ParsedOperator, policy_value: str, request: str, context: RequestContext, variables: bool
) -> bool | None:
    """Does one request value satisfy one policy value under the operator's positive form.

    None means an error: a policy or request value the operator cannot read (an unresolved variable,
    a malformed number, date, address or ARN). An error matches nothing, under negated operators too.
    """
    family, comparison = parsed.family, parsed.comparison
    if variables and family in _VARIABLE_FAMILIES and "${" in policy_value:
        if (family == "string" and comparison == "like") or family == "arn":
            glob = glob_from_policy(policy_value, context)
            if glob is None:
                return None
            return _glob_match(family, glob, request)
        resolved = substitute_variables(policy_value, context)
        if resolved is None:
            return None
        policy_value = resolved
    if family == "string":
        if comparison == "equals":
            return policy_value == request
        if comparison == "equalsIgnoreCase":
            return policy_value.casefold() == request.casefold()
        glob = policy_value.replace("\\", "\\\\") if "\\" in policy_value else policy_value
        return glob_regex(glob).fullmatch(request) is not None
    if family == "arn":
        glob = policy_value.replace("\\", "\\\\") if "\\" in policy_value else policy_value
        return _glob_match(family, glob, request)
    if family in ("numeric", "date"):
        parse = parse_number if family == "numeric" else parse_date
        policy_number, request_number = parse(policy_value), parse(request)
        if policy_number is None or request_number is None:
            return None
        return _ORDER[comparison](request_number, policy_number)
    if family == "bool":
        policy_bool, request_bool = _parse_bool(policy_value), _parse_bool(request)
        if policy_bool is None or request_bool is None:
            return None
        return policy_bool == request_bool
    if family == "binary":
        policy_bytes, request_bytes = _parse_binary(policy_value), _parse_binary(request)
        if policy_bytes is None or request_bytes is None:
            return policy_value.strip() == request.strip()
        return policy_bytes == request_bytes
    if family == "ip":
        network, address = _parse_network(policy_value), _parse_address(request)
        if network is None or address is None:
            return None
        return address.version == network.version and address in network
    return None  # pragma: no cover - every known family is handled above


def _glob_match(family: str, glob: str, request: str) -> bool | None:
    if family == "string":
        return glob_regex(glob).fullmatch(request) is not None
    # ArnEquals / ArnLike: each of the six colon-separated segments is matched separately.
    if glob.count(":") < 5 or not glob.startswith("arn:") or not _is_arn(request):
        return None
    return arn_regex(glob).fullmatch(request) is not None


def _value_results(
    parsed: ParsedOperator,
    policy_values: Sequence[str],
    request: str,
    context: RequestContext,
    variables: bool,
) -> list[bool]:
    """Per policy value: does it count for the test (for a negated operator: it does not match)."""
    results: list[bool] = []
    for policy_value in policy_values:
        matched = _positive_match(parsed, policy_value, request, context, variables)
        results.append(False if matched is None else matched != parsed.negated)
    return results


def _scalar_holds(
    parsed: ParsedOperator,
    policy_values: Sequence[str],
    request: str,
    context: RequestContext,
    variables: bool,
) -> bool:
    """One request value against all policy values: OR for positive operators, NOR for negated ones.

    The short-circuiting form of `_value_results` (kept as plain loops: this is the evaluator's hot path).
    """
    if parsed.negated:
        for policy_value in policy_values:
            matched = _positive_match(parsed, policy_value, request, context, variables)
            if matched is None or matched:
                return False
        return True
    for policy_value in policy_values:
        if _positive_match(parsed, policy_value, request, context, variables):
            return True
    return False


def operator_matches(
    operator: str,
    policy_values: Sequence[str],
    request_value: str | list[str] | None,
    context: RequestContext | None = None,
    *,
    variables: bool = True,
) -> bool:
    """One condition test: the operator (full grammar) applied to the request's value of the key.

    `request_value` None means the request does not carry the key. An unknown operator never matches.
    """
    parsed = parse_operator(operator)
    if not parsed.known:
        return False
    context = context if context is not None else EMPTY_CONTEXT
    if parsed.family == "null":
        # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_Null
        absent = request_value is None or (isinstance(request_value, list) and not request_value)
        for policy_value in policy_values:
            wanted = _parse_bool(policy_value)
            if wanted is not None and wanted == absent:
                return True
        return False
    if request_value is None:
        if parsed.if_exists:
            return True
        if parsed.set_qualifier == "ForAllValues":
            return True  # documented: true when the key is absent (beware with Allow)
        if parsed.set_qualifier == "ForAnyValue":
            return False  # documented: false for a missing key or an empty set
        return parsed.negated  # documented: a missing key fails positive operators, passes negated ones
    requests = request_value if isinstance(request_value, list) else [request_value]
    if parsed.set_qualifier == "ForAllValues":
        return all(_scalar_holds(parsed, policy_values, r, context, variables) for r in requests)
    if parsed.set_qualifier == "ForAnyValue":
        return any(_scalar_holds(parsed, policy_values, r, context, variables) for r in requests)
    if not requests:
        return parsed.negated
    if len(requests) == 1:
        return _scalar_holds(parsed, policy_values, requests[0], context, variables)
    # A multivalued key without a set qualifier (AWS says to use one): a positive operator holds when any
    # request value matches; a negated one only when no request value matches any policy value.
    if parsed.negated:
        return all(_scalar_holds(parsed, policy_values, r, context, variables) for r in requests)
    return any(_scalar_holds(parsed, policy_values, r, context, variables) for r in requests)


def operator_value_results(
    operator: str,
    policy_values: Sequence[str],
    request_value: str,
    context: RequestContext | None = None,
    *,
    variables: bool = True,
) -> tuple[bool, ...]:
    """For a base operator and a single request value: whether each policy value counts for the test."""
    parsed = parse_operator(operator)
    if not parsed.known or parsed.family == "null":
        return tuple(False for _ in policy_values)
    return tuple(_value_results(parsed, policy_values, request_value, context or EMPTY_CONTEXT, variables))


@dataclass(frozen=True, slots=True)
class ConditionOutcome:
    """The result of a statement's Condition block."""

    matched: bool
    keys: tuple[str, ...]
    failed: tuple[str, ...] = ()


_ALWAYS = ConditionOutcome(matched=True, keys=())


def conditions_match(
    conditions: Sequence[ConditionTest],
    context: RequestContext | None = None,
    *,
    variables: bool = True,
    explain: bool = False,
) -> ConditionOutcome:
    """AND across every operator and key of a Condition block (each test ORs its values).

    With `explain=False` evaluation stops at the first failing test; with `explain=True` every failing
    test is listed in `failed`.
    """
    if not conditions:
        return _ALWAYS
    context = context if context is not None else EMPTY_CONTEXT
    keys = tuple(dict.fromkeys(test.key for test in conditions))
    failed: list[str] = []
    for test in conditions:
        request_value = context.get(test.key)
        if operator_matches(test.operator, test.values, request_value, context, variables=variables):
            continue
        failed.append(_failure(test, request_value))
        if not explain:
            break
    return ConditionOutcome(matched=not failed, keys=keys, failed=tuple(failed))


def _failure(test: ConditionTest, request_value: str | list[str] | None) -> str:
    if not parse_operator(test.operator).known:
        return f"{test.operator} {test.key}: unknown condition operator (never matches)"
    shown = "absent" if request_value is None else repr(request_value)
    return f"{test.operator} {test.key}: request value {shown} does not satisfy {list(test.values)!r}"
