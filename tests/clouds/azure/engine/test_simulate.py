"""The simulator's case format: malformed cases refused by field, hostile cases answered, caches that never
answer for a different estate, and the `Simulator` seam."""

from __future__ import annotations

import copy
import time
from typing import Any

import orjson
import pytest

from permscope.clouds.azure.engine import simulate
from permscope.clouds.base import plugin, simulator
from permscope.core.errors import InputError
from permscope.core.ids import Cloud

from .builders import ALICE, SUBSCRIPTION, VM, assignment, case, deny, role

READER = role("acdd72a7-3385-48ef-bd42-f606fba81ae7", "Reader", ["*/read"])
READ_VM = "Microsoft.Compute/virtualMachines/read"


def reader_case(**changes: Any) -> dict[str, Any]:
    """A fresh case (tests change it in place)."""
    return copy.deepcopy(
        case(
            roles=[READER],
            assignments=[assignment(1, ALICE, READER["name"], SUBSCRIPTION)],
            action=READ_VM,
            scope=VM,
            **changes,
        )
    )


def test_the_answer_has_the_id_the_decision_and_the_explanation() -> None:
    answer = simulate.simulate_case(reader_case(case_id="one"), "cases.jsonl:1")
    assert answer["id"] == "one" and answer["decision"] == "Allowed"
    explanation = answer["explanation"]
    assert explanation["plane"] == "control" and explanation["scope_level"] == "resource"
    assert explanation["role_assignment_ids"] == [explanation["role_assignments"][0]["id"]]
    assert "role 'Reader' assigned to the principal" in explanation["reason"]
    assert orjson.loads(simulate.simulate_case_json(reader_case(case_id="one"), "x")) == answer


def test_the_seam_simulates_through_the_plugin() -> None:
    engine = simulator(Cloud.AZURE)
    assert engine is plugin(Cloud.AZURE)
    assert engine.simulate(reader_case(), "x")["decision"] == "Allowed"
    assert orjson.loads(engine.simulate_json(reader_case(), "x"))["decision"] == "Allowed"


def _broken(path: str, value: Any) -> dict[str, Any]:
    broken = reader_case()
    target: Any = broken
    *parents, last = path.split(".")
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    if isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    return broken


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("estate", None, "estate must be a JSON object"),
        ("request", [], "request must be a JSON object"),
        ("request.principal_id", 7, "request.principal_id must be a string"),
        ("request.action", "", "request.action must be a non-empty string"),
        ("request.data_action", "yes", "request.data_action must be true or false"),
        ("request.scope", None, "request.scope must be a string (the full ARM id of the target)"),
        ("request.attributes", "x", "request.attributes must be a JSON object"),
        ("request.attributes", {"Resource": 3}, "request.attributes.Resource must be a JSON object"),
        ("estate.role_definitions", {}, "estate.role_definitions must be a JSON list"),
        ("estate.role_definitions.0.name", None, "estate.role_definitions[0].name must be a string"),
        (
            "estate.role_definitions.0.permissions",
            [{"actions": [1]}],
            "estate.role_definitions[0].permissions[0].actions[0] must be a string",
        ),
        (
            "estate.role_assignments.0.principalId",
            None,
            "estate.role_assignments[0].principalId must be a string",
        ),
        (
            "estate.role_assignments.0.condition",
            5,
            "estate.role_assignments[0].condition must be a string or null",
        ),
        ("estate.group_members", {"g": "not a list"}, "estate.group_members['g'] must be a JSON list"),
        (
            "estate.scope_ancestry",
            {SUBSCRIPTION: [None]},
            f"estate.scope_ancestry['{SUBSCRIPTION}'][0] must be a string",
        ),
        (
            "estate.deny_assignments",
            [{"properties": {"scope": VM, "doNotApplyToChildScopes": "no"}}],
            "estate.deny_assignments[0].properties.doNotApplyToChildScopes must be true or false",
        ),
    ],
)
def test_a_malformed_case_names_its_source_and_field(path: str, value: Any, message: str) -> None:
    simulate.clear_caches()
    with pytest.raises(InputError) as raised:
        simulate.simulate_case(_broken(path, value), "cases.jsonl:3")
    assert str(raised.value) == f"cases.jsonl:3: {message}"


def test_an_assignment_without_a_scope_takes_it_from_its_id() -> None:
    changed = reader_case()
    del changed["estate"]["role_assignments"][0]["scope"]
    answer = simulate.simulate_case(changed, "x")
    assert answer["decision"] == "Allowed"
    assert answer["explanation"]["role_assignments"][0]["scope"] == SUBSCRIPTION


def test_a_role_compiled_before_is_not_reused_for_different_content() -> None:
    simulate.simulate_case(reader_case(), "x")
    narrowed = reader_case()
    narrowed["estate"]["role_definitions"][0]["permissions"][0]["actions"] = ["Microsoft.Storage/*/read"]
    assert simulate.simulate_case(narrowed, "x")["decision"] == "NotAllowed"
    assert simulate.simulate_case(reader_case(), "x")["decision"] == "Allowed"


def test_an_estate_compiled_before_is_not_reused_for_different_content() -> None:
    first = reader_case()
    assert simulate.simulate_case(first, "x")["decision"] == "Allowed"
    same_ids = copy.deepcopy(first)  # same fingerprint (counts and first ids), another scope
    same_ids["estate"]["role_assignments"][0]["scope"] = f"{SUBSCRIPTION}/resourceGroups/elsewhere"
    assert simulate.simulate_case(same_ids, "x")["decision"] == "NotAllowed"
    with_deny = copy.deepcopy(first)
    with_deny["estate"]["deny_assignments"] = [deny(1, SUBSCRIPTION, actions=["*"])]
    assert simulate.simulate_case(with_deny, "x")["decision"] == "Denied"
    assert simulate.simulate_case(first, "x")["decision"] == "Allowed"


def test_hostile_cases_are_answered_quickly() -> None:
    started = time.process_time()
    nested = reader_case()
    nested["estate"]["role_assignments"][0]["condition"] = "(" * 3_000 + "Exists @Request[a]" + ")" * 3_000
    row = simulate.simulate_case(nested, "x")["explanation"]["role_assignments"][0]
    assert row["verdict"] == "condition_invalid" and "nested more than" in row["condition"]["error"]
    huge = reader_case()
    huge["estate"]["role_assignments"][0]["condition"] = "@Request[a] StringEquals '" + "x" * 10_000_000 + "'"
    assert simulate.simulate_case(huge, "x")["decision"] == "NotAllowed"
    long_action = reader_case()
    long_action["request"]["action"] = "Microsoft.Compute/" + "a/" * 1_000_000 + "read"
    long_action["estate"]["role_definitions"][0]["permissions"][0]["actions"] = ["*" + "/*" * 50 + "/read"]
    assert simulate.simulate_case(long_action, "x")["decision"] == "Allowed"
    long_scope = reader_case()  # every prefix of it would take memory quadratic in its length
    long_scope["request"]["scope"] = SUBSCRIPTION + "/a" * 300_000
    assert simulate.simulate_case(long_scope, "x")["decision"] == "Allowed"
    long_scope["request"]["scope"] = "/subscriptions/other" + "/a" * 300_000
    assert simulate.simulate_case(long_scope, "x")["decision"] == "NotAllowed"
    many_groups = reader_case(groups={f"g{n}": [f"g{n + 1}"] for n in range(50_000)} | {"g50000": [ALICE]})
    assert len(simulate.simulate_case(many_groups, "x")["explanation"]["groups"]) == 50_001
    assert time.process_time() - started < 10
