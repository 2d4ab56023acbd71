"""IAM Conditions: the CEL library with IAM's attributes and functions, compiled once, bounded."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from permscope.clouds.gcp.engine import conditions
from permscope.clouds.gcp.engine.conditions import (
    MAX_EXPRESSION_CHARS,
    Attributes,
    ConditionError,
    Evaluator,
    compiled,
    extract,
    has_only,
    zone,
)
from permscope.clouds.gcp.engine.tags import NO_TAGS, Tag, effective_tags

THURSDAY = datetime(2026, 1, 15, 10, 30, tzinfo=UTC)
NAME = "projects/_/buckets/exports/objects/reports/2025/q4.csv"


def evaluate(expression: str, **changes: object) -> tuple[bool | None, str | None]:
    values: dict[str, object] = {
        "time": THURSDAY,
        "resource_name": NAME,
        "resource_type": "storage.googleapis.com/Object",
        "resource_service": "storage.googleapis.com",
        "tags": lambda: NO_TAGS,
        "api": {},
    }
    values.update(changes)
    return Evaluator(Attributes(**values)).evaluate(compiled(expression))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ('request.time < timestamp("2026-02-01T00:00:00Z")', True),
        (
            'request.time >= timestamp("2026-01-15T08:00:00.000Z") && request.time < timestamp("2026-01-15T12:00:00Z")',
            True,
        ),
        ('request.time + duration("2h") > timestamp("2026-01-15T12:00:00Z")', True),
        ('request.time.getHours("America/New_York") == 5', True),  # 10:30 UTC is 05:30 in New York in January
        ('request.time.getHours("Asia/Kolkata") == 16 && request.time.getMinutes("+05:30") == 0', True),
        ('request.time.getDayOfWeek("Europe/Berlin") == 4', True),  # Thursday; Sunday is 0
        ('request.time.getDayOfWeek("Pacific/Kiritimati") == 5', True),  # already Friday at UTC+14
        (
            "request.time.getMonth() == 0 && request.time.getDate() == 15 && request.time.getDayOfMonth() == 14",
            True,
        ),
        ('request.time.getFullYear("UTC") == 2026 && request.time.getDayOfYear("UTC") == 14', True),
        ("resource.name.startsWith('projects/_/buckets/exports/objects/reports/')", True),
        ("resource.name.startsWith('//storage.googleapis.com/')", False),  # the name is relative
        ("resource.name.endsWith('.csv') && !resource.name.endsWith('.pdf')", True),
        ("resource.name.extract('/objects/{path}/') == 'reports'", True),
        ("resource.name.extract('/datasets/{ds}/') == ''", True),
        (
            "resource.type == 'storage.googleapis.com/Object' && resource.service == 'storage.googleapis.com'",
            True,
        ),
        ("resource.name.matches('^projects/_/buckets/[a-z]+/objects/.*[.]csv$')", True),
        ("api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', []).hasOnly(['roles/viewer'])", True),
        ("'roles/owner' in api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', [])", False),
    ],
)
def test_iam_attributes_and_functions(expression: str, expected: bool) -> None:
    assert evaluate(expression) == (expected, None)


def test_api_attributes_come_from_the_request() -> None:
    grants = {"iam.googleapis.com/modifiedGrantsByRole": ["roles/owner"]}
    assert evaluate(
        "api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', []).hasOnly(['roles/viewer'])",
        api=grants,
    ) == (
        False,
        None,
    )


@pytest.mark.parametrize(
    "expression",
    [
        "request.host == 'example.com'",  # an attribute not modelled
        'request.time.getHours("Mars/Olympus_Mons") == 1',  # an unknown time zone
        "resource.matchTag(1, 'prod')",  # a tag function takes strings
        "request.matchTag('a', 'b')",  # a tag function of the resource only
        "resource.name.extract('no placeholder') == ''",
        "1 / 0 == 1",
        "resource.name",  # not a boolean
    ],
)
def test_what_cannot_be_evaluated_is_an_error_with_a_reason(expression: str) -> None:
    value, problem = evaluate(expression)
    assert value is None and problem


def test_a_time_is_required_only_by_the_conditions_that_read_it() -> None:
    assert evaluate("request.time < timestamp('2030-01-01T00:00:00Z')", time=None)[0] is None
    assert evaluate("resource.service == 'storage.googleapis.com'", time=None) == (True, None)


def test_each_expression_is_compiled_once() -> None:
    conditions.clear_programs()
    first = compiled("resource.name.endsWith('.csv')")
    assert compiled("resource.name.endsWith('.csv')") is first
    with pytest.raises(ConditionError):
        compiled("resource.name.endsWith(")
    with pytest.raises(ConditionError):  # a refusal is remembered too
        compiled("resource.name.endsWith(")


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("true && " * (MAX_EXPRESSION_CHARS // 8) + "true", "characters"),
        ("(" * 80 + "true" + ")" * 80, "nests more than"),
        ("!" * 2500 + "true", "tokens"),
        ("[1, 2].all(x, [1, 2].exists(y, x == y))", "comprehension"),
        ("   ", "empty"),
        ("resource.name.startsWith('a'", "CEL cannot parse it"),
    ],
)
def test_expressions_iam_would_refuse_are_refused_before_they_run(expression: str, problem: str) -> None:
    with pytest.raises(ConditionError, match=problem):
        compiled(expression)


def test_strings_and_one_level_comprehensions_are_not_mistaken_for_nesting() -> None:
    assert evaluate("'((((([[[[{{{{' + \"map(\" != '' && [1, 2, 3].exists(x, x == 2)") == (True, None)


def test_a_long_but_allowed_expression_runs_quickly() -> None:
    terms = " || ".join(f"resource.name == 'projects/_/buckets/b{index}'" for index in range(150))
    started = time.process_time()
    assert evaluate(terms) == (False, None)
    assert time.process_time() - started < 1.0


def test_extract_and_has_only() -> None:
    assert extract("projects/p/datasets/finance/tables/t", "datasets/{ds}/") == "finance"
    assert extract("projects/p/datasets/finance", "datasets/{ds}") == "finance"
    assert extract("projects/p/datasets/finance", "datasets/{ds}/") == ""  # no text after the placeholder
    assert extract("projects/p", "folders/{f}") == ""
    with pytest.raises(ValueError):
        extract("x", "{a}{b}")
    assert has_only(["a"], ["a", "b"]) and has_only([], ["a"]) and not has_only(["c"], ["a"])


def test_time_zones() -> None:
    assert zone("UTC") is UTC
    assert zone("-08:00") == timezone(-timedelta(hours=8))
    assert zone("Europe/Berlin").utcoffset(THURSDAY.replace(tzinfo=None)) == timedelta(hours=1)
    with pytest.raises(ValueError):
        zone("Nowhere/City")


def test_effective_tags_override_by_key_name_or_id() -> None:
    org, project, bucket = "//o", "//p", "//b"
    tags = effective_tags(
        [bucket, project, org],
        [
            (
                org,
                (
                    Tag("100/env", "tagKeys/1", "prod", "tagValues/1", org),
                    Tag("100/team", "tagKeys/2", "a", "tagValues/3", org),
                ),
            ),
            (bucket, (Tag(None, "tagKeys/1", None, "tagValues/2", bucket),)),
        ],
    )
    assert tags.match_id("tagKeys/1", "tagValues/2") and not tags.has_key("100/env")
    assert tags.match("100/team", "a") and tags.has_key_id("tagKeys/2")
