"""What the store observed of a system in a window: the span its activity logs cover (clipped to the window, the
days with activity counted) and one identity's usage there; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from permscope.core.activity import ActivitySource, IdentityActivity, SystemActivity
from permscope.core.activity_days import DayProfile, IdentityDay
from permscope.core.ids import Cloud
from permscope.core.inventory import Usage
from permscope.store import usage as usage_store
from permscope.store.observation import activity_coverage, identity_usages
from permscope.store.systems import system_pk

ACCOUNT = "111122223333"
ALICE, BOB = f"arn:aws:iam::{ACCOUNT}:user/alice", f"arn:aws:iam::{ACCOUNT}:user/bob"
NOW = datetime(2026, 12, 7, tzinfo=UTC)


def at(days_ago: float) -> datetime:
    return NOW - timedelta(days=days_ago)


def used(identity: str, action: str, resource: str | None, first: float, last: float, count: int) -> Usage:
    return Usage(identity_external_id=identity, action=action, resource=resource, first_seen=at(first),
                 last_seen=at(last), count=count)  # fmt: skip


def seed(engine: Engine) -> None:
    """alice acted from 200 to 40 days ago, bob from 20 to 2; usage inside and outside a 30-day window."""
    profile = DayProfile()
    profile.note(10, "s3", "198.51.100.7", "eu-west-1", "aws-cli/2")
    system = SystemActivity(
        system_id=ACCOUNT,
        usages=[
            used(ALICE, "s3:GetObject", "arn:aws:s3:::b/k", 200, 40, 5),
            used(BOB, "s3:GetObject", "arn:aws:s3:::b/k", 20, 2, 2**40),
            used(BOB, "s3:ListBucket", None, 60, 31, 1),
            used(BOB, "ec2:DescribeInstances", None, 5, 3, 7),
        ],
        activity=[
            IdentityActivity(identity_external_id=ALICE, first_seen=at(200), last_seen=at(40), events=5),
            IdentityActivity(identity_external_id=BOB, first_seen=at(20), last_seen=at(2), events=9),
        ],
        days=[IdentityDay(BOB, (NOW - timedelta(days=d)).date(), profile) for d in (2, 3, 20)]
        + [IdentityDay(ALICE, date(2026, 10, 28), profile)],
    )
    usage_store.merge_activity(
        engine, Cloud.AWS.value, [system], [ActivitySource(kind="file", key="k", location="f")]
    )


def test_coverage_is_the_systems_activity_span_inside_the_window(engine: Engine) -> None:
    seed(engine)
    with Session(engine) as session:
        pk = system_pk(session, ACCOUNT, "aws")
        wide = activity_coverage(session, pk, at(90), NOW)
        narrow = activity_coverage(session, pk, at(30), NOW)
        empty = activity_coverage(session, pk, at(400), at(300))
    assert (wide.start, wide.end, wide.active_days) == (at(90), at(2), 4)  # alice's span starts before it
    assert round(wide.days, 6) == 88
    assert (narrow.start, narrow.end, narrow.active_days) == (at(20), at(2), 3)
    assert round(narrow.days, 6) == 18
    assert (empty.start, empty.end, empty.days, empty.active_days) == (None, None, 0.0, 0)


def test_an_identitys_usage_in_the_window(engine: Engine) -> None:
    seed(engine)
    with Session(engine) as session:
        pk = system_pk(session, ACCOUNT, "aws")
        bob = identity_usages(session, pk, BOB, at(30), NOW)
        alice = identity_usages(session, pk, ALICE, at(30), NOW)
        earlier = identity_usages(session, pk, BOB, at(90), at(50))
    assert [(u.action, u.resource, u.count) for u in bob] == [
        ("ec2:DescribeInstances", None, 7),
        ("s3:GetObject", "arn:aws:s3:::b/k", 2**40),
    ]  # s3:ListBucket was last used 31 days ago
    assert alice == []  # last used 40 days ago
    assert [u.action for u in earlier] == ["s3:ListBucket"]
