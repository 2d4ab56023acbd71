"""docs/azure-export.sh: only GET requests, every part's file, and run against the recorded tenant (through a
stand-in `az`) it writes the same bundle as the live collector reads."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from clouds.azure.collect.conftest import Recorded
from permscope.clouds.azure.raw import PART_FILES, PARTS

REPO = Path(__file__).parents[4]
SCRIPT = REPO / "docs" / "azure-export.sh"
HERE = Path(__file__).parent
EXPORT = HERE.parent / "data" / "export-small"


def _commands(text: str) -> list[str]:
    """The script's `az` invocations (comments aside)."""
    code = "\n".join(
        line.split("#", 1)[0] if line.lstrip().startswith("#") else line for line in text.splitlines()
    )
    return re.findall(r"(?<![\w-])az\s+[^\n|;)]*", code)


def test_the_script_only_gets() -> None:
    text = SCRIPT.read_text()
    assert text.startswith("#!/usr/bin/env bash\n") and "set -euo pipefail" in text
    assert os.access(SCRIPT, os.X_OK)
    commands = _commands(text)
    assert commands, "no az command found"
    for command in commands:
        assert command.startswith(("az rest --method get ", "az account show ")), command
    assert not re.search(r"--method\s+(?!get\b)", text, re.IGNORECASE)
    assert not re.search(r"--body|--data|\bcurl\b|\bwget\b", text)


def test_the_script_names_every_part_file() -> None:
    text = SCRIPT.read_text()
    for part, name in PART_FILES.items():
        if part == "tenant":
            assert '"$OUT/tenant.json"' in text
        else:
            assert re.search(rf"^write {part} {name}\b", text, re.MULTILINE), part


def _flat(part: str, data: Any) -> Any:
    """A part file's items (a JSON list, or a list of REST pages)."""
    if part == "tenant":
        return data
    if data and all(
        isinstance(page, dict) and set(page) <= {"value", "nextLink", "@odata.nextLink"} for page in data
    ):
        return [item for page in data for item in page["value"]]
    return data


def _canonical(items: Any) -> Any:
    if isinstance(items, list):
        return sorted(json.dumps(item, sort_keys=True) for item in items)
    return json.dumps(items, sort_keys=True)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("jq") is None or shutil.which("bash") is None, reason="needs bash and jq")
def test_the_script_exports_what_the_collector_reads(tmp_path: Path, recorded: Recorded) -> None:
    tools = tmp_path / "bin"
    tools.mkdir()
    fake = tools / "az"
    fake.write_text(f'#!/bin/sh\nexec {sys.executable} {HERE / "fake_az.py"} "$@"\n')
    fake.chmod(0o755)
    out = tmp_path / "export"
    env = {**os.environ, "PATH": f"{tools}:{os.environ['PATH']}", "FAKE_AZ_LOG": str(tmp_path / "az.log")}
    done = subprocess.run(
        ["bash", str(SCRIPT), str(out)], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    calls = [json.loads(line) for line in (tmp_path / "az.log").read_text().splitlines()]
    assert all(call[:3] == ["rest", "--method", "get"] for call in calls)
    live = recorded.collect()
    assert {path.name for path in out.iterdir()} == {f"{name}.json" for name in PART_FILES.values()}
    for part in PARTS:
        written = _flat(part, json.loads((out / f"{PART_FILES[part]}.json").read_text()))
        shipped = _flat(part, json.loads((EXPORT / f"{PART_FILES[part]}.json").read_text()))
        if part == "errors":
            pairs = {(e["scope"], e["part"]) for e in live[part]}
            assert {(e["scope"], e["part"]) for e in written} == pairs
            assert {(e["scope"], e["part"]) for e in shipped} == pairs
            assert all(e["error"] for e in written)
        else:
            assert _canonical(written) == _canonical(live[part]), part
            assert _canonical(shipped) == _canonical(live[part]), part
