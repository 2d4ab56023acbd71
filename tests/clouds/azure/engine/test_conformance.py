"""Every visible Azure RBAC conformance case (../shared/data/conformance/azure_rbac_cases.jsonl: hand-written
cases after Microsoft's documented rules and examples, and generated ones; built-in roles from iann0036/iam-dataset,
MIT) through the batch simulator: every decision as expected, and the assignments named as the explanation."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import orjson

from permscope.core.ids import Cloud
from permscope.workflows.simulation import simulate_lines_json


def test_every_visible_case_is_decided_as_expected(shared_dir: Path) -> None:
    path = shared_dir / "data" / "conformance" / "azure_rbac_cases.jsonl"
    lines = path.read_bytes().splitlines()
    cases = [orjson.loads(line) for line in lines if line.strip()]
    answers = [orjson.loads(line) for line in simulate_lines_json(lines, str(path), cloud=Cloud.AZURE)]
    assert len(answers) == len(cases) >= 467
    assert [answer["id"] for answer in answers] == [case["id"] for case in cases]
    wrong = [
        (case["id"], case["expected"]["decision"], answer["decision"])
        for case, answer in zip(cases, answers, strict=True)
        if answer["decision"] != case["expected"]["decision"]
    ]
    assert wrong == []
    assert Counter(answer["decision"] for answer in answers) == Counter(
        case["expected"]["decision"] for case in cases
    )


def test_the_explanations_name_the_expected_assignments(shared_dir: Path) -> None:
    """The ids are informative in the file; the engine names the same granting and denying assignments."""
    path = shared_dir / "data" / "conformance" / "azure_rbac_cases.jsonl"
    lines = path.read_bytes().splitlines()
    cases = [orjson.loads(line) for line in lines if line.strip()]
    answers = [orjson.loads(line) for line in simulate_lines_json(lines, str(path), cloud=Cloud.AZURE)]
    differing = []
    for case, answer in zip(cases, answers, strict=True):
        expected, explanation = case["expected"], answer["explanation"]
        for key in ("role_assignment_ids", "deny_assignment_ids"):
            if key in expected and sorted(expected[key]) != sorted(explanation[key]):
                differing.append((case["id"], key))
    assert differing == []
