"""Findings' shared helpers: the bounded list of evidence that grows as the estate squared."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from permscope.core.findings import COUNT_SUFFIX, LIST_LIMIT, bounded


def test_a_short_list_is_whole_and_counted() -> None:
    assert bounded("roles", ["a", "b"]) == {"roles": ["a", "b"], "rolesTotal": 2}
    assert bounded("roles", []) == {"roles": [], "rolesTotal": 0}


def test_a_long_list_keeps_its_first_items_and_counts_them_all() -> None:
    items = [f"r{n:04d}" for n in range(250)]
    found = bounded("roles", items)
    assert found["roles"] == items[:LIST_LIMIT] and found["rolesTotal"] == 250
    assert bounded("buckets", items, suffix=COUNT_SUFFIX, limit=3) == {
        "buckets": items[:3],
        "buckets@odata.count": 250,
    }


def test_a_lazy_list_is_read_only_as_far_as_it_is_kept() -> None:
    taken = []

    def lazy() -> Iterator[int]:
        for n in itertools.count():
            taken.append(n)
            yield n

    found = bounded("numbers", lazy(), total=10**9, limit=5)
    assert found == {"numbers": [0, 1, 2, 3, 4], "numbersTotal": 10**9}
    assert len(taken) == 5
