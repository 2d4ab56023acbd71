"""core.times: instants as text."""

from datetime import datetime
from zoneinfo import ZoneInfo

from permscope.core.times import iso_instant


def test_iso_instant_tells_the_two_times_of_a_repeated_hour_apart() -> None:
    first = datetime(2024, 11, 3, 1, 30, tzinfo=ZoneInfo("America/New_York"))  # EDT, then EST an hour later
    second = first.replace(fold=1)
    assert first == second  # Python compares them equal: a memo keyed on them must not merge them
    assert iso_instant(first) == "2024-11-03T05:30:00+00:00"
    assert iso_instant(second) == "2024-11-03T06:30:00+00:00"
    assert iso_instant(datetime(2024, 1, 2, 3, 4, 5)) == "2024-01-02T03:04:05+00:00"  # naive: taken as UTC
