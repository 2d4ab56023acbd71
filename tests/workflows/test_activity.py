"""Activity import end to end: shared CloudTrail samples, matching with the inventory, incremental re-reads,
parallel reading, S3 (moto), LookupEvents (botocore Stubber), Identity Center sessions as people's usage."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from clouds.aws.moto_estate import EXTERNAL_ID, REGION, build_organization
from permscope.clouds.aws.activity.imports import LOOKUP_SETTLE
from permscope.clouds.aws.collect.accounts import PARTS as AWS_COLLECTION_PARTS
from permscope.clouds.aws.collect.accounts import CollectOptions as AwsCollectOptions
from permscope.clouds.aws.transform.identity_center import apply_identity_center
from permscope.core.errors import PermscopeError
from permscope.core.ids import Cloud
from permscope.core.inventory import AuthorizationSystem, Identity, IdentityKind, InventoryBatch
from permscope.store.ingest import ingest
from permscope.store.tables import (
    ActivitySourceRow,
    AuthorizationSystemRow,
    IdentityActivityRow,
    IdentityRow,
    UsageRow,
)
from permscope.workflows import activity, usage
from permscope.workflows.collection import collect_aws

LOGS = ("stratus_detonation_logs", "otrf_ec2_proxy_s3_exfiltration", "panther_rule_tests")
PEDRO = "arn:aws:iam::123456789123:user/pedro"
ACCOUNT = "111122223333"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/service-role/deploy"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"


def shared_logs(shared_dir: Path) -> list[Path]:
    return [shared_dir / "data" / "logs" / f"aws_cloudtrail_{name}.jsonl" for name in LOGS]


def usage_table(engine: Engine) -> dict[tuple[str, str, str], tuple[Any, ...]]:
    with Session(engine) as session:
        return {
            (row.identity_external_id, row.action, row.resource): (row.first_seen, row.last_seen, row.count)
            for row in session.scalars(select(UsageRow))
        }


def test_shared_samples_become_usage_and_a_rerun_counts_nothing_twice(
    sqlite_engine: Engine, shared_dir: Path
) -> None:
    paths = shared_logs(shared_dir)
    report = activity.import_activity_files(sqlite_engine, paths, workers=1)
    assert (report.sources_found, report.sources_read, report.failures) == (3, 3, [])
    stats = report.stats
    assert stats.events == 874  # the three files' lines
    assert stats.usage > 500 and stats.denied > 50 and stats.malformed > 0 and stats.unknown_action > 0
    assert "iam:NotCreateUser" in stats.unknown_actions  # a test record of an action that does not exist

    # an independent reading of one file: pedro's successful EC2 DescribeInstances calls
    otrf = [json.loads(line) for line in paths[1].read_text().splitlines()]
    pedro_calls = [
        item for item in otrf if item["userIdentity"].get("arn") == PEDRO and not item.get("errorCode")
    ]
    describes = [item for item in pedro_calls if item["eventName"] == "DescribeInstances"]
    view = usage.usage_of(sqlite_engine, PEDRO, window_days=100_000)
    by_action = {(row.action, row.resource): row for row in view.rows}
    assert by_action[("ec2:DescribeInstances", "")].count == len(describes)
    latest = max(datetime.fromisoformat(item["@timestamp"].replace("Z", "+00:00")) for item in pedro_calls)
    assert view.last_active == latest.replace(microsecond=0)
    assert view.events == len(pedro_calls)
    assert view.exercised_in_window == len({row.action for row in view.rows}) > 10
    assert usage.usage_of(sqlite_engine, PEDRO).exercised_in_window == 0  # 2020: outside the last 90 days

    before = usage_table(sqlite_engine)
    again = activity.import_activity_files(sqlite_engine, paths, workers=1)
    assert (again.sources_read, again.sources_skipped, again.stats.events) == (0, 3, 0)
    assert usage_table(sqlite_engine) == before


def test_parallel_reading_gives_the_same_store(tmp_path: Path, shared_dir: Path) -> None:
    from permscope.store.engine import make_engine, upgrade

    engines = []
    for workers in (1, 2):
        engine = make_engine(f"sqlite:///{tmp_path / f'w{workers}.db'}")
        upgrade(engine)
        report = activity.import_activity_files(engine, shared_logs(shared_dir), workers=workers)
        assert report.sources_read == 3
        engines.append(engine)
    assert usage_table(engines[0]) == usage_table(engines[1])


def _role_event(when: str, **identity: Any) -> dict[str, Any]:
    return {
        "eventVersion": "1.09",
        "eventTime": when,
        "eventSource": "s3.amazonaws.com",
        "eventName": "ListBuckets",
        "eventType": "AwsApiCall",
        "awsRegion": "eu-west-1",
        "requestParameters": {"Host": "s3.amazonaws.com"},
        "userIdentity": identity,
    }


def _inventory(engine: Engine) -> None:
    ingest(
        engine,
        InventoryBatch(
            system=AuthorizationSystem(cloud=Cloud.AWS, system_id=ACCOUNT, name="prod"),
            source="test",
            identities=[
                Identity(
                    external_id=ROLE,
                    kind=IdentityKind.ROLE,
                    display_name="deploy",
                    source="aws",
                    attributes={"roleId": "AROADEPLOYROLE"},
                ),
                Identity(external_id=ALICE, kind=IdentityKind.USER, display_name="alice", source="aws"),
            ],
        ),
    )


def test_actors_are_matched_with_the_inventory(sqlite_engine: Engine, tmp_path: Path) -> None:
    _inventory(sqlite_engine)
    events = [
        # a session whose issuer is missing: only `role/deploy` is known, the inventory has the path
        _role_event(
            "2024-05-01T10:00:00Z",
            type="AssumedRole",
            arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/deploy/job",
            accountId=ACCOUNT,
        ),
        # another account's view of the same role: only its unique id
        _role_event(
            "2024-05-02T10:00:00Z", type="AWSAccount", accountId=ACCOUNT, principalId="AROADEPLOYROLE:job"
        ),
        # a unique id nobody knows: not usage of anyone
        _role_event(
            "2024-05-03T10:00:00Z", type="AWSAccount", accountId=ACCOUNT, principalId="AROAUNKNOWN:x"
        ),
        # a user the inventory does not hold (yet): recorded under its ARN
        _role_event(
            "2024-05-04T10:00:00Z",
            type="IAMUser",
            arn=f"arn:aws:iam::{ACCOUNT}:user/bob",
            accountId=ACCOUNT,
        ),
    ]
    path = tmp_path / "events.json.gz"
    path.write_bytes(gzip.compress(json.dumps({"Records": events}).encode()))
    report = activity.import_activity_files(sqlite_engine, [path])
    assert usage_table(sqlite_engine) == {
        (ROLE, "s3:ListAllMyBuckets", ""): (
            datetime(2024, 5, 1, 10, tzinfo=UTC),
            datetime(2024, 5, 2, 10, tzinfo=UTC),
            2,
        ),
        (f"arn:aws:iam::{ACCOUNT}:user/bob", "s3:ListAllMyBuckets", ""): (
            datetime(2024, 5, 4, 10, tzinfo=UTC),
            datetime(2024, 5, 4, 10, tzinfo=UTC),
            1,
        ),
    }
    assert report.unresolved_actors == 1
    assert (report.not_in_inventory, report.not_in_inventory_sample) == (
        1,
        [f"arn:aws:iam::{ACCOUNT}:user/bob"],
    )
    with Session(sqlite_engine) as session:
        role_row = session.scalars(select(IdentityRow).where(IdentityRow.external_id == ROLE)).one()
        assert role_row.last_active_at == datetime(2024, 5, 2, 10, tzinfo=UTC)


def test_bad_files_are_reported_and_retried(sqlite_engine: Engine, tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text(
        json.dumps({"Records": [_role_event("2024-05-01T10:00:00Z", type="Root", accountId=ACCOUNT)]})
    )
    bad = tmp_path / "bad.json"
    bad.write_text('{"Records": [{"eventVersion": "1.09", ')
    report = activity.import_activity_files(sqlite_engine, [good, bad])
    assert report.sources_read == 1
    assert report.failures == [(str(bad.resolve()), "the JSON ends inside a record at byte 13")]
    bad.write_text(
        json.dumps({"Records": [_role_event("2024-05-02T10:00:00Z", type="Root", accountId=ACCOUNT)]})
    )
    retry = activity.import_activity_files(sqlite_engine, [good, bad])
    assert (retry.sources_read, retry.sources_skipped, retry.failures) == (1, 1, [])
    [(key, (_first, _last, count))] = usage_table(sqlite_engine).items()
    assert key == (f"arn:aws:iam::{ACCOUNT}:root", "s3:ListAllMyBuckets", "") and count == 2


def test_an_input_counted_by_a_concurrent_import_fails_the_batch_cleanly(
    sqlite_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "a.json"
    path.write_text(
        json.dumps({"Records": [_role_event("2024-05-01T10:00:00Z", type="Root", accountId=ACCOUNT)]})
    )
    activity.import_activity_files(sqlite_engine, [path])
    before = usage_table(sqlite_engine)
    # as if another import recorded the file between this import's check and its write
    monkeypatch.setattr(activity.usage_store, "counted_sources", lambda *_args: set())
    with pytest.raises(PermscopeError, match="another import counted"):
        activity.import_activity_files(sqlite_engine, [path])
    assert usage_table(sqlite_engine) == before


def _log_key(day: int, name: str) -> str:
    return f"trail/AWSLogs/o-abcdefghij/{ACCOUNT}/CloudTrail/eu-west-1/2024/05/{day:02d}/{ACCOUNT}_CloudTrail_eu-west-1_{name}.json.gz"


@mock_aws
def test_s3_import_is_incremental_by_etag(sqlite_engine: Engine) -> None:
    client = boto3.client("s3", region_name="us-east-1")
    client.create_bucket(Bucket="org-trail")

    def put(day: int, name: str, events: int) -> None:
        records = [
            _role_event(f"2024-05-{day:02d}T10:00:{n:02d}Z", type="Root", accountId=ACCOUNT)
            for n in range(events)
        ]
        client.put_object(
            Bucket="org-trail",
            Key=_log_key(day, name),
            Body=gzip.compress(json.dumps({"Records": records}).encode()),
        )

    put(1, "a", 3)
    put(2, "b", 2)
    first = activity.import_activity_s3(sqlite_engine, "s3://org-trail/trail/", client=client)
    assert (first.sources_found, first.sources_read, first.stats.events) == (2, 2, 5)
    again = activity.import_activity_s3(sqlite_engine, "s3://org-trail/trail/", client=client)
    assert (again.sources_read, again.sources_skipped) == (0, 2)
    put(2, "b", 4)  # the object was rewritten: a new ETag, read again
    put(3, "c", 1)
    later = activity.import_activity_s3(
        sqlite_engine, "s3://org-trail/", client=client, start=date(2024, 5, 2)
    )
    assert (later.sources_found, later.sources_read, later.sources_skipped) == (2, 2, 0)
    [count] = [value[2] for value in usage_table(sqlite_engine).values()]
    assert count == 3 + 2 + 4 + 1
    empty = activity.import_activity_s3(sqlite_engine, "s3://org-trail/elsewhere/", client=client)
    assert empty.sources_found == 0 and empty.notes


def _lookup_response(items: list[tuple[str, str]], next_token: str | None = None) -> dict[str, Any]:
    """A LookupEvents response shaped as in the CloudTrail API reference (Events[] with CloudTrailEvent)."""
    events = []
    for event_id, when in items:
        record = _role_event(when, type="IAMUser", arn=ALICE, accountId=ACCOUNT)
        record["eventID"] = event_id
        events.append(
            {
                "EventId": event_id,
                "EventName": "ListBuckets",
                "ReadOnly": "true",
                "AccessKeyId": "ASIAEXAMPLE",
                "EventTime": datetime.fromisoformat(when.replace("Z", "+00:00")),
                "EventSource": "s3.amazonaws.com",
                "Username": "alice",
                "Resources": [],
                "CloudTrailEvent": json.dumps(record),
            }
        )
    response: dict[str, Any] = {"Events": events}
    if next_token:
        response["NextToken"] = next_token
    return response


def test_lookup_events_windows_are_incremental(sqlite_engine: Engine) -> None:
    # moto does not implement CloudTrail LookupEvents: botocore's Stubber answers with API-shaped responses.
    client = boto3.client(
        "cloudtrail", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    now = datetime(2024, 5, 10, 12, 0, tzinfo=UTC)
    start = datetime(2024, 5, 10, 10, 0, tzinfo=UTC)
    first_end = now - LOOKUP_SETTLE
    with Stubber(client) as stub:
        stub.add_response(
            "lookup_events",
            _lookup_response([("e3", "2024-05-10T11:45:00Z"), ("e2", "2024-05-10T11:00:00Z")], "next"),
            {"StartTime": start, "EndTime": first_end, "MaxResults": 50},
        )
        stub.add_response(
            "lookup_events",
            _lookup_response([("e1", "2024-05-10T10:00:00Z")]),
            {"StartTime": start, "EndTime": first_end, "MaxResults": 50, "NextToken": "next"},
        )
        first = activity.import_activity_lookup(
            sqlite_engine,
            regions=["eu-west-1"],
            start=start,
            account_id=ACCOUNT,
            clients={"eu-west-1": client},
            now=now,
        )
        stub.assert_no_pending_responses()
    assert (first.sources_read, first.stats.events) == (1, 3)

    later = now + timedelta(hours=1)
    with Stubber(
        client
    ) as stub:  # only the new part is asked for; e3, at the shared edge, is not counted again
        stub.add_response(
            "lookup_events",
            _lookup_response([("e4", "2024-05-10T12:10:00Z"), ("e3", "2024-05-10T11:45:00Z")]),
            {"StartTime": first_end, "EndTime": later - LOOKUP_SETTLE, "MaxResults": 50},
        )
        second = activity.import_activity_lookup(
            sqlite_engine,
            regions=["eu-west-1"],
            start=start,
            account_id=ACCOUNT,
            clients={"eu-west-1": client},
            now=later,
        )
        stub.assert_no_pending_responses()
    assert (second.sources_read, second.stats.events) == (1, 1)
    [(_first, last, count)] = usage_table(sqlite_engine).values()
    assert (last, count) == (datetime(2024, 5, 10, 12, 10, tzinfo=UTC), 4)
    with Session(sqlite_engine) as session:
        assert session.scalar(select(func.count()).select_from(ActivitySourceRow)) == 2
        assert session.scalar(select(IdentityActivityRow.events)) == 4


def test_reports_add_up_over_several_imports() -> None:
    total = activity.ActivityReport(sources_read=1, usage_rows=2, sso_sessions_unmatched=1, notes=["n"])
    total.sso_sessions_unmatched_sample = ["111122223333/bob"]
    total.failures.append(("s3://b/k1", "AccessDenied"))
    part = activity.ActivityReport(sources_read=2, sources_skipped=1, usage_rows=3, sso_sessions_unmatched=2)
    part.sso_sessions_unmatched_sample = ["111122223333/ann", "111122223333/bob"]
    part.not_in_inventory, part.not_in_inventory_sample = 1, ["arn:aws:iam::111122223333:user/gone"]
    part.failures.append(("s3://b/k2", "NoSuchKey"))
    part.stats.events, part.stats.error_codes = 4, {"AccessDenied": 1}
    part.systems.add("111122223333")
    part.notes = ["n", "m"]
    total.add(part)
    summary = total.as_dict()
    assert summary["sources"] == {"found": 0, "read": 3, "skipped_already_counted": 1, "failed": 2}
    assert (summary["usage_rows_merged"], summary["sso_sessions_unmatched"]) == (5, 3)
    assert summary["sso_sessions_unmatched_sample"] == ["111122223333/ann", "111122223333/bob"]
    assert (summary["not_in_inventory"], summary["not_in_inventory_sample"]) == (
        1,
        ["arn:aws:iam::111122223333:user/gone"],
    )
    assert (summary["events"]["events"], summary["events"]["error_codes"]) == (4, {"AccessDenied": 1})
    assert (summary["systems"], summary["notes"]) == (["111122223333"], ["n", "m"])


# ------------------------------------------------------------------------------------------- Identity Center

OTHER_ACCOUNT = "444455556666"
SSO_ROLE_NAME = "AWSReservedSSO_Admin_0123456789abcdef"
PERMISSION_SET = "arn:aws:sso:::permissionSet/ssoins-1/ps-admin"


def _sso_role(account: str) -> str:
    return f"arn:aws:iam::{account}:role/aws-reserved/sso.amazonaws.com/{SSO_ROLE_NAME}"


def _identity_center() -> dict[str, Any]:
    """Identity Center as the collection reads it: alice assigned directly, bob through a group, both in
    ACCOUNT; carol only in OTHER_ACCOUNT."""

    def user(user_id: str, user_name: str, email: str) -> dict[str, Any]:
        return {
            "UserId": user_id,
            "IdentityStoreId": "d-1",
            "UserName": user_name,
            "Emails": [{"Value": email, "Primary": True}],
        }

    def assign(account: str, kind: str, principal: str) -> dict[str, Any]:
        return {
            "AccountId": account,
            "PermissionSetArn": PERMISSION_SET,
            "PrincipalType": kind,
            "PrincipalId": principal,
        }

    return {
        "PermissionSets": {PERMISSION_SET: {"Name": "Admin", "PermissionSetArn": PERMISSION_SET}},
        "AccountAssignments": [
            assign(ACCOUNT, "USER", "u-alice"),
            assign(ACCOUNT, "GROUP", "g-admins"),
            assign(OTHER_ACCOUNT, "USER", "u-carol"),
        ],
        "Users": [
            user("u-alice", "alice@example.com", "alice@example.com"),
            user("u-bob", "bob", "Bob.Smith@example.com"),
            user("u-carol", "carol", "carol@example.com"),
        ],
        "Groups": [{"GroupId": "g-admins", "IdentityStoreId": "d-1", "DisplayName": "Admins"}],
        "GroupMemberships": [{"GroupId": "g-admins", "MemberId": {"UserId": "u-bob"}}],
    }


def _identity_center_inventory(engine: Engine) -> None:
    """Each account's SSO role and Identity Center users, stored through the collection's own transform."""
    for account in (ACCOUNT, OTHER_ACCOUNT):
        role = Identity(
            external_id=_sso_role(account),
            kind=IdentityKind.ROLE,
            display_name=SSO_ROLE_NAME,
            source="aws",
            attributes={"path": "/aws-reserved/sso.amazonaws.com/", "roleId": f"AROASSO{account}"},
        )
        batch = InventoryBatch(
            system=AuthorizationSystem(cloud=Cloud.AWS, system_id=account, name=account),
            source="test",
            identities=[role],
        )
        warnings: list[str] = []
        apply_identity_center(batch, _identity_center(), warnings)
        assert warnings == []
        ingest(engine, batch)


def _sso_event(when: str, session: str, name: str = "DescribeInstances", **extra: Any) -> dict[str, Any]:
    """A record of an Identity Center user's session, shaped as CloudTrail writes it."""
    return {
        "eventVersion": "1.10",
        "eventTime": when,
        "eventSource": "ec2.amazonaws.com",
        "eventName": name,
        "eventType": "AwsApiCall",
        "awsRegion": "eu-west-1",
        "requestParameters": None,
        "userIdentity": {
            "type": "AssumedRole",
            "principalId": f"AROASSO{ACCOUNT}:{session}",
            "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{SSO_ROLE_NAME}/{session}",
            "accountId": ACCOUNT,
            "accessKeyId": "ASIAEXAMPLE",
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": f"AROASSO{ACCOUNT}",
                    "arn": _sso_role(ACCOUNT),
                    "accountId": ACCOUNT,
                    "userName": SSO_ROLE_NAME,
                },
                "attributes": {"creationDate": "2024-05-01T09:00:00Z", "mfaAuthenticated": "false"},
            },
            **extra,
        },
    }


def test_identity_center_sessions_are_usage_of_the_role_and_of_the_person(
    engine: Engine, tmp_path: Path
) -> None:
    _identity_center_inventory(engine)
    alice, bob, carol = (f"arn:aws:identitystore:::user/u-{name}" for name in ("alice", "bob", "carol"))
    events = [
        _sso_event("2024-05-01T10:00:00Z", "alice@example.com"),
        _sso_event("2024-05-03T10:00:00Z", "alice@example.com", "RunInstances"),
        # the record names the user itself (onBehalfOf): exact, whatever the session is called
        _sso_event(
            "2024-05-02T10:00:00Z", "x", onBehalfOf={"userId": "u-alice", "identityStoreArn": "arn:x"}
        ),
        _sso_event("2024-05-04T10:00:00Z", "bob.smith@example.com"),  # not bob's user name: his e-mail
        _sso_event(
            "2024-05-05T10:00:00Z", "carol"
        ),  # assigned in the other account only (since removed here)
        _sso_event("2024-05-06T10:00:00Z", "mallory"),  # nobody Identity Center knows: the role's usage only
        {**_sso_event("2024-05-07T10:00:00Z", "alice@example.com"), "errorCode": "AccessDenied"},
    ]
    path = tmp_path / "sso.json.gz"
    path.write_bytes(gzip.compress(json.dumps({"Records": events}).encode()))
    report = activity.import_activity_files(engine, [path], workers=1)

    def day(number: int) -> datetime:
        return datetime(2024, 5, number, 10, tzinfo=UTC)

    assert usage_table(engine) == {
        (_sso_role(ACCOUNT), "ec2:DescribeInstances", ""): (day(1), day(6), 5),
        (_sso_role(ACCOUNT), "ec2:RunInstances", ""): (day(3), day(3), 1),
        (alice, "ec2:DescribeInstances", ""): (day(1), day(2), 2),
        (alice, "ec2:RunInstances", ""): (day(3), day(3), 1),
        (bob, "ec2:DescribeInstances", ""): (day(4), day(4), 1),
        (carol, "ec2:DescribeInstances", ""): (day(5), day(5), 1),
    }
    assert report.stats.usage == 6 and report.stats.sso_sessions == 6 and report.stats.denied == 1
    assert (report.sso_sessions_unmatched, report.sso_sessions_unmatched_sample) == (
        1,
        [f"{ACCOUNT}/mallory"],
    )
    assert report.unresolved_actors == 0
    assert report.not_in_inventory_sample == [carol]  # a person of the store, not of this account's inventory

    with Session(engine) as session:
        last_active = {
            (system, external_id): moment
            for system, external_id, moment in session.execute(
                select(AuthorizationSystemRow.system_id, IdentityRow.external_id, IdentityRow.last_active_at)
                .join(AuthorizationSystemRow, AuthorizationSystemRow.id == IdentityRow.system_pk)
                .where(IdentityRow.last_active_at.is_not(None))
            )
        }
    assert last_active == {
        (ACCOUNT, _sso_role(ACCOUNT)): day(6),
        (ACCOUNT, alice): day(3),
        (ACCOUNT, bob): day(4),
    }  # carol acted in ACCOUNT: her user in OTHER_ACCOUNT did nothing there

    view = usage.usage_of(engine, alice, window_days=100_000)
    assert (view.system_id, view.last_active, view.events) == (None, day(3), 3)
    assert {row.action for row in view.rows} == {"ec2:DescribeInstances", "ec2:RunInstances"}

    before = usage_table(engine)
    again = activity.import_activity_files(engine, [path], workers=1)
    assert (again.sources_read, again.sources_skipped) == (0, 1)
    assert usage_table(engine) == before


def test_an_identity_center_session_name_two_stores_share_is_not_guessed(
    engine: Engine, tmp_path: Path
) -> None:
    _identity_center_inventory(engine)
    twins = [  # another identity store's users with alice's and carol's user names, stored elsewhere
        Identity(
            external_id=f"arn:aws:identitystore:::user/u-twin-{name}",
            kind=IdentityKind.USER,
            display_name=name,
            source="sso",
            attributes={"userId": f"u-twin-{name}", "userName": name, "email": None},
        )
        for name in ("alice@example.com", "carol")
    ]
    ingest(
        engine,
        InventoryBatch(
            system=AuthorizationSystem(cloud=Cloud.AWS, system_id="777788889999", name="elsewhere"),
            source="test",
            identities=twins,
        ),
    )
    path = tmp_path / "sso.json"
    sessions = [
        _sso_event("2024-05-01T10:00:00Z", "ALICE@example.com"),
        _sso_event("2024-05-02T10:00:00Z", "carol"),
    ]
    path.write_text(json.dumps({"Records": sessions}))
    report = activity.import_activity_files(engine, [path], workers=1)
    # two users answer to each name: alice's is stored in the session's account, so she acted; neither
    # carol is, so nobody is named (the role's usage stays)
    assert {key[0] for key in usage_table(engine)} == {
        _sso_role(ACCOUNT),
        "arn:aws:identitystore:::user/u-alice",
    }
    assert report.sso_sessions_unmatched_sample == [f"{ACCOUNT}/carol"]


def test_a_collected_identity_center_user_is_who_used_the_role(engine: Engine, tmp_path: Path) -> None:
    """End to end: `collect_aws` stores a moto organization's Identity Center, then a session of one of its
    users in a member account is usage of the AWSReservedSSO role and of that user."""
    with mock_aws():
        estate = build_organization(boto3.Session(region_name=REGION), members=1, resources=False)
        reports = collect_aws(
            engine,
            AwsCollectOptions(
                session=boto3.Session(region_name=REGION),
                regions=[REGION],
                external_id=EXTERNAL_ID,
                parts=frozenset(AWS_COLLECTION_PARTS) - {"access-advisor", "resources"},
                poll_interval=0,
            ),
        )
    assert {report.status for report in reports} == {"succeeded"}
    [member] = estate.members
    role = f"arn:aws:iam::{member}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123456789abcdef"
    carol = f"arn:aws:identitystore:::user/{estate.sso_users[0]}"  # reaches the role through the Admins group
    record = {
        "eventVersion": "1.10",
        "eventTime": "2024-05-01T10:00:00Z",
        "eventSource": "s3.amazonaws.com",
        "eventName": "GetObject",
        "eventType": "AwsApiCall",
        "eventCategory": "Data",
        "awsRegion": REGION,
        "requestParameters": {"bucketName": "reports", "key": "q1.csv"},
        "userIdentity": {
            "type": "AssumedRole",
            "principalId": "AROAEXAMPLESSOROLE:carol",
            "arn": f"arn:aws:sts::{member}:assumed-role/AWSReservedSSO_Admin_0123456789abcdef/carol",
            "accountId": member,
            "sessionContext": {"sessionIssuer": {"type": "Role", "arn": role, "accountId": member}},
        },
    }
    path = tmp_path / "member.json"
    path.write_text(json.dumps({"Records": [record]}))
    report = activity.import_activity_files(engine, [path], workers=1)
    assert report.sso_sessions_unmatched == 0 and report.not_in_inventory == 0
    assert set(usage_table(engine)) == {
        (role, "s3:GetObject", "arn:aws:s3:::reports/q1.csv"),
        (carol, "s3:GetObject", "arn:aws:s3:::reports/q1.csv"),
    }
    with Session(engine) as session:
        raised = session.scalar(select(IdentityRow.last_active_at).where(IdentityRow.external_id == carol))
    assert raised == datetime(2024, 5, 1, 10, tzinfo=UTC)
