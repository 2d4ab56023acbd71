"""An allow policy's bindings reaching a caller: `AllowPolicy.reaching` leaves out only bindings none of whose
members covers it, and the caller's groups are found exactly when reading every binding would find them."""

from __future__ import annotations

import itertools

import pytest

from permscope.clouds.gcp.engine.case import SHORT_POLICY, Binding, allow_policy
from permscope.clouds.gcp.engine.principals import Membership, group_parents, parse_caller, read_member

ALICE = "user:alice@example.com"
GROUPS = {"group:eng@example.com": [ALICE], "group:ops@example.com": ["user:bob@example.com"]}
FORMS = (
    ALICE,
    "user:BOB@example.com",
    "group:eng@example.com",
    "group:ops@example.com",
    "domain:example.com",
    "deleted:user:alice@example.com?uid=1",
)
LISTS = [texts for size in (1, 2) for texts in itertools.permutations(FORMS, size)]


def _membership(caller: str) -> Membership:
    return Membership(parse_caller(caller), group_parents(GROUPS), {}, {})


def _binding(index: int, texts: tuple[str, ...]) -> Binding:
    return Binding(index, "roles/viewer", tuple((t, read_member(t, deny=False)) for t in texts), None)


def _long(bindings: tuple[Binding, ...]) -> tuple[Binding, ...]:
    """The bindings, then enough naming nobody of the tests that the policy is chosen from through its index."""
    start = len(bindings)
    return bindings + tuple(_binding(start + n, (f"user:other{n}@example.com",)) for n in range(SHORT_POLICY))


def _covered(membership: Membership, bindings: list[Binding]) -> list[tuple[int, object]]:
    found = [(b.index, membership.covering(b.members)) for b in bindings]
    return [(index, member) for index, member in found if member is not None]


@pytest.mark.parametrize(
    "caller", [ALICE, "user:bob@example.com", "serviceAccount:sa@example.com", "anonymous"]
)
def test_reaching_bindings_cover_as_every_binding_does_and_find_groups_alike(caller: str) -> None:
    for first, second in itertools.product(LISTS, repeat=2):
        bindings = _long((_binding(0, first), _binding(1, second)))
        every, reached = _membership(caller), _membership(caller)
        expected = _covered(every, list(bindings))
        assert _covered(reached, allow_policy(bindings).reaching(reached)) == expected, (first, second)
        assert reached.groups_found == every.groups_found, (first, second)


def test_a_member_named_before_a_group_leaves_the_groups_unsearched() -> None:
    policy = allow_policy(_long((_binding(0, (ALICE, "group:eng@example.com")),)))
    membership = _membership(ALICE)
    assert [b.index for b in policy.reaching(membership)] == [0]
    assert membership.covering(policy.bindings[0].members) == (ALICE, ())
    assert membership.groups_found == {}


def test_a_short_policy_is_read_whole() -> None:
    bindings = tuple(_binding(n, (f"user:other{n}@example.com",)) for n in range(SHORT_POLICY))
    assert list(allow_policy(bindings).reaching(_membership(ALICE))) == list(bindings)
    assert allow_policy(_long(bindings)).reaching(_membership(ALICE)) == []
