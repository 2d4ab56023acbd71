"""Command-line values turned into Python values without pydantic, where that gives what Typer would give.

Typer 0.29 and later coerce every parameter through a pydantic `TypeAdapter`: the first option a command
reads imports pydantic and builds adapters, about a fifth of a second of CPU before `permscope simulate` or
`permscope scan` does any work. Most of our parameters are text, flags, paths, choices and plain numbers,
which need none of it: `plain_runtime` coerces those as Typer's adapters do (choices and paths through
Typer's own `coerce_cli_choice` and `coerce_cli_path`, text and flags as they are, integers and decimals
written plainly, within the parameter's bounds) and hands every other value, and every wrong one, to Typer's
own coercion, so an answer and an error message are always Typer's. Older Typer (before `typer._coercion`)
parses with click and needs none of this.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

try:  # Typer 0.29+: coercion through pydantic, which this module avoids where it can
    from typer._click.exceptions import BadParameter
    from typer._coercion import RuntimeParam, TypeDescriptor, build_runtime_param
    from typer._param_types import coerce_cli_choice, coerce_cli_path, lenient_issubclass, routes_to_path
except ImportError:  # pragma: no cover - older Typer: click's own types, no pydantic
    RuntimeParam = None  # type: ignore[assignment,misc]

INTEGER = re.compile(r"-?[0-9]{1,18}")  # what int() and pydantic read alike (no sign +, no _, no spaces)
DECIMAL = re.compile(r"-?[0-9]{1,15}(\.[0-9]{1,15})?")

Leaf = Callable[[Any, Any, Any], Any]  # (value, param, ctx) -> the coerced value, or raises _UndecidedError


class _UndecidedError(Exception):
    """The value is not one this module coerces: Typer's own coercion decides it."""


def _text(value: Any, param: Any, ctx: Any) -> Any:
    if isinstance(value, str):
        return value
    raise _UndecidedError


def _flag(value: Any, param: Any, ctx: Any) -> Any:
    if isinstance(value, bool):
        return value
    raise _UndecidedError


def _integer(value: Any, param: Any, ctx: Any) -> Any:
    if type(value) is int:
        return value
    if isinstance(value, str) and INTEGER.fullmatch(value):
        return int(value)
    raise _UndecidedError


def _decimal(value: Any, param: Any, ctx: Any) -> Any:
    if type(value) is float:
        return value
    if isinstance(value, str) and DECIMAL.fullmatch(value):
        return float(value)
    raise _UndecidedError


def _bounded(number: Leaf, least: float | None, most: float | None) -> Leaf:
    """A number within [least, most]; one outside is Typer's to refuse."""

    def coerce(value: Any, param: Any, ctx: Any) -> Any:
        coerced = number(value, param, ctx)
        if (least is not None and coerced < least) or (most is not None and coerced > most):
            raise _UndecidedError
        return coerced

    return coerce


def _choice(choices: tuple[Any, ...], case_sensitive: bool) -> Leaf:
    def coerce(value: Any, param: Any, ctx: Any) -> Any:
        return coerce_cli_choice(value, choices=choices, case_sensitive=case_sensitive, ctx=ctx)

    return coerce


def _path(leaf: Any, info: Any) -> Leaf:
    path_type = info.path_type
    if path_type is None and lenient_issubclass(leaf, Path):
        path_type = leaf

    def coerce(value: Any, param: Any, ctx: Any) -> Any:
        if lenient_issubclass(path_type, Path) and not isinstance(value, path_type):
            if not isinstance(value, str) or not value:
                raise _UndecidedError
            value = path_type(value)  # what pydantic's Path validation makes of a non-empty string
        return coerce_cli_path(value, info, path_type=path_type, param=param, ctx=ctx)

    return coerce


def _leaf_coercion(descriptor: Any, leaf: Any) -> Leaf | None:
    """How to coerce one value of type `leaf` as Typer's adapters do, or None when only Typer knows."""
    info = descriptor.parameter_info
    if info.parser is not None:
        return None
    if descriptor.choices is not None:
        return _choice(tuple(descriptor.choices), descriptor.case_sensitive)
    if routes_to_path(leaf, info):
        return _path(leaf, info)
    if leaf is str:
        return _text
    if leaf is bool:
        return _flag
    if leaf is int or leaf is float:
        if info.clamp:
            return None
        number = _integer if leaf is int else _decimal
        if info.min is None and info.max is None:
            return number
        return _bounded(number, info.min, info.max)
    return None


if RuntimeParam is not None:

    @dataclass(frozen=True)
    class _PlainRuntimeParam(RuntimeParam):
        """Typer's runtime coercion of one parameter, done here when it can be, else by Typer."""

        descriptor: TypeDescriptor
        leaf_coercion: Leaf
        many: bool

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            try:
                if not self.many:
                    return self.leaf_coercion(value, param, ctx)
                items = value if isinstance(value, (list, tuple)) else [value]
                return [self.leaf_coercion(item, param, ctx) for item in items]
            except (_UndecidedError, ValueError, BadParameter):
                # Typer decides (and words the error): the same answer, through pydantic
                typer_own = build_runtime_param(self.descriptor)
                return typer_own._coerce_value(value, param=param, ctx=ctx)


def plain_runtime(descriptor: Any) -> Any:
    """A runtime coercion for Typer's parameter `descriptor` that needs no pydantic, or None (Typer's own then)."""
    if RuntimeParam is None or descriptor.file_annotation is not None:
        return None
    annotation = descriptor.annotation
    many = descriptor.is_list
    if many:
        (leaf,) = getattr(annotation, "__args__", (None,))
    elif descriptor.is_tuple:
        return None
    else:
        leaf = annotation
    coerce = _leaf_coercion(descriptor, leaf)
    if coerce is None:
        return None
    return _PlainRuntimeParam(
        parameter_info=descriptor.parameter_info,
        annotation=annotation,
        descriptor=descriptor,
        leaf_coercion=coerce,
        many=many,
    )
