"""Loads the shared AWS evaluation cases (cloud-copilot/iam-simulate fixtures, AGPL-3.0: test input only)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest

CASES_FILE = (
    Path(__file__).resolve().parents[3].parent / "shared" / "data" / "conformance" / "aws_eval_cases.jsonl"
)


@lru_cache(maxsize=1)
def _all_cases() -> tuple[dict[str, Any], ...]:
    if not CASES_FILE.is_file():
        return ()
    with CASES_FILE.open(encoding="utf-8") as handle:
        return tuple(json.loads(line) for line in handle if line.strip())


def case_key(case: dict[str, Any]) -> str:
    """A unique test id: the case id, plus its source file when the id is not unique."""
    same_id = [c for c in _all_cases() if c["id"] == case["id"]]
    if len(same_id) == 1:
        return str(case["id"])
    return f"{case['id']}@{Path(case['source']['path']).name}"


def suite_params(suite: str) -> list[Any]:
    """pytest params (one per case of `suite`, id = case key); one skipped placeholder without the data."""
    cases = [case for case in _all_cases() if case["suite"] == suite]
    if not cases:
        return [pytest.param(None, id="shared-data-absent")]
    return [pytest.param(case_key(case), id=case_key(case)) for case in cases]


def load_case(shared_dir: Path, key: str | None) -> dict[str, Any]:
    """The case with test id `key`, read from `shared_dir` (the fixture skips when the data is absent)."""
    assert key is not None, f"{shared_dir} has data but no cases were collected"
    for case in _all_cases():
        if case_key(case) == key:
            return case
    raise AssertionError(f"case {key} not found in {CASES_FILE}")
