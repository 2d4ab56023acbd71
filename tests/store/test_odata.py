"""The OData parser on its own: tokens, precedence, literals, paths, and errors that name the position."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from permscope.store.odata import (
    BoolOp,
    Call,
    Compare,
    In,
    Lit,
    Not,
    ODataError,
    OrderItem,
    Prop,
    normalize_path,
    parse_filter,
    parse_orderby,
    parse_select,
    tokenize,
)


def cmp(path: str, op: str, value: object) -> tuple[str, str, object]:
    return (path, op, value)


def shape(node: object) -> object:
    """A position-free view of a tree, to compare structure."""
    if isinstance(node, Compare):
        return cmp(node.prop.path, node.op, node.value.value)
    if isinstance(node, BoolOp):
        return (node.op, shape(node.left), shape(node.right))
    if isinstance(node, Not):
        return ("not", shape(node.operand))
    if isinstance(node, In):
        return ("in", node.prop.path, [lit.value for lit in node.values])
    if isinstance(node, Call):
        return (node.name, node.prop.path, node.value.value)
    raise AssertionError(node)


def test_tokens_carry_kinds_values_and_positions() -> None:
    tokens = tokenize("a/b eq 'x''y' and n ge -1.5e2 or d lt 2025-01-02T03:04:05Z")
    assert [(t.kind, t.pos) for t in tokens[:4]] == [("name", 0), ("name", 4), ("string", 7), ("name", 14)]
    assert tokens[2].value == "x'y"
    assert tokens[6].value == -150.0
    assert tokens[-2].value == datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert tokens[-1].kind == "end"


@pytest.mark.parametrize("op", ["eq", "ne", "gt", "ge", "lt", "le"])
def test_each_comparison(op: str) -> None:
    assert shape(parse_filter(f"severity {op} 'high'")) == cmp("severity", op, "high")


def test_literals() -> None:
    assert shape(parse_filter("a eq 42")) == cmp("a", "eq", 42)
    assert shape(parse_filter("a eq 4.5")) == cmp("a", "eq", 4.5)
    assert shape(parse_filter("a eq true")) == cmp("a", "eq", True)
    assert shape(parse_filter("a eq false")) == cmp("a", "eq", False)
    assert shape(parse_filter("a eq null")) == cmp("a", "eq", None)
    assert shape(parse_filter("a eq 'it''s'")) == cmp("a", "eq", "it's")
    assert shape(parse_filter("a eq ''")) == cmp("a", "eq", "")


def test_not_binds_tighter_than_and_which_binds_tighter_than_or() -> None:
    tree = parse_filter("not a eq 1 and b eq 2 or c eq 3")
    assert shape(tree) == ("or", ("and", ("not", cmp("a", "eq", 1)), cmp("b", "eq", 2)), cmp("c", "eq", 3))
    tree = parse_filter("a eq 1 or b eq 2 and c eq 3")
    assert shape(tree) == ("or", cmp("a", "eq", 1), ("and", cmp("b", "eq", 2), cmp("c", "eq", 3)))


def test_parentheses_override_precedence() -> None:
    tree = parse_filter("(a eq 1 or b eq 2) and not (c eq 3)")
    assert shape(tree) == ("and", ("or", cmp("a", "eq", 1), cmp("b", "eq", 2)), ("not", cmp("c", "eq", 3)))


def test_and_or_are_left_associative() -> None:
    assert shape(parse_filter("a eq 1 or b eq 2 or c eq 3")) == (
        "or",
        ("or", cmp("a", "eq", 1), cmp("b", "eq", 2)),
        cmp("c", "eq", 3),
    )


def test_functions_in_and_paths() -> None:
    assert shape(parse_filter("contains(displayName, 'adm')")) == ("contains", "displayName", "adm")
    assert shape(parse_filter("startswith(service/id,'s3')")) == ("startswith", "service/id", "s3")
    assert shape(parse_filter("authorizationSystemId IN ('1','2')")) == (
        "in",
        "authorizationSystemId",
        ["1", "2"],
    )
    assert shape(parse_filter("x in ['a']")) == ("in", "x", ["a"])
    path = "dataCollectionInfo/entitlements/microsoft.graph.entitlementsDataCollection/status"
    assert shape(parse_filter(f"{path} eq 'online'")) == cmp(path, "eq", "online")


def test_keywords_are_case_insensitive() -> None:
    assert shape(parse_filter("NOT a EQ 1 AND b Eq 2")) == (
        "and",
        ("not", cmp("a", "eq", 1)),
        cmp("b", "eq", 2),
    )


def test_positions_are_kept() -> None:
    node = parse_filter("  displayName eq 'x'")
    assert isinstance(node, Compare)
    assert node.prop == Prop("displayName", 2)
    assert node.value == Lit("x", 17)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a eq", "expected a literal in $filter at position 4, found end of input"),
        ("a eq 'x", "unterminated string literal in $filter at position 5"),
        ("a foo 'x'", "expected an operator after 'a' in $filter at position 2"),
        ("(a eq 1", "expected ')' in $filter at position 7"),
        ("a eq 1 b eq 2", "expected 'and', 'or' or the end in $filter at position 7"),
        ("a eq 1 and", "expected a property, a function or '(' in $filter at position 10"),
        ("a eq #", "unexpected character '#' in $filter at position 5"),
        ("contains(a 'x')", "expected ',' in $filter at position 11"),
        ("a in ('x' 'y')", "expected ',' or ')' in $filter at position 10"),
        ("a in 'x'", "expected '(' after 'in' in $filter at position 5"),
        ("a eq eq", "expected a literal in $filter at position 5, found 'eq'"),
        ("true eq a", "expected a property, a function or '(' in $filter at position 0"),
        ("   ", "empty $filter"),
    ],
)
def test_errors_name_the_position(text: str, message: str) -> None:
    with pytest.raises(ODataError) as info:
        parse_filter(text)
    assert message in str(info.value)


def test_orderby_and_select() -> None:
    assert parse_orderby("a, b desc,c asc") == [
        OrderItem("a", 0),
        OrderItem("b", 3, True),
        OrderItem("c", 10),
    ]
    assert [p.path for p in parse_select("id, displayName")] == ["id", "displayName"]
    with pytest.raises(ODataError, match=r"expected ',' or the end in \$orderby at position 2"):
        parse_orderby("a sideways")
    with pytest.raises(ODataError, match=r"expected a property in \$select at position 3"):
        parse_select("id,")


def test_normalize_path_spells_casts_one_way() -> None:
    assert normalize_path("a/graph.b/c") == "a/microsoft.graph.b/c"
    assert normalize_path("a/microsoft.graph.b") == "a/microsoft.graph.b"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("(" * 40 + "displayName eq 'x'" + ")" * 40, "more than 32 nested parentheses or 'not'"),
        ("not " * 40 + "displayName eq 'x'", "more than 32 nested parentheses or 'not'"),
        (" or ".join(["a eq 1"] * 101), "more than 100 comparisons"),
        ("displayName eq '" + "x" * 5000 + "'", "$filter is longer than 4096 characters"),
    ],
)
def test_hostile_filters_hit_limits_not_the_stack(text: str, message: str) -> None:
    with pytest.raises(ODataError, match=re.escape(message)):
        parse_filter(text)


def test_limits_leave_room_for_real_filters() -> None:
    # at the limits the filter parses whole, to the tree it says
    assert shape(parse_filter("(" * 32 + "displayName eq 'x'" + ")" * 32)) == cmp("displayName", "eq", "x")
    nested: object = cmp("displayName", "eq", "x")
    for _ in range(32):
        nested = ("not", nested)
    assert shape(parse_filter("not " * 32 + "displayName eq 'x'")) == nested
    tree = parse_filter(" or ".join(f"a eq {n}" for n in range(100)))

    def leaves(node: object) -> list[object]:
        if isinstance(node, BoolOp):
            assert node.op == "or"
            return leaves(node.left) + leaves(node.right)
        return [shape(node)]

    assert leaves(tree) == [cmp("a", "eq", n) for n in range(100)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("d gt 0000-01-01T00:00:00Z", "invalid date-time '0000-01-01T00:00:00Z' in $filter at position 5"),
        ("d gt 2020-13-01T00:00:00Z", "month must be in 1..12"),
        ("d gt 2020-02-30T00:00:00Z", "day is out of range for month"),
        ("d gt 2020-01-01T24:00:00Z", "invalid date-time"),
        ("d gt 9999-12-31T23:00:00-05:00", "outside the years 1 to 9999 in UTC"),
        ("d gt 0001-01-01T00:00:00+05:00", "outside the years 1 to 9999 in UTC"),
        ("n eq 9223372036854775808", "number 9223372036854775808 in $filter at position 5 is out of range"),
        ("n eq -9223372036854775809", "is out of range: not a 64-bit integer"),
        ("n eq " + "9" * 4000, "is out of range: not a 64-bit integer"),
        ("n eq 1e999", "number 1e999 in $filter at position 5 is out of range: not a finite number"),
        ("n eq " + "9" * 400 + ".0", "not a finite number"),
        ("n eq ²", "unexpected character '²' in $filter at position 5"),
        ("n eq ٤٢", "unexpected character '٤' in $filter at position 5"),  # Arabic-Indic digits
    ],
)
def test_literals_out_of_range_are_odata_errors(text: str, message: str) -> None:
    with pytest.raises(ODataError, match=re.escape(message)):
        parse_filter(text)


def test_literals_at_the_limits_parse() -> None:
    assert shape(parse_filter("n eq 9223372036854775807")) == cmp("n", "eq", 2**63 - 1)
    assert shape(parse_filter("n eq -9223372036854775808")) == cmp("n", "eq", -(2**63))
    assert shape(parse_filter("n eq 1e300")) == cmp("n", "eq", 1e300)
    latest = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert shape(parse_filter("d lt 9999-12-31T23:59:59Z")) == cmp("d", "lt", latest)
    # an offset is read as the instant it names, in UTC
    assert shape(parse_filter("d lt 2025-01-02T03:04:05+02:00")) == cmp(
        "d", "lt", datetime(2025, 1, 2, 1, 4, 5, tzinfo=UTC)
    )


def test_orderby_and_select_refuse_long_numbers_before_reading_them() -> None:
    # a 5,000-digit number was read as an int before being refused: past Python's 4,300 digits, a ValueError
    with pytest.raises(ODataError, match=r"in \$orderby at position 0 is out of range"):
        parse_orderby("9" * 5000)
    with pytest.raises(ODataError, match=r"in \$select at position 0 is out of range"):
        parse_select("9" * 5000)
