"""Which members cover a caller: `Membership.covering_among` answers as `covering` does, groups found alike."""

from __future__ import annotations

import itertools

import pytest

from permscope.clouds.gcp.engine.principals import (
    Membership,
    group_parents,
    member_keys,
    parse_caller,
    read_member,
)

ALICE = "user:alice@example.com"
GROUPS = {"group:eng@example.com": [ALICE], "group:ops@example.com": ["user:bob@example.com"]}
FORMS = (
    ALICE,
    "user:BOB@example.com",
    "group:eng@example.com",
    "group:ops@example.com",
    "domain:example.com",
    "allUsers",
    "deleted:user:alice@example.com?uid=1",
)


def _membership(caller: str) -> Membership:
    return Membership(parse_caller(caller), group_parents(GROUPS), {}, {})


@pytest.mark.parametrize(
    "caller", [ALICE, "user:bob@example.com", "serviceAccount:sa@example.com", "anonymous"]
)
def test_covering_among_answers_as_covering_and_finds_groups_alike(caller: str) -> None:
    for size in range(4):
        for texts in itertools.permutations(FORMS, size):
            members = tuple((text, read_member(text, deny=False)) for text in texts)
            plain, keyed = _membership(caller), _membership(caller)
            assert keyed.covering_among(members, member_keys(members)) == plain.covering(members), texts
            assert keyed.groups_found == plain.groups_found, texts


def test_a_member_named_before_a_group_leaves_the_groups_unsearched() -> None:
    members = tuple((text, read_member(text, deny=False)) for text in (ALICE, "group:eng@example.com"))
    membership = _membership(ALICE)
    assert membership.covering_among(members, member_keys(members)) == (ALICE, ())
    assert membership.groups_found == {}
