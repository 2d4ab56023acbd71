"""OData query options: a tokenizer and recursive-descent parser for $filter, $orderby and $select (pure)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Literal

from permscope.core.times import parse_iso_instant


class ODataError(ValueError):
    """A query option is malformed or names something the collection does not have."""


# ---------------------------------------------------------------------------------------------- tokenizer

TokenKind = Literal["name", "string", "number", "datetime", "punct", "end"]


@dataclass(frozen=True, slots=True)
class Token:
    """One lexical token of a query option, with its character position."""

    kind: TokenKind
    text: str
    pos: int
    value: Any = None


# ASCII only: `\d` alone also matches the digits of every other script
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})", re.ASCII)
_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?", re.ASCII)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*(/[A-Za-z_][A-Za-z0-9_.]*)*", re.ASCII)
INT64 = (-(2**63), 2**63 - 1)  # what both databases compare with an integer column
_PUNCT = "(),[]"


def tokenize(text: str, option: str = "$filter") -> list[Token]:
    """Split a query option into tokens; names may be property paths (`service/id`, `a/microsoft.graph.b/c`)."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char.isspace():
            pos += 1
            continue
        if char in _PUNCT:
            tokens.append(Token("punct", char, pos))
            pos += 1
            continue
        if char == "'":
            end, value = _read_string(text, pos, option)
            tokens.append(Token("string", text[pos:end], pos, value))
            pos = end
            continue
        if match := _DATETIME.match(text, pos):
            tokens.append(Token("datetime", match.group(0), pos, _instant(match.group(0), pos, option)))
            pos = match.end()
            continue
        if match := _NUMBER.match(text, pos):
            raw = match.group(0)
            number = _number(raw, bool(match.group(1) or match.group(2)), pos, option)
            tokens.append(Token("number", raw, pos, number))
            pos = match.end()
            continue
        if match := _NAME.match(text, pos):
            tokens.append(Token("name", match.group(0), pos))
            pos = match.end()
            continue
        raise ODataError(f"unexpected character {char!r} in {option} at position {pos}")
    tokens.append(Token("end", "", len(text)))
    return tokens


def _instant(raw: str, pos: int, option: str) -> Any:
    """The UTC datetime of a date-time literal; ODataError when it is no date (month 13) or out of range."""
    try:
        return parse_iso_instant(raw)
    except ValueError as exc:
        raise ODataError(f"invalid date-time {raw!r} in {option} at position {pos}: {exc}") from None


def _number(raw: str, decimal: bool, pos: int, option: str) -> int | float:
    """A number literal: an integer within 64 bits or a finite decimal (ODataError otherwise)."""
    if decimal:
        value = float(raw)
        if math.isfinite(value):
            return value
    elif len(raw) <= 20 and INT64[0] <= (integer := int(raw)) <= INT64[1]:
        return integer
    kind = "a finite number" if decimal else "a 64-bit integer"
    raise ODataError(f"number {raw[:40]} in {option} at position {pos} is out of range: not {kind}")


def _read_string(text: str, start: int, option: str) -> tuple[int, str]:
    """Read a single-quoted literal starting at `start` (`''` is an escaped quote); return (end, value)."""
    pos = start + 1
    parts: list[str] = []
    while pos < len(text):
        char = text[pos]
        if char == "'":
            if pos + 1 < len(text) and text[pos + 1] == "'":
                parts.append("'")
                pos += 2
                continue
            return pos + 1, "".join(parts)
        parts.append(char)
        pos += 1
    raise ODataError(f"unterminated string literal in {option} at position {start}")


# ---------------------------------------------------------------------------------------------- syntax tree


@dataclass(frozen=True, slots=True)
class Prop:
    """A property path as written, and where."""

    path: str
    pos: int


@dataclass(frozen=True, slots=True)
class Lit:
    """A literal: str, int, float, bool, datetime or None."""

    value: Any
    pos: int


@dataclass(frozen=True, slots=True)
class Compare:
    """`prop op literal` with op one of eq ne gt ge lt le, or has (flags enumerations)."""

    prop: Prop
    op: str
    value: Lit


@dataclass(frozen=True, slots=True)
class In:
    """`prop in (literal, ...)`."""

    prop: Prop
    values: tuple[Lit, ...]


@dataclass(frozen=True, slots=True)
class Call:
    """`contains(prop, 'x')` or `startswith(prop, 'x')`."""

    name: str
    prop: Prop
    value: Lit


@dataclass(frozen=True, slots=True)
class BoolOp:
    """`left and right`, `left or right`."""

    op: Literal["and", "or"]
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Not:
    """`not operand`."""

    operand: Node


Node = Compare | In | Call | BoolOp | Not

COMPARISONS = frozenset({"eq", "ne", "gt", "ge", "lt", "le", "has"})  # has: a member of a flags value
FUNCTIONS = frozenset({"contains", "startswith"})
_KEYWORDS = {"true": True, "false": False, "null": None}
# Limits that keep a hostile query from exhausting the stack or the database; real filters stay far below them.
MAX_FILTER_LENGTH = 4096  # characters
MAX_NESTING = 32  # parentheses and `not` inside one another
MAX_TERMS = 100  # comparisons and function calls in one $filter


class _Parser:
    """Recursive descent with precedence not > and > or."""

    def __init__(self, text: str, option: str) -> None:
        self.option = option
        self.tokens = tokenize(text, option)
        self.index = 0
        self.depth = 0
        self.terms = 0

    def nest(self) -> None:
        """Go one level deeper (a parenthesis or a `not`), refusing absurd nesting."""
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise self.fail(f"more than {MAX_NESTING} nested parentheses or 'not'")

    @property
    def token(self) -> Token:
        return self.tokens[self.index]

    def fail(self, what: str, token: Token | None = None) -> ODataError:
        token = token or self.token
        found = "end of input" if token.kind == "end" else repr(token.text)
        return ODataError(f"{what} in {self.option} at position {token.pos}, found {found}")

    def keyword(self, *words: str) -> bool:
        token = self.token
        return token.kind == "name" and token.text.lower() in words

    def punct(self, chars: str) -> bool:
        return self.token.kind == "punct" and self.token.text in chars

    def advance(self) -> Token:
        token = self.token
        self.index += 1
        return token

    def parse(self) -> Node:
        node = self.parse_or()
        if self.token.kind != "end":
            raise self.fail("expected 'and', 'or' or the end")
        return node

    def parse_or(self) -> Node:
        node = self.parse_and()
        while self.keyword("or"):
            self.advance()
            node = BoolOp("or", node, self.parse_and())
        return node

    def parse_and(self) -> Node:
        node = self.parse_unary()
        while self.keyword("and"):
            self.advance()
            node = BoolOp("and", node, self.parse_unary())
        return node

    def parse_unary(self) -> Node:
        if self.keyword("not"):
            self.advance()
            self.nest()
            node = Not(self.parse_unary())
            self.depth -= 1
            return node
        return self.parse_primary()

    def parse_primary(self) -> Node:
        if self.punct("("):
            self.advance()
            self.nest()
            node = self.parse_or()
            if not self.punct(")"):
                raise self.fail("expected ')'")
            self.advance()
            self.depth -= 1
            return node
        self.terms += 1
        if self.terms > MAX_TERMS:
            raise self.fail(f"more than {MAX_TERMS} comparisons")
        token = self.token
        if token.kind != "name" or token.text.lower() in _KEYWORDS:
            raise self.fail("expected a property, a function or '('")
        self.advance()
        if token.text.lower() in FUNCTIONS and self.punct("("):
            return self.parse_call(token)
        prop = Prop(token.text, token.pos)
        if self.keyword(*COMPARISONS):
            op = self.advance().text.lower()
            return Compare(prop, op, self.parse_literal())
        if self.keyword("in"):
            self.advance()
            return In(prop, self.parse_list())
        raise self.fail(f"expected an operator after {token.text!r}")

    def parse_call(self, name: Token) -> Node:
        self.advance()  # (
        token = self.token
        if token.kind != "name" or token.text.lower() in _KEYWORDS:
            raise self.fail(f"expected a property as first argument of {name.text}")
        self.advance()
        if not self.punct(","):
            raise self.fail("expected ','")
        self.advance()
        value = self.parse_literal()
        if not self.punct(")"):
            raise self.fail("expected ')'")
        self.advance()
        return Call(name.text.lower(), Prop(token.text, token.pos), value)

    def parse_list(self) -> tuple[Lit, ...]:
        if not self.punct("(["):
            raise self.fail("expected '(' after 'in'")
        closer = ")" if self.advance().text == "(" else "]"
        values = [self.parse_literal()]
        while self.punct(","):
            self.advance()
            values.append(self.parse_literal())
        if not self.punct(closer):
            raise self.fail(f"expected ',' or '{closer}'")
        self.advance()
        return tuple(values)

    def parse_literal(self) -> Lit:
        token = self.token
        if token.kind in ("string", "number", "datetime"):
            self.advance()
            return Lit(token.value, token.pos)
        if token.kind == "name" and token.text.lower() in _KEYWORDS:
            self.advance()
            return Lit(_KEYWORDS[token.text.lower()], token.pos)
        raise self.fail("expected a literal")


def parse_filter(text: str) -> Node:
    """Parse a $filter expression into a syntax tree; raises ODataError naming the position of the problem."""
    if not text.strip():
        raise ODataError("empty $filter")
    if len(text) > MAX_FILTER_LENGTH:
        raise ODataError(f"$filter is longer than {MAX_FILTER_LENGTH} characters")
    return _Parser(text, "$filter").parse()


@dataclass(frozen=True, slots=True)
class OrderItem:
    """One `$orderby` key."""

    path: str
    pos: int
    descending: bool = False


def parse_orderby(text: str) -> list[OrderItem]:
    """Parse `p [asc|desc], ...`."""
    parser = _Parser(text, "$orderby")
    items: list[OrderItem] = []
    while True:
        token = parser.token
        if token.kind != "name":
            raise parser.fail("expected a property")
        parser.advance()
        descending = False
        if parser.keyword("asc", "desc"):
            descending = parser.advance().text.lower() == "desc"
        items.append(OrderItem(token.text, token.pos, descending))
        if parser.token.kind == "end":
            return items
        if not parser.punct(","):
            raise parser.fail("expected ',' or the end")
        parser.advance()


def parse_select(text: str) -> list[Prop]:
    """Parse `p, q, ...` (top-level property names)."""
    parser = _Parser(text, "$select")
    props: list[Prop] = []
    while True:
        token = parser.token
        if token.kind != "name":
            raise parser.fail("expected a property")
        parser.advance()
        props.append(Prop(token.text, token.pos))
        if parser.token.kind == "end":
            return props
        if not parser.punct(","):
            raise parser.fail("expected ',' or the end")
        parser.advance()


def normalize_path(path: str) -> str:
    """Spell type-cast segments one way: `graph.x` becomes `microsoft.graph.x`."""
    return "/".join(f"microsoft.{part}" if part.startswith("graph.") else part for part in path.split("/"))
