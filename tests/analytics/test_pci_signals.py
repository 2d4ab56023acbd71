"""PCI signals: crossing a threshold upwards (not downwards, not from the first score), rising by N points
within D days (edge-triggered, window respected), one point per day, explanations and stable keys."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from permscope.analytics.pci_signals import PciSeries, pci_signals
from permscope.core.alerts import PciParameters
from permscope.core.findings import Severity
from permscope.core.ids import Cloud
from permscope.core.signals import SignalKind

D0 = date(2026, 11, 1)
ROLE = "arn:aws:iam::111122223333:role/app"


def series(*scores: int | None, subject: str = ROLE, step: int = 1) -> PciSeries:
    """Scores on consecutive days (every `step` days) from D0; None skips a day."""
    points = [(D0 + timedelta(days=i * step), s) for i, s in enumerate(scores) if s is not None]
    return PciSeries(Cloud.AWS, "111122223333", subject, "role", "role/app", points)


def kinds_of(found: list) -> list[tuple[str, str]]:
    return [(s.kind.value, s.evidence["date"]) for s in found]


def test_a_score_reaching_the_threshold_from_below_is_signalled_once() -> None:
    found = pci_signals(
        [series(40, 60, 70, 90, 50, 80)], PciParameters(threshold=67), [SignalKind.PCI_THRESHOLD]
    )
    assert kinds_of(found) == [("pci.threshold", "2026-11-03"), ("pci.threshold", "2026-11-06")]
    first = found[0]
    assert first.severity is Severity.HIGH
    assert first.evidence["previous"] == 60 and first.evidence["pci"] == 70
    assert (
        "PCI 60 on 2026-11-02, 70 on 2026-11-03" in first.explanation
        and "threshold of 67" in first.explanation
    )
    assert first.key == "pci.threshold:aws:111122223333:" + ROLE + ":67:2026-11-03"


def test_the_first_score_ever_and_a_fall_cross_nothing() -> None:
    assert pci_signals([series(95)], PciParameters(threshold=67)) == []
    assert pci_signals([series(95, 30, 20)], PciParameters(threshold=67), [SignalKind.PCI_THRESHOLD]) == []


def test_exactly_at_the_threshold_counts_as_reached() -> None:
    found = pci_signals([series(66, 67)], PciParameters(threshold=67), [SignalKind.PCI_THRESHOLD])
    assert len(found) == 1


def test_a_rise_within_the_window_is_signalled_on_the_first_day_it_holds() -> None:
    params = PciParameters(rise_points=20, window_days=7)
    # 10 -> 20 -> 35: +25 over 2 days (holds from day 3); 36, 37 still hold (no new signal); then falls to
    # 25 (only +15 over the low of 10: the rise no longer holds) then 55: a second signal
    found = pci_signals([series(10, 20, 35, 36, 37, 25, 55)], params, [SignalKind.PCI_RISE])
    assert kinds_of(found) == [("pci.rise", "2026-11-03"), ("pci.rise", "2026-11-07")]
    first = found[0]
    assert first.evidence["rise"] == 25 and first.evidence["previous"] == 10
    assert "rose by 25 points, from 10 on 2026-11-01 to 35 on 2026-11-03" in first.explanation
    assert first.severity is Severity.MEDIUM
    assert first.key.endswith(":20/7:2026-11-03")


def test_a_rise_slower_than_the_window_is_not_signalled() -> None:
    params = PciParameters(rise_points=20, window_days=7)
    slow = series(10, 15, 20, 25, 30, step=4)  # +20 takes 16 days; any 7-day span holds at most +10
    assert pci_signals([slow], params, [SignalKind.PCI_RISE]) == []
    assert len(pci_signals([slow], PciParameters(rise_points=20, window_days=16), [SignalKind.PCI_RISE])) == 1


def test_since_keeps_only_signals_of_recent_days_and_keys_are_stable() -> None:
    one = series(40, 70, 40, 80)
    params = PciParameters(threshold=67)
    everything = pci_signals([one], params)
    recent = pci_signals([one], params, since=D0 + timedelta(days=3))
    assert [s.key for s in recent] == [s.key for s in everything if s.evidence["date"] >= "2026-11-04"]
    assert [s.key for s in pci_signals([one], params)] == [s.key for s in everything]


def test_analyses_of_one_day_are_compared_in_time_order_and_signal_once_a_day() -> None:
    morning = datetime(2026, 11, 2, 8, tzinfo=UTC)
    noon = datetime(2026, 11, 2, 12, tzinfo=UTC)
    evening = datetime(2026, 11, 2, 20, tzinfo=UTC)
    # given out of order: 10 at 08:00, 90 at 12:00 (crossing), 30 at 20:00, then 95 the same evening (again)
    points = [(evening, 30), (morning, 10), (noon, 90), (evening + timedelta(minutes=1), 95)]
    found = pci_signals(
        [PciSeries(Cloud.GCP, "p", "sa", "serviceAccount", "sa", points)],
        PciParameters(threshold=50),
        [SignalKind.PCI_THRESHOLD],
    )
    assert len(found) == 1
    assert found[0].observed_at == noon and found[0].cloud is Cloud.GCP


def test_a_score_outside_0_100_is_refused() -> None:
    with pytest.raises(ValueError, match="outside 0-100"):
        pci_signals([series(10, 101)], PciParameters())
