"""Simulating cases from text: one JSON document or JSON lines, and where errors point."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest

from permscope.core.errors import InputError
from permscope.workflows.simulation import simulate_document, simulate_lines, simulate_lines_json

ACCOUNT = "111111111111"


def case(case_id: str, action: str = "s3:GetObject") -> dict[str, Any]:
    """A case where alice holds s3:GetObject on everything."""
    return {
        "id": case_id,
        "name": f"case {case_id}",
        "request": {
            "principal": f"arn:aws:iam::{ACCOUNT}:user/alice",
            "action": action,
            "resource": "arn:aws:s3:::reports/q1.csv",
            "resource_account": ACCOUNT,
        },
        "policies": {
            "identity": [
                {
                    "name": "reader",
                    "document": {
                        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]
                    },
                }
            ]
        },
    }


def test_document_over_many_lines() -> None:
    outcome = simulate_document("\n\n" + json.dumps(case("a"), indent=2), "case.json")
    assert outcome.result["decision"] == "Allowed" and outcome.result["id"] == "a"
    assert outcome.name == "case a" and outcome.action == "s3:GetObject"
    assert outcome.principal.endswith(":user/alice")


def test_document_errors_point_at_the_line() -> None:
    broken = case("a")
    broken["request"]["action"] = "GetObject"
    with pytest.raises(InputError) as raised:
        simulate_document("\n\n" + json.dumps(broken, indent=2), "case.json")
    assert raised.value.source == "case.json:3" and "request.action" in raised.value.problem
    with pytest.raises(InputError) as raised:
        simulate_document('{\n  "id": "x",\n  "request": {,\n}', "case.json")
    assert raised.value.source == "case.json:3" and "not valid JSON" in raised.value.problem
    with pytest.raises(InputError) as raised:
        simulate_document("  \n", "case.json")
    assert raised.value.problem == "no case: the input is empty"
    with pytest.raises(InputError) as raised:
        simulate_document("[1, 2]", "case.json")
    assert raised.value.problem == "a case must be a JSON object"


def test_lines_in_order_blank_lines_skipped() -> None:
    lines = [json.dumps(case("a")), "", json.dumps(case("b", "s3:PutObject")).encode()]
    outcomes = list(simulate_lines(lines, "batch.jsonl"))
    assert [(o.result["id"], o.result["decision"]) for o in outcomes] == [
        ("a", "Allowed"),
        ("b", "ImplicitlyDenied"),
    ]
    encoded = [orjson.loads(line) for line in simulate_lines_json(lines, "batch.jsonl")]
    assert encoded == [o.result for o in outcomes]


def test_lines_stop_at_the_first_bad_line_and_name_it() -> None:
    bad = case("b")
    bad["policies"]["identity"][0]["document"]["Statement"][0]["Effect"] = "Maybe"
    lines = [json.dumps(case("a")), "", json.dumps(bad), json.dumps(case("c"))]
    answers = simulate_lines_json(lines, "batch.jsonl")
    assert orjson.loads(next(answers))["id"] == "a"
    with pytest.raises(InputError) as raised:
        next(answers)
    assert raised.value.source == "batch.jsonl:3"
    assert (
        "policies.identity[0].document (reader): statement 1: Effect must be Allow or Deny"
        in raised.value.problem
    )


def _nested(depth: int) -> object:
    value: object = "deep"
    for _ in range(depth):
        value = [value]
    return value


def _unfit_lines() -> list[tuple[str, bytes]]:
    """Cases that json_size refuses, in the policies, in the request, or in both; and fitting ones."""
    deep_policy, deep_request, nul_policy, nul_request = case("1"), case("2"), case("3"), case("4")
    statement = deep_policy["policies"]["identity"][0]["document"]["Statement"][0]
    statement["Condition"] = {"StringEquals": {"aws:username": _nested(250)}}
    deep_request["request"]["context"] = {"k": _nested(260)}
    nul_policy["policies"]["identity"][0]["name"] = "read\x00er"
    nul_request["request"]["resource"] = "arn:aws:s3:::b/\x00"
    # 9 containers hold the condition value (case, policies, identity, item, document, Statement, statement,
    # Condition, operator): 245 more make the 254 levels json_size takes at most, 246 one too many
    just_fits, too_deep = case("5"), case("6")
    for item, depth in ((just_fits, 245), (too_deep, 246)):
        item["policies"]["identity"][0]["document"]["Statement"][0]["Condition"] = {
            "StringEquals": {"aws:username": _nested(depth)}
        }
    cases = (deep_policy, deep_request, nul_policy, nul_request, just_fits, too_deep, case("7"))
    # the standard library's writer: orjson writes 254 levels at most
    return [(str(item["id"]), json.dumps(item).encode()) for item in cases]


@pytest.mark.parametrize(("case_id", "line"), _unfit_lines())
def test_batch_lines_are_refused_as_the_checked_path_refuses_them(case_id: str, line: bytes) -> None:
    from permscope.core.limits import json_size

    try:
        json_size(orjson.loads(line))
        expected = None
    except ValueError as error:
        expected = f"the case {error}"
    assert (expected is None) == (case_id in ("5", "7")), expected

    def outcome(simulate: Any) -> tuple[str, object]:
        try:
            return "answers", simulate()
        except InputError as error:
            return "refused", (error.source, error.problem)

    batch = outcome(lambda: [orjson.loads(answer) for answer in simulate_lines_json([line], "batch.jsonl")])
    one = outcome(lambda: [simulate_document(line, "batch.jsonl").result])  # checked by the workflow itself
    if expected is not None:
        assert batch == ("refused", ("batch.jsonl:1", expected))
    assert batch == one
