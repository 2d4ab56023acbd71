"""The comparison functions of Azure ABAC conditions (conditionVersion 2.0) and the typing of their values.

https://learn.microsoft.com/en-us/azure/role-based-access-control/conditions-format: String (case-sensitive, or
case-insensitive with `IgnoreCase`; `Like` with `*` and `?`, escaped by a backslash), Numeric (integers only),
Bool, DateTime (full precision, `yyyy-mm-ddThh:mm:ss.fffffffZ`) and Guid (case-insensitive) comparisons, each
`Not` form the negation of its positive form, and the cross-product forms `ForAnyOfAnyValues:`,
`ForAllOfAnyValues:`, `ForAnyOfAllValues:` and `ForAllOfAllValues:` that compare every value on the left with
every value on the right.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from permscope.core.globs import glob_regex

_TICKS_PER_SECOND = 10_000_000
_EPOCH = datetime(1, 1, 1)  # the origin of ticks (every time is UTC)
_DATETIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?Z", re.IGNORECASE)
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_INTEGER = re.compile(r"[+-]?\d{1,19}")


class ValueTypeError(ValueError):
    """A value that the operator's type cannot hold (a comparison with it is false)."""


def as_string(value: object) -> str:
    """A String operand."""
    if isinstance(value, str):
        return value
    raise ValueTypeError(f"{value!r} is not a string")


def as_integer(value: object) -> int:
    """A Numeric operand: only integers are supported (a JSON integer, or its decimal text)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _INTEGER.fullmatch(value):
        return int(value)
    raise ValueTypeError(f"{value!r} is not an integer")


def as_bool(value: object) -> bool:
    """A Bool operand: true or false (a JSON boolean, or the words in any case)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ValueTypeError(f"{value!r} is not a boolean")


def as_ticks(value: object) -> int:
    """A DateTime operand as 100-nanosecond ticks since 0001-01-01 (full precision, UTC `Z` only)."""
    if isinstance(value, str):
        found = _DATETIME.fullmatch(value)
        if found:
            year, month, day, hour, minute, second, fraction = found.groups()
            try:
                moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
            except ValueError:
                raise ValueTypeError(f"{value!r} is not a valid date and time") from None
            since = moment - _EPOCH
            seconds = since.days * 86_400 + since.seconds
            return seconds * _TICKS_PER_SECOND + int((fraction or "").ljust(7, "0"))
    raise ValueTypeError(f"{value!r} is not a date-time of the form yyyy-mm-ddThh:mm:ss[.fffffff]Z")


def as_guid(value: object) -> str:
    """A Guid operand, lower case (`00000000-0000-0000-0000-000000000000`, any case)."""
    if isinstance(value, str) and _GUID.fullmatch(value):
        return value.lower()
    raise ValueTypeError(f"{value!r} is not a GUID")


def _like(value: str, pattern: str) -> bool:
    return glob_regex(pattern).fullmatch(value) is not None


def _like_ignore_case(value: str, pattern: str) -> bool:
    return glob_regex(pattern, True).fullmatch(value) is not None


Compare = Callable[[object, object], bool]


@dataclass(frozen=True, slots=True)
class Function:
    """One comparison function: how its operands are typed, and the positive test (its `Not` form negates)."""

    name: str
    family: str  # String, Numeric, Bool, DateTime, Guid
    coerce: Callable[[object], object]
    test: Callable[[object, object], bool]
    negated: bool = False

    def __call__(self, left: object, right: object) -> bool:
        """Compare two operands already typed by `coerce`."""
        return self.test(left, right) is not self.negated


def _string_functions() -> list[Function]:
    tests: dict[str, Callable[[str, str], bool]] = {
        "Equals": lambda a, b: a == b,
        "EqualsIgnoreCase": lambda a, b: a.casefold() == b.casefold(),
        "StartsWith": lambda a, b: a.startswith(b),
        "StartsWithIgnoreCase": lambda a, b: a.casefold().startswith(b.casefold()),
        "Like": _like,
        "LikeIgnoreCase": _like_ignore_case,
    }
    functions = []
    for suffix, test in tests.items():
        functions.append(Function(f"String{suffix}", "String", as_string, test))  # type: ignore[arg-type]
        functions.append(Function(f"StringNot{suffix}", "String", as_string, test, negated=True))  # type: ignore[arg-type]
    return functions


def _ordered(family: str, coerce: Callable[[object], object]) -> list[Function]:
    def less(a: object, b: object) -> bool:
        return a < b  # type: ignore[operator, no-any-return]

    def less_equal(a: object, b: object) -> bool:
        return a <= b  # type: ignore[operator, no-any-return]

    def equal(a: object, b: object) -> bool:
        return a == b

    return [
        Function(f"{family}Equals", family, coerce, equal),
        Function(f"{family}NotEquals", family, coerce, equal, negated=True),
        Function(f"{family}LessThan", family, coerce, less),
        Function(f"{family}LessThanEquals", family, coerce, less_equal),
        Function(f"{family}GreaterThan", family, coerce, lambda a, b: less(b, a)),
        Function(f"{family}GreaterThanEquals", family, coerce, lambda a, b: less_equal(b, a)),
    ]


def _equality(family: str, coerce: Callable[[object], object]) -> list[Function]:
    def equal(a: object, b: object) -> bool:
        return a == b

    return [
        Function(f"{family}Equals", family, coerce, equal),
        Function(f"{family}NotEquals", family, coerce, equal, negated=True),
    ]


FUNCTIONS: dict[str, Function] = {
    function.name.lower(): function
    for function in (
        *_string_functions(),
        *_ordered("Numeric", as_integer),
        *_ordered("DateTime", as_ticks),
        *_equality("Bool", as_bool),
        *_equality("Guid", as_guid),
    )
}

# Cross-product quantifiers: (any or all of the left values, any or all of the right values).
QUANTIFIERS: dict[str, tuple[bool, bool]] = {
    "foranyofanyvalues": (False, False),
    "forallofanyvalues": (True, False),
    "foranyofallvalues": (False, True),
    "forallofallvalues": (True, True),
}
QUANTIFIER_NAMES = {
    (False, False): "ForAnyOfAnyValues",
    (True, False): "ForAllOfAnyValues",
    (False, True): "ForAnyOfAllValues",
    (True, True): "ForAllOfAllValues",
}


def cross_product(
    function: Function, every_left: bool, every_right: bool, left: Sequence[object], right: Sequence[object]
) -> bool:
    """A quantified comparison over typed values: any/all left values against any/all right values.

    "For all" over no values is true (nothing fails), "for any" over no values is false."""

    def against_right(value: object) -> bool:
        if every_right:
            return all(function(value, other) for other in right)
        return any(function(value, other) for other in right)

    if every_left:
        return all(against_right(value) for value in left)
    return any(against_right(value) for value in left)
