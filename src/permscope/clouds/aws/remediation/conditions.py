"""Conditions a generated statement keeps from the identity's grants today, and a request context that meets them.

An action keeps a condition test (operator, key and values) when every Allow statement of the identity's policies
(its own and its groups') that grants the action today carries that very test, and the key says how or from
where the request is made (`KEPT_KEYS`: MFA, source VPC / endpoint / IP, requested region, TLS, calls through a
service). Such a condition still applies to the narrowed grant: the activity happened under it. Tests that
hold a policy variable, and every other key (resource tags, request tags, times), are not carried over.

A Deny statement of today's policies that guards how requests are made (all its tests on `KEPT_KEYS`, e.g.
"deny everything but managing one's own MFA device when `aws:MultiFactorAuthPresent` is false") and names an
observed action is carried over unchanged (`guard_statements`): the activity happened while it applied.

Activity records no request context, so the engine check needs one: an event of an action whose every grant
requires a condition was made under it, and outside the guards' conditions. `request_context` finds such a
context among candidate values drawn from the tests' own values (the first combination that every kept test
accepts and no guard's Condition holds in, as decided by the engine). An action for which none exists keeps
no condition and no guard (the generator says so).
"""

from __future__ import annotations

import ipaddress
import itertools
from collections.abc import Iterable, Sequence
from decimal import Decimal

from permscope.clouds.aws.engine.conditions import conditions_match, parse_number, parse_operator
from permscope.clouds.aws.engine.matching import actions_match
from permscope.clouds.aws.engine.policy import ConditionTest, PolicyDocument, Statement
from permscope.clouds.aws.engine.variables import RequestContext

# request-context keys about how a call is made (lower case); a condition on them is kept (module docstring)
KEPT_KEYS = frozenset(
    {
        "aws:multifactorauthpresent",
        "aws:multifactorauthage",
        "aws:sourcevpc",
        "aws:sourcevpce",
        "aws:sourceip",
        "aws:vpcsourceip",
        "aws:requestedregion",
        "aws:securetransport",
        "aws:calledvia",
        "aws:calledviafirst",
        "aws:calledvialast",
        "aws:viaawsservice",
    }
)
MAX_COMBINATIONS = 4_096  # candidate contexts tried per action
_OTHER_TEXT = "permscope-unmatched"
_OTHER_ADDRESSES = ("192.0.2.1", "2001:db8::1")  # documentation addresses (RFC 5737, RFC 3849)
ContextValue = str | list[str] | None


def granting_statements(documents: Iterable[PolicyDocument], action: str) -> list[Statement]:
    """The Allow statements of `documents` whose Action (or NotAction) takes in `action`."""
    return [
        statement
        for document in documents
        for statement in document.statements
        if statement.is_allow and names(statement, action)
    ]


def _signature(test: ConditionTest) -> tuple[str, str, tuple[str, ...]]:
    return (test.operator.lower(), test.key.lower(), tuple(sorted(test.values)))


def _keepable(test: ConditionTest) -> bool:
    return (
        test.key.lower() in KEPT_KEYS
        and parse_operator(test.operator).known
        and not any("${" in value for value in test.values)
    )


def kept_tests(statements: Sequence[Statement]) -> tuple[ConditionTest, ...]:
    """The tests on `KEPT_KEYS` every one of `statements` carries (none when there are no statements)."""
    if not statements:
        return ()
    common: dict[tuple[str, str, tuple[str, ...]], ConditionTest] | None = None
    for statement in statements:
        mine = {_signature(test): test for test in statement.conditions if _keepable(test)}
        common = mine if common is None else {key: common[key] for key in common if key in mine}
        if not common:
            return ()
    assert common is not None
    return tuple(common[key] for key in sorted(common))


def _numbers(value: str) -> list[str]:
    number = parse_number(value)
    if number is None:
        return []
    return [str(number + delta) for delta in (Decimal(0), Decimal(-1), Decimal(1))]


def _first_address(value: str) -> list[str]:
    try:
        network = ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        return []
    return [str(network.network_address)]


def _candidates(tests: Sequence[ConditionTest]) -> list[ContextValue]:
    """Values to try for one key, from the values of its tests (present values first, then absent)."""
    found: list[str] = []
    for test in tests:
        family = parse_operator(test.operator).family
        for value in test.values:
            if family == "numeric":
                found += _numbers(value)
            elif family == "ip":
                found += _first_address(value)
            elif family in ("string", "arn"):
                found += [value, value.replace("*", "x").replace("?", "x")]
            else:
                found.append(value)
        found += ["true", "false", "0", _OTHER_TEXT, *_OTHER_ADDRESSES]
    values: list[ContextValue] = list(dict.fromkeys(found))
    if any(parse_operator(test.operator).set_qualifier for test in tests):
        values = [[value] for value in dict.fromkeys(found)]
    return [*values, None]


def guard_statements(documents: Iterable[PolicyDocument], actions: Iterable[str]) -> list[Statement]:
    """The Deny statements of `documents` that guard how requests are made (every test on `KEPT_KEYS`, at least
    one test) and name at least one of `actions`."""
    wanted = list(actions)
    found: list[Statement] = []
    for document in documents:
        for statement in document.statements:
            if statement.is_allow or not statement.conditions:
                continue
            if not all(_keepable(test) for test in statement.conditions):
                continue
            if any(names(statement, action) for action in wanted):
                found.append(statement)
    return found


def names(statement: Statement, action: str) -> bool:
    """Whether a statement's Action (or NotAction) takes in `action`."""
    if statement.actions is not None:
        return actions_match(statement.actions, action)
    return statement.not_actions is not None and not actions_match(statement.not_actions, action)


def request_context(
    tests: Sequence[ConditionTest], denies: Sequence[Statement]
) -> dict[str, str | list[str]] | None:
    """A request context every test accepts and no deny's Condition holds in (keys absent from it stay absent),
    tried over the candidate values of each key in turn; None when no combination (at most MAX_COMBINATIONS)
    does."""
    by_key: dict[str, list[ConditionTest]] = {}
    for test in (*tests, *(t for deny in denies for t in deny.conditions)):
        by_key.setdefault(test.key.lower(), []).append(test)
    keys = list(by_key)
    choices = [_candidates(by_key[key]) for key in keys]
    tried = 0
    for combination in itertools.product(*choices):
        tried += 1
        if tried > MAX_COMBINATIONS:
            return None
        values = {
            by_key[key][0].key: value
            for key, value in zip(keys, combination, strict=True)
            if value is not None
        }
        context = RequestContext(values)
        if not conditions_match(tests, context).matched:
            continue
        if any(conditions_match(deny.conditions, context).matched for deny in denies):
            continue
        return values
    return None


def condition_block(tests: Sequence[ConditionTest]) -> dict[str, dict[str, str | list[str]]]:
    """The Condition element of the tests (one value as a string, several as a list)."""
    block: dict[str, dict[str, str | list[str]]] = {}
    for test in tests:
        values = list(test.values)
        block.setdefault(test.operator, {})[test.key] = values[0] if len(values) == 1 else values
    return block
