"""Day profiles in the store: merged through the activity write path (one row per identity per system per day,
bounds kept across merges, nothing written when the batch fails), read per day range; the actions first used in
a range from usage; on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from permscope.core.activity import ActivitySource, IdentityActivity, SystemActivity
from permscope.core.activity_days import MAX_SOURCES, DayProfile, IdentityDay
from permscope.core.ids import Cloud
from permscope.core.inventory import AuthorizationSystem, Identity, IdentityKind, InventoryBatch, Usage
from permscope.store import activity_days as days_store
from permscope.store import usage as usage_store
from permscope.store.ingest import ingest
from permscope.store.systems import stored_system
from permscope.store.tables import ActivityDayRow

ACCOUNT = "111122223333"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
BOB = f"arn:aws:iam::{ACCOUNT}:user/bob"
DAY = date(2026, 12, 1)


def profile(events: int, ip: str = "198.51.100.7", hour: int = 10, **risky: int) -> DayProfile:
    found = DayProfile()
    for _ in range(events):
        found.note(hour, "s3", ip, "eu-west-1", "aws-cli/2")
    found.high_risk = dict(risky)
    return found


def merge(engine: Engine, key: str, *items: IdentityDay) -> usage_store.MergeResult:
    moment = datetime(2026, 12, 1, tzinfo=UTC)
    system = SystemActivity(
        system_id=ACCOUNT,
        activity=[IdentityActivity(identity_external_id=item.identity_external_id, first_seen=moment,
                                   last_seen=moment, events=item.profile.events) for item in items],
        days=list(items),
    )  # fmt: skip
    return usage_store.merge_activity(
        engine, Cloud.AWS.value, [system], [ActivitySource(kind="file", key=key, location=key)]
    )


def system_pk(engine: Engine) -> int:
    with Session(engine) as session:
        stored = stored_system(session, "aws", ACCOUNT)
        assert stored is not None
        return stored.id


def read(engine: Engine, since: date = DAY, until: date = DAY) -> dict[tuple[str, date], DayProfile]:
    with Session(engine) as session:
        found = days_store.system_days(session, system_pk(engine), since, until)
    return {(item.identity_external_id, item.day): item.profile for item in found}


def test_one_row_per_identity_and_day_merged_across_imports(engine: Engine) -> None:
    result = merge(engine, "a", IdentityDay(ALICE, DAY, profile(3)), IdentityDay(BOB, DAY, profile(1)))
    assert result.day_profiles == 2
    merge(
        engine,
        "b",
        IdentityDay(ALICE, DAY, profile(2, ip="203.0.113.9", hour=3, **{"iam:AttachRolePolicy": 1})),
        IdentityDay(ALICE, date(2026, 12, 2), profile(4)),
    )
    stored = read(engine, DAY, date(2026, 12, 2))
    alice = stored[(ALICE, DAY)]
    assert alice.events == 5 and alice.hours[10] == 3 and alice.hours[3] == 2
    assert alice.ips == {"198.51.100.7": 3, "203.0.113.9": 2}
    assert alice.high_risk == {"iam:AttachRolePolicy": 1}
    assert stored[(BOB, DAY)].events == 1 and stored[(ALICE, date(2026, 12, 2))].events == 4
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(ActivityDayRow)) == 3
    assert set(read(engine)) == {(ALICE, DAY), (BOB, DAY)}  # the range is kept to


def test_two_actors_of_one_identity_in_one_batch_are_added(engine: Engine) -> None:
    merge(engine, "a", IdentityDay(ALICE, DAY, profile(2)), IdentityDay(ALICE, DAY, profile(3)))
    assert read(engine)[(ALICE, DAY)].events == 5


def test_bounds_hold_across_merges(engine: Engine) -> None:
    for number in range(MAX_SOURCES + 3):
        merge(engine, f"input-{number}", IdentityDay(ALICE, DAY, profile(1, ip=f"10.0.0.{number}")))
    alice = read(engine)[(ALICE, DAY)]
    assert alice.events == MAX_SOURCES + 3 and len(alice.ips) == MAX_SOURCES and alice.other == {"ips": 3}


def test_a_failed_batch_writes_no_profile(engine: Engine) -> None:
    merge(engine, "a", IdentityDay(ALICE, DAY, profile(2)))
    with pytest.raises(IntegrityError):  # input "a" counted already: the whole batch is refused
        merge(engine, "a", IdentityDay(ALICE, DAY, profile(7)), IdentityDay(BOB, DAY, profile(1)))
    assert {key: value.events for key, value in read(engine).items()} == {(ALICE, DAY): 2}


def test_unicode_and_long_values_round_trip(engine: Engine) -> None:
    odd = profile(1, ip="2001:db8::1")
    odd.note(10, "s3", "2001:db8::1", 'ré\'gion "quoted"', "agent ünïcode/1.0")
    merge(engine, "a", IdentityDay(ALICE, DAY, odd))
    assert read(engine)[(ALICE, DAY)] == odd


@pytest.mark.slow
def test_concurrent_merges_of_one_day_lose_nothing(engine: Engine) -> None:
    merge(engine, "seed", IdentityDay(BOB, DAY, profile(1)))  # the system exists before the writers start
    errors: list[BaseException] = []

    def writer(number: int) -> None:
        try:
            for round_ in range(5):
                merge(engine, f"w{number}-{round_}", IdentityDay(ALICE, DAY, profile(1)))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(number,)) for number in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert read(engine)[(ALICE, DAY)].events == 15


def test_first_used_actions_are_exact_whatever_the_import_order(engine: Engine) -> None:
    def use(identity: str, action: str, first: datetime, resource: str | None = None) -> Usage:
        return Usage(identity_external_id=identity, action=action, resource=resource, first_seen=first,
                     last_seen=first, count=1)  # fmt: skip

    late = datetime(2026, 12, 1, 14, 5, tzinfo=UTC)
    early = datetime(2026, 11, 3, 9, tzinfo=UTC)
    batch = SystemActivity(
        system_id=ACCOUNT,
        usages=[
            use(ALICE, "iam:CreateAccessKey", late),
            use(ALICE, "s3:GetObject", late, "arn:aws:s3:::b/new"),
            use(ALICE, "s3:GetObject", early, "arn:aws:s3:::b/old"),  # used before, on another object
            use(BOB, "s3:GetObject", datetime(2026, 12, 2, tzinfo=UTC)),
        ],
    )
    usage_store.merge_activity(engine, "aws", [batch], [ActivitySource(kind="file", key="u", location="u")])
    with Session(engine) as session:
        pk = system_pk(engine)
        first = days_store.first_used_actions(session, pk, DAY, DAY)
        assert first == {(ALICE, "iam:CreateAccessKey"): late}
        wider = days_store.first_used_actions(session, pk, DAY, date(2026, 12, 2))
        assert set(wider) == {(ALICE, "iam:CreateAccessKey"), (BOB, "s3:GetObject")}
    older = SystemActivity(system_id=ACCOUNT, usages=[use(ALICE, "iam:CreateAccessKey", early)])
    usage_store.merge_activity(engine, "aws", [older], [ActivitySource(kind="file", key="v", location="v")])
    with Session(engine) as session:  # older logs imported later: the action was not new that day after all
        assert days_store.first_used_actions(session, system_pk(engine), DAY, DAY) == {}


def test_identity_labels_of_stored_identities(engine: Engine) -> None:
    system = AuthorizationSystem(cloud=Cloud.AWS, system_id=ACCOUNT, name="prod")
    ingest(
        engine,
        InventoryBatch(
            system=system,
            source="test",
            identities=[
                Identity(external_id=ALICE, kind=IdentityKind.USER, display_name="alice", source="aws")
            ],
        ),
    )
    with Session(engine) as session:
        labels = days_store.identity_labels(session, system_pk(engine), [ALICE, BOB])
    assert labels == {ALICE: ("user", "alice")}


def test_first_used_resources_are_exact_whatever_the_import_order(engine: Engine) -> None:
    def use(identity: str, action: str, first: datetime, resource: str | None = None) -> Usage:
        return Usage(identity_external_id=identity, action=action, resource=resource, first_seen=first,
                     last_seen=first, count=1)  # fmt: skip

    late = datetime(2026, 12, 1, 14, 5, tzinfo=UTC)
    early = datetime(2026, 11, 3, 9, tzinfo=UTC)
    batch = SystemActivity(
        system_id=ACCOUNT,
        usages=[
            use(ALICE, "s3:GetObject", late, "arn:aws:s3:::b/new"),
            use(ALICE, "s3:PutObject", late, "arn:aws:s3:::b/old"),  # a new action on an old resource
            use(ALICE, "s3:GetObject", early, "arn:aws:s3:::b/old"),
            use(ALICE, "iam:ListUsers", late),  # names no resource: never a new resource
            use(BOB, "s3:GetObject", late, "arn:aws:s3:::b/new"),  # new to bob too
        ],
    )
    usage_store.merge_activity(engine, "aws", [batch], [ActivitySource(kind="file", key="u", location="u")])
    with Session(engine) as session:
        found = sorted(days_store.first_used_resources(session, system_pk(engine), DAY, DAY))
    assert found == [(ALICE, "arn:aws:s3:::b/new", late), (BOB, "arn:aws:s3:::b/new", late)]
    older = SystemActivity(
        system_id=ACCOUNT, usages=[use(ALICE, "s3:ListBucket", early, "arn:aws:s3:::b/new")]
    )
    usage_store.merge_activity(engine, "aws", [older], [ActivitySource(kind="file", key="v", location="v")])
    with Session(
        engine
    ) as session:  # older logs imported later: alice had acted on it before (another action)
        found = sorted(days_store.first_used_resources(session, system_pk(engine), DAY, DAY))
        assert found == [(BOB, "arn:aws:s3:::b/new", late)]
        wider = {
            r[:2] for r in days_store.first_used_resources(session, system_pk(engine), early.date(), DAY)
        }
        assert wider == {
            (ALICE, "arn:aws:s3:::b/old"),
            (ALICE, "arn:aws:s3:::b/new"),
            (BOB, "arn:aws:s3:::b/new"),
        }
