"""Values coerced without pydantic (permscope.cli.coercion) are exactly what Typer's own coercion makes of them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
import typer
from typer._click import Context
from typer._click.exceptions import BadParameter
from typer._coercion import build_runtime_param
from typer.core import TyperArgument, TyperOption

from permscope.cli.coercion import plain_runtime
from permscope.cli.main import app

TEXT = ["", "abc", " a b ", "-", "--x", "é", "a\\b"]
INTEGERS = ["0", "7", "007", "-3", "+3", " 5", "5 ", "1_000", "1e3", "abc", "", "1.0", "99999999999999999999"]
DECIMALS = ["0.5", "1", "-0.25", ".5", "1.", "1e-3", "nan", "inf", "", "x", "0.1234567890123456"]
PATHS = ["-", "a/b", "~", "/nonexistent/x", ".", "a b", "/"]
FLAGS = [True, False, "true", "1", "no", ""]


def _parameters(command: Any, ctx: Context) -> Iterator[tuple[Context, Any]]:
    for param in command.params:
        if isinstance(param, (TyperOption, TyperArgument)):
            yield ctx, param
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from _parameters(sub, Context(sub, info_name=name, parent=ctx))


ROOT = typer.main.get_command(app)
EVERY_PARAMETER = list(_parameters(ROOT, Context(ROOT, info_name="permscope")))
PARAMETERS = [
    (ctx, param) for ctx, param in EVERY_PARAMETER if plain_runtime(param.type_descriptor) is not None
]


def _outcome(runtime: Any, value: Any, param: Any, ctx: Context) -> tuple[str, Any]:
    try:
        coerced = runtime.coerce(value, param=param, ctx=ctx)
    except BadParameter as refused:
        return "refused", refused.format_message()
    return type(coerced).__name__, repr(coerced)  # repr: nan is not equal to itself


def _samples(param: Any, tmp_path: Path) -> list[Any]:
    descriptor = param.type_descriptor
    leaf = descriptor.annotation
    if descriptor.is_list:
        (leaf,) = leaf.__args__
    samples: list[Any] = [None]
    if isinstance(leaf, type) and issubclass(leaf, Enum):
        for member in leaf:
            samples += [member, member.value, str(member.value).upper(), f" {member.value}"]
        samples += ["bogus", ""]
    elif leaf is int:
        samples += [*INTEGERS, 5, param.default]
    elif leaf is float:
        samples += [*DECIMALS, 0.5, 1, param.default]
    elif leaf is bool:
        samples += FLAGS
    elif isinstance(leaf, type) and issubclass(leaf, Path):
        folder, file = tmp_path / "folder", tmp_path / "file.json"
        folder.mkdir(exist_ok=True)
        file.write_text("{}")
        samples += [*PATHS, str(folder), str(file), file, ""]
    else:
        samples += TEXT
    if descriptor.is_list:
        samples = [[item] for item in samples if item is not None] + [samples[1:3], ()]
    return samples


def test_only_dates_are_left_to_typer() -> None:
    covered = {param.name for _, param in PARAMETERS}
    assert {"files", "fmt", "output", "fail_on", "window_days", "overprovisioned_ratio", "batch"} <= covered
    assert {"file", "principal", "action", "resource", "context"} <= covered
    left = {param.type_descriptor.annotation for _, param in EVERY_PARAMETER} - {
        param.type_descriptor.annotation for _, param in PARAMETERS
    }
    assert left == {datetime}


@pytest.mark.parametrize(
    "ctx, param", [pytest.param(*pair, id=f"{pair[0].command_path} {pair[1].name}") for pair in PARAMETERS]
)
def test_every_value_is_coerced_as_typer_coerces_it(ctx: Context, param: Any, tmp_path: Path) -> None:
    plain = plain_runtime(param.type_descriptor)
    typer_own = build_runtime_param(param.type_descriptor)
    for value in _samples(param, tmp_path):
        assert _outcome(plain, value, param, ctx) == _outcome(typer_own, value, param, ctx), (
            param.name,
            value,
        )
