"""The activity write path: merges (min / max / sum), inputs counted once, last activity, reads; both backends."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from permscope.core.activity import ActivitySource, IdentityActivity, SystemActivity
from permscope.core.ids import Cloud
from permscope.core.inventory import AuthorizationSystem, Identity, IdentityKind, InventoryBatch, Usage
from permscope.store import usage as store
from permscope.store.ingest import ingest
from permscope.store.tables import AuthorizationSystemRow, IdentityRow, UsageRow

ACCOUNT = "111122223333"
OTHER = "444455556666"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/service-role/deploy"
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def use(
    identity: str, action: str, first: float, last: float, count: int, resource: str | None = None
) -> Usage:
    return Usage(
        identity_external_id=identity,
        action=action,
        resource=resource,
        first_seen=at(first),
        last_seen=at(last),
        count=count,
    )


def seen(identity: str, first: float, last: float, events: int) -> IdentityActivity:
    return IdentityActivity(
        identity_external_id=identity, first_seen=at(first), last_seen=at(last), events=events
    )


def source(key: str) -> ActivitySource:
    return ActivitySource(
        kind="file", key=key, location=f"/logs/{key}.json.gz", events=3, details={"size": 1}
    )


def inventory(engine: Engine, last_active: datetime | None = None) -> None:
    ingest(
        engine,
        InventoryBatch(
            system=AuthorizationSystem(cloud=Cloud.AWS, system_id=ACCOUNT, name="prod"),
            source="test",
            identities=[
                Identity(
                    external_id=ALICE,
                    kind=IdentityKind.USER,
                    display_name="alice",
                    source="aws",
                    last_active_at=last_active,
                    attributes={"userId": "AIDAALICE"},
                ),
                Identity(
                    external_id=ROLE,
                    kind=IdentityKind.ROLE,
                    display_name="deploy",
                    source="aws",
                    attributes={"roleId": "AROADEPLOY"},
                ),
            ],
        ),
    )


def usage_rows(engine: Engine) -> dict[tuple[str, str, str], tuple[datetime, datetime, int]]:
    with Session(engine) as session:
        return {
            (row.identity_external_id, row.action, row.resource): (row.first_seen, row.last_seen, row.count)
            for row in session.scalars(select(UsageRow))
        }


def last_active(engine: Engine, identity: str) -> datetime | None:
    with Session(engine) as session:
        return session.scalar(select(IdentityRow.last_active_at).where(IdentityRow.external_id == identity))


def test_merges_take_min_max_and_sum(engine: Engine) -> None:
    inventory(engine)
    first = SystemActivity(
        system_id=ACCOUNT,
        usages=[use(ALICE, "s3:GetObject", 2, 5, 4, "arn:aws:s3:::b/k"), use(ALICE, "iam:GetUser", 1, 1, 1)],
        activity=[seen(ALICE, 1, 5, 5)],
    )
    result = store.merge_activity(engine, "aws", [first], [source("a")])
    assert (result.usage_rows, result.identities_seen, result.last_active_raised, result.sources) == (
        2,
        1,
        1,
        1,
    )
    second = SystemActivity(
        system_id=ACCOUNT,
        usages=[use(ALICE, "s3:GetObject", 0, 3, 2, "arn:aws:s3:::b/k"), use(ALICE, "s3:GetObject", 9, 9, 1)],
        activity=[seen(ALICE, 0, 9, 3)],
    )
    store.merge_activity(engine, "aws", [second], [source("b")])
    assert usage_rows(engine) == {
        (ALICE, "s3:GetObject", "arn:aws:s3:::b/k"): (at(0), at(5), 6),
        (ALICE, "iam:GetUser", ""): (at(1), at(1), 1),
        (ALICE, "s3:GetObject", ""): (at(9), at(9), 1),
    }
    assert last_active(engine, ALICE) == at(9)
    [activity] = store.identity_activity(engine, "aws", ALICE)
    assert (activity.first_seen, activity.last_seen, activity.events) == (at(0), at(9), 8)
    assert store.counted_sources(engine, "aws", "file", ["a", "b", "c"]) == {"a", "b"}


def test_an_input_counted_before_changes_nothing(engine: Engine, dump_db: Callable[[Engine], Any]) -> None:
    inventory(engine)
    batch = [SystemActivity(system_id=ACCOUNT, usages=[use(ALICE, "iam:GetUser", 1, 2, 3)])]
    store.merge_activity(engine, "aws", batch, [source("a")])
    before = dump_db(engine)
    with pytest.raises(IntegrityError):
        store.merge_activity(engine, "aws", batch, [source("new"), source("a")])
    assert dump_db(engine) == before


def test_last_activity_only_moves_later_and_survives_a_reimport(engine: Engine) -> None:
    inventory(engine, last_active=at(10))
    store.merge_activity(
        engine, "aws", [SystemActivity(system_id=ACCOUNT, activity=[seen(ALICE, 1, 5, 2)])], [source("a")]
    )
    assert last_active(engine, ALICE) == at(10)  # the export's date is later: kept
    store.merge_activity(
        engine, "aws", [SystemActivity(system_id=ACCOUNT, activity=[seen(ALICE, 1, 20, 2)])], [source("b")]
    )
    assert last_active(engine, ALICE) == at(20)
    inventory(engine, last_active=at(11))  # the export changed (older date): the logs still know better
    assert last_active(engine, ALICE) == at(20)
    inventory(engine, last_active=at(30))
    assert last_active(engine, ALICE) == at(30)


def test_activity_before_the_inventory_is_applied_when_it_arrives(engine: Engine) -> None:
    store.merge_activity(
        engine,
        "aws",
        [
            SystemActivity(
                system_id=ACCOUNT,
                usages=[use(ROLE, "sts:AssumeRole", 1, 2, 2)],
                activity=[seen(ROLE, 1, 2, 2)],
            )
        ],
        [source("a")],
    )
    with Session(engine) as session:
        system = session.scalars(select(AuthorizationSystemRow)).one()
        assert (system.system_id, system.name, system.collection_status) == (ACCOUNT, ACCOUNT, "offline")
    inventory(engine)
    assert last_active(engine, ROLE) == at(2)
    with Session(engine) as session:
        assert session.scalar(select(AuthorizationSystemRow.collection_status)) == "online"


def test_systems_are_created_per_account_and_reported(engine: Engine) -> None:
    inventory(engine)
    result = store.merge_activity(
        engine,
        "aws",
        [
            SystemActivity(system_id=ACCOUNT, usages=[use(ALICE, "iam:GetUser", 1, 1, 1)]),
            SystemActivity(
                system_id=OTHER, usages=[use(f"arn:aws:iam::{OTHER}:root", "iam:ListUsers", 1, 1, 1)]
            ),
        ],
        [source("a")],
    )
    assert result.systems == [ACCOUNT, OTHER] and result.systems_created == [OTHER]


def test_counts_beyond_32_bits(engine: Engine) -> None:
    inventory(engine)
    big = 3_000_000_000
    for key in ("a", "b"):
        store.merge_activity(
            engine,
            "aws",
            [SystemActivity(system_id=ACCOUNT, usages=[use(ALICE, "s3:GetObject", 1, 2, big)])],
            [source(key)],
        )
    assert usage_rows(engine)[(ALICE, "s3:GetObject", "")][2] == 2 * big


def test_exercised_counts_distinct_actions_in_the_window(engine: Engine) -> None:
    inventory(engine)
    store.merge_activity(
        engine,
        "aws",
        [
            SystemActivity(
                system_id=ACCOUNT,
                usages=[
                    use(ALICE, "s3:GetObject", 0, 100, 5, "arn:aws:s3:::b/1"),
                    use(ALICE, "s3:GetObject", 0, 100, 5, "arn:aws:s3:::b/2"),
                    use(ALICE, "iam:GetUser", 0, 10, 1),
                    use(ALICE, "iam:ListUsers", 200, 300, 1),
                    use(ROLE, "sts:AssumeRole", 50, 60, 1),
                ],
            )
        ],
        [source("a")],
    )
    with Session(engine) as session:
        system_pk = session.scalar(select(AuthorizationSystemRow.id))
        assert system_pk is not None
        everything = store.exercised_counts(session, system_pk, [ALICE, ROLE], at(-1))
        assert everything == {ALICE: 3, ROLE: 1}
        assert store.exercised_counts(session, system_pk, [ALICE, ROLE], at(50)) == {ALICE: 2, ROLE: 1}
        as_of = store.exercised_counts(session, system_pk, [ALICE, ROLE], at(61), until=at(150))
        assert as_of == {ALICE: 1}
        assert session.scalar(select(func.count()).select_from(UsageRow)) == 5


def test_list_usage_newest_first_with_access_levels(engine: Engine) -> None:
    inventory(engine)
    store.merge_activity(
        engine,
        "aws",
        [
            SystemActivity(
                system_id=ACCOUNT,
                usages=[use(ALICE, "iam:GetUser", 0, 1, 1), use(ALICE, "s3:GetObject", 0, 5, 2)],
            )
        ],
        [source("a")],
    )
    rows = store.list_usage(engine, "aws", ALICE)
    assert [(row.action, row.count, row.system_id) for row in rows] == [
        ("s3:GetObject", 2, ACCOUNT),
        ("iam:GetUser", 1, ACCOUNT),
    ]
    assert store.list_usage(engine, "aws", ALICE, since=at(2)) == rows[:1]
    assert store.list_usage(engine, "aws", ALICE, system_id=OTHER) == []


def test_known_identities_carry_names_and_unique_ids(engine: Engine) -> None:
    inventory(engine)
    found = store.known_identities(engine, "aws", [ACCOUNT, OTHER], ("user", "role"))
    assert {(item.external_id, item.kind, item.name, item.unique_id) for item in found} == {
        (ALICE, "user", "alice", "AIDAALICE"),
        (ROLE, "role", "deploy", "AROADEPLOY"),
    }


def test_identity_center_users_carry_user_names_and_emails(engine: Engine) -> None:
    inventory(engine)
    people = [
        Identity(
            external_id=f"arn:aws:identitystore:::user/{user_id}",
            kind=IdentityKind.USER,
            display_name=user_name,
            source="sso",
            attributes={"userId": user_id, "userName": user_name, "email": email},
        )
        for user_id, user_name, email in (
            ("u-1", "alice@example.com", "alice@example.com"),
            ("u-2", "bob", None),
        )
    ]
    group = Identity(
        external_id="arn:aws:identitystore:::group/g-1",
        kind=IdentityKind.GROUP,
        display_name="g",
        source="sso",
    )
    ingest(
        engine,
        InventoryBatch(
            system=AuthorizationSystem(cloud=Cloud.AWS, system_id=OTHER, name="other"),
            source="test",
            identities=[*people, group],
        ),
    )
    assert sorted(store.identity_center_users(engine, "aws"), key=lambda user: user.external_id) == [
        store.IdentityCenterUser(
            OTHER, "arn:aws:identitystore:::user/u-1", "alice@example.com", "alice@example.com"
        ),
        store.IdentityCenterUser(OTHER, "arn:aws:identitystore:::user/u-2", "bob", None),
    ]  # not alice the IAM user of ACCOUNT, nor the group
    assert store.identity_center_users(engine, "azure") == []


def test_lookup_windows_are_found_by_location(engine: Engine) -> None:
    window = ActivitySource(
        kind="lookupEvents",
        key="w1",
        location=f"{ACCOUNT}/eu-west-1",
        details={"start": at(0).isoformat(), "end": at(1).isoformat(), "edgeIds": ["e1"]},
    )
    store.merge_activity(engine, "aws", [], [window])
    assert store.source_details(engine, "aws", "lookupEvents", f"{ACCOUNT}/eu-west-1") == [window.details]
    assert store.source_details(engine, "aws", "lookupEvents", f"{ACCOUNT}/us-east-1") == []
