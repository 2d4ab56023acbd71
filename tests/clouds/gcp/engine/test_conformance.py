"""Every visible GCP IAM conformance case (../shared/data/conformance/gcp_iam_cases.jsonl) decided as expected,
each decision explained by what made it."""

from __future__ import annotations

import json
from pathlib import Path

from permscope.clouds.gcp.engine.simulate import simulate_case, simulate_line_json


def test_every_visible_case_is_decided_as_expected(shared_dir: Path) -> None:
    lines = (shared_dir / "data" / "conformance" / "gcp_iam_cases.jsonl").read_bytes().splitlines()
    assert len(lines) > 300
    wrong = []
    for number, line in enumerate(lines, start=1):
        case = json.loads(line)
        answer = json.loads(simulate_line_json(line, f"cases:{number}"))
        assert answer == simulate_case(case, source=f"cases:{number}")  # the text and the data paths agree
        if answer["decision"] != case["expected"]["decision"]:
            wrong.append((case["id"], answer["decision"], answer["explanation"]["summary"]))
        explanation = answer["explanation"]
        if answer["decision"] == "Denied":
            assert explanation["denied_by"], case["id"]
        elif answer["decision"] == "Allowed":
            assert explanation["granted_by"] and not explanation["denied_by"], case["id"]
        else:
            assert not explanation["granted_by"] and not explanation["denied_by"], case["id"]
    assert wrong == []
