"""CloudTrail inputs into a sink: the parts of a LookupEvents window earlier passes did not cover."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from permscope.clouds.aws.activity.imports import gaps


def test_window_gaps() -> None:
    t: Callable[[int], datetime] = lambda hour: datetime(2024, 5, 1, hour, tzinfo=UTC)  # noqa: E731
    assert gaps(t(0), t(10), []) == [(t(0), t(10))]
    assert gaps(t(0), t(10), [(t(2), t(4)), (t(3), t(6))]) == [(t(0), t(2)), (t(6), t(10))]
    assert gaps(t(0), t(10), [(t(0), t(10))]) == []
    assert gaps(t(5), t(10), [(t(0), t(7)), (t(9), t(12))]) == [(t(7), t(9))]
