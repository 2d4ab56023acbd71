"""`collect_aws` with activity: an organization trail bucket (moto) and LookupEvents (botocore Stubber: moto does
not implement it) become usage and last activity of the collected identities, incrementally, each account's
failures a warning on its own report."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from moto import mock_aws
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from clouds.aws.botocore_hooks import combine, remember_params
from clouds.aws.moto_estate import EXTERNAL_ID, REGION, Estate, build_organization
from clouds.aws.trail_estate import (
    AssumedKeys,
    LookupEventsStubs,
    SessionCalls,
    Trail,
    access_key_of,
    lookup_page,
    put_trail_logs,
    trail_records,
)
from permscope.clouds.aws.activity.collected import AwsActivityOptions
from permscope.clouds.aws.collect.accounts import PARTS as AWS_COLLECTION_PARTS
from permscope.clouds.aws.collect.accounts import CollectOptions as AwsCollectOptions
from permscope.core.errors import ConfigurationError, InputError
from permscope.store.tables import IdentityRow, UsageRow
from permscope.workflows.collection import ImportReport, collect_aws

PARTS = frozenset(AWS_COLLECTION_PARTS) - {"access-advisor"}  # moto lacks Access Advisor (stubbed elsewhere)
START = datetime(2024, 5, 1, tzinfo=UTC)
END = datetime(2024, 5, 2, tzinfo=UTC)
ORGANIZATION_ONLY = frozenset({"organization"})  # the accounts, without reading them in full


def at(clock: str) -> datetime:
    return datetime.fromisoformat(f"2024-05-01T{clock}+00:00")


@pytest.fixture(scope="module")
def estate() -> Iterator[tuple[Estate, Trail]]:
    """A management and two members; the first member holds the organization trail bucket."""
    with mock_aws():
        session = boto3.Session(region_name=REGION)
        organization = build_organization(session, members=2, resources=True)
        yield organization, put_trail_logs(session, organization)


def options(**overrides: Any) -> AwsCollectOptions:
    settings: dict[str, Any] = {
        "session": boto3.Session(region_name=REGION),
        "regions": [REGION],
        "external_id": EXTERNAL_ID,
        "parts": PARTS,
        "poll_interval": 0,
    }
    settings.update(overrides)
    return AwsCollectOptions(**settings)


def usage_table(engine: Engine) -> dict[tuple[str, str, str], tuple[Any, ...]]:
    with Session(engine) as session:
        return {
            (row.identity_external_id, row.action, row.resource): (row.first_seen, row.last_seen, row.count)
            for row in session.scalars(select(UsageRow))
        }


def last_active(engine: Engine) -> dict[str, datetime | None]:
    with Session(engine) as session:
        rows = session.execute(select(IdentityRow.external_id, IdentityRow.last_active_at)).all()
    return {external_id: value for external_id, value in rows}


def expected_usage(trail: Trail) -> dict[tuple[str, str, str], tuple[Any, ...]]:
    alice = f"arn:aws:iam::{trail.user_account}:user/alice"
    app = f"arn:aws:iam::{trail.role_account}:role/app"
    return {
        (alice, "s3:ListAllMyBuckets", ""): (at("10:00:00"), at("10:05:00"), 2),
        (alice, "s3:GetObject", "arn:aws:s3:::reports/q1.csv"): (at("10:03:00"), at("10:03:00"), 1),
        (app, "sqs:ListQueues", ""): (at("11:10:00"), at("11:30:00"), 3),
    }


def by_account(reports: list[ImportReport]) -> dict[str, ImportReport]:
    assert all(r.status == "succeeded" for r in reports), [r.error for r in reports]
    return {report.system_id: report for report in reports}


def activity_warnings(report: ImportReport) -> list[str]:
    return [w for w in report.warnings if "activity" in w]


@pytest.mark.slow
def test_a_trail_bucket_fills_usage_and_last_activity_once(
    engine: Engine, estate: tuple[Estate, Trail]
) -> None:
    organization, trail = estate
    keys, calls = AssumedKeys(), SessionCalls()
    activity = AwsActivityOptions(cloudtrail_s3=[trail.uri], start=START)
    reports = by_account(collect_aws(engine, options(session_hook=combine(keys, calls)), activity=activity))
    assert usage_table(engine) == expected_usage(trail)
    active = last_active(engine)
    assert active[f"arn:aws:iam::{trail.user_account}:user/alice"] == at("10:05:00")  # not the denied call
    assert active[f"arn:aws:iam::{trail.role_account}:role/app"] == at("11:30:00")
    assert active[f"arn:aws:iam::{trail.user_account}:role/app"] is None  # the other member's app was idle
    for account in (trail.user_account, trail.role_account):
        report = reports[account]
        assert report.activity is not None and not activity_warnings(report)
        assert (report.activity.sources_read, report.activity.sources_skipped) == (1, 0)
        assert f"{trail.uri} read with the credentials of account {trail.owner}" in report.activity.notes
    assert reports[trail.user_account].activity.stats.events == 4  # type: ignore[union-attr]
    assert reports[trail.user_account].activity.stats.denied == 1  # type: ignore[union-attr]
    assert reports[trail.role_account].activity.stats.usage == 3  # type: ignore[union-attr]
    management = reports[organization.management].activity
    assert management is not None and management.sources_found == 0
    # the bucket's owner read it, through the collector role assumed in that account
    owner_keys = keys.by_account[trail.owner]
    assert calls.keys_of("s3:GetObject") and calls.keys_of("s3:GetObject") <= owner_keys
    assert calls.keys_of("s3:ListObjectsV2") <= owner_keys

    again = by_account(collect_aws(engine, options(), activity=activity))
    for account in (trail.user_account, trail.role_account):
        report = again[account].activity
        assert report is not None and (report.sources_read, report.sources_skipped) == (0, 1)
        assert report.stats.events == 0 and not activity_warnings(again[account])
    assert usage_table(engine) == expected_usage(trail)
    assert last_active(engine) == active


def test_a_bucket_no_collected_account_owns_is_read_as_the_caller(
    engine: Engine, estate: tuple[Estate, Trail]
) -> None:
    organization, trail = estate
    calls = SessionCalls()
    activity = AwsActivityOptions(cloudtrail_s3=[trail.uri], start=START)
    collected = [organization.management, trail.role_account]  # not the log archive that owns the bucket
    reports = by_account(
        collect_aws(engine, options(accounts=collected, session_hook=calls), activity=activity)
    )
    caller = boto3.Session(region_name=REGION).get_credentials()
    assert caller is not None
    assert calls.keys_of("s3:GetObject") == {caller.access_key}
    assert f"{trail.uri} read with the credentials of account {organization.management}" in (
        reports[trail.role_account].activity.notes  # type: ignore[union-attr]
    )
    # only the collected accounts' folders are read
    assert usage_table(engine) == {
        key: value for key, value in expected_usage(trail).items() if trail.role_account in key[0]
    }


def _deny_listing_of(account: str) -> Any:
    """A session hook: s3:ListObjectsV2 under `account`'s log folder is refused with AccessDenied."""

    def install(session: boto3.Session) -> None:
        remember_params(session)

        def deny(context: dict[str, Any], **_kwargs: Any) -> Any:
            if f"/{account}/" not in str(context["api_params"].get("Prefix", "")):
                return None
            error = {"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}
            return AWSResponse(None, 403, {}, None), {**error, "ResponseMetadata": {"HTTPStatusCode": 403}}

        session.events.register("before-call.s3.ListObjectsV2", deny)

    return install


@pytest.mark.slow
def test_activity_failures_are_warnings_on_their_own_account(
    engine: Engine, estate: tuple[Estate, Trail]
) -> None:
    organization, trail = estate
    missing = "s3://no-such-trail-bucket/logs/"
    activity = AwsActivityOptions(cloudtrail_s3=[missing, trail.uri], start=START)
    # the folder of the account read first is refused: the account read after it is still read
    denied, readable = sorted([trail.user_account, trail.role_account])
    hook = _deny_listing_of(denied)
    reports = by_account(collect_aws(engine, options(session_hook=hook), activity=activity))
    for account in (organization.management, *organization.members):
        assert any(missing in w and "NoSuchBucket" in w for w in reports[account].warnings)
    [refusal] = [w for w in activity_warnings(reports[denied]) if trail.uri in w]
    assert "AccessDenied" in refusal and f"read as account {trail.owner}" in refusal
    assert not [w for w in activity_warnings(reports[readable]) if trail.uri in w]
    # the denied account's usage is missing; the other account's is there
    assert usage_table(engine) == {
        key: value for key, value in expected_usage(trail).items() if readable in key[0]
    }
    # readable again: the denied folder is read now, the other one is not read twice
    again = by_account(collect_aws(engine, options(), activity=activity))
    assert again[denied].activity.sources_read == 1  # type: ignore[union-attr]
    assert again[readable].activity.sources_read == 0  # type: ignore[union-attr]
    assert usage_table(engine) == expected_usage(trail)


def test_lookup_events_are_read_through_each_accounts_session(
    engine: Engine, estate: tuple[Estate, Trail]
) -> None:
    # moto does not implement CloudTrail LookupEvents: botocore's Stubber answers, with responses shaped as
    # in the CloudTrail API reference, on the clients the collector makes for each account.
    organization, trail = estate
    records = trail_records(trail.user_account, trail.role_account)[trail.role_account]
    window = {"StartTime": START, "EndTime": END, "MaxResults": 50}
    stubs = LookupEventsStubs(
        {
            trail.role_account: [
                (lookup_page(records[1:], "page-2"), window),
                (lookup_page(records[:1]), {**window, "NextToken": "page-2"}),
            ],
            trail.user_account: "AccessDeniedException",
            organization.management: [(lookup_page([]), window)],
        }
    )
    keys = AssumedKeys()
    activity = AwsActivityOptions(lookup_events=True, start=START, end=END)
    reports = by_account(
        collect_aws(
            engine, options(session_hook=keys, client_hook=stubs, parts=ORGANIZATION_ONLY), activity=activity
        )
    )
    stubs.assert_answered()
    [client] = stubs.clients[trail.role_account]
    assert access_key_of(client) in keys.by_account[trail.role_account]  # the account's collector role
    app = f"arn:aws:iam::{trail.role_account}:role/app"
    assert usage_table(engine) == {(app, "sqs:ListQueues", ""): (at("11:10:00"), at("11:30:00"), 3)}
    assert last_active(engine)[app] == at("11:30:00")
    [denied] = activity_warnings(reports[trail.user_account])
    assert denied.startswith(f"activity: LookupEvents in {REGION} not imported: AccessDeniedException")
    assert not activity_warnings(reports[trail.role_account])
    assert not activity_warnings(reports[organization.management])

    # again: the windows read are not asked for again; the refused one is, and answers now
    retry = LookupEventsStubs({trail.user_account: [(lookup_page([]), window)]})
    again = by_account(
        collect_aws(engine, options(client_hook=retry, parts=ORGANIZATION_ONLY), activity=activity)
    )
    retry.assert_answered()
    assert not any(activity_warnings(report) for report in again.values())
    assert again[trail.role_account].activity.sources_skipped == 1  # type: ignore[union-attr]
    assert usage_table(engine) == {(app, "sqs:ListQueues", ""): (at("11:10:00"), at("11:30:00"), 3)}


def test_bad_activity_options_are_refused_before_collecting() -> None:
    with pytest.raises(InputError, match="expected an S3 URI"):
        AwsActivityOptions(cloudtrail_s3=["trail-bucket/prefix"])
    with pytest.raises(ConfigurationError, match="not before its end"):
        AwsActivityOptions(lookup_events=True, start=END, end=START)
    with pytest.raises(ConfigurationError, match="not before its end"):
        AwsActivityOptions(lookup_events=True, start=START, end=START)  # an empty window is refused too
    assert not AwsActivityOptions().wanted
