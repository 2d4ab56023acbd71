"""ABAC conditions (conditionVersion 2.0): the tokenizer and parser, every operator family, the cross-product
forms (Microsoft's documented examples), attributes, and bounds on hostile conditions."""

from __future__ import annotations

import time
from typing import Any

import pytest

from permscope.clouds.azure.engine.conditions import (
    MAX_CONDITION_CHARS,
    MAX_DEPTH,
    ConditionError,
    parse_condition,
    tokenize,
)
from permscope.clouds.azure.engine.operators import as_ticks

BLOB_READ = "microsoft.storage/storageaccounts/blobservices/containers/blobs/read"
TAGS = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/tags"


def holds(text: str, attributes: dict[str, Any] | None = None, action: str = BLOB_READ) -> bool:
    return parse_condition(text).evaluate(action, attributes or {})[0]


def resource(**values: Any) -> dict[str, Any]:
    return {"Resource": values}


# -- the documented operator examples (conditions-format) ----------------------------------------------------
@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("{'red', 'blue'} ForAnyOfAnyValues:StringEquals {'blue', 'green'}", True),
        ("{'red', 'blue'} ForAnyOfAnyValues:StringEquals {'orange', 'green'}", False),
        ("{'red', 'blue'} ForAllOfAnyValues:StringEquals {'orange', 'red', 'blue'}", True),
        ("{'red', 'blue'} ForAllOfAnyValues:StringEquals {'red', 'green'}", False),
        ("{10, 20} ForAnyOfAllValues:NumericLessThan {15, 18}", True),
        ("{10, 20} ForAllOfAllValues:NumericLessThan {5, 15, 18}", False),
        ("{10, 20} ForAllOfAllValues:NumericLessThan {25, 30}", True),
        ("{10, 20} ForAllOfAllValues:NumericLessThan {15, 25, 30}", False),
        ("{'a'} ForAnyOfAllValues:StringNotEquals {'b', 'c'}", True),
        ("{'a'} ForAnyOfAllValues:StringNotEquals {'a', 'c'}", False),
    ],
)
def test_documented_cross_product_examples(expression: str, expected: bool) -> None:
    assert holds(expression) is expected


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("a*c?", True),
        ("A*C?", False),
        ("a*c", False),
        ("a\\*cd", False),
        ("ab?d", True),
        ("ab?", False),
        ("?bcd", True),
    ],
)
def test_string_like_as_documented(pattern: str, expected: bool) -> None:
    name = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs:path"
    assert holds(f"@Resource[{name}] StringLike '{pattern}'", resource(**{name: "abcd"})) is expected
    assert holds(f"@Resource[{name}] StringNotLike '{pattern}'", resource(**{name: "abcd"})) is not expected


def test_string_like_escapes_stars_and_question_marks() -> None:
    name = "x:path"
    assert holds(f"@Resource[{name}] StringLike 'a\\*'", resource(**{name: "a*"}))
    assert not holds(f"@Resource[{name}] StringLike 'a\\*'", resource(**{name: "ab"}))
    assert holds(f"@Resource[{name}] StringLikeIgnoreCase 'A?'", resource(**{name: "ab"}))


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [
        ("StringEquals", "'Cascade'", True),
        ("StringEquals", "'cascade'", False),
        ("StringEqualsIgnoreCase", "'CASCADE'", True),
        ("StringNotEquals", "'Baker'", True),
        ("StringNotEqualsIgnoreCase", "'CASCADE'", False),
        ("StringStartsWith", "'Cas'", True),
        ("StringStartsWithIgnoreCase", "'cas'", True),
        ("StringNotStartsWith", "'Cas'", False),
        ("StringNotStartsWithIgnoreCase", "'x'", True),
        ("StringEquals", "{'Baker', 'Cascade'}", True),  # one of the values
        ("StringNotEquals", "{'Baker', 'Cascade'}", False),  # the negation of that
    ],
)
def test_string_operators(operator: str, value: str, expected: bool) -> None:
    assert holds(f"@Resource[n] {operator} {value}", resource(n="Cascade")) is expected


@pytest.mark.parametrize(
    ("operator", "right", "expected"),
    [
        ("NumericEquals", "5", True),
        ("NumericNotEquals", "5", False),
        ("NumericLessThan", "6", True),
        ("NumericLessThanEquals", "5", True),
        ("NumericGreaterThan", "5", False),
        ("NumericGreaterThanEquals", "-5", True),
        ("NumericEquals", "'5'", True),
    ],
)
def test_numeric_operators(operator: str, right: str, expected: bool) -> None:
    assert holds(f"@Request[n] {operator} {right}", {"Request": {"n": 5}}) is expected


def test_numeric_is_integers_only() -> None:
    assert not holds("@Request[n] NumericEquals 5", {"Request": {"n": 5.0}})
    assert not holds("@Request[n] NumericEquals 5", {"Request": {"n": True}})


def test_bool_operators_take_booleans_and_their_words() -> None:
    assert holds("@Resource[x:isHnsEnabled] BoolEquals true", resource(**{"x:isHnsEnabled": True}))
    assert holds("@Resource[x:isHnsEnabled] BoolEquals 'True'", resource(**{"x:isHnsEnabled": "true"}))
    assert holds("@Resource[x:isHnsEnabled] BoolNotEquals true", resource(**{"x:isHnsEnabled": False}))
    assert not holds("@Resource[x:isHnsEnabled] BoolEquals true", resource(**{"x:isHnsEnabled": "yes"}))


def test_datetime_has_full_precision() -> None:
    assert as_ticks("2022-06-01T23:38:32.8883645Z") + 1 == as_ticks("2022-06-01T23:38:32.8883646Z")
    assert as_ticks("2022-06-01T00:00:00.0Z") == as_ticks("2022-06-01T00:00:00Z")
    env = {"Environment": {"UtcNow": "2023-04-01T13:00:00.0000001Z"}}
    assert holds("@Environment[UtcNow] DateTimeGreaterThan '2023-04-01T13:00:00.000Z'", env)
    assert not holds("@Environment[UtcNow] DateTimeLessThanEquals '2023-04-01T13:00:00.000Z'", env)
    assert holds("@Environment[UtcNow] DateTimeNotEquals '2023-04-01T13:00:00Z'", env)
    assert not holds("@Environment[UtcNow] DateTimeEquals '2023-02-30T00:00:00Z'", env)  # no such day


def test_guids_compare_case_insensitively() -> None:
    attributes = {"Request": {"x:RoleDefinitionId": "A795C7A0-D4A2-40C1-AE25-D81F01202912"}}
    assert holds(
        "@Request[x:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {a795c7a0-d4a2-40c1-ae25-d81f01202912, "
        "5e467623-bb1f-42f4-a55d-6e525e11384b}",
        attributes,
    )
    assert holds(
        "@Request[x:RoleDefinitionId] ForAnyOfAllValues:GuidNotEquals {8e3af657-a8ff-443c-a75c-2fe8c4bcb635}",
        attributes,
    )
    assert not holds("@Request[x:RoleDefinitionId] GuidEquals 'not-a-guid'", attributes)


# -- attributes ----------------------------------------------------------------------------------------------
def test_blob_index_tag_keys_are_case_sensitive_and_names_are_not() -> None:
    condition = f"@Resource[{TAGS}:Project<$key_case_sensitive$>] StringEquals 'Cascade'"
    assert holds(condition, resource(**{TAGS: {"Project": "Cascade"}}))
    assert not holds(condition, resource(**{TAGS: {"project": "Cascade"}}))
    assert holds(condition, {"resource": {TAGS.lower(): {"Project": "Cascade"}}})


def test_the_list_of_tag_keys() -> None:
    keys = f"@Request[{TAGS}&$keys$&]"
    request = {"Request": {TAGS: {"Project": "a", "Program": "b"}}}
    assert holds(f"{keys} ForAllOfAnyValues:StringEquals {{'Project', 'Program', 'Other'}}", request)
    assert not holds(f"{keys} ForAllOfAnyValues:StringEquals {{'Project'}}", request)
    assert holds(f"{keys} ForAllOfAnyValues:StringEquals {{'Project'}}", {"Request": {TAGS: {}}})  # vacuous
    assert not holds(f"{keys} ForAnyOfAnyValues:StringEquals {{'Project'}}", {"Request": {TAGS: {}}})


def test_absent_attributes_make_comparisons_false_and_exists_says_so() -> None:
    assert not holds("@Resource[n] StringEquals 'x'")
    assert not holds("@Resource[n] StringNotEquals 'x'")
    assert holds("NOT Exists @Resource[n]") and holds("NotExists @Resource[n]")
    assert holds("Exists @Resource[n]", resource(n="")) and not holds("Exists @Resource[n]", resource(n=None))
    trace = parse_condition("@Resource[n] StringEquals 'x'").evaluate(BLOB_READ, {})[1]
    assert trace == [
        {
            "expression": "@Resource[n] StringEquals 'x'",
            "result": False,
            "detail": "@Resource[n] is absent from the request",
        }
    ]


def test_multi_valued_attributes_need_a_cross_product_operator() -> None:
    name = "Microsoft.Directory/CustomSecurityAttributes/Id:Project"
    principal = {"Principal": {name: ["Baker", "Cascade"]}, "Resource": {"t": "Cascade"}}
    assert holds(f"@Resource[t] ForAnyOfAnyValues:StringEquals @Principal[{name}]", principal)
    assert not holds(f"@Principal[{name}] StringEquals 'Cascade'", principal)
    assert holds(f"@Principal[{name}] ForAnyOfAnyValues:StringEquals 'Cascade'", principal)
    assert not holds(f"@Principal[{name}] ForAllOfAnyValues:StringEquals 'Cascade'", principal)


def test_attribute_against_attribute() -> None:
    name = "Microsoft.Directory/CustomSecurityAttributes/Id:Engineering_Project"
    attributes = {"Principal": {name: "Baker"}, "Resource": {f"{TAGS}": {"Project": "Baker"}}}
    condition = f"@Principal[{name}] StringEquals @Resource[{TAGS}:Project<$key_case_sensitive$>]"
    assert holds(condition, attributes)
    attributes["Principal"][name] = "Cascade"
    assert not holds(condition, attributes)


# -- actions, suboperations, logic ---------------------------------------------------------------------------
def test_action_matches_and_suboperations() -> None:
    condition = (
        "((!(ActionMatches{'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'} "
        "AND NOT SubOperationMatches{'Blob.List'})) OR (@Resource[c:name] StringEquals 'docs'))"
    )
    assert holds(condition, resource(**{"c:name": "docs"}))
    assert not holds(condition, resource(**{"c:name": "other"}))
    assert holds(condition, {"Resource": {"c:name": "other"}, "Request": {"subOperation": "Blob.List"}})
    assert holds(condition, resource(**{"c:name": "other"}), action="microsoft.storage/x/write")
    assert holds(
        "ActionMatches{'Microsoft.Authorization/roleAssignments/*'}",
        action="microsoft.authorization/roleassignments/write",
    )
    assert not holds(
        "ActionMatches{'Microsoft.Authorization/roleDefinitions/*'}",
        action="microsoft.authorization/roleassignments/write",
    )
    assert holds("SubOperationMatches{'blob.list'}", {"Request": {"subOperation": "Blob.List"}})


def test_symbols_and_keywords_in_any_case() -> None:
    assert holds(
        "(@Request[a] StringEquals 'x' || @Request[a] StringEquals 'y') && !(@Request[b] stringequals 'z')",
        {"Request": {"a": "y", "b": "w"}},
    )
    assert holds(
        "not exists @request[A] or @Request[a] foranyofanyvalues:stringequals {'x'}", {"Request": {"a": "x"}}
    )


def test_and_binds_tighter_than_or() -> None:
    # a AND b OR c, with a false, b true, c true: (a AND b) OR c is true; a AND (b OR c) would be false
    attributes = {"Request": {"a": "no", "b": "yes", "c": "yes"}}
    assert holds(
        "@Request[a] StringEquals 'yes' AND @Request[b] StringEquals 'yes' OR @Request[c] StringEquals 'yes'",
        attributes,
    )


# -- syntax errors and bounds --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("@Resource[n] StringEquals 'x", "not closed"),
        ("@Resource[n StringEquals 'x'", "not closed with ]"),
        ("@Nowhere[n] StringEquals 'x'", "unknown attribute source"),
        ("@Resource[n] StringMatches 'x'", "unknown operator"),
        ("@Resource[n] ForSomeValues:StringEquals 'x'", "unknown operator"),
        ("@Resource[n] StringEquals", "expected a value"),
        ("(@Resource[n] StringEquals 'x'", r"expected \)"),
        ("@Resource[n] StringEquals 'x' 'y'", "expected AND, OR"),
        ("ActionMatches 'x'", "expected {"),
        ("Exists 'x'", "expected an attribute"),
        ("@Resource[n] StringEquals 'x' # comment", "unexpected character"),
        ("", "expected a value or an attribute"),
    ],
)
def test_syntax_errors_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(ConditionError, match=message):
        parse_condition(text)


def test_quotes_inside_strings() -> None:
    assert tokenize(r"'it\'s'")[0].value == "it's"
    assert holds(r"@Request[a] StringEquals 'it\'s'", {"Request": {"a": "it's"}})


def test_hostile_conditions_are_refused_quickly() -> None:
    started = time.process_time()
    with pytest.raises(ConditionError, match="nested more than"):
        parse_condition("(" * (MAX_DEPTH + 1) + "Exists @Request[a]" + ")" * (MAX_DEPTH + 1))
    with pytest.raises(ConditionError, match="nested more than"):
        parse_condition("!" * 1_000 + "Exists @Request[a]")
    with pytest.raises(ConditionError, match="characters long"):
        parse_condition("Exists @Request[a] OR " * (MAX_CONDITION_CHARS // 10))
    with pytest.raises(ConditionError, match="tokens"):
        parse_condition("{" + ",".join(["'a'"] * 10_000) + "} ForAnyOfAnyValues:StringEquals 'a'")
    assert time.process_time() - started < 5


def test_deep_but_allowed_nesting_evaluates() -> None:
    depth = MAX_DEPTH - 1
    assert holds("(" * depth + "Exists @Request[a]" + ")" * depth, {"Request": {"a": 1}})


def test_like_on_long_values_stays_fast() -> None:
    started = time.process_time()
    assert not holds("@Request[a] StringLike '" + "*a" * 30 + "*b'", {"Request": {"a": "a" * 200_000}})
    assert time.process_time() - started < 5
