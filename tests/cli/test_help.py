"""Help pages a new user reads: every command's --help, plain value labels, --version."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import version
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from permscope.cli.help import plain_label
from permscope.cli.main import app

# Typer's raw type labels: <bool>, <str>, <int range>, <list[Path]>, <table|json|csv>, ...
RAW_LABEL = re.compile(
    r"<(?:bool|str|int|float|path|file|datetime|list\[[^>]*\]|[a-z ]+ range|[\w-]+(?:\|[\w-]+)+)>"
)


def _paths(command: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield prefix
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from _paths(sub, (*prefix, name))


COMMANDS = list(_paths(typer.main.get_command(app)))


def test_every_command_is_listed() -> None:
    names = {" ".join(path) for path in COMMANDS}
    assert {"scan", "import aws", "findings list", "systems list", "simulate aws", "demo"} <= names
    for cloud in ("aws", "azure", "gcp"):  # the three clouds: inventory, activity, live collection, engine
        assert {
            f"import {cloud}",
            f"import {cloud}-activity",
            f"collect {cloud}",
            f"simulate {cloud}",
        } <= names


@pytest.mark.parametrize("group", ["import", "collect"])
def test_group_help_lists_each_cloud(group: str) -> None:
    result = CliRunner().invoke(app, [group, "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    listed = {
        line.split()[1] for line in result.output.splitlines() if line.startswith("│ ") and line.split()[1:]
    }
    assert {"aws", "azure", "gcp"} <= listed, result.output


@pytest.mark.parametrize("path", COMMANDS, ids=lambda path: " ".join(path) or "permscope")
def test_help_has_no_raw_type_labels(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    found = RAW_LABEL.findall(result.output)
    assert not found, f"{' '.join(path)} --help shows {found}"
    assert "--help" in result.output


def test_entry_points_of_their_own_have_plain_help_too() -> None:
    """`permscope scan` and `permscope simulate` start their own small apps (cli/entry.py)."""
    for args in (["scan", "--help"], ["simulate", "aws", "--help"]):
        probe = f"import sys; sys.argv = ['permscope', *{args!r}]; from permscope.cli.entry import run; run()"
        done = subprocess.run(
            [sys.executable, "-c", probe],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={**os.environ, "COLUMNS": "100"},
        )
        assert done.returncode == 0, done.stderr
        assert not RAW_LABEL.findall(done.stdout), done.stdout


def test_import_format_lists_every_format() -> None:
    result = CliRunner().invoke(app, ["import", "aws", "--help"], env={"COLUMNS": "200"})
    line = next(line for line in result.output.splitlines() if "--format" in line)
    assert "table|json|csv" in line and "table, json or csv" in line


def test_labels() -> None:
    assert plain_label("<bool>") is None
    assert plain_label("<list[Path]>") == "PATH"
    assert plain_label("<list[Path]>", many=True) == "PATH..."
    assert plain_label("<int range>") == "INTEGER"
    assert plain_label("<table|json|csv>") == "table|json|csv"
    assert plain_label("<str>") == "TEXT"


def test_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"permscope {version('permscope')}"
