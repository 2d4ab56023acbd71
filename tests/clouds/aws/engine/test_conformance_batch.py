"""The whole shared conformance file through the batch simulator: every suite answered, every answer as expected
except the cases the engine's conformance tests list as disputed with the AWS documentation."""

from __future__ import annotations

from pathlib import Path

import orjson

from clouds.aws.conformance_cases import case_key
from permscope.workflows.simulation import simulate_lines_json

from .test_conformance_conditions import DISPUTED as DISPUTED_OPERATORS
from .test_conformance_evaluate import DISPUTED as DISPUTED_DECISIONS
from .test_conformance_resources import DISPUTED as DISPUTED_RESOURCES

DISPUTED = {**DISPUTED_OPERATORS, **DISPUTED_DECISIONS, **DISPUTED_RESOURCES}


def _agrees(case: dict[str, object], answer: dict[str, object]) -> bool:
    expected = case["expected"]
    assert isinstance(expected, dict)
    if case["suite"] == "condition_operator":
        per_value = [entry["matches"] for entry in answer.get("per_value", [])]  # type: ignore[attr-defined]
        wanted = [entry["matches"] for entry in expected.get("per_value", [])]
        return bool(answer["matches"] is expected["matches"] and (not wanted or per_value == wanted))
    if case["suite"] == "resource_match":
        per_value = [entry["matches"] for entry in answer["per_value"]]  # type: ignore[attr-defined]
        return bool(
            answer["statement_matches"] is expected["statement_matches"]
            and per_value == [entry["matches"] for entry in expected["per_value"]]
        )
    return bool(answer["decision"] == expected["decision"])


def test_every_case_of_the_shared_file_is_answered_as_expected(shared_dir: Path) -> None:
    path = shared_dir / "data" / "conformance" / "aws_eval_cases.jsonl"
    lines = path.read_bytes().splitlines()
    answers = [orjson.loads(line) for line in simulate_lines_json(lines, str(path))]
    cases = [orjson.loads(line) for line in lines if line.strip()]
    assert len(answers) == len(cases) == 560
    disagreements = {
        case_key(case) for case, answer in zip(cases, answers, strict=True) if not _agrees(case, answer)
    }
    assert [answer["id"] for answer in answers] == [case["id"] for case in cases]
    assert disagreements == set(DISPUTED)
