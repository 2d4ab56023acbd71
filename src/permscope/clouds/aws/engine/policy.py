"""The IAM JSON policy grammar: parse and validate a policy document into immutable statements."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import Any
from urllib.parse import unquote

import orjson

from permscope.core.errors import InputError
from permscope.core.records import quick_frozen_init
from permscope.core.sessions import session_cache

# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_version.html
VERSION_CURRENT = "2012-10-17"
VERSION_LEGACY = "2008-10-17"
VERSIONS = (VERSION_CURRENT, VERSION_LEGACY)

# Bounds that keep hostile documents from costing unbounded time or memory. Real IAM limits are far lower
# (a managed policy holds at most 6,144 characters), so no genuine policy comes near these.
MAX_DOCUMENT_CHARS = 2_000_000
MAX_STATEMENTS = 10_000
MAX_ELEMENT_VALUES = 10_000
MAX_TOTAL_VALUES = 200_000

# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements.html
DOCUMENT_ELEMENTS = frozenset({"Version", "Id", "Statement"})
STATEMENT_ELEMENTS = frozenset(
    {
        "Sid",
        "Effect",
        "Principal",
        "NotPrincipal",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
    }
)
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
PRINCIPAL_KINDS = {
    "AWS": "aws",
    "Service": "service",
    "Federated": "federated",
    "CanonicalUser": "canonical_user",
}
EFFECTS = ("Allow", "Deny")
SESSION_CACHE = "aws policy parses"  # (document as JSON, policy type) -> its parse, or why it does not parse


class PolicyType(StrEnum):
    """Where a policy is attached, which decides how the evaluation logic uses it."""

    IDENTITY = "identity"
    RESOURCE = "resource"
    TRUST = "trust"
    SCP = "scp"
    RCP = "rcp"
    BOUNDARY = "boundary"
    SESSION = "session"
    VPC_ENDPOINT = "vpcEndpoint"


class PolicyError(InputError):
    """A policy document that breaks the IAM grammar; `source` is the policy name."""


@quick_frozen_init
@dataclass(frozen=True, slots=True)
class ConditionTest:
    """One operator + key + values of a Condition block."""

    operator: str
    key: str
    values: tuple[str, ...]


@quick_frozen_init
@dataclass(frozen=True, slots=True)
class Principals:
    """A Principal or NotPrincipal element."""

    wildcard: bool
    aws: tuple[str, ...] = ()
    service: tuple[str, ...] = ()
    federated: tuple[str, ...] = ()
    canonical_user: tuple[str, ...] = ()


@quick_frozen_init
@dataclass(frozen=True, slots=True)
class Statement:
    """One statement of a policy, validated; exactly one of actions / not_actions is set."""

    index: int
    sid: str | None
    effect: str
    actions: tuple[str, ...] | None
    not_actions: tuple[str, ...] | None
    resources: tuple[str, ...] | None
    not_resources: tuple[str, ...] | None
    principal: Principals | None
    not_principal: Principals | None
    conditions: tuple[ConditionTest, ...]

    def label(self) -> str:
        """How a person names this statement: "statement 2 (Sid 'AllowS3')" (1-based)."""
        return _label(self.index, self.sid)

    @property
    def is_allow(self) -> bool:
        """True for an Allow statement."""
        return self.effect == "Allow"


@quick_frozen_init
@dataclass(frozen=True, slots=True)
class PolicyDocument:
    """A parsed policy: its name, where it is attached, its Version and statements."""

    name: str
    policy_type: PolicyType
    version: str | None
    statements: tuple[Statement, ...]
    warnings: tuple[str, ...] = ()  # problems IAM tolerates or we cannot judge (e.g. an unknown operator)
    policy_id: str | None = None

    @property
    def variables_enabled(self) -> bool:
        """Policy variables (${...}) are substituted only under Version 2012-10-17."""
        return self.version == VERSION_CURRENT


@lru_cache(maxsize=4096)  # every explanation names its statements; the same few labels recur
def _label(index: int, sid: str | None) -> str:
    return f"statement {index + 1}" + (f" (Sid {sid!r})" if sid else "")


class _Budget:
    """Counts the values a document holds so a huge one fails cleanly."""

    __slots__ = ("name", "remaining")

    def __init__(self, name: str) -> None:
        self.name = name
        self.remaining = MAX_TOTAL_VALUES

    def spend(self, count: int, where: str) -> None:
        self.remaining -= count
        if self.remaining < 0:
            raise PolicyError(self.name, f"{where}: the document holds more than {MAX_TOTAL_VALUES} values")


def _load(document: object, name: str) -> Any:
    """The JSON object of a policy given as a dict or as (possibly URL-encoded) JSON text."""
    if type(document) is dict or isinstance(document, Mapping):
        return document
    if isinstance(document, bytes | bytearray):
        try:
            document = bytes(document).decode("utf-8")
        except UnicodeDecodeError as error:
            raise PolicyError(name, f"the document is not UTF-8 text ({error.reason})") from None
    if not isinstance(document, str):
        raise PolicyError(
            name, f"a policy document must be a JSON object or JSON text, not {_kind(document)}"
        )
    if len(document) > MAX_DOCUMENT_CHARS:
        raise PolicyError(name, f"the document is longer than {MAX_DOCUMENT_CHARS} characters")
    text = document.strip()
    if text.startswith("%") or (not text.startswith("{") and "%7B" in text.upper()):
        text = unquote(text)  # IAM's API returns policy documents URL-encoded (RFC 3986)
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise PolicyError(name, f"the document is not valid JSON ({error})") from None
    except RecursionError:  # pragma: no cover - orjson bounds nesting itself; kept for safety
        raise PolicyError(name, "the document is nested too deeply") from None


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def scalar_text(value: object) -> str | None:
    """A JSON scalar as IAM reads it in a condition (true -> "true", 10 -> "10"); None if not a scalar."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if not value.is_integer() or abs(value) >= 1e16 else str(value)
    return None


def _strings(
    value: object, element: str, where: str, name: str, budget: _Budget, *, allow_empty: bool = False
) -> tuple[str, ...]:
    """A string-or-list-of-strings element (Action, Resource, principal values) as a tuple."""
    if isinstance(value, str):
        items: list[object] = [value]
    elif isinstance(value, list | tuple):
        items = list(value)
        if not items and not allow_empty:
            raise PolicyError(name, f"{where}: {element} must not be an empty list")
        if len(items) > MAX_ELEMENT_VALUES:
            raise PolicyError(name, f"{where}: {element} holds more than {MAX_ELEMENT_VALUES} values")
    else:
        raise PolicyError(
            name, f"{where}: {element} must be a string or a list of strings, not {_kind(value)}"
        )
    budget.spend(len(items), where)
    result: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise PolicyError(name, f"{where}: every {element} value must be a string, found {_kind(item)}")
        result.append(item)
    return tuple(result)


def _actions(
    value: object, element: str, where: str, name: str, budget: _Budget, warnings: list[str]
) -> tuple[str, ...]:
    actions = _strings(value, element, where, name, budget)
    for action in actions:
        if not action.strip():
            raise PolicyError(name, f"{where}: {element} holds an empty action name")
        if action == "*":
            continue
        service, colon, _ = action.partition(":")
        if not colon:
            # IAM rejects it; kept (it matches only itself) and reported by unknown_actions too.
            warnings.append(f"{where}: {element} {action!r} is not of the form service:action")
        elif "*" in service or "?" in service:
            warnings.append(f"{where}: {element} {action!r} has a wildcard in its service prefix")
    return actions


def _principals(
    value: object, element: str, where: str, name: str, budget: _Budget, warnings: list[str]
) -> Principals:
    if value == "*":
        return Principals(wildcard=True)
    if isinstance(value, str | list):
        # Not IAM's grammar ("*" or an object), but some tools write a bare ARN or list: read it as AWS.
        warnings.append(f'{where}: {element} should be "*" or an object; read as {{"AWS": {value!r}}}')
        value = {"AWS": value}
    if not isinstance(value, Mapping):
        raise PolicyError(name, f'{where}: {element} must be "*" or an object, not {_kind(value)}')
    if not value:
        raise PolicyError(name, f"{where}: {element} must name at least one principal")
    found: dict[str, tuple[str, ...]] = {}
    for kind, values in value.items():
        field_name = PRINCIPAL_KINDS.get(kind)
        if field_name is None:
            known = ", ".join(PRINCIPAL_KINDS)
            raise PolicyError(
                name, f"{where}: {element} has an unknown principal type {kind!r} (known: {known})"
            )
        found[field_name] = _strings(values, f"{element} {kind}", where, name, budget)
        for item in found[field_name]:
            if not item.strip():
                raise PolicyError(name, f"{where}: {element} {kind} holds an empty principal")
    return Principals(wildcard=False, **found)


def _conditions(
    value: object, where: str, name: str, budget: _Budget, warnings: list[str]
) -> tuple[ConditionTest, ...]:
    if not isinstance(value, Mapping):
        raise PolicyError(name, f"{where}: Condition must be an object, not {_kind(value)}")
    tests: list[ConditionTest] = []
    for operator, block in value.items():
        if not isinstance(operator, str) or not operator:
            raise PolicyError(name, f"{where}: a Condition operator must be a non-empty string")
        if not isinstance(block, Mapping):
            raise PolicyError(
                name, f"{where}: Condition operator {operator!r} must map keys to values, not {_kind(block)}"
            )
        if not block:
            raise PolicyError(name, f"{where}: Condition operator {operator!r} names no condition key")
        if not _operator_known(operator):
            warnings.append(f"{where}: unknown condition operator {operator!r} (it never matches)")
        for key, raw in block.items():
            if not isinstance(key, str) or not key:
                raise PolicyError(name, f"{where}: Condition operator {operator!r} has an empty key")
            items = list(raw) if isinstance(raw, list | tuple) else [raw]
            if len(items) > MAX_ELEMENT_VALUES:
                raise PolicyError(
                    name, f"{where}: Condition {operator} {key} holds more than {MAX_ELEMENT_VALUES} values"
                )
            budget.spend(len(items) + 1, where)
            values: list[str] = []
            for item in items:
                text = scalar_text(item)
                if text is None:
                    raise PolicyError(
                        name,
                        f"{where}: Condition {operator} {key} values must be strings, numbers or booleans,"
                        f" found {_kind(item)}",
                    )
                values.append(text)
            if not values:
                warnings.append(f"{where}: Condition {operator} {key} lists no values")
            tests.append(ConditionTest(operator=operator, key=key, values=tuple(values)))
    return tuple(tests)


def _operator_known(operator: str) -> bool:
    """True when `operator` is a documented operator, optionally with a set qualifier and IfExists."""
    known = _KNOWN_OPERATORS.get(operator)
    if known is None:
        from permscope.clouds.aws.engine.conditions import parse_operator  # conditions imports this module

        known = parse_operator(operator).known
        if len(_KNOWN_OPERATORS) >= _MAX_KNOWN_OPERATORS:
            _KNOWN_OPERATORS.clear()
        _KNOWN_OPERATORS[operator] = known
    return known


_KNOWN_OPERATORS: dict[str, bool] = {}
_MAX_KNOWN_OPERATORS = 4096


def _statement(raw: object, index: int, name: str, budget: _Budget, warnings: list[str]) -> Statement:
    where = _label(index, None)
    if not isinstance(raw, Mapping):
        raise PolicyError(name, f"{where}: a statement must be an object, not {_kind(raw)}")
    sid_raw = raw.get("Sid")
    if sid_raw is not None and not isinstance(sid_raw, str):
        raise PolicyError(name, f"{where}: Sid must be a string, not {_kind(sid_raw)}")
    sid = sid_raw or None
    where = _label(index, sid)
    for element in raw:
        if element not in STATEMENT_ELEMENTS:
            known = ", ".join(sorted(STATEMENT_ELEMENTS))
            raise PolicyError(name, f"{where}: unknown element {element!r} (elements are {known})")
    effect = raw.get("Effect")
    if effect is None:
        raise PolicyError(name, f"{where}: Effect is missing")
    if effect not in EFFECTS:
        raise PolicyError(name, f"{where}: Effect must be Allow or Deny, not {effect!r}")
    pairs = (("Action", "NotAction"), ("Resource", "NotResource"), ("Principal", "NotPrincipal"))
    for positive, negative in pairs:
        if positive in raw and negative in raw:
            raise PolicyError(name, f"{where}: a statement cannot have both {positive} and {negative}")
    if "Action" not in raw and "NotAction" not in raw:
        raise PolicyError(name, f"{where}: a statement needs Action or NotAction")
    actions = _actions(raw["Action"], "Action", where, name, budget, warnings) if "Action" in raw else None
    not_actions = (
        _actions(raw["NotAction"], "NotAction", where, name, budget, warnings) if "NotAction" in raw else None
    )
    resources = _strings(raw["Resource"], "Resource", where, name, budget) if "Resource" in raw else None
    not_resources = (
        _strings(raw["NotResource"], "NotResource", where, name, budget) if "NotResource" in raw else None
    )
    principal = (
        _principals(raw["Principal"], "Principal", where, name, budget, warnings)
        if "Principal" in raw
        else None
    )
    not_principal = (
        _principals(raw["NotPrincipal"], "NotPrincipal", where, name, budget, warnings)
        if "NotPrincipal" in raw
        else None
    )
    conditions = _conditions(raw["Condition"], where, name, budget, warnings) if "Condition" in raw else ()
    return Statement(
        index=index,
        sid=sid,
        effect=effect,
        actions=actions,
        not_actions=not_actions,
        resources=resources,
        not_resources=not_resources,
        principal=principal,
        not_principal=not_principal,
        conditions=conditions,
    )


# ------------------------------------------------------------------------------------ the common case, fast
# A statement written the usual way (plain strings, known elements and operators, nothing IAM would warn about)
# is read by the functions below without building error texts; anything else returns None and goes through
# `_statement`, which is the grammar's one definition and words every error and warning.


def _plain_strings(value: object) -> tuple[str, ...] | None:
    """A string, or a non-empty list of at most MAX_ELEMENT_VALUES strings, as a tuple; else None."""
    if type(value) is str:
        return (value,)
    if type(value) is not list or not value or len(value) > MAX_ELEMENT_VALUES:
        return None
    for item in value:
        if type(item) is not str:
            return None
    return tuple(value)


def _plain_actions(value: object) -> tuple[str, ...] | None:
    """`_plain_strings` of an Action / NotAction element whose every action is "*" or service:action with a
    service prefix free of wildcards (what `_actions` accepts without a warning); else None."""
    actions = _plain_strings(value)
    if actions is None:
        return None
    for action in actions:
        if action == "*":
            continue
        colon = action.find(":")
        if colon <= 0:
            return None
        service = action[:colon]
        if "*" in service or "?" in service:
            return None
    return actions


_WILDCARD = Principals(wildcard=True)


def _plain_principals(value: object) -> tuple[Principals, int] | None:
    """A Principal / NotPrincipal element ("*" or an object of known kinds) and its value count; else None."""
    if value == "*":
        return _WILDCARD, 0
    if type(value) is not dict or not value:
        return None
    found: dict[str, tuple[str, ...]] = {}
    count = 0
    for kind, values in value.items():
        field_name = PRINCIPAL_KINDS.get(kind)
        items = _plain_strings(values)
        if field_name is None or items is None:
            return None
        for item in items:
            if not item or item.isspace():
                return None
        found[field_name] = items
        count += len(items)
    return Principals(False, **found), count


def _plain_conditions(value: object) -> tuple[tuple[ConditionTest, ...], int] | None:
    """A Condition element of known operators, each key with at least one scalar value, and its budget cost."""
    if type(value) is not dict:
        return None
    tests: list[ConditionTest] = []
    count = 0
    for operator, block in value.items():
        if type(operator) is not str or type(block) is not dict or not block or not _operator_known(operator):
            return None
        for key, raw in block.items():
            if type(key) is not str or not key:
                return None
            if type(raw) is str:
                values: tuple[str, ...] = (raw,)
            elif type(raw) is list:
                if not raw or len(raw) > MAX_ELEMENT_VALUES:
                    return None
                texts = [item if type(item) is str else scalar_text(item) for item in raw]
                if None in texts:
                    return None
                values = tuple(texts)  # type: ignore[arg-type]  # no None left
            else:
                text = scalar_text(raw)
                if text is None:
                    return None
                values = (text,)
            count += len(values) + 1
            tests.append(ConditionTest(operator, key, values))
    return tuple(tests), count


def _plain_statement(raw: object, index: int, budget: _Budget) -> Statement | None:
    """`_statement` for a statement written the usual way (spending the same budget); None for anything else,
    with nothing spent."""
    if type(raw) is not dict or not STATEMENT_ELEMENTS.issuperset(raw):
        return None
    sid = raw.get("Sid")
    if sid is not None and type(sid) is not str:
        return None
    effect = raw.get("Effect")
    if effect != "Allow" and effect != "Deny":
        return None
    actions = not_actions = resources = not_resources = None
    if "Action" in raw:
        if "NotAction" in raw:
            return None
        actions = _plain_actions(raw["Action"])
        if actions is None:
            return None
        count = len(actions)
    elif "NotAction" in raw:
        not_actions = _plain_actions(raw["NotAction"])
        if not_actions is None:
            return None
        count = len(not_actions)
    else:
        return None
    if "Resource" in raw:
        if "NotResource" in raw:
            return None
        resources = _plain_strings(raw["Resource"])
        if resources is None:
            return None
        count += len(resources)
    elif "NotResource" in raw:
        not_resources = _plain_strings(raw["NotResource"])
        if not_resources is None:
            return None
        count += len(not_resources)
    principal = not_principal = None
    if "Principal" in raw or "NotPrincipal" in raw:
        if "Principal" in raw and "NotPrincipal" in raw:
            return None
        named = _plain_principals(raw["Principal"] if "Principal" in raw else raw["NotPrincipal"])
        if named is None:
            return None
        if "Principal" in raw:
            principal = named[0]
        else:
            not_principal = named[0]
        count += named[1]
    conditions: tuple[ConditionTest, ...] = ()
    if "Condition" in raw:
        block = _plain_conditions(raw["Condition"])
        if block is None:
            return None
        conditions = block[0]
        count += block[1]
    if count > budget.remaining:
        return None
    budget.remaining -= count
    return Statement(
        index, sid or None, effect, actions, not_actions, resources, not_resources, principal, not_principal,
        conditions,
    )  # fmt: skip


_IDENTITY_LIKE = frozenset({PolicyType.IDENTITY, PolicyType.BOUNDARY, PolicyType.SESSION})
_TRUST = PolicyType.TRUST  # enum members read through their class are slow on Python 3.11
_NEEDS_PRINCIPAL = frozenset({PolicyType.RESOURCE, PolicyType.TRUST})


def _placement_warnings(
    statements: tuple[Statement, ...], policy_type: PolicyType, version: str | None, warnings: list[str]
) -> None:
    """Problems IAM would reject or that change meaning where the policy is attached (kept, not fatal)."""
    if version is None and any("${" in text for text in _texts(statements)):
        warnings.append(
            "no Version: ${...} is literal text, not a policy variable (Version 2008-10-17 rules)"
        )
    seen_sids: set[str] = set()
    identity_like = policy_type in _IDENTITY_LIKE
    needs_principal = policy_type in _NEEDS_PRINCIPAL
    for statement in statements:
        if statement.sid is not None:
            if statement.sid in seen_sids:
                warnings.append(
                    f"{statement.label()}: Sid {statement.sid!r} is used by an earlier statement too"
                )
            seen_sids.add(statement.sid)
        has_principal = statement.principal is not None or statement.not_principal is not None
        if identity_like and has_principal:
            warnings.append(
                f"{statement.label()}: IAM does not accept Principal or NotPrincipal in {policy_type} policies"
            )
        if needs_principal and not has_principal:
            warnings.append(
                f"{statement.label()}: statements of {policy_type} policies need Principal or NotPrincipal"
            )
        if policy_type is not _TRUST and statement.resources is None and statement.not_resources is None:
            warnings.append(f"{statement.label()}: names neither Resource nor NotResource (IAM requires one)")


def _texts(statements: tuple[Statement, ...]) -> list[str]:
    texts: list[str] = []
    for statement in statements:
        texts.extend(statement.resources or ())
        texts.extend(statement.not_resources or ())
        for test in statement.conditions:
            texts.extend(test.values)
    return texts


def parse_policy(document: object, *, name: str, policy_type: PolicyType) -> PolicyDocument:
    """Parse and validate a policy (a dict, JSON text or URL-encoded JSON); PolicyError names the statement.

    Within an analysis session (`core.sessions`), a dict document is parsed once per content and policy type:
    a later parse of the same content gets the first one's statements under its own name (a scan reads each
    document at import, for effective permissions and for escalation)."""
    shared: dict[tuple[bytes, PolicyType], PolicyDocument | str] | None = session_cache(SESSION_CACHE)
    if shared is None or type(document) is not dict:
        return _parse_policy(document, name, policy_type)
    try:
        key = (orjson.dumps(document), policy_type)
    except TypeError:  # orjson.JSONEncodeError: not JSON, parsed (and refused) as it is
        return _parse_policy(document, name, policy_type)
    found = shared.get(key)
    if found is None:
        try:
            found = _parse_policy(document, name, policy_type)
        except PolicyError as error:
            found = error.problem
        shared[key] = found
    if isinstance(found, str):
        raise PolicyError(name, found)
    if found.name == name:
        return found
    return PolicyDocument(name, policy_type, found.version, found.statements, found.warnings, found.policy_id)


def _parse_policy(document: object, name: str, policy_type: PolicyType) -> PolicyDocument:
    raw = document if type(document) is dict else _load(document, name)
    if type(raw) is not dict and not isinstance(raw, Mapping):
        raise PolicyError(name, f"a policy document must be a JSON object, not {_kind(raw)}")
    if not DOCUMENT_ELEMENTS.issuperset(raw):
        for element in raw:
            if element not in DOCUMENT_ELEMENTS:
                raise PolicyError(
                    name, f"unknown top-level element {element!r} (elements are Version, Id, Statement)"
                )
    version = raw.get("Version")
    if version is not None and version not in VERSIONS:
        raise PolicyError(name, f"Version must be {VERSION_CURRENT} or {VERSION_LEGACY}, not {version!r}")
    policy_id = raw.get("Id")
    if policy_id is not None and not isinstance(policy_id, str):
        raise PolicyError(name, f"Id must be a string, not {_kind(policy_id)}")
    if "Statement" not in raw:
        raise PolicyError(name, "Statement is missing")
    body = raw["Statement"]
    if type(body) is list:
        items = body
    else:
        items = [body] if type(body) is dict or isinstance(body, Mapping) else body
    if not isinstance(items, list | tuple):
        raise PolicyError(name, f"Statement must be an object or a list of objects, not {_kind(body)}")
    if len(items) > MAX_STATEMENTS:
        raise PolicyError(name, f"the document holds more than {MAX_STATEMENTS} statements")
    budget = _Budget(name)
    warnings: list[str] = []
    parsed: list[Statement] = []
    for index, item in enumerate(items):
        parsed.append(
            _plain_statement(item, index, budget) or _statement(item, index, name, budget, warnings)
        )
    statements = tuple(parsed)
    _placement_warnings(statements, policy_type, version, warnings)
    return PolicyDocument(
        name=name,
        policy_type=policy_type,
        version=version,
        statements=statements,
        warnings=tuple(warnings),
        policy_id=policy_id,
    )
