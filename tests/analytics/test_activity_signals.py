"""The activity and anomaly detectors on crafted day profiles: each kind fires when it should, stays quiet on a
normal history and when there is too little history, explains itself against its baseline, and keeps its keys."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from permscope.analytics.activity_signals import (
    AnomalySettings,
    NewResources,
    Subject,
    identity_signals,
    robust_baseline,
    signal_key,
    user_agent_product,
)
from permscope.core.activity_days import MAX_SOURCES, DayProfile, IdentityDay
from permscope.core.findings import Severity
from permscope.core.ids import Cloud
from permscope.core.signals import SignalKind

ALICE = Subject(
    cloud=Cloud.AWS,
    system_id="111122223333",
    external_id="arn:aws:iam::111122223333:user/alice",
    kind="user",
    name="alice",
)
START = date(2026, 11, 1)
JUDGED = START + timedelta(days=30)
SETTINGS = AnomalySettings()


def office_day(day: date, events: int = 40, **changes: object) -> IdentityDay:
    """A working day: events spread over 09:00-17:59 UTC, from one IP, region and agent, on s3 and ec2."""
    profile = DayProfile()
    for number in range(events):
        hour = 9 + number % 9
        service = "s3" if number % 2 else "ec2"
        profile.note(hour, service, "198.51.100.7", "eu-west-1", "aws-cli/2.15")
    for name, value in changes.items():
        setattr(profile, name, value)
    return IdentityDay(ALICE.external_id, day, profile)


def history(days: int = 30, weekends: bool = False) -> list[IdentityDay]:
    """`days` days of office work before JUDGED (weekdays only unless `weekends`), volumes 30 to 49."""
    found = []
    for offset in range(days, 0, -1):
        day = JUDGED - timedelta(days=offset)
        if weekends or day.weekday() < 5:
            found.append(office_day(day, events=30 + (offset * 7) % 20))
    return found


def judge(days: list[IdentityDay], first_used: dict[str, datetime] | None = None) -> list:
    return identity_signals(ALICE, days, first_used or {}, JUDGED, JUDGED, SETTINGS)


def kinds(signals: list) -> list[SignalKind]:
    return sorted(signal.kind for signal in signals)


def test_a_normal_day_after_a_normal_history_is_quiet() -> None:
    assert judge([*history(), office_day(JUDGED, events=45)]) == []


def test_volume_spike_fires_with_its_baseline_in_the_explanation() -> None:
    signals = judge([*history(), office_day(JUDGED, events=1240)])
    assert kinds(signals) == [SignalKind.ANOMALY_VOLUME]
    signal = signals[0]
    median = robust_baseline([day.profile.events for day in history()]).median
    assert f"1,240 events on {JUDGED.isoformat()}, baseline median {median:,.0f} (MAD " in signal.explanation
    assert "over 28 days" in signal.explanation
    assert signal.evidence["events"] == 1240 and signal.evidence["median"] == median
    assert signal.subject_id == ALICE.external_id and signal.system_id == ALICE.system_id


def test_a_busy_but_usual_day_is_no_volume_anomaly() -> None:
    days = history()
    assert judge([*days, office_day(JUDGED, events=2 * int(robust_baseline([49]).median))]) == []


def test_off_hours_fire_once_naming_the_hours_and_the_usual_ones() -> None:
    day = office_day(JUDGED)
    for _ in range(5):
        day.profile.note(2, "s3", "198.51.100.7", "eu-west-1", "aws-cli/2.15")
        day.profile.note(3, "s3", "198.51.100.7", "eu-west-1", "aws-cli/2.15")
    signals = judge([*history(), day])
    assert kinds(signals) == [SignalKind.ANOMALY_HOUR]
    assert "10 events at 02:00-03:59 UTC" in signals[0].explanation
    assert "it usually acts at 09:00-17:59 UTC" in signals[0].explanation
    assert signals[0].observed_at == datetime(2026, 12, 1, 2, tzinfo=UTC)


def test_one_stray_event_at_night_is_below_the_minimum() -> None:
    day = office_day(JUDGED)
    day.profile.note(3, "s3", "198.51.100.7", "eu-west-1", "aws-cli/2.15")
    assert judge([*history(), day]) == []


def test_new_source_ip_region_and_agent_each_fire() -> None:
    day = office_day(JUDGED)
    day.profile.note(10, "s3", "203.0.113.9", "ap-south-1", "python-requests/2.31")
    signals = judge([*history(), day])
    assert kinds(signals) == [SignalKind.ACTIVITY_NEW_SOURCE] * 3
    by_source = {signal.evidence["source"]: signal for signal in signals}
    assert by_source["ips"].evidence["value"] == "203.0.113.9"
    assert "source IP 203.0.113.9 (1 events on 2026-12-01) was not seen in the 28 days before" in (
        by_source["ips"].explanation
    )
    assert "198.51.100.7" in by_source["ips"].explanation
    assert by_source["regions"].evidence["value"] == "ap-south-1"


def test_a_baseline_whose_sources_overflowed_judges_no_new_source_of_that_kind() -> None:
    days = history()
    days[
        -1
    ].profile.ips_other = 3  # more distinct IPs that day than a profile keeps: the baseline is not whole
    day = office_day(JUDGED)
    day.profile.note(10, "s3", "203.0.113.9", "eu-west-1", "aws-cli/2.15")
    assert judge([*days, day]) == []
    assert MAX_SOURCES >= 8


def test_new_service_fires_at_low_severity() -> None:
    day = office_day(JUDGED)
    day.profile.note(11, "kms", "198.51.100.7", "eu-west-1", "aws-cli/2.15")
    signals = judge([*history(), day])
    assert kinds(signals) == [SignalKind.ANOMALY_NEW_SERVICE]
    assert signals[0].severity is Severity.LOW and signals[0].evidence["service"] == "kms"
    assert "used ec2, s3" in signals[0].explanation


def test_high_risk_actions_fire_without_history() -> None:
    day = office_day(JUDGED, high_risk={"iam:AttachRolePolicy": 2, "s3:DeleteBucket": 1})
    signals = judge([day])
    assert kinds(signals) == [SignalKind.ACTIVITY_HIGH_RISK] * 2
    assert {signal.evidence["action"] for signal in signals} == {"iam:AttachRolePolicy", "s3:DeleteBucket"}
    assert all(signal.severity is Severity.HIGH for signal in signals)


def test_first_action_needs_history_and_the_first_use_on_that_day() -> None:
    first = {
        "iam:CreateAccessKey": datetime(2026, 12, 1, 14, 5, tzinfo=UTC),
        "s3:GetObject": datetime(2026, 11, 20, 9, 0, tzinfo=UTC),  # first used another day: not this day's
    }
    signals = judge([*history(), office_day(JUDGED)], first)
    assert kinds(signals) == [SignalKind.ACTIVITY_FIRST_ACTION]
    assert signals[0].evidence["action"] == "iam:CreateAccessKey"
    assert signals[0].observed_at == first["iam:CreateAccessKey"]
    assert signals[0].severity is Severity.MEDIUM
    newcomer = [office_day(JUDGED - timedelta(days=2)), office_day(JUDGED)]
    assert judge(newcomer, first) == []  # seen for two days only: everything it does is new


def test_first_use_of_a_high_risk_action_is_high() -> None:
    first = {"iam:PutRolePolicy": datetime(2026, 12, 1, 10, tzinfo=UTC)}
    day = office_day(JUDGED, high_risk={"iam:PutRolePolicy": 1})
    signals = [s for s in judge([*history(), day], first) if s.kind is SignalKind.ACTIVITY_FIRST_ACTION]
    assert [signal.severity for signal in signals] == [Severity.HIGH]


@pytest.mark.parametrize("active_days", [0, 1, 6])
def test_too_little_history_judges_no_statistics(active_days: int) -> None:
    days = history(weekends=True)[-active_days:] if active_days else []
    night_spike = office_day(JUDGED, events=5000)
    for _ in range(20):
        night_spike.profile.note(3, "kms", "203.0.113.9", "ap-south-1", "curl/8")
    assert judge([*days, night_spike]) == []


def test_the_baseline_is_the_window_before_the_day_only() -> None:
    old_spikes = [office_day(JUDGED - timedelta(days=offset), events=1240) for offset in range(40, 30, -1)]
    signals = judge([*old_spikes, *history(), office_day(JUDGED, events=1240)])
    assert kinds(signals) == [SignalKind.ANOMALY_VOLUME]  # spikes older than 28 days are no baseline
    later = identity_signals(ALICE, [*history(), office_day(JUDGED, events=40)], {}, JUDGED, JUDGED, SETTINGS)
    assert later == []


def test_keys_are_stable_and_distinct_per_day_identity_kind_and_detail() -> None:
    days = [*history(), office_day(JUDGED, events=1240)]
    assert [s.key for s in judge(days)] == [s.key for s in judge(list(reversed(days)))]
    key = signal_key(SignalKind.ANOMALY_VOLUME, ALICE, JUDGED, "volume")
    assert judge(days)[0].key == key and key.startswith("anomaly.volume:")
    others = {
        signal_key(SignalKind.ANOMALY_HOUR, ALICE, JUDGED, "volume"),
        signal_key(SignalKind.ANOMALY_VOLUME, ALICE, JUDGED + timedelta(days=1), "volume"),
        signal_key(SignalKind.ANOMALY_VOLUME, ALICE, JUDGED, "other"),
        signal_key(
            SignalKind.ANOMALY_VOLUME,
            Subject(Cloud.AWS, ALICE.system_id, "arn:aws:iam::111122223333:user/bob", "user", "bob"),
            JUDGED,
            "volume",
        ),
    }
    assert key not in others and len(others) == 4


def test_only_days_in_the_range_are_judged() -> None:
    days = [*history(), office_day(JUDGED, events=1240)]
    earlier = JUDGED - timedelta(days=1)
    assert identity_signals(ALICE, days, {}, earlier, earlier, SETTINGS) == []


def test_settings_problems_are_named() -> None:
    assert AnomalySettings().problems() == []
    problems = AnomalySettings(baseline_days=0, min_history_days=9, hour_share=2).problems()
    assert problems == [
        "baseline_days must be at least 1",
        "min_history_days must be between 1 and baseline_days",
        "hour_share must be between 0 and 1 and hour_min_events at least 1",
    ]


def test_robust_baseline_resists_one_outlier() -> None:
    stats = robust_baseline([30, 32, 35, 35, 36, 38, 40, 5000])
    assert stats.median == 35.5 and stats.mad == 3.0
    assert stats.score(35.5) == 0 and stats.deviation == pytest.approx(4.4478)


def test_a_tool_upgrade_is_no_new_user_agent_but_another_tool_is() -> None:
    upgraded = office_day(JUDGED)
    upgraded.profile.note(10, "s3", "198.51.100.7", "eu-west-1", "aws-cli/2.17.1 Python/3.12")
    assert judge([*history(), upgraded]) == []
    other = office_day(JUDGED)
    other.profile.note(10, "s3", "198.51.100.7", "eu-west-1", "python-requests/2.31")
    signals = judge([*history(), other])
    assert [(s.kind, s.evidence["value"]) for s in signals] == [
        (SignalKind.ACTIVITY_NEW_SOURCE, "python-requests/2.31")
    ]
    assert user_agent_product(" Google-Cloud-SDK gcloud/467.0") == "google-cloud-sdk"
    assert user_agent_product("") == ""


def new_resources(*days: tuple[date, list[str]]) -> dict[date, NewResources]:
    found: dict[date, NewResources] = {}
    for day, names in days:
        for name in names:
            found.setdefault(day, NewResources()).add(name, datetime.combine(day, time(11), tzinfo=UTC))
    return found


def resource_signals(days: list[IdentityDay], resources: dict[date, NewResources]) -> list:
    found = identity_signals(ALICE, days, {}, JUDGED, JUDGED, SETTINGS, resources)
    return [signal for signal in found if signal.kind is SignalKind.ANOMALY_RESOURCE]


def test_a_new_resource_of_a_stable_identity_fires_explained_against_its_baseline() -> None:
    days = [*history(), office_day(JUDGED)]
    earlier = days[3].day  # one baseline day brought a new resource (allowed: at most 20 % of them)
    names = [f"arn:aws:s3:::vault/{n}" for n in "gfedcba"]
    resources = new_resources((earlier, ["arn:aws:s3:::reports"]), (JUDGED, names))
    [signal] = resource_signals(days, resources)
    assert signal.severity is Severity.LOW and signal.subject_id == ALICE.external_id
    assert (
        signal.summary
        == f"alice acted on 7 resource(s) new to it on {JUDGED}: arn:aws:s3:::vault/a and others"
    )
    baseline = len([day for day in history() if day.day >= JUDGED - timedelta(days=28)])
    assert (
        "first use ever of arn:aws:s3:::vault/a, arn:aws:s3:::vault/b, arn:aws:s3:::vault/c, arn:aws:s3:::vault/d, "
        "arn:aws:s3:::vault/e and 2 more" in signal.explanation
    )
    assert f"in the 28 days before ({baseline} active days) it first acted on a resource on 1 of them" in (
        signal.explanation
    )
    assert signal.evidence["count"] == 7 and signal.evidence["novelDays"] == [earlier.isoformat()]
    assert signal.observed_at == datetime.combine(JUDGED, time(11), tzinfo=UTC)
    again = resource_signals(days, resources)
    assert again[0].key == signal.key  # judged again: the same key


def test_new_resources_need_a_baseline_and_stable_resources() -> None:
    today = (JUDGED, ["arn:aws:s3:::vault/x"])
    assert (
        resource_signals([*history()[-5:], office_day(JUDGED)], new_resources(today)) == []
    )  # 5 active days
    churning = [(day.day, [f"arn:aws:s3:::b/{day.day}"]) for day in history()[-8:]]  # new ones every few days
    assert resource_signals([*history(), office_day(JUDGED)], new_resources(*churning, today)) == []
    assert resource_signals([*history(), office_day(JUDGED)], new_resources()) == []  # nothing new: quiet
    quiet = identity_signals(ALICE, [*history(), office_day(JUDGED)], {}, JUDGED, JUDGED, SETTINGS, None)
    assert quiet == []  # not asked (the caller read no resources)


def test_new_resources_keep_the_first_names_in_order() -> None:
    found = NewResources()
    for name in ["e", "a", "f", "b", "g", "c", "d", "0"]:
        found.add(name, datetime(2026, 12, 1, tzinfo=UTC))
    assert (found.count, found.examples) == (8, ["0", "a", "b", "c", "d"])
    assert AnomalySettings(resource_novel_share=1).problems() == [
        "resource_novel_share must be at least 0 and under 1"
    ]
