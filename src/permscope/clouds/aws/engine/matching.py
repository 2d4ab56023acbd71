"""Action and resource (ARN) matching with IAM's * and ? wildcards, including wildcard requests."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from enum import Enum
from functools import lru_cache

from permscope.clouds.aws.engine.policy import PolicyType
from permscope.clouds.aws.engine.variables import RequestContext, glob_from_policy
from permscope.core.globs import (
    STAR,
    glob_contains,
    glob_has_wildcards,
    glob_regex,
    globs_intersect,
    regex_part,
)
from permscope.core.globs import (
    tokens as glob_tokens,
)

_ARN_SEGMENTS = 6  # arn:partition:service:region:account-id:resource


class ValueMatch(Enum):
    """How one Resource / NotResource value relates to the request's resource."""

    MATCH = "match"
    NO_MATCH = "noMatch"
    ERROR = "error"  # the value is unusable here (unresolved variable, rejected short ARN): matches nothing


# ---------------------------------------------------------------------------------------------- actions
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html


@lru_cache(maxsize=16_384)
def action_regex(pattern: str) -> re.Pattern[str]:
    """The compiled, case-insensitive form of an Action pattern (* = any run, ? = one character)."""
    glob = pattern.replace("\\", "\\\\") if "\\" in pattern else pattern  # a backslash is literal here
    return re.compile(regex_part(glob, "."), re.IGNORECASE | re.DOTALL)


def action_matches(pattern: str, action: str) -> bool:
    """True when `action` (service:Name) matches an Action / NotAction pattern, ignoring case."""
    if pattern == "*":
        return True
    if "*" not in pattern and "?" not in pattern:
        return len(pattern) == len(action) and pattern.lower() == action.lower()
    return action_regex(pattern).fullmatch(action) is not None


class ActionSet:
    """An Action / NotAction list compiled once: exact names in a set, wildcard patterns in one regex."""

    __slots__ = ("everything", "exact", "regex")

    def __init__(self, patterns: Sequence[str]) -> None:
        self.everything = "*" in patterns
        self.exact = frozenset(p.lower() for p in patterns if "*" not in p and "?" not in p)
        wildcards = [p for p in patterns if "*" in p or "?" in p]
        self.regex: re.Pattern[str] | None = None
        if wildcards:
            alternatives = "|".join(action_regex(p).pattern for p in dict.fromkeys(wildcards))
            self.regex = re.compile(f"(?:{alternatives})", re.IGNORECASE | re.DOTALL)

    def matches(self, action: str) -> bool:
        """True when `action` matches any of the patterns (case-insensitive)."""
        if self.everything or action.lower() in self.exact:
            return True
        return self.regex is not None and self.regex.fullmatch(action) is not None


_ACTION_SETS: dict[int, tuple[Sequence[str], ActionSet]] = {}
_MAX_ACTION_SETS = 65_536


def action_set(patterns: Sequence[str]) -> ActionSet:
    """The compiled ActionSet of a (long-lived, immutable) pattern tuple, built once per tuple object."""
    entry = _ACTION_SETS.get(id(patterns))
    if entry is not None and entry[0] is patterns:
        return entry[1]
    compiled = ActionSet(patterns)
    if len(_ACTION_SETS) >= _MAX_ACTION_SETS:
        _ACTION_SETS.clear()
    _ACTION_SETS[id(patterns)] = (patterns, compiled)  # holding `patterns` keeps its id from being reused
    return compiled


def actions_match(patterns: Sequence[str], action: str) -> bool:
    """True when `action` matches any pattern of an Action / NotAction list (e.g. `statement.actions`)."""
    return action_set(patterns).matches(action)


# ---------------------------------------------------------------------------------------------- ARNs
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html


@lru_cache(maxsize=16_384)
def arn_regex(glob: str) -> re.Pattern[str]:
    """A six-segment ARN glob as one regex: wildcards stay inside the partition, service, region and
    account segments and may span anything (colons and slashes included) in the resource segment."""
    segments = glob.split(":", _ARN_SEGMENTS - 1)
    head = [regex_part(segment, "[^:]") for segment in segments[:-1]]
    tail = regex_part(segments[-1], ".")
    return re.compile(":".join([*head, tail]), re.DOTALL)


def _compare(policy_glob: str, request: str, wildcard_request: bool, superset: bool) -> bool:
    """Whole-string comparison of a policy glob with the request: a literal resource (`wildcard_request`
    False: `request` is the raw text) or a wildcard request (`request` is its escaped glob)."""
    if not wildcard_request:
        return glob_regex(policy_glob).fullmatch(request) is not None
    return glob_contains(policy_glob, request) if superset else globs_intersect(policy_glob, request)


def _compare_arn(policy_glob: str, request: str, wildcard_request: bool, superset: bool) -> bool:
    """Segment-wise comparison of a six-segment policy ARN glob with the request (as in `_compare`)."""
    if not wildcard_request:
        if "*" not in policy_glob and "?" not in policy_glob and "\\" not in policy_glob:
            return policy_glob == request
        return arn_regex(policy_glob).fullmatch(request) is not None
    request_parts = request.split(":", _ARN_SEGMENTS - 1)
    if len(request_parts) < _ARN_SEGMENTS:
        return _compare(policy_glob, request, True, superset)
    policy_parts = policy_glob.split(":", _ARN_SEGMENTS - 1)
    test = glob_contains if superset else globs_intersect
    return all(test(p, r) for p, r in zip(policy_parts, request_parts, strict=True))


def _short_arn_rule(policy_type: PolicyType | str | None, glob: str) -> str:
    """How a policy type reads an ARN with fewer than six segments: "expand", "literal" or "error".

    AWS documents only that a * ending a segment may match beyond the colons. What each policy type does
    with other short ARNs is observed behaviour (recorded in the conformance data): identity, session,
    boundary and VPC endpoint policies pad the missing segments with *; resource-based policies do so only
    when the value holds a wildcard, and otherwise compare it literally; SCPs accept a short ARN only
    when it ends in *; RCPs reject every short ARN. An expanded value that does not match is rejected
    (it matches nothing, not even through NotResource).
    """
    kind = str(policy_type) if policy_type is not None else PolicyType.IDENTITY.value
    if kind == PolicyType.RCP.value:
        return "error"
    if kind == PolicyType.SCP.value:
        parts = glob_tokens(glob)
        return "expand" if parts and parts[-1] == STAR else "error"
    if kind == PolicyType.RESOURCE.value:
        return "expand" if glob_has_wildcards(glob) else "literal"
    return "expand"


def resource_value_match(
    pattern: str,
    resource: str,
    context: RequestContext | None = None,
    *,
    variables: bool = True,
    policy_type: PolicyType | str | None = None,
    superset: bool = False,
    request_wildcards: bool = True,
) -> ValueMatch:
    """How one Resource / NotResource value relates to the request's resource.

    `superset=False` asks "can some resource the request names match the value" (Allow statements);
    `superset=True` asks "does the value cover every resource the request names" (Deny statements). The
    two differ only for a wildcard request (a request resource holding * or ?). `request_wildcards=False`
    reads the request literally (the "*" of an action that supports no resource type).
    """
    if "${" in pattern or "\\" in pattern:
        expanded = glob_from_policy(pattern, context, variables=variables)
        if expanded is None:
            return ValueMatch.ERROR
        glob = expanded
    else:
        glob = pattern  # the common case: the pattern is its own glob
    if glob == "*":
        return ValueMatch.MATCH
    wildcard_request = request_wildcards and ("*" in resource or "?" in resource)
    # In a wildcard request a backslash is a literal character: escape it for the glob functions.
    request = resource.replace("\\", "\\\\") if wildcard_request and "\\" in resource else resource
    segments = glob.count(":") + 1
    if not glob.startswith("arn:"):
        matched = _compare(glob, request, wildcard_request, superset)
    elif segments >= _ARN_SEGMENTS:
        matched = _compare_arn(glob, request, wildcard_request, superset)
    else:
        rule = _short_arn_rule(policy_type, glob)
        if rule == "error":
            return ValueMatch.ERROR
        if rule == "literal":
            matched = _compare(glob, request, wildcard_request, superset)
        else:
            padded = glob + ":*" * (_ARN_SEGMENTS - segments)
            if _compare_arn(padded, request, wildcard_request, superset):
                return ValueMatch.MATCH
            return ValueMatch.ERROR
    return ValueMatch.MATCH if matched else ValueMatch.NO_MATCH


def resource_matches(
    pattern: str,
    resource: str,
    context: RequestContext | None = None,
    *,
    variables: bool = True,
    policy_type: PolicyType | str | None = None,
    request_wildcards: bool = True,
) -> bool:
    """True when a Resource value matches the request's resource (case-sensitive ARN matching).

    Policy variables are substituted from `context` when `variables` (policy Version 2012-10-17); "*"
    matches anything; a wildcard request matches when some concrete resource could match both.
    """
    outcome = resource_value_match(
        pattern,
        resource,
        context,
        variables=variables,
        policy_type=policy_type,
        request_wildcards=request_wildcards,
    )
    return outcome is ValueMatch.MATCH


def _element_mode(element: str, effect: str) -> tuple[bool, bool]:
    """(negated, superset) for a Resource / NotResource element of an Allow / Deny statement.

    Resource+Allow and NotResource+Deny ask for an overlap with the request; the other two ask for coverage.
    """
    if element not in ("Resource", "NotResource"):
        raise ValueError(f"element must be Resource or NotResource, not {element!r}")
    negated = element == "NotResource"
    return negated, (effect == "Allow") == negated


def _value_counts(
    value: str,
    resource: str,
    context: RequestContext | None,
    negated: bool,
    superset: bool,
    policy_type: PolicyType | str | None,
    variables: bool,
    request_wildcards: bool,
) -> bool:
    """Whether one Resource / NotResource value lets the statement apply (an unusable value never does)."""
    outcome = resource_value_match(
        value,
        resource,
        context,
        variables=variables,
        policy_type=policy_type,
        superset=superset,
        request_wildcards=request_wildcards,
    )
    return outcome is not ValueMatch.ERROR and (outcome is ValueMatch.MATCH) != negated


def resource_element_applies(element: str, value_counts: Iterable[bool]) -> bool:
    """True when a Resource (any value counts) / NotResource (every value counts) element covers the
    request, given each value's result from `statement_resource_results`."""
    return all(value_counts) if element == "NotResource" else any(value_counts)


def statement_resource_results(
    element: str,
    values: Sequence[str],
    resource: str,
    context: RequestContext | None = None,
    *,
    effect: str = "Allow",
    policy_type: PolicyType | str | None = None,
    variables: bool = True,
    request_wildcards: bool = True,
) -> tuple[bool, ...]:
    """Per value of a Resource / NotResource element: does it let the statement apply to the request.

    For Resource a value counts when it matches; for NotResource when it does not match (a rejected
    value counts for neither). An Allow applies when some resource the request names qualifies, a Deny
    only when all of them do (this matters for wildcard requests only).
    """
    negated, superset = _element_mode(element, effect)
    return tuple(
        _value_counts(value, resource, context, negated, superset, policy_type, variables, request_wildcards)
        for value in values
    )


def statement_resource_matches(
    element: str,
    values: Sequence[str],
    resource: str,
    context: RequestContext | None = None,
    *,
    effect: str = "Allow",
    policy_type: PolicyType | str | None = None,
    variables: bool = True,
    request_wildcards: bool = True,
) -> bool:
    """True when a statement's Resource (any value) / NotResource (every value) element covers the request.

    The short-circuiting form of `resource_element_applies(element, statement_resource_results(...))`,
    kept as a plain loop: this is the evaluator's hot path.
    """
    negated, superset = _element_mode(element, effect)
    for value in values:
        if value == "*" and not negated:
            return True
        counts = _value_counts(
            value, resource, context, negated, superset, policy_type, variables, request_wildcards
        )
        if counts and not negated:
            return True  # Resource: any value
        if not counts and negated:
            return False  # NotResource: every value
    return negated
