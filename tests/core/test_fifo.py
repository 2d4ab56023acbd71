"""The bounded first-in first-out cache."""

from __future__ import annotations

from permscope.core.fifo import Fifo


def test_fifo_forgets_the_oldest_entry_once_full() -> None:
    cache: Fifo[str, int] = Fifo(2)
    assert cache.remember("a", 1) == 1
    cache.remember("b", 2)
    assert cache.get("a") == 1  # reading does not make an entry younger
    cache.remember("c", 3)
    assert list(cache.items()) == [("b", 2), ("c", 3)]
    cache.remember("d", 4)
    assert list(cache) == ["c", "d"]


def test_fifo_keeps_the_newest_entries_after_many() -> None:
    cache: Fifo[int, int] = Fifo(4)
    for number in range(10_000):
        cache.remember(number, number)
    assert list(cache) == [9_996, 9_997, 9_998, 9_999]
    assert cache.limit == 4
