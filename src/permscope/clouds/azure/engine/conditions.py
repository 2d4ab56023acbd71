"""Azure ABAC conditions (conditionVersion 2.0): a tokenizer, a recursive-descent parser with bounded depth and
size, and an evaluator that records what each expression found.

Grammar (https://learn.microsoft.com/en-us/azure/role-based-access-control/conditions-format), keywords and
operator names in any case:

    condition  := or
    or         := and (("OR" | "||") and)*
    and        := unary (("AND" | "&&") unary)*
    unary      := ("NOT" | "!") unary | primary
    primary    := "(" condition ")"
                | "ActionMatches" "{" string "}" | "SubOperationMatches" "{" string "}"
                | ("Exists" | "NotExists") attribute
                | operand operator operand
    operand    := attribute | value | "{" [value ("," value)*] "}"
    attribute  := "@" ("Resource" | "Request" | "Principal" | "Environment") "[" name "]"
    value      := 'quoted string' | bare word (true, false, an integer, a GUID)
    operator   := [("ForAnyOfAnyValues" | "ForAllOfAnyValues" | "ForAnyOfAllValues" | "ForAllOfAllValues") ":"]
                  String... | Numeric... | Bool... | DateTime... | Guid...

Microsoft asks for parentheses wherever AND and OR mix; without them AND binds tighter (the usual reading).
An attribute missing from the request makes every comparison that reads it false (`Exists` / `NotExists` test
for it). A value that the operator's type cannot hold makes the comparison false as well.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from permscope.clouds.azure.engine.actions import PatternSet
from permscope.clouds.azure.engine.operators import (
    FUNCTIONS,
    QUANTIFIERS,
    Function,
    ValueTypeError,
    cross_product,
)
from permscope.core.globs import glob_regex

MAX_CONDITION_CHARS = 64 * 1024  # Azure's own conditions are a few kilobytes at most
MAX_TOKENS = 8_192
MAX_DEPTH = 64  # nesting of parentheses and NOTs
SOURCES = {
    "resource": "Resource",
    "request": "Request",
    "principal": "Principal",
    "environment": "Environment",
}
TAG_KEY_SUFFIX = "<$key_case_sensitive$>"
TAG_KEYS_SUFFIX = "&$keys$&"
SHOWN_CHARS = 120

_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:-+$")
_SPACE = frozenset(" \t\r\n")


class ConditionError(ValueError):
    """A condition that is not conditionVersion 2.0 syntax (or is too large to evaluate)."""


# -- tokens -------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Token:
    """One token: its kind, its value (a string's content, an attribute's (source, name)), where it is."""

    kind: str  # ( ) { } , AND OR NOT STRING ATTR WORD END
    value: Any
    start: int
    end: int


def tokenize(text: str) -> list[Token]:
    """The tokens of a condition (ConditionError naming the offending position)."""
    if len(text) > MAX_CONDITION_CHARS:
        raise ConditionError(
            f"the condition is {len(text):,} characters long; the limit is {MAX_CONDITION_CHARS:,}"
        )
    tokens: list[Token] = []
    index, size = 0, len(text)
    while index < size:
        char = text[index]
        start = index
        if char in _SPACE:
            index += 1
            continue
        if len(tokens) >= MAX_TOKENS:
            raise ConditionError(f"the condition has more than {MAX_TOKENS:,} tokens")
        if char in "(){},":
            tokens.append(Token(char, char, start, start + 1))
            index += 1
        elif text.startswith("&&", index):
            tokens.append(Token("AND", "&&", start, start + 2))
            index += 2
        elif text.startswith("||", index):
            tokens.append(Token("OR", "||", start, start + 2))
            index += 2
        elif char == "!":
            tokens.append(Token("NOT", "!", start, start + 1))
            index += 1
        elif char == "'":
            index = _string(text, index, tokens)
        elif char == "@":
            index = _attribute(text, index, tokens)
        elif char in _WORD_CHARS:
            while index < size and text[index] in _WORD_CHARS:
                index += 1
            word = text[start:index]
            kind = {"and": "AND", "or": "OR", "not": "NOT"}.get(word.lower(), "WORD")
            tokens.append(Token(kind, word, start, index))
        else:
            raise ConditionError(f"unexpected character {char!r} at position {start}")
    tokens.append(Token("END", None, size, size))
    return tokens


def _string(text: str, index: int, tokens: list[Token]) -> int:
    """A single-quoted string: \\' is a quote; any other backslash is kept (StringLike's \\* and \\?)."""
    start, index = index, index + 1
    parts: list[str] = []
    while True:
        close = text.find("'", index)
        if close < 0:
            raise ConditionError(f"the string at position {start} is not closed")
        if close > index and text[close - 1] == "\\" and not text.endswith("\\\\", 0, close):
            parts.append(text[index : close - 1] + "'")
            index = close + 1
            continue
        parts.append(text[index:close])
        tokens.append(Token("STRING", "".join(parts), start, close + 1))
        return close + 1


def _attribute(text: str, index: int, tokens: list[Token]) -> int:
    """`@Source[name]`: the name runs to the first `]`."""
    start = index
    index += 1
    while index < len(text) and text[index].isalpha():
        index += 1
    source = SOURCES.get(text[start + 1 : index].lower())
    if source is None:
        raise ConditionError(f"unknown attribute source {text[start:index]!r} at position {start}")
    if not text.startswith("[", index):
        raise ConditionError(f"expected [ after {text[start:index]} at position {index}")
    close = text.find("]", index + 1)
    if close < 0:
        raise ConditionError(f"the attribute at position {start} is not closed with ]")
    name = text[index + 1 : close].strip()
    if not name:
        raise ConditionError(f"the attribute at position {start} has no name")
    tokens.append(Token("ATTR", (source, name), start, close + 1))
    return close + 1


# -- the expression tree and its evaluation -------------------------------------------------------------------
class Evaluation:
    """What a condition is evaluated against, and the trace of what each expression found."""

    __slots__ = ("_sources", "action", "attributes", "targeted", "trace")

    def __init__(self, action: str, attributes: Mapping[str, Any]) -> None:
        self.action = action  # the requested operation, lower case
        self.attributes = attributes  # source -> attribute name -> value, as the request gives them
        self.trace: list[dict[str, Any]] = []
        self.targeted = False  # whether some ActionMatches evaluated matched the operation
        self._sources: dict[str, dict[str, Any]] = {}

    def source(self, name: str) -> dict[str, Any]:
        """One attribute source with its names in lower case (names compare case-insensitively)."""
        found = self._sources.get(name)
        if found is None:
            raw = self.attributes.get(name)
            if raw is None:
                lowered = name.lower()
                raw = next(
                    (
                        value
                        for key, value in self.attributes.items()
                        if isinstance(key, str) and key.lower() == lowered
                    ),
                    None,
                )
            found = {}
            if isinstance(raw, Mapping):
                found = {key.lower(): value for key, value in raw.items() if isinstance(key, str)}
            self._sources[name] = found
        return found

    def lookup(self, source: str, exact: str, lowered: str) -> Any:
        """One attribute's value (None when absent): by its name as written, else in any case."""
        raw = self.attributes.get(source)
        if type(raw) is dict:
            found = raw.get(exact)
            if found is not None:
                return found
        return self.source(source).get(lowered)

    def note(self, node: Node, result: bool, detail: str | None = None) -> bool:
        """Record one leaf's result (returned, for chaining)."""
        if detail:
            self.trace.append({"expression": node.text, "result": result, "detail": detail})
        else:
            self.trace.append({"expression": node.text, "result": result})
        return result


class Node:
    """An expression of the tree."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "..."

    def evaluate(self, context: Evaluation) -> bool:
        """The expression's truth for one request."""
        raise NotImplementedError


class AllOf(Node):
    """AND: every part holds (evaluated left to right, stopping at the first that fails)."""

    __slots__ = ("parts",)

    def __init__(self, text: str, parts: list[Node]) -> None:
        super().__init__(text)
        self.parts = parts

    def evaluate(self, context: Evaluation) -> bool:
        for part in self.parts:  # noqa: SIM110 - a loop, not all(): no generator per node on the hot path
            if not part.evaluate(context):
                return False
        return True


class AnyOf(Node):
    """OR: some part holds (evaluated left to right, stopping at the first that holds)."""

    __slots__ = ("parts",)

    def __init__(self, text: str, parts: list[Node]) -> None:
        super().__init__(text)
        self.parts = parts

    def evaluate(self, context: Evaluation) -> bool:
        for part in self.parts:  # noqa: SIM110 - a loop, not any(): no generator per node on the hot path
            if part.evaluate(context):
                return True
        return False


class Not(Node):
    """NOT / !."""

    __slots__ = ("part",)

    def __init__(self, text: str, part: Node) -> None:
        super().__init__(text)
        self.part = part

    def evaluate(self, context: Evaluation) -> bool:
        return not self.part.evaluate(context)


class ActionMatches(Node):
    """ActionMatches{'pattern'}: the requested operation matches the pattern, as in a role definition."""

    __slots__ = ("pattern", "patterns")

    def __init__(self, text: str, pattern: str) -> None:
        super().__init__(text)
        self.pattern = pattern
        self.patterns = PatternSet((pattern,))

    def evaluate(self, context: Evaluation) -> bool:
        matched = self.patterns.match(context.action) is not None
        if matched:
            context.targeted = True
        return context.note(self, matched)


class SubOperationMatches(Node):
    """SubOperationMatches{'pattern'}: the request's suboperation (`@Request[subOperation]`) matches, in any
    case; a request without a suboperation matches none."""

    __slots__ = ("pattern",)

    def __init__(self, text: str, pattern: str) -> None:
        super().__init__(text)
        self.pattern = pattern

    def evaluate(self, context: Evaluation) -> bool:
        value = context.lookup("Request", "subOperation", "suboperation")
        if not isinstance(value, str):
            return context.note(self, False, "the request has no suboperation")
        return context.note(
            self, glob_regex(self.pattern, True).fullmatch(value) is not None, f"suboperation {value!r}"
        )


class Attribute:
    """`@Source[name]`; blob index tags read one key case-sensitively (`tags:<key><$key_case_sensitive$>`) or
    the list of keys (`tags&$keys$&`) from the object the request gives under the tags attribute's name."""

    __slots__ = ("exact", "key", "lookup", "mode", "name", "source")

    def __init__(self, source: str, name: str) -> None:
        self.source, self.name = source, name
        self.mode, self.key = "plain", ""
        self.exact = name  # the name the request's attributes are looked up by (then in any case)
        if name.endswith(TAG_KEY_SUFFIX) and ":" in name:
            base, _, key = name[: -len(TAG_KEY_SUFFIX)].partition(":")
            self.mode, self.exact, self.key = "tag", base, key
        elif name.endswith(TAG_KEYS_SUFFIX):
            self.mode, self.exact = "keys", name[: -len(TAG_KEYS_SUFFIX)]
        self.lookup = self.exact.lower()

    def __str__(self) -> str:
        return f"@{self.source}[{self.name}]"

    def values(self, context: Evaluation) -> list[Any] | None:
        """The attribute's values (one, or a multi-valued attribute's list); None when the request lacks it."""
        found = context.lookup(self.source, self.exact, self.lookup)
        if self.mode != "plain":
            if not isinstance(found, Mapping):
                return None
            if self.mode == "keys":
                return list(found)
            found = found.get(self.key)
        if found is None:
            return None
        return list(found) if isinstance(found, list) else [found]


class Exists(Node):
    """Exists / NotExists @attribute."""

    __slots__ = ("attribute", "wanted")

    def __init__(self, text: str, attribute: Attribute, wanted: bool) -> None:
        super().__init__(text)
        self.attribute, self.wanted = attribute, wanted

    def evaluate(self, context: Evaluation) -> bool:
        present = self.attribute.values(context) is not None
        return context.note(self, present is self.wanted)


Operand = Attribute | tuple[str, ...]  # an attribute, or literal values (one, or a {set})


class Comparison(Node):
    """operand [quantifier:]function operand."""

    __slots__ = ("function", "left", "quantifier", "right")

    def __init__(
        self,
        text: str,
        left: Operand,
        function: Function,
        quantifier: tuple[bool, bool] | None,
        right: Operand,
    ) -> None:
        super().__init__(text)
        self.left, self.function, self.quantifier, self.right = left, function, quantifier, right

    def evaluate(self, context: Evaluation) -> bool:
        left = self._values(self.left, context)
        right = self._values(self.right, context)
        if left is None or right is None:
            missing = self.left if left is None else self.right
            return context.note(self, False, f"{missing} is absent from the request")
        try:
            typed_left = [self.function.coerce(value) for value in left]
            typed_right = [self.function.coerce(value) for value in right]
        except ValueTypeError as error:
            return context.note(self, False, f"not a {self.function.family} comparison: {error}")
        if self.quantifier is not None:
            result = cross_product(self.function, *self.quantifier, typed_left, typed_right)
            return context.note(self, result, _shown_values(left))
        if len(typed_left) != 1:
            return context.note(
                self,
                False,
                f"{len(left)} values on the left: a multi-valued operand needs a ForAnyOf/ForAllOf operator",
            )
        value = typed_left[0]
        positive = any(self.function.test(value, other) for other in typed_right)
        return context.note(self, positive is not self.function.negated, _shown_values(left))

    @staticmethod
    def _values(operand: Operand, context: Evaluation) -> list[Any] | None:
        if isinstance(operand, Attribute):
            return operand.values(context)
        return list(operand)


def _shown_values(values: list[Any]) -> str:
    text = repr(values[0]) if len(values) == 1 else repr(values)
    return "value " + (text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "...")


def _is_operator(word: str) -> bool:
    prefix, _, name = word.lower().rpartition(":")
    return name in FUNCTIONS and (not prefix or prefix in QUANTIFIERS)


# -- the parser ---------------------------------------------------------------------------------------------
class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.position = 0

    def peek(self) -> Token:
        return self.tokens[self.position]

    def take(self, kind: str, what: str) -> Token:
        token = self.tokens[self.position]
        if token.kind != kind:
            raise self.error(token, f"expected {what}")
        self.position += 1
        return token

    def error(self, token: Token, message: str) -> ConditionError:
        found = "the end" if token.kind == "END" else repr(self.text[token.start : token.end][:40])
        return ConditionError(f"{message} at position {token.start}, found {found}")

    def parse(self) -> Node:
        node = self.disjunction(0)
        end = self.peek()
        if end.kind != "END":
            raise self.error(end, "expected AND, OR or the end of the condition")
        return node

    def _slice(self, start: int) -> str:
        return self.text[start : self.tokens[self.position - 1].end]

    def disjunction(self, depth: int) -> Node:
        start = self.peek().start
        parts = [self.conjunction(depth)]
        while self.peek().kind == "OR":
            self.position += 1
            parts.append(self.conjunction(depth))
        return parts[0] if len(parts) == 1 else AnyOf(self._slice(start), parts)

    def conjunction(self, depth: int) -> Node:
        start = self.peek().start
        parts = [self.unary(depth)]
        while self.peek().kind == "AND":
            self.position += 1
            parts.append(self.unary(depth))
        return parts[0] if len(parts) == 1 else AllOf(self._slice(start), parts)

    def unary(self, depth: int) -> Node:
        token = self.peek()
        if token.kind == "NOT":
            if depth >= MAX_DEPTH:
                raise self.error(token, f"nested more than {MAX_DEPTH} levels deep")
            self.position += 1
            part = self.unary(depth + 1)
            return Not(self._slice(token.start), part)
        return self.primary(depth)

    def primary(self, depth: int) -> Node:
        token = self.peek()
        if token.kind == "(":
            if depth >= MAX_DEPTH:
                raise self.error(token, f"nested more than {MAX_DEPTH} levels deep")
            self.position += 1
            node = self.disjunction(depth + 1)
            self.take(")", ")")
            return node
        if token.kind == "WORD":
            word = token.value.lower()
            if word in ("actionmatches", "suboperationmatches"):
                self.position += 1
                pattern = self._braced_string(token.value)
                text = self._slice(token.start)
                return (
                    ActionMatches(text, pattern)
                    if word == "actionmatches"
                    else SubOperationMatches(text, pattern)
                )
            if word in ("exists", "notexists"):
                self.position += 1
                source, name = self.take("ATTR", "an attribute (@Source[name])").value
                return Exists(self._slice(token.start), Attribute(source, name), word == "exists")
        return self.comparison()

    def _braced_string(self, function: str) -> str:
        opening = self.peek()
        if opening.kind not in ("{", "("):
            raise self.error(opening, f"expected {{ after {function}")
        self.position += 1
        pattern = self.take("STRING", "a quoted pattern").value
        self.take("}" if opening.kind == "{" else ")", "the closing bracket")
        return str(pattern)

    def comparison(self) -> Node:
        start = self.peek().start
        left = self.operand()
        token = self.take("WORD", "an operator (StringEquals, ForAnyOfAnyValues:GuidEquals, ...)")
        quantifier_name, _, function_name = token.value.rpartition(":")
        function = FUNCTIONS.get(function_name.lower())
        quantifier = QUANTIFIERS.get(quantifier_name.lower()) if quantifier_name else None
        if function is None or (quantifier_name and quantifier is None):
            raise self.error(token, "unknown operator")
        right = self.operand()
        return Comparison(self._slice(start), left, function, quantifier, right)

    def operand(self) -> Operand:
        token = self.peek()
        if token.kind == "ATTR":
            self.position += 1
            return Attribute(*token.value)
        if token.kind in ("STRING", "WORD"):
            if token.kind == "WORD" and _is_operator(token.value):
                raise self.error(token, "expected a value or an attribute")
            self.position += 1
            return (str(token.value),)
        if token.kind == "{":
            self.position += 1
            values: list[str] = []
            while self.peek().kind != "}":
                if values:
                    self.take(",", ", or }")
                value = self.peek()
                if value.kind not in ("STRING", "WORD"):
                    raise self.error(value, "expected a value")
                self.position += 1
                values.append(str(value.value))
            self.position += 1
            return tuple(values)
        raise self.error(token, "expected a value or an attribute")


@dataclass(frozen=True, slots=True)
class Condition:
    """A parsed condition, with its text."""

    text: str
    root: Node

    def evaluate(self, action: str, attributes: Mapping[str, Any]) -> tuple[bool, list[dict[str, Any]], bool]:
        """Whether it holds for a lower-case operation and the request's attributes, what each expression found
        (in the order evaluated), and whether one of its ActionMatches named the operation."""
        context = Evaluation(action, attributes)
        return self.root.evaluate(context), context.trace, context.targeted


MAX_CACHED_CONDITION_CHARS = 8 * 1024


@lru_cache(maxsize=4_096)
def _parse_cached(text: str) -> Condition:
    return Condition(text, _Parser(text).parse())


def parse_condition(text: str) -> Condition:
    """Parse a conditionVersion 2.0 condition (ConditionError when it is not one); conditions of ordinary size
    are kept by text for the next assignment that has the same one."""
    if len(text) > MAX_CACHED_CONDITION_CHARS:
        return Condition(text, _Parser(text).parse())
    return _parse_cached(text)


def clear_condition_cache() -> None:
    """Forget the conditions parsed so far."""
    _parse_cached.cache_clear()


def assignment_condition(text: object, version: object) -> tuple[Condition | None, str | None]:
    """A role or deny assignment's condition and conditionVersion read: (the condition or None, why it cannot be
    evaluated or None). Absent or blank text is no condition; a version other than 2.0, or text that does not
    parse, is an error (the assignment then grants nothing)."""
    if not isinstance(text, str) or not text.strip():
        return None, None
    if version not in (None, "2.0"):
        return None, f"conditionVersion {version!r} is not supported (2.0 is)"
    try:
        return parse_condition(text), None
    except ConditionError as problem:
        return None, str(problem)
