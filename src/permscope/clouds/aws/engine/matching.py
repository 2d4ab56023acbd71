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
    trailing_star_prefix,
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


# Enum members read through their class are slow on Python 3.11; the hot paths use these constants.
_MATCH, _NO_MATCH, _ERROR = ValueMatch.MATCH, ValueMatch.NO_MATCH, ValueMatch.ERROR

# ---------------------------------------------------------------------------------------------- actions
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html


@lru_cache(maxsize=16_384)
def action_regex(pattern: str) -> re.Pattern[str]:
    """The compiled, case-insensitive form of an Action pattern (* = any run, ? = one character)."""
    glob = pattern.replace("\\", "\\\\") if "\\" in pattern else pattern  # a backslash is literal here
    return re.compile(regex_part(glob, "."), re.IGNORECASE | re.DOTALL)


def action_prefix(pattern: str) -> str | None:
    """The lower-case prefix of an ASCII pattern whose one wildcard is a trailing `*` (`s3:Get*` -> `s3:get`),
    else None. Such a pattern matches an ASCII action exactly when the lower-cased action starts with it: the
    same answer as its case-insensitive regex, without compiling one (a non-ASCII action, whose case
    folding `str.lower` does not mirror, still goes through the regex)."""
    if not pattern.isascii():
        return None
    head = trailing_star_prefix(pattern)
    return None if head is None else head.lower()


def _wildcard_matches(pattern: str, prefix: str | None, action: str) -> bool:
    """True when `action` matches a pattern holding a wildcard, `prefix` being its `action_prefix`."""
    if prefix is not None and action.isascii():
        return action.lower().startswith(prefix)
    return action_regex(pattern).fullmatch(action) is not None


def action_matches(pattern: str, action: str) -> bool:
    """True when `action` (service:Name) matches an Action / NotAction pattern, ignoring case."""
    if pattern == "*":
        return True
    if "*" not in pattern and "?" not in pattern:
        return len(pattern) == len(action) and pattern.lower() == action.lower()
    return _wildcard_matches(pattern, action_prefix(pattern), action)


class ActionSet:
    """An Action / NotAction list compiled once: exact names in a set, `name*` patterns as prefixes (see
    `action_prefix`), the other wildcard patterns in one regex."""

    __slots__ = ("everything", "exact", "prefixed", "prefixes", "regex")

    def __init__(self, patterns: Sequence[str]) -> None:
        self.everything = "*" in patterns
        self.exact = frozenset(p.lower() for p in patterns if "*" not in p and "?" not in p)
        prefixed: dict[str, str] = {}
        others: list[str] = []
        for pattern in dict.fromkeys(p for p in patterns if "*" in p or "?" in p):
            prefix = action_prefix(pattern)
            if prefix is None:
                others.append(pattern)
            else:
                prefixed[pattern] = prefix
        self.prefixed = tuple(prefixed)  # the patterns themselves: a non-ASCII action matches them by regex
        self.prefixes = tuple(prefixed.values())
        self.regex: re.Pattern[str] | None = None
        if others:
            alternatives = "|".join(action_regex(p).pattern for p in others)
            self.regex = re.compile(f"(?:{alternatives})", re.IGNORECASE | re.DOTALL)

    def matches(self, action: str) -> bool:
        """True when `action` matches any of the patterns (case-insensitive)."""
        lowered = action.lower()
        if self.everything or lowered in self.exact:
            return True
        if self.prefixes:
            if action.isascii():
                if lowered.startswith(self.prefixes):
                    return True
            elif any(action_regex(p).fullmatch(action) is not None for p in self.prefixed):
                return True
        return self.regex is not None and self.regex.fullmatch(action) is not None


# Pattern tuples seen, by id: None until the second use, then their ActionSet (holding the tuple keeps its id
# from being reused).
_ACTION_SETS: dict[int, tuple[Sequence[str], ActionSet | None]] = {}
_MAX_ACTION_SETS = 65_536


def action_set(patterns: Sequence[str]) -> ActionSet:
    """The compiled ActionSet of a (long-lived, immutable) pattern tuple, built once per tuple object."""
    entry = _ACTION_SETS.get(id(patterns))
    if entry is not None and entry[0] is patterns and entry[1] is not None:
        return entry[1]
    compiled = ActionSet(patterns)
    if len(_ACTION_SETS) >= _MAX_ACTION_SETS:
        _ACTION_SETS.clear()
    _ACTION_SETS[id(patterns)] = (patterns, compiled)
    return compiled


def _matches_one_by_one(patterns: Sequence[str], action: str) -> bool:
    """ActionSet.matches without compiling the set: each pattern tried in turn (as cheap for one use)."""
    key = action.lower()
    for pattern in patterns:
        if "*" in pattern or "?" in pattern:
            if pattern == "*" or _wildcard_matches(pattern, action_prefix(pattern), action):
                return True
        elif pattern.lower() == key:
            return True
    return False


def actions_match(patterns: Sequence[str], action: str) -> bool:
    """True when `action` matches any pattern of an Action / NotAction list (e.g. `statement.actions`).

    A tuple's patterns are tried one by one the first time it is seen (a policy read for one request) and
    compiled into an ActionSet from its second use on (a policy evaluated many times).
    """
    entry = _ACTION_SETS.get(id(patterns))
    if entry is None or entry[0] is not patterns:
        if len(_ACTION_SETS) >= _MAX_ACTION_SETS:
            _ACTION_SETS.clear()
        _ACTION_SETS[id(patterns)] = (patterns, None)
        return _matches_one_by_one(patterns, action)
    compiled = entry[1]
    if compiled is None:
        compiled = ActionSet(patterns)
        _ACTION_SETS[id(patterns)] = (patterns, compiled)
    return compiled.matches(action)


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
    return _value_match(pattern, resource, context, variables, policy_type, superset, request_wildcards)


def _value_match(
    pattern: str,
    resource: str,
    context: RequestContext | None,
    variables: bool,
    policy_type: PolicyType | str | None,
    superset: bool,
    request_wildcards: bool,
) -> ValueMatch:
    """resource_value_match with positional arguments (the evaluator's hot path)."""
    if (
        "*" not in pattern
        and "?" not in pattern
        and "\\" not in pattern
        and "${" not in pattern
        and (not request_wildcards or ("*" not in resource and "?" not in resource))
        and (not pattern.startswith("arn:") or pattern.count(":") >= _ARN_SEGMENTS - 1)
    ):
        # Plain text (no wildcard, escape or variable, not an ARN of fewer than six segments, whose reading
        # depends on the policy type) against a literal request: equal or not.
        return _MATCH if pattern == resource else _NO_MATCH
    if "${" in pattern or "\\" in pattern:
        expanded = glob_from_policy(pattern, context, variables=variables)
        if expanded is None:
            return _ERROR
        glob = expanded
    else:
        glob = pattern  # the common case: the pattern is its own glob
    if glob == "*":
        return _MATCH
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
            return _ERROR
        if rule == "literal":
            matched = _compare(glob, request, wildcard_request, superset)
        else:
            padded = glob + ":*" * (_ARN_SEGMENTS - segments)
            if _compare_arn(padded, request, wildcard_request, superset):
                return _MATCH
            return _ERROR
    return _MATCH if matched else _NO_MATCH


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


_ELEMENT_MODES = {
    ("Resource", "Allow"): (False, False),
    ("Resource", "Deny"): (False, True),
    ("NotResource", "Allow"): (True, True),
    ("NotResource", "Deny"): (True, False),
}


def _element_mode(element: str, effect: str) -> tuple[bool, bool]:
    """(negated, superset) for a Resource / NotResource element of an Allow / Deny statement.

    Resource+Allow and NotResource+Deny ask for an overlap with the request; the other two ask for coverage.
    """
    mode = _ELEMENT_MODES.get((element, effect))
    if mode is not None:
        return mode
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
    outcome = _value_match(value, resource, context, variables, policy_type, superset, request_wildcards)
    return outcome is not _ERROR and (outcome is _MATCH) != negated


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

    The short-circuiting form of `resource_element_applies(element, statement_resource_results(...))`.
    """
    return resource_element_covers(
        element, values, resource, context, effect, policy_type, variables, request_wildcards
    )


def resource_element_covers(
    element: str,
    values: Sequence[str],
    resource: str,
    context: RequestContext | None,
    effect: str,
    policy_type: PolicyType | str | None,
    variables: bool,
    request_wildcards: bool,
) -> bool:
    """statement_resource_matches with positional arguments, kept as a plain loop: the evaluator's hot path."""
    negated, superset = _element_mode(element, effect)
    for value in values:
        if value == "*" and not negated:
            return True
        outcome = _value_match(value, resource, context, variables, policy_type, superset, request_wildcards)
        counts = outcome is not _ERROR and (outcome is _MATCH) != negated
        if counts and not negated:
            return True  # Resource: any value
        if not counts and negated:
            return False  # NotResource: every value
    return negated
