"""A request's condition keys and the policy variables (${...}) substituted from them."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import TypeAlias

from permscope.core.errors import InputError

# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
Scalar: TypeAlias = str | bool | int | float
ContextValue: TypeAlias = Scalar | Sequence[Scalar]

_VARIABLE = re.compile(r"\$\{([^{}]*)\}")
_WITH_DEFAULT = re.compile(r"^\s*([^,\s][^,]*?)\s*,\s*'([^']*)'\s*$")
_SPECIAL = {"*": "*", "?": "?", "$": "$"}  # ${*}, ${?}, ${$}: the literal character, never a wildcard


def _text(value: object, key: str) -> str:
    """A context scalar as IAM reads it: true -> "true", 10 -> "10"."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    raise InputError(
        "request context", f"key {key!r}: values must be strings, numbers or booleans, not {value!r}"
    )


class RequestContext:
    """The condition keys of one request; keys are looked up case-insensitively, as IAM does."""

    __slots__ = ("_names", "_values")

    def __init__(self, values: Mapping[str, ContextValue] | None = None) -> None:
        self._values: dict[str, str | list[str]] = {}
        self._names: dict[str, str] = {}
        for key, value in (values or {}).items():
            if not isinstance(key, str) or not key:
                raise InputError("request context", f"every key must be a non-empty string, not {key!r}")
            folded = key.lower()
            self._names[folded] = key
            if isinstance(value, str | bool | int | float):
                self._values[folded] = _text(value, key)
            elif isinstance(value, Sequence):
                self._values[folded] = [_text(item, key) for item in value]
            else:
                raise InputError("request context", f"key {key!r}: unsupported value {value!r}")

    def get(self, key: str) -> str | list[str] | None:
        """The key's value (a list for a multivalued key), None when the request does not carry it."""
        return self._values.get(key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._values

    def __iter__(self) -> Iterator[str]:
        return iter(self._names.values())

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"RequestContext({ {self._names[k]: v for k, v in self._values.items()}!r})"

    def items(self) -> Iterator[tuple[str, str | list[str]]]:
        """(key as written, value) pairs."""
        for folded, value in self._values.items():
            yield self._names[folded], value

    def with_values(self, extra: Mapping[str, ContextValue]) -> RequestContext:
        """A copy with `extra` keys added or replaced."""
        merged: dict[str, ContextValue] = {}
        for key, value in self.items():
            merged[key] = value
        for key in extra:
            for existing in [k for k in merged if k.lower() == key.lower()]:
                del merged[existing]
        merged.update(extra)
        return RequestContext(merged)


EMPTY_CONTEXT = RequestContext()


def _resolve(body: str, context: RequestContext | None) -> str | None:
    """The value of one ${...} body, or None when it has no single value and no default."""
    name = body.strip()
    if name in _SPECIAL:
        return _SPECIAL[name]
    default: str | None = None
    if "," in name:
        shape = _WITH_DEFAULT.match(name)
        if shape is None:
            return None
        name, default = shape.group(1), shape.group(2)
    value = context.get(name) if context is not None else None
    # A multivalued key cannot be a policy variable: it resolves like a missing one.
    return value if isinstance(value, str) else default


def has_variables(text: str) -> bool:
    """True when `text` holds a ${...} policy variable."""
    return "${" in text and _VARIABLE.search(text) is not None


def substitute_variables(text: str, context: RequestContext | None) -> str | None:
    """`text` with its policy variables replaced; None when one has no value and no default."""
    if "${" not in text:
        return text
    pieces: list[str] = []
    position = 0
    for found in _VARIABLE.finditer(text):
        value = _resolve(found.group(1), context)
        if value is None:
            return None
        pieces.append(text[position : found.start()])
        pieces.append(value)
        position = found.end()
    pieces.append(text[position:])
    return "".join(pieces)


def escape_glob(text: str) -> str:
    """`text` as a glob that matches only itself (backslash-escapes \\, * and ?)."""
    if "\\" not in text and "*" not in text and "?" not in text:
        return text
    return text.replace("\\", "\\\\").replace("*", "\\*").replace("?", "\\?")


def glob_from_policy(text: str, context: RequestContext | None, *, variables: bool = True) -> str | None:
    """A policy value as an escaped glob: its own * and ? stay wildcards, substituted text is literal.

    None when a variable has no value and no default (the value then matches nothing). With
    `variables=False` (policy Version 2008-10-17 or none) `${...}` is literal text.
    """
    if not variables or "${" not in text:
        return text.replace("\\", "\\\\") if "\\" in text else text
    pieces: list[str] = []
    position = 0
    for found in _VARIABLE.finditer(text):
        value = _resolve(found.group(1), context)
        if value is None:
            return None
        literal = text[position : found.start()]
        pieces.append(literal.replace("\\", "\\\\"))
        pieces.append(escape_glob(value))
        position = found.end()
    pieces.append(text[position:].replace("\\", "\\\\"))
    return "".join(pieces)
