"""Day profiles: what one event notes, the bounds on sources and services, merging, high-risk actions kept."""

from __future__ import annotations

import pickle

from permscope.core.activity_days import (
    MAX_HIGH_RISK,
    MAX_SOURCES,
    MAX_VALUE_CHARS,
    DayProfile,
    fold_days,
)


def test_an_event_counts_in_its_hour_service_and_sources() -> None:
    profile = DayProfile()
    profile.note(9, "s3", "198.51.100.7", "eu-west-1", "aws-cli/2")
    profile.note(9, "s3", "198.51.100.7", "eu-west-1", "aws-cli/2")
    profile.note(23, None, None, 42, "")  # values that are no string (or empty) are not noted
    assert profile.events == 3 and profile.hours[9] == 2 and profile.hours[23] == 1
    assert profile.services == {"s3": 2}
    assert profile.sources() == {
        "ips": {"198.51.100.7": 2},
        "regions": {"eu-west-1": 2},
        "agents": {"aws-cli/2": 2},
    }
    assert profile.other == {}


def test_sources_are_bounded_and_the_rest_counted() -> None:
    profile = DayProfile()
    for number in range(MAX_SOURCES + 5):
        profile.note(0, "ec2", f"203.0.113.{number}", "eu-west-1", "x" * (MAX_VALUE_CHARS + 50))
    profile.note(0, "ec2", "203.0.113.0", "eu-west-1", "x" * MAX_VALUE_CHARS)  # a kept value still counts
    assert len(profile.ips) == MAX_SOURCES and profile.ips["203.0.113.0"] == 2
    assert profile.other == {"ips": 5}
    assert profile.agents == {"x" * MAX_VALUE_CHARS: MAX_SOURCES + 6}  # long agents are cut


def test_merge_adds_and_keeps_the_bounds() -> None:
    one, two = DayProfile(), DayProfile()
    for number in range(MAX_SOURCES):
        one.note(1, "s3", f"10.0.0.{number}", "r", None)
    two.note(2, "s3", "10.0.0.1", "r", None)
    two.note(2, "kms", "192.0.2.1", "r", None)
    two.note_action("kms:Decrypt")
    one.merge(two)
    assert one.events == MAX_SOURCES + 2 and one.hours[1] == MAX_SOURCES and one.hours[2] == 2
    assert one.services == {"s3": MAX_SOURCES + 1, "kms": 1}
    assert one.ips["10.0.0.1"] == 2 and "192.0.2.1" not in one.ips and one.other == {"ips": 1}
    assert one.actions == {"kms:Decrypt": 1}


def test_keep_high_risk_keeps_only_those_and_forgets_the_actions() -> None:
    profile = DayProfile()
    for action in ("iam:AttachRolePolicy", "s3:GetObject", "iam:AttachRolePolicy"):
        profile.note_action(action)
    for number in range(MAX_HIGH_RISK + 2):
        profile.note_action(f"ec2:DeleteThing{number:03d}")
    profile.keep_high_risk(lambda action: action.startswith(("iam:Attach", "ec2:Delete")))
    assert profile.actions == {}
    assert profile.high_risk["iam:AttachRolePolicy"] == 2 and "s3:GetObject" not in profile.high_risk
    assert len(profile.high_risk) == MAX_HIGH_RISK and profile.other == {"highRisk": 3}


def test_clean_drops_what_no_database_keeps() -> None:
    profile = DayProfile()
    profile.note(0, "s3", "10.0.0.1\x00", "eu-west-1", "agent\udc80")
    profile.clean()
    assert profile.ips == {} and profile.agents == {} and profile.other == {"ips": 1, "agents": 1}


def test_stored_round_trip_and_pickling() -> None:
    profile = DayProfile()
    for number in range(MAX_SOURCES + 1):
        profile.note(number % 24, "s3", f"10.0.0.{number}", "eu-west-1", "cli")
    profile.high_risk = {"s3:DeleteBucket": 1}
    again = DayProfile.stored(
        events=profile.events,
        hours=profile.hours,
        services=profile.services,
        sources=profile.sources(),
        high_risk=profile.high_risk,
        other=profile.other,
    )
    assert again == profile
    assert pickle.loads(pickle.dumps(profile)) == profile


def test_fold_days_merges_same_keys_and_empties_the_other() -> None:
    mine = {("a", "2026-12-01"): DayProfile(events=1)}
    theirs = {("a", "2026-12-01"): DayProfile(events=2), ("b", "2026-12-01"): DayProfile(events=3)}
    fold_days(mine, theirs)
    assert theirs == {} and mine[("a", "2026-12-01")].events == 3 and mine[("b", "2026-12-01")].events == 3


def test_pickling_keeps_every_field() -> None:
    profile = DayProfile(
        events=3, services_other=1, ips_other=2, regions_other=3, agents_other=4, high_risk_other=5
    )
    profile.note(4, "s3", "10.0.0.1", "eu-west-1", "cli")
    profile.high_risk = {"s3:DeleteBucket": 1}
    profile.note_action("s3:GetObject")
    assert pickle.loads(pickle.dumps(profile, protocol=pickle.HIGHEST_PROTOCOL)) == profile
