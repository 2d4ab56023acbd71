"""IAM Conditions: CEL expressions compiled once by a real CEL implementation, evaluated with IAM's attributes.

The CEL implementation is `common-expression-language` (import name `cel`: Python bindings of the Rust crate
cel-rust, Apache-2.0). It brings the language and its standard functions (`startsWith`, `endsWith`, `matches`
with a linear-time regex engine, `timestamp()`, `duration()`, the UTC date getters, `in`, `size`, ...). This module
adds what IAM adds (https://cloud.google.com/iam/docs/conditions-attribute-reference):

- the attributes `request.time`, `resource.name` (the full resource name without `//<service>/`),
  `resource.type` and `resource.service`, and `api.getAttribute(name, default)`;
- the date getters with a time zone (`request.time.getHours("Europe/Berlin")`, IANA names, `UTC` or a fixed
  offset `+05:30`), as in CEL's specification;
- `extract(template)` on strings, `hasOnly(list)` on lists;
- the tag functions `resource.matchTag(key, value)`, `matchTagId(keyId, valueId)`, `hasTagKey(key)` and
  `hasTagKeyId(keyId)`, over the resource's effective tags.

Each distinct expression is checked and compiled once (`compiled`), and kept. Before compiling, an expression is
bounded (size, tokens, nesting, nested comprehensions: `_lint`): the native parser and evaluator recurse, and a
nested comprehension's work grows as the product of the lists'. An expression refused there, or that CEL cannot
parse, is a `ConditionError` (the case is malformed: Google checks expressions when a policy is written).
Evaluation returns True or False, or None with the reason when it fails (an unknown attribute, a type error, a
result that is not a boolean): the caller decides what a failure means (an allow binding grants nothing, a deny
rule applies).
"""

from __future__ import annotations

import logging
import re
import threading
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any

import cel

from permscope.clouds.gcp.engine.tags import NO_TAGS, EffectiveTags

# cel logs a warning when a Python function it calls raises; such a failure is an evaluation error the
# explanation reports, not a message for the terminal.
logging.getLogger("cel").setLevel(logging.CRITICAL)

MAX_EXPRESSION_CHARS = 12_800
MAX_TOKENS = 2_000
MAX_NESTING = 64
MAX_PROGRAMS = 4_096
_MACROS = frozenset({"all", "exists", "exists_one", "map", "filter"})


class ConditionError(Exception):
    """An expression IAM would refuse to store: it does not compile, or it exceeds the bounds above."""


@dataclass(frozen=True, slots=True)
class Compiled:
    """One compiled expression."""

    expression: str
    program: Any  # cel.Program
    reads_tags: bool  # names a tag function (the effective tags are computed before it runs)


_PROGRAMS: dict[str, Compiled | str] = {}  # expression -> program, or why it was refused


def clear_programs() -> None:
    """Forget every compiled expression and CEL context (benchmarks measure a cold start with this)."""
    _PROGRAMS.clear()
    _CONTEXTS.clear()


def compiled(expression: str) -> Compiled:
    """The compiled program of an expression, compiled on first use; ConditionError when it is refused."""
    found = _PROGRAMS.get(expression)
    if found is None:
        try:
            _lint(expression)
            found = Compiled(
                expression, cel.compile(expression), _TAG_FUNCTION.search(expression) is not None
            )
        except ConditionError as error:
            found = str(error)
        except (ValueError, TypeError, RuntimeError) as error:
            found = f"CEL cannot parse it: {_first_line(str(error))}"
        except BaseException as error:  # a panic of the native library (pyo3's PanicException)
            if isinstance(error, KeyboardInterrupt | SystemExit | GeneratorExit | MemoryError):
                raise
            found = f"CEL cannot compile it: {type(error).__name__}"
        if len(_PROGRAMS) >= MAX_PROGRAMS:
            del _PROGRAMS[next(iter(_PROGRAMS))]
        _PROGRAMS[expression] = found
    if isinstance(found, str):
        raise ConditionError(found)
    return found


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "no detail"
    return line if len(line) <= 200 else line[:200] + "..."


_TAG_FUNCTION = re.compile(r"\b(?:matchTag|matchTagId|hasTagKey|hasTagKeyId)\b")
_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<string>[rRbB]{0,2}(?:\"\"\"(?:\\.|[^\\])*?\"\"\"|'''(?:\\.|[^\\])*?'''|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'))
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<number>[0-9][0-9A-Za-z_.]*)
  | (?P<open>[(\[{])
  | (?P<close>[)\]}])
  | (?P<dot>\.)
  | (?P<op>&&|\|\||==|!=|<=|>=|[-+*/%!<>?:,])
    """,
    re.VERBOSE | re.DOTALL,
)


def _lint(expression: str) -> None:
    """Refuse an expression too large, too deep or with nested comprehensions (ConditionError).

    A lexical pass (the grammar is CEL's, parsed by `cel`): string literals are skipped whole, brackets counted.
    """
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise ConditionError(
            f"the expression has {len(expression):,} characters; at most {MAX_EXPRESSION_CHARS:,}"
        )
    if not expression.strip():
        raise ConditionError("the expression is empty")
    depth = tokens = 0
    macro_depths: list[int] = []  # the bracket depth inside each open comprehension
    previous_dot = False
    pending_macro = False
    position = 0
    while position < len(expression):
        match = _TOKEN.match(expression, position)
        if match is None:
            return  # CEL's parser words the problem
        position = match.end()
        kind = match.lastgroup
        if kind == "space":
            continue
        tokens += 1
        if tokens > MAX_TOKENS:
            raise ConditionError(f"the expression has more than {MAX_TOKENS:,} tokens")
        if kind == "open":
            depth += 1
            if depth > MAX_NESTING:
                raise ConditionError(f"the expression nests more than {MAX_NESTING} brackets deep")
            if pending_macro and match.group() == "(":
                if macro_depths:
                    raise ConditionError(
                        "a comprehension (all, exists, exists_one, map, filter) inside another"
                    )
                macro_depths.append(depth)
        elif kind == "close":
            if macro_depths and macro_depths[-1] == depth:
                macro_depths.pop()
            depth = max(depth - 1, 0)
        pending_macro = kind == "ident" and previous_dot and match.group() in _MACROS
        previous_dot = kind == "dot"


# -- evaluation -------------------------------------------------------------------------------------------------
@dataclass(slots=True)
class Attributes:
    """What a condition may read about one request."""

    time: datetime | None
    resource_name: str  # the full name without `//<service>/`
    resource_type: str | None
    resource_service: str
    tags: Callable[[], EffectiveTags]  # the effective tags, computed when a tag function first asks
    api: Mapping[str, Any]


class _Request(threading.local):
    """The tags and API attributes of the request being evaluated (the IAM functions read them)."""

    tags: Callable[[], EffectiveTags] = staticmethod(lambda: NO_TAGS)
    api: Mapping[str, Any] = {}


_CURRENT = _Request()


def _no_tags() -> EffectiveTags:
    return NO_TAGS


# CEL contexts by the attributes they hold: turning Python values into CEL's costs far more than evaluating,
# and requests about the same resource at the same time share one.
_CONTEXTS: dict[tuple[datetime | None, str, str | None, str], Any] = {}
MAX_CONTEXTS = 1_024


class Evaluator:
    """Evaluates the conditions of one request (its CEL context found or built on the first)."""

    __slots__ = ("_attributes", "_context")

    def __init__(self, attributes: Attributes) -> None:
        self._attributes = attributes
        self._context: Any = None

    def evaluate(self, program: Compiled) -> tuple[bool | None, str | None]:
        """(True | False, None), or (None, why the expression could not be evaluated)."""
        attributes = self._attributes
        if self._context is None:
            key = (
                attributes.time,
                attributes.resource_name,
                attributes.resource_type,
                attributes.resource_service,
            )
            self._context = _CONTEXTS.get(key)
            if self._context is None:
                self._context = _context(attributes)
                if len(_CONTEXTS) >= MAX_CONTEXTS:
                    del _CONTEXTS[next(iter(_CONTEXTS))]
                _CONTEXTS[key] = self._context
        if program.reads_tags:
            attributes.tags()  # computed (and checked: InputError) here, not inside CEL's call of a tag function
        _CURRENT.tags, _CURRENT.api = attributes.tags, attributes.api
        try:
            value = program.program.execute(self._context)
        except (KeyError, ValueError, TypeError, RuntimeError, OverflowError, ZeroDivisionError) as error:
            return None, _evaluation_problem(error)
        except BaseException as error:  # a panic of the native library
            if isinstance(error, KeyboardInterrupt | SystemExit | GeneratorExit | MemoryError):
                raise
            return None, f"CEL failed: {type(error).__name__}"
        finally:
            _CURRENT.tags, _CURRENT.api = _no_tags, {}
        if type(value) is not bool:
            return None, f"the expression gives {type(value).__name__}, not a boolean"
        return value, None


def _evaluation_problem(error: BaseException) -> str:
    if isinstance(error, KeyError):
        return f"no such attribute: {error.args[0] if error.args else ''}"
    return _first_line(str(error)) or type(error).__name__


def _context(attributes: Attributes) -> Any:
    resource: dict[str, Any] = {"name": attributes.resource_name, "service": attributes.resource_service}
    if attributes.resource_type is not None:
        resource["type"] = attributes.resource_type
    request: dict[str, Any] = {}
    if attributes.time is not None:
        request["time"] = attributes.time
    return cel.Context(variables={"request": request, "resource": resource, "api": {}}, functions=_FUNCTIONS)


def _match_tag(receiver: object, key: object, value: object) -> bool:
    _check_receiver(receiver, "matchTag")
    return _CURRENT.tags().match(_text(key, "matchTag"), _text(value, "matchTag"))


def _match_tag_id(receiver: object, key_id: object, value_id: object) -> bool:
    _check_receiver(receiver, "matchTagId")
    return _CURRENT.tags().match_id(_text(key_id, "matchTagId"), _text(value_id, "matchTagId"))


def _has_tag_key(receiver: object, key: object) -> bool:
    _check_receiver(receiver, "hasTagKey")
    return _CURRENT.tags().has_key(_text(key, "hasTagKey"))


def _has_tag_key_id(receiver: object, key_id: object) -> bool:
    _check_receiver(receiver, "hasTagKeyId")
    return _CURRENT.tags().has_key_id(_text(key_id, "hasTagKeyId"))


def _get_attribute(receiver: object, name: object, default: object) -> object:
    if receiver != {}:
        raise TypeError("getAttribute is a function of api")
    return _CURRENT.api.get(_text(name, "getAttribute"), default)


def _check_receiver(receiver: object, function: str) -> None:
    if not isinstance(receiver, dict) or "service" not in receiver or "name" not in receiver:
        raise TypeError(f"{function} is a function of resource")


def _text(value: object, function: str) -> str:
    if type(value) is not str:
        raise TypeError(f"{function} takes strings, not {type(value).__name__}")
    return value


# -- IAM's functions that need no request -----------------------------------------------------------------------
def extract(text: object, template: object) -> str:
    """IAM's `extract`: the part of `text` a template's one `{name}` stands for; "" when it does not occur.

    The part begins after the first occurrence of the text before `{name}`, and ends before the next occurrence
    of the text after it (at the end of `text` when nothing follows `{name}`).
    """
    text, template = _text(text, "extract"), _text(template, "extract")
    opening, closing = template.find("{"), template.find("}")
    if opening < 0 or closing < opening or "{" in template[closing:] or "}" in template[:opening]:
        raise ValueError("extract's template needs exactly one {name}")
    prefix, suffix = template[:opening], template[closing + 1 :]
    start = text.find(prefix)
    if start < 0:
        return ""
    start += len(prefix)
    if not suffix:
        return text[start:]
    end = text.find(suffix, start)
    return "" if end < 0 else text[start:end]


def has_only(values: object, allowed: object) -> bool:
    """IAM's `hasOnly`: every element of a list is one of `allowed`."""
    if not isinstance(values, list) or not isinstance(allowed, list):
        raise TypeError("hasOnly takes two lists")
    return all(value in allowed for value in values)


_ZONES: dict[str, tzinfo] = {}
_OFFSET = re.compile(r"([+-])(\d{2}):(\d{2})")


def zone(name: object) -> tzinfo:
    """A CEL time zone: an IANA name, UTC, or a fixed offset `+HH:MM` / `-HH:MM` (ValueError otherwise)."""
    name = _text(name, "a date getter")
    found = _ZONES.get(name)
    if found is None:
        offset = _OFFSET.fullmatch(name)
        if offset:
            sign = -1 if offset.group(1) == "-" else 1
            found = timezone(sign * timedelta(hours=int(offset.group(2)), minutes=int(offset.group(3))))
        elif name.upper() == "UTC":
            found = UTC
        else:
            try:
                found = zoneinfo.ZoneInfo(name)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
                raise ValueError(f"unknown time zone {name!r}") from None
        if len(_ZONES) < 1024:
            _ZONES[name] = found
    return found


def _local(value: object, zone_name: object) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError("a date getter with a time zone takes a timestamp")
    return value.astimezone(zone(zone_name))


def _getter(
    part: Callable[[datetime], int], of_duration: Callable[[timedelta], int] | None
) -> Callable[..., int]:
    def getter(value: object, zone_name: object = "UTC") -> int:
        if isinstance(value, timedelta):
            if of_duration is None:
                raise TypeError("this getter takes a timestamp")
            return of_duration(value)
        return part(_local(value, zone_name))

    return getter


_FUNCTIONS: dict[str, Callable[..., object]] = {
    "matchTag": _match_tag,
    "matchTagId": _match_tag_id,
    "hasTagKey": _has_tag_key,
    "hasTagKeyId": _has_tag_key_id,
    "getAttribute": _get_attribute,
    "extract": extract,
    "hasOnly": has_only,
    # CEL's specification: months and days of the month from 0 except getDate; Sunday is day 0 of the week.
    "getFullYear": _getter(lambda moment: moment.year, None),
    "getMonth": _getter(lambda moment: moment.month - 1, None),
    "getDate": _getter(lambda moment: moment.day, None),
    "getDayOfMonth": _getter(lambda moment: moment.day - 1, None),
    "getDayOfWeek": _getter(lambda moment: moment.isoweekday() % 7, None),
    "getDayOfYear": _getter(lambda moment: moment.timetuple().tm_yday - 1, None),
    "getHours": _getter(lambda moment: moment.hour, lambda span: int(span.total_seconds() // 3600)),
    "getMinutes": _getter(lambda moment: moment.minute, lambda span: int(span.total_seconds() // 60)),
    "getSeconds": _getter(lambda moment: moment.second, lambda span: int(span.total_seconds())),
    "getMilliseconds": _getter(
        lambda moment: moment.microsecond // 1000, lambda span: span.microseconds // 1000
    ),
}
