"""Malformed and hostile cases: an InputError naming the source and the field, never a crash or a hang.

A case is checked as far as its decision reads it: the request and memberships always, a policy, role, tag list
or lineage when the decision reads it (the policies of other resources are not read)."""

from __future__ import annotations

import json
import time
from typing import Any

import orjson
import pytest

from clouds.gcp.engine.estate import BUCKET, OBJECT, ORG, PROJECT, binding, case
from permscope.clouds.base import plugin, simulator
from permscope.clouds.gcp.engine.simulate import SIMULATOR, clear_caches, simulate_case, simulate_line_json
from permscope.core.errors import InputError
from permscope.core.ids import Cloud

ALICE = "user:alice@example.com"


def good() -> dict[str, Any]:
    return case(
        ALICE, "storage.objects.get", OBJECT, allow={BUCKET: [binding("roles/storage.objectViewer", ALICE)]}
    )


def _tagged_badly(built: dict[str, Any]) -> None:
    """A tag without a key on the bucket, read by a condition of the binding."""
    built["estate"]["tags"][BUCKET] = [{"value": "prod"}]
    built["estate"]["allow_policies"][BUCKET]["bindings"][0]["condition"] = {
        "expression": "resource.hasTagKey('1/env')"
    }


def both_paths(built: dict[str, Any]) -> list[str]:
    """The problem each path (parsed data, JSON text) reports."""
    problems = []
    with pytest.raises(InputError) as by_data:
        simulate_case(built, source="cases.jsonl:7")
    problems.append(by_data.value.problem)
    with pytest.raises(InputError) as by_text:
        simulate_line_json(orjson.dumps(built), "cases.jsonl:7")
    problems.append(by_text.value.problem)
    assert by_data.value.source == by_text.value.source == "cases.jsonl:7"
    return problems


def test_the_gcp_plugin_simulates_through_the_engine_and_answers_one_json_line() -> None:
    found = simulator(Cloud.GCP)
    assert found is plugin(Cloud.GCP)
    line = found.simulate_json(good(), "x")
    assert line == SIMULATOR.simulate_json(good(), "x")
    assert b"\n" not in line and json.loads(line)["decision"] == "Allowed"
    assert set(json.loads(line)) == {"id", "decision", "explanation"}
    assert found.simulate_line_json(orjson.dumps(good()), "x") == line  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda c: c["request"].pop("permission"), "permission"),
        (lambda c: c["request"].update(principal="group:eng@example.com"), "request.principal"),
        (lambda c: c["request"].update(principal="user:nobody"), "email"),
        (lambda c: c["request"].update(permission="storage"), "service.resource.verb"),
        (lambda c: c["request"].update(resource="projects/app-prod"), "full resource name"),
        (lambda c: c["request"].update(time="yesterday"), "RFC 3339"),
        (lambda c: c["request"].update(time="2026-01-15T10:30:00"), "time zone"),
        (lambda c: c["request"].update(colour="blue"), "colour"),
        (lambda c: c["estate"].update(extra={}), "extra"),
        (
            lambda c: c["estate"]["allow_policies"][BUCKET]["bindings"][0].update(members="user:a@b.c"),
            "members",
        ),
        (
            lambda c: c["estate"]["allow_policies"][BUCKET]["bindings"][0]["members"].append("someone"),
            "members[1]",
        ),
        (
            lambda c: c["estate"]["allow_policies"][BUCKET]["bindings"][0].update(
                condition={"expression": "(("}
            ),
            "expression",
        ),
        (lambda c: c["estate"]["roles"].update({"roles/storage.objectViewer": [1]}), "roles"),
        (lambda c: c["estate"]["ancestry"].update({OBJECT: "not a list"}), "ancestry"),
        (lambda c: _tagged_badly(c), "key"),
        (
            lambda c: c["estate"]["deny_policies"].update({BUCKET: [{"name": "p", "rules": []}]}),
            "organization, folder or project",
        ),
        (
            lambda c: c["estate"]["deny_policies"].update(
                {
                    ORG: [
                        {"name": "p", "rules": [{"denyRule": {"deniedPermissions": ["storage.objects.get"]}}]}
                    ]
                }
            ),
            "SERVICE_FQDN/RESOURCE.VERB",
        ),
        (
            lambda c: c["estate"]["deny_policies"].update(
                {
                    ORG: [
                        {
                            "name": "p",
                            "rules": [{"denyRule": {"deniedPrincipals": ["user:alice@example.com"]}}],
                        }
                    ]
                }
            ),
            "deny-policy principal",
        ),
    ],
)
def test_a_malformed_case_names_what_is_wrong(change: Any, words: str) -> None:
    built = good()
    change(built)
    for problem in both_paths(built):
        assert words in problem


def test_a_role_is_checked_when_a_decision_reads_it() -> None:
    built = good()
    built["estate"]["roles"]["roles/storage.objectViewer"] = {"not": "a list"}
    with pytest.raises(InputError, match=r"estate.roles\['roles/storage.objectViewer'\]"):
        simulate_line_json(orjson.dumps(built), "x:1")


def test_invalid_json_deep_nesting_and_non_objects() -> None:
    with pytest.raises(InputError, match="not valid JSON"):
        simulate_line_json(b'{"request": ', "x:1")
    deep = (
        b'{"request": {}, "estate": {"principal_attributes": {"p": {"a": '
        + b"[" * 100_000
        + b"]" * 100_000
        + b"}}}}"
    )
    with pytest.raises(InputError):
        simulate_line_json(deep, "x:1")
    with pytest.raises(InputError, match="object"):
        simulate_line_json(b"[1, 2]", "x:1")
    with pytest.raises(InputError, match="object"):
        simulate_case([1, 2], source="x:1")  # type: ignore[arg-type]


def test_huge_strings_and_ids_json_cannot_write_back() -> None:
    built = good()
    built["request"]["permission"] = "storage.objects." + "x" * 5_000_000
    answer = json.loads(simulate_line_json(orjson.dumps(built), "x:1"))
    assert answer["decision"] == "NotAllowed"
    line = orjson.dumps(good()).replace(b'"id":"t"', b'"id":123456789012345678901234567890')
    with pytest.raises(InputError, match="id"):
        simulate_line_json(line, "x:1")


def test_a_runaway_condition_is_refused_or_bounded() -> None:
    built = good()
    items = ", ".join(str(number) for number in range(1500))
    runaway = f"[{items}].all(a, [{items}].all(b, [{items}].exists(c, a + b + c < 0)))"
    built["estate"]["allow_policies"][BUCKET]["bindings"][0]["condition"] = {"expression": runaway}
    started = time.process_time()
    for problem in both_paths(built):
        assert "comprehension" in problem or "characters" in problem or "tokens" in problem
    assert time.process_time() - started < 2


def test_what_the_decision_does_not_read_is_not_checked_beyond_its_json() -> None:
    built = good()
    built["estate"]["allow_policies"]["//storage.googleapis.com/projects/_/buckets/elsewhere"] = {
        "bindings": "x"
    }
    assert simulate_case(built)["decision"] == "Allowed"
    with pytest.raises(InputError, match="not valid JSON"):
        simulate_line_json(orjson.dumps(built)[:-2] + b",]}", "x:1")


def test_caches_can_be_cleared_and_answers_stay_the_same() -> None:
    first = simulate_line_json(orjson.dumps(good()), "x")
    clear_caches()
    assert simulate_line_json(orjson.dumps(good()), "x") == first


def test_an_organization_asked_about_itself() -> None:
    built = case(
        ALICE,
        "resourcemanager.projects.delete",
        ORG,
        resource_type=None,
        allow={ORG: [binding("roles/resourcemanager.projectDeleter", ALICE)]},
    )
    answer = simulate_case(built)
    assert answer["decision"] == "Allowed" and answer["explanation"]["lineage"] == [ORG]
    assert PROJECT not in answer["explanation"]["lineage"]
