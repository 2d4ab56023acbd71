"""Schedule timing: cron and interval slots (missed slots skipped, not replayed), jitter within its bounds and
the same for the same slot, and clear errors for bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from permscope.core.errors import InputError
from permscope.core.schedules import Timing

T0 = datetime(2026, 3, 2, 10, 7, 30, tzinfo=UTC)


def test_cron_slots_follow_the_expression_in_utc() -> None:
    timing = Timing(cron="*/15 * * * *")
    first = timing.first_slot(T0)
    assert first == datetime(2026, 3, 2, 10, 15, tzinfo=UTC)
    assert timing.next_slot(first, first) == datetime(2026, 3, 2, 10, 30, tzinfo=UTC)


def test_missed_slots_are_skipped_not_replayed() -> None:
    cron = Timing(cron="0 * * * *")
    slot = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    assert cron.next_slot(slot, T0) == datetime(2026, 3, 2, 11, 0, tzinfo=UTC)
    every = Timing(interval=timedelta(minutes=10))
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    # an hour and 7.5 minutes later: the interval keeps its phase (09:00 + k * 10 min)
    assert every.next_slot(start, T0) == datetime(2026, 3, 2, 10, 10, tzinfo=UTC)
    assert every.next_slot(start, start) == start + timedelta(minutes=10)


def test_an_interval_starts_one_interval_away() -> None:
    assert Timing(interval=timedelta(minutes=1)).first_slot(T0) == T0 + timedelta(minutes=1)


def test_jitter_stays_within_its_bound_and_is_the_same_for_the_same_slot() -> None:
    timing = Timing(interval=timedelta(hours=1), jitter=timedelta(seconds=90))
    offsets = set()
    for minute in range(500):
        slot = T0 + timedelta(hours=minute)
        start = timing.start_of(slot, "7")
        assert slot <= start <= slot + timedelta(seconds=90)
        assert start == timing.start_of(slot, "7")
        offsets.add((start - slot).total_seconds())
    assert len(offsets) > 50  # spread out, not one fixed delay
    # two schedules sharing slots start apart (mostly): the offset depends on the schedule too
    slots = [T0 + timedelta(hours=n) for n in range(100)]
    assert sum(timing.start_of(slot, "7") != timing.start_of(slot, "8") for slot in slots) > 90
    assert Timing(interval=timedelta(hours=1)).start_of(T0, "7") == T0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({}, "schedule"),
        ({"cron": "* * * * *", "interval": timedelta(minutes=5)}, "schedule"),
        ({"cron": "every day"}, "cron"),
        ({"cron": "61 * * * *"}, "cron"),
        ({"interval": timedelta(seconds=10)}, "interval"),
        ({"interval": timedelta(minutes=5), "jitter": timedelta(minutes=5)}, "jitter"),
        ({"cron": "* * * * *", "jitter": timedelta(hours=2)}, "jitter"),
    ],
)
def test_bad_timing_is_a_clear_error(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InputError) as caught:
        Timing(**kwargs)  # type: ignore[arg-type]
    assert caught.value.source == field


def test_a_timing_says_itself_in_words() -> None:
    assert Timing(cron="*/5 * * * *").describe() == "cron */5 * * * *"
    assert (
        Timing(interval=timedelta(minutes=15), jitter=timedelta(seconds=30)).describe()
        == "every PT15M +PT30S jitter"
    )
