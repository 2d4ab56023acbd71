"""Pure rules of permissions on demand: ISO 8601 durations, grant windows, who may cancel (own requests and the
other access rules: test_access.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from permscope.core.requests import (
    MAX_DURATION,
    RequestStateError,
    RequestStatus,
    Schedule,
    format_duration,
    may_cancel,
    parse_duration,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PT1H", timedelta(hours=1)),
        ("pt90m", timedelta(minutes=90)),
        ("P1DT12H", timedelta(days=1, hours=12)),
        ("P2W", timedelta(weeks=2)),
        ("PT0.5S", timedelta(seconds=0.5)),
        ("P90D", timedelta(days=90)),
    ],
)
def test_durations_parse(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "P", "PT", "1H", "PT1", "P1DT", "PTH", "P-1D", "PT1H30"])
def test_bad_durations_are_refused_with_the_text(text: str) -> None:
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_duration(text)


@pytest.mark.parametrize(
    "text",
    [
        "P99999999999D",  # beyond timedelta: was an OverflowError, a 500 in the API and a traceback in the CLI
        "P1000000000D",
        "P" + "9" * 400 + "D",  # a float of infinity
        "PT" + "9" * 30 + "S",
        "P5218W",
        "P36526D",
    ],
)
def test_durations_beyond_the_longest_are_refused_with_the_text(text: str) -> None:
    with pytest.raises(ValueError, match="is longer than P36525D"):
        parse_duration(text)


def test_the_longest_duration_parses() -> None:
    assert parse_duration("P36525D") == MAX_DURATION == timedelta(days=36_525)
    assert parse_duration("PT876600H") == MAX_DURATION


def test_a_window_ending_after_9999_is_a_state_error() -> None:
    late = datetime(9999, 12, 31, 23, tzinfo=UTC)
    with pytest.raises(RequestStateError, match="would end after the year 9999"):
        Schedule(start=late, duration=timedelta(hours=2)).window(late)
    with pytest.raises(RequestStateError, match="would end after the year 9999"):
        Schedule(start=None, duration=MAX_DURATION).window(datetime(9950, 1, 1, tzinfo=UTC))
    assert Schedule(start=late, duration=timedelta(minutes=59)).window(late)[1].year == 9999


def test_years_and_months_are_refused_with_a_hint() -> None:
    with pytest.raises(ValueError, match="P30D"):
        parse_duration("P1M")
    with pytest.raises(ValueError, match="years and months"):
        parse_duration("P1Y")


@pytest.mark.parametrize("delta", [timedelta(hours=1), timedelta(days=1, hours=2, minutes=30), timedelta(0)])
def test_durations_format_and_round_trip(delta: timedelta) -> None:
    assert parse_duration(format_duration(delta)) == delta
    assert format_duration(timedelta(hours=1)) == "PT1H"
    assert format_duration(timedelta(days=90)) == "P90D"


def test_window_of_start_now_counts_from_approval_and_end_wins_over_nothing() -> None:
    approved = datetime(2025, 1, 1, 12, tzinfo=UTC)
    assert Schedule(start=None, duration=timedelta(hours=1)).window(approved) == (
        approved,
        approved + timedelta(hours=1),
    )
    later = approved + timedelta(days=3)
    assert Schedule(start=later, duration=timedelta(hours=2)).window(approved) == (
        later,
        later + timedelta(hours=2),
    )
    end = approved + timedelta(hours=5)
    schedule = Schedule(start=None, end=end)
    assert schedule.window(approved) == (approved, end)
    assert schedule.length(approved) == timedelta(hours=5)


def test_cancel_rules() -> None:
    assert may_cancel(RequestStatus.SUBMITTED, is_requester=True, is_administrator=False)[0]
    allowed, reason = may_cancel(RequestStatus.SUBMITTED, is_requester=False, is_administrator=True)
    assert not allowed and "only by its requester" in (reason or "")
    assert may_cancel(RequestStatus.APPROVED, is_requester=False, is_administrator=True)[0]
    assert may_cancel(RequestStatus.APPROVED, is_requester=True, is_administrator=False)[0]
    assert not may_cancel(RequestStatus.APPROVED, is_requester=False, is_administrator=False)[0]
    for final in (RequestStatus.COMPLETED, RequestStatus.REJECTED, RequestStatus.CANCELED):
        allowed, reason = may_cancel(final, is_requester=True, is_administrator=True)
        assert not allowed and final.value in (reason or "")
