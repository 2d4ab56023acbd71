"""Autopilot rules, pure: system scopes, identity matching (globs over ids or names, kinds, a tag), and the checks
of a rule as written (each wrong field named)."""

from __future__ import annotations

import pytest

from permscope.core.autopilot import IdentityMatch, ItemOutcome, RunItem, SystemScope, check_spec, tags_of
from permscope.core.errors import InputError

ARN = "arn:aws:iam::111122223333:user/contractors/jo"


def test_system_scopes() -> None:
    assert SystemScope.parse("AWS:111122223333") == SystemScope("aws", "111122223333")
    assert SystemScope.parse("gcp") == SystemScope("gcp", "*") == SystemScope.parse("gcp:*")
    assert SystemScope.parse("aws:*").covers("aws", "1") and not SystemScope.parse("aws:*").covers("gcp", "1")
    assert SystemScope.parse("aws:1").covers("aws", "1") and not SystemScope.parse("aws:1").covers("aws", "2")
    assert str(SystemScope.parse("azure:sub")) == "azure:sub"
    for bad in ("mars:1", "", "aws:\x00"):
        with pytest.raises(InputError) as caught:
            SystemScope.parse(bad)
        assert caught.value.source == "systems"


def test_identity_matching() -> None:
    match = IdentityMatch(("*:user/contractors/*", "deploy-?"))
    assert match.matches(ARN, "jo", "user", {})
    assert match.matches("arn:aws:iam::1:role/x", "DEPLOY-1", "role", {})  # names, without case
    assert not match.matches("arn:aws:iam::1:role/x", "deploy-10", "role", {})
    kinds = IdentityMatch(("*",), kinds=("role",))
    assert not kinds.matches(ARN, "jo", "user", {}) and kinds.matches("r", "r", "role", {})
    tagged = IdentityMatch(("*",), tag="team=data")
    assert tagged.matches(ARN, "jo", "user", {"team": "data"})
    assert not tagged.matches(ARN, "jo", "user", {"team": "web"}) and not tagged.matches(
        ARN, "jo", "user", {}
    )
    assert IdentityMatch(("*",), tag="team").matches(ARN, "jo", "user", {"team": ""})


def test_a_rule_as_written() -> None:
    spec = check_spec(" idle ", ["aws:1", "aws:1", "gcp"], ["b*", "a*", "a*"], ["user"], "team", 60, True)
    assert spec.name == "idle" and spec.systems == (SystemScope("aws", "1"), SystemScope("gcp", "*"))
    assert spec.match == IdentityMatch(("a*", "b*"), ("user",), "team")
    assert (spec.unused_days, spec.generate) == (60, True)
    cases = [
        ({"name": "!x"}, "name"),
        ({"systems": []}, "systems"),
        ({"systems": ["nope:1"]}, "systems"),
        ({"identities": [" "]}, "identities"),
        ({"kinds": ["robot"]}, "kinds"),
        ({"tag": "=v"}, "tag"),
        ({"unused_days": 0}, "unusedDays"),
        ({"unused_days": 3651}, "unusedDays"),
        ({"unused_days": True}, "unusedDays"),
    ]
    base = {"name": "n", "systems": ["aws:1"], "identities": ["*"]}
    for change, field in cases:
        with pytest.raises(InputError) as caught:
            check_spec(**{**base, **change})  # type: ignore[arg-type]
        assert caught.value.source == field, change


def test_tags_and_items() -> None:
    assert tags_of({"tags": {"a": 1}}) == {"a": "1"} and tags_of({"labels": {"env": "prod"}}) == {
        "env": "prod"
    }
    assert tags_of({"tags": ["not", "a", "map"]}) == {} and tags_of({}) == {}
    item = RunItem("aws", "1", ARN, ItemOutcome.SKIPPED, reason="excluded")
    assert item.to_dict() == {
        "cloud": "aws",
        "systemId": "1",
        "identity": ARN,
        "outcome": "skipped",
        "planId": None,
        "reason": "excluded",
    }
