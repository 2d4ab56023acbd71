"""Condition operators, set qualifiers, IfExists, Null, missing keys and policy variables in condition values."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from permscope.clouds.aws.engine.conditions import (
    ConditionOutcome,
    RequestContext,
    conditions_match,
    operator_matches,
    operator_value_results,
    parse_date,
    parse_operator,
    substitute_variables,
)
from permscope.clouds.aws.engine.policy import ConditionTest
from permscope.core.errors import InputError

# One test: (operator, policy values, request value, expected). `None` request value = the key is absent.
Row = tuple[str, list[str], Any, bool]

# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_String
STRING: list[Row] = [
    ("StringEquals", ["prod"], "prod", True),
    ("StringEquals", ["prod"], "Prod", False),  # case-sensitive
    ("StringEquals", ["dev", "prod"], "prod", True),  # OR across values
    ("StringEquals", ["prod*"], "production", False),  # no wildcards
    ("StringNotEquals", ["prod"], "dev", True),
    ("StringNotEquals", ["dev", "prod"], "prod", False),  # negated: no value may match
    ("StringEqualsIgnoreCase", ["PROD"], "prod", True),
    ("StringNotEqualsIgnoreCase", ["PROD"], "prod", False),
    ("StringLike", ["prod*"], "production", True),
    ("StringLike", ["p?od"], "prod", True),
    ("StringLike", ["p?od"], "pod", False),
    ("StringLike", ["home/*"], "home/a/b/c", True),
    ("StringLike", ["Prod*"], "production", False),  # case-sensitive
    ("StringNotLike", ["prod*", "stage*"], "dev", True),
    ("StringNotLike", ["prod*", "stage*"], "stage-2", False),
    ("StringLike", ["a.c"], "abc", False),  # regex characters are literal
]

# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_Numeric
NUMERIC: list[Row] = [
    ("NumericEquals", ["10"], "10", True),
    ("NumericEquals", ["10"], "10.0", True),
    ("NumericNotEquals", ["10"], "11", True),
    ("NumericNotEquals", ["10"], "10", False),
    ("NumericLessThan", ["10"], "9.99", True),
    ("NumericLessThan", ["10"], "10", False),
    ("NumericLessThanEquals", ["10"], "10", True),
    ("NumericGreaterThan", ["10"], "-1", False),
    ("NumericGreaterThanEquals", ["1e3"], "1000", True),
    ("NumericEquals", ["ten"], "10", False),  # a malformed value matches nothing ...
    ("NumericNotEquals", ["ten"], "10", False),  # ... under negated operators too
    ("NumericEquals", ["10"], "NaN", False),
]

# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_Date
DATE: list[Row] = [
    ("DateGreaterThan", ["2020-04-01T00:00:00Z"], "2020-04-01T00:00:01Z", True),
    ("DateLessThan", ["2020-06-30T23:59:59Z"], "2020-07-01T00:00:00Z", False),
    ("DateEquals", ["2024-01-01"], "2024-01-01T00:00:00Z", True),
    ("DateEquals", ["2024-01-01T01:00:00+01:00"], "2024-01-01T00:00:00Z", True),  # offsets
    ("DateEquals", ["2024-01-01T00:00:00.500Z"], "2024-01-01T00:00:00Z", False),
    ("DateEquals", ["1704067200"], "2024-01-01T00:00:00Z", True),  # epoch seconds
    ("DateLessThanEquals", ["2024-01-01T00:00:00Z"], "1704067200", True),
    ("DateGreaterThanEquals", ["2024-01-01T00:00:00Z"], "1704067199", False),
    ("DateNotEquals", ["2024-01-01"], "2024-01-02", True),
    ("DateEquals", ["next tuesday"], "2024-01-01", False),
    ("DateNotEquals", ["2024-01-01"], "not a date", False),
    # "You cannot use a policy variable with the Date condition operator": ${...} is not a date.
    ("DateEquals", ["${aws:CurrentTime}"], "2024-01-01T00:00:00Z", False),
]

# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_Boolean
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_BinaryEquals
BOOL_BINARY: list[Row] = [
    ("Bool", ["true"], "true", True),
    ("Bool", ["true"], "TRUE", True),
    ("Bool", ["false"], "true", False),
    ("Bool", ["true"], "yes", False),
    ("BinaryEquals", ["QmluYXJ5VmFsdWVJbkJhc2U2NA=="], "QmluYXJ5VmFsdWVJbkJhc2U2NA==", True),
    ("BinaryEquals", ["QmluYXJ5VmFsdWVJbkJhc2U2NA=="], "b3RoZXI=", False),
]

# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_IPAddress
IP: list[Row] = [
    ("IpAddress", ["203.0.113.0/24"], "203.0.113.7", True),
    ("IpAddress", ["203.0.113.0/24"], "203.0.114.7", False),
    ("IpAddress", ["203.0.113.7"], "203.0.113.7", True),  # an address is a /32
    ("IpAddress", ["2001:DB8:1234:5678::/64"], "2001:db8:1234:5678::1", True),
    ("IpAddress", ["2001:DB8:1234:5678::/64"], "2001:db8:1234:5679::1", False),
    ("IpAddress", ["203.0.113.0/24"], "2001:db8::1", False),  # another family never matches
    ("NotIpAddress", ["203.0.113.0/24"], "2001:db8::1", True),
    ("NotIpAddress", ["203.0.113.0/24", "10.0.0.0/8"], "10.1.2.3", False),
    ("IpAddress", ["not-a-cidr"], "10.1.2.3", False),
    ("NotIpAddress", ["10.0.0.0/8"], "not-an-ip", False),
]

# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_ARN
# ("Each of the six colon-delimited components of the ARN is checked separately and each can include wildcards")
ARN: list[Row] = [
    (
        "ArnEquals",
        ["arn:aws:sns:us-east-1:123456789012:topic"],
        "arn:aws:sns:us-east-1:123456789012:topic",
        True,
    ),
    ("ArnLike", ["arn:aws:iam::123456789012:role/*"], "arn:aws:iam::123456789012:role/a/b", True),
    ("ArnLike", ["arn:aws:iam::*:role/admin"], "arn:aws:iam::123456789012:role/admin", True),
    ("ArnLike", ["arn:aws:iam::1*:role/admin"], "arn:aws:iam::999:role/admin", False),
    ("ArnLike", ["arn:aws:iam::123456789012:role/*"], "arn:aws:iam::123456789012:ROLE/x", False),
    ("ArnNotLike", ["arn:aws:iam::123456789012:*"], "arn:aws:iam::999999999999:root", True),
    ("ArnNotEquals", ["arn:aws:iam::123456789012:*"], "arn:aws:iam::123456789012:root", False),
    ("ArnLike", ["arn:aws:s3:::bucket"], "not-an-arn", False),
    ("ArnNotLike", ["arn:aws:s3:::bucket"], "not-an-arn", False),  # an unreadable value matches nothing
    ("ArnLike", ["bucket"], "arn:aws:s3:::bucket", False),
]


@pytest.mark.parametrize(
    ("operator", "values", "request_value", "expected"), STRING + NUMERIC + DATE + BOOL_BINARY + IP + ARN
)
def test_operator_families(operator: str, values: list[str], request_value: Any, expected: bool) -> None:
    assert operator_matches(operator, values, request_value, RequestContext()) is expected


# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
# "If the key that you specify in a policy condition is not present in the request context, the values do not
# match and the condition is false. If the policy condition requires that the key is not matched, such as
# StringNotLike or ArnNotLike, and the right key is not present, the condition is true."
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_IfExists
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_Null
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
MISSING_KEY: list[tuple[str, bool]] = [
    ("StringEquals", False),
    ("StringLike", False),
    ("NumericLessThan", False),
    ("DateGreaterThan", False),
    ("Bool", False),
    ("IpAddress", False),
    ("ArnLike", False),
    ("BinaryEquals", False),
    ("StringNotEquals", True),
    ("StringNotLike", True),
    ("NumericNotEquals", True),
    ("DateNotEquals", True),
    ("NotIpAddress", True),
    ("ArnNotLike", True),
    ("StringEqualsIfExists", True),
    ("NotIpAddressIfExists", True),
    ("ForAllValues:StringEquals", True),  # "also returns true if there are no keys in the request"
    ("ForAnyValue:StringEquals", False),  # "for no matching context key or a null dataset ... false"
    ("ForAnyValue:StringNotEquals", False),
]


@pytest.mark.parametrize(("operator", "expected"), MISSING_KEY)
def test_missing_keys(operator: str, expected: bool) -> None:
    assert operator_matches(operator, ["x"], None, RequestContext()) is expected


@pytest.mark.parametrize(
    ("values", "request_value", "expected"),
    [(["true"], None, True), (["true"], "x", False), (["false"], "x", True), (["false"], None, False)],
)
def test_null_checks_presence(values: list[str], request_value: Any, expected: bool) -> None:
    assert operator_matches("Null", values, request_value, RequestContext()) is expected


def test_if_exists_applies_the_operator_when_the_key_is_present() -> None:
    assert operator_matches("StringEqualsIfExists", ["t2.micro"], "t2.micro", RequestContext())
    assert not operator_matches("StringEqualsIfExists", ["t2.micro"], "m5.large", RequestContext())


# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
SETS: list[Row] = [
    ("ForAllValues:StringEquals", ["env", "team"], ["env"], True),
    ("ForAllValues:StringEquals", ["env", "team"], ["env", "team"], True),
    ("ForAllValues:StringEquals", ["env", "team"], ["env", "owner"], False),
    ("ForAllValues:StringEquals", ["env"], [], True),  # an empty set: vacuously true
    ("ForAnyValue:StringEquals", ["env", "team"], ["owner", "team"], True),
    ("ForAnyValue:StringEquals", ["env", "team"], ["owner"], False),
    ("ForAnyValue:StringEquals", ["env"], [], False),
    ("ForAllValues:StringLike", ["env*"], ["env", "environment"], True),
    ("ForAnyValue:StringNotEquals", ["env"], ["env", "owner"], True),  # "owner" is not env
    ("ForAllValues:StringNotEquals", ["env"], ["owner", "team"], True),
    ("ForAllValues:StringNotEquals", ["env"], ["owner", "env"], False),
    ("ForAnyValue:StringEquals", ["env"], "env", True),  # a single value is a one-element set
    ("ForAllValues:StringEqualsIgnoreCase", ["ENV"], ["env", "Env"], True),
    (
        "ForAnyValue:ArnLike",
        ["arn:aws:iam::*:role/a"],
        ["arn:aws:iam::1:role/b", "arn:aws:iam::2:role/a"],
        True,
    ),
    # Without a qualifier a multivalued key (AWS says to use one) matches when any value matches; a negated
    # operator only when none does.
    ("StringEquals", ["env"], ["owner", "env"], True),
    ("StringNotEquals", ["env"], ["owner", "env"], False),
    ("StringNotEquals", ["env"], ["owner", "team"], True),
]


@pytest.mark.parametrize(("operator", "values", "request_value", "expected"), SETS)
def test_set_qualifiers_on_multivalued_keys(
    operator: str, values: list[str], request_value: Any, expected: bool
) -> None:
    assert operator_matches(operator, values, request_value, RequestContext()) is expected


# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
@pytest.mark.parametrize(
    "operator",
    [
        "StringEqualz",
        "ForSomeValues:StringEquals",
        "NullIfExists",
        "ForAllValues:Null",
        "StringEqualsIfExistsIfExists",
        "",
    ],
)
def test_an_unknown_operator_never_matches(operator: str) -> None:
    assert not parse_operator(operator).known
    for request_value in ("x", None, ["x"]):
        assert not operator_matches(operator, ["x"], request_value, RequestContext())
    assert operator_value_results(operator, ["x"], "x") == (False,)


def test_operators_are_parsed_once_into_their_parts() -> None:
    parsed = parse_operator("ForAnyValue:StringNotLikeIfExists")
    assert (parsed.known, parsed.family, parsed.comparison, parsed.negated) == (True, "string", "like", True)
    assert (parsed.set_qualifier, parsed.if_exists) == ("ForAnyValue", True)
    assert parse_operator("ForAnyValue:StringNotLikeIfExists") is parsed  # cached
    assert parse_operator("stringequals").known  # read case-insensitively


# --- policy variables in condition values -----------------------------------------------------------------
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
CONTEXT = RequestContext(
    {
        "aws:username": "alice",
        "aws:userid": "AIDAEXAMPLE:session",
        "aws:PrincipalTag/team": "data",
        "aws:PrincipalTag/teams": ["a", "b"],
        "aws:SecureTransport": True,
    }
)
SUBSTITUTIONS: list[tuple[str, str | None]] = [
    ("home/${aws:username}/", "home/alice/"),
    ("${AWS:USERNAME}", "alice"),  # key names ignore case
    ("${aws:userid}", "AIDAEXAMPLE:session"),
    ("${aws:PrincipalTag/team}-${aws:username}", "data-alice"),
    ("${aws:SecureTransport}", "true"),
    ("${*}${?}${$}", "*?$"),
    ("${aws:PrincipalTag/owner, 'nobody'}", "nobody"),
    ("${aws:PrincipalTag/team,'nobody'}", "data"),
    ("${aws:PrincipalTag/owner}", None),  # no value, no default
    ("${aws:PrincipalTag/teams}", None),  # a multivalued key is not a policy variable
    ("no variables", "no variables"),
    ("${unclosed", "${unclosed"),
]


@pytest.mark.parametrize(("text", "expected"), SUBSTITUTIONS)
def test_substitute_variables(text: str, expected: str | None) -> None:
    assert substitute_variables(text, CONTEXT) == expected


VARIABLE_ROWS: list[Row] = [
    ("StringEquals", ["${aws:username}"], "alice", True),
    ("StringLike", ["home/${aws:username}/*"], "home/alice/docs/a.txt", True),
    ("StringLike", ["home/${aws:username}/*"], "home/bob/docs/a.txt", False),
    ("StringLike", ["${*}"], "anything", False),  # ${*} is a literal *, not a wildcard
    ("StringLike", ["${*}"], "*", True),
    ("StringEquals", ["${aws:PrincipalTag/owner}"], "", False),  # unresolved: matches nothing ...
    ("StringNotEquals", ["${aws:PrincipalTag/owner}"], "x", False),  # ... under negated operators too
    ("StringEquals", ["${aws:PrincipalTag/owner, 'x'}"], "x", True),
    ("ArnLike", ["arn:aws:iam::*:user/${aws:username}"], "arn:aws:iam::123456789012:user/alice", True),
    ("Bool", ["${aws:SecureTransport}"], "true", True),
]


@pytest.mark.parametrize(("operator", "values", "request_value", "expected"), VARIABLE_ROWS)
def test_policy_variables_in_condition_values(
    operator: str, values: list[str], request_value: Any, expected: bool
) -> None:
    assert operator_matches(operator, values, request_value, CONTEXT) is expected


def test_substituted_text_is_literal_in_like_operators() -> None:
    context = RequestContext({"aws:username": "a*"})
    assert operator_matches("StringLike", ["${aws:username}"], "a*", context)
    assert not operator_matches("StringLike", ["${aws:username}"], "abc", context)


# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_version.html
def test_without_version_2012_variables_are_literal() -> None:
    assert operator_matches("StringEquals", ["${aws:username}"], "${aws:username}", CONTEXT, variables=False)
    assert not operator_matches("StringEquals", ["${aws:username}"], "alice", CONTEXT, variables=False)


# --- the request context ----------------------------------------------------------------------------------
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html
# ("Condition key names are not case-sensitive.")
def test_request_context_keys_ignore_case_and_values_are_text() -> None:
    context = RequestContext(
        {"aws:SourceIp": "10.0.0.1", "s3:max-keys": 10, "aws:MultiFactorAuthPresent": False}
    )
    assert context.get("AWS:SOURCEIP") == "10.0.0.1"
    assert "aws:sourceip" in context
    assert context.get("s3:max-keys") == "10"
    assert context.get("aws:multifactorauthpresent") == "false"
    assert context.get("aws:TagKeys") is None
    assert RequestContext({"aws:TagKeys": ["a", 1, True]}).get("aws:tagkeys") == ["a", "1", "true"]
    assert dict(context.with_values({"AWS:SOURCEIP": "10.0.0.2"}).items())["AWS:SOURCEIP"] == "10.0.0.2"
    with pytest.raises(InputError, match="aws:bad"):
        RequestContext({"aws:bad": {"nested": 1}})


def test_parse_date_reads_iso_8601_and_epoch_seconds() -> None:
    assert parse_date("2024-01-01") == parse_date("2024-01-01T00:00:00Z") == parse_date("1704067200")
    assert parse_date("2024-01-01T00:00:00") == parse_date("2024-01-01T00:00:00+00:00")
    assert parse_date("1969-12-31T23:59:59.5Z") == Decimal("-0.5")  # exact, before 1970 too
    assert parse_date("2024-13-01") is None
    assert parse_date("") is None


# --- a whole Condition block ------------------------------------------------------------------------------
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-logic-multiple-context-keys-or-values.html
# AND across operators and keys, OR across one key's values.
BLOCK = (
    ConditionTest("StringEquals", "aws:PrincipalTag/team", ("data", "ml")),
    ConditionTest("IpAddress", "aws:SourceIp", ("10.0.0.0/8",)),
    ConditionTest("Bool", "aws:SecureTransport", ("true",)),
)


@pytest.mark.parametrize(
    ("context", "matched", "failed_keys"),
    [
        (
            {"aws:PrincipalTag/team": "ml", "aws:SourceIp": "10.1.1.1", "aws:SecureTransport": "true"},
            True,
            [],
        ),
        (
            {"aws:PrincipalTag/team": "web", "aws:SourceIp": "10.1.1.1", "aws:SecureTransport": "true"},
            False,
            ["team"],
        ),
        (
            {"aws:PrincipalTag/team": "ml", "aws:SourceIp": "192.0.2.1"},
            False,
            ["SourceIp", "SecureTransport"],
        ),
    ],
)
def test_condition_block_and_across_tests(
    context: dict[str, Any], matched: bool, failed_keys: list[str]
) -> None:
    outcome = conditions_match(BLOCK, RequestContext(context), explain=True)
    assert isinstance(outcome, ConditionOutcome)
    assert outcome.matched is matched
    assert outcome.keys == ("aws:PrincipalTag/team", "aws:SourceIp", "aws:SecureTransport")
    assert len(outcome.failed) == len(failed_keys)
    for reason, key in zip(outcome.failed, failed_keys, strict=True):
        assert key in reason
    quick = conditions_match(BLOCK, RequestContext(context))
    assert quick.matched is matched
    assert len(quick.failed) == (0 if matched else 1)


def test_an_empty_condition_block_matches() -> None:
    assert conditions_match((), RequestContext()).matched
    outcome = conditions_match((ConditionTest("StringEqualz", "k", ("v",)),), RequestContext({"k": "v"}))
    assert not outcome.matched
    assert "unknown condition operator" in outcome.failed[0]
