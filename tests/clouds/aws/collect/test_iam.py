"""IAM report collectors against botocore's Stubber (moto lacks Access Advisor; the credential report's
polling needs states moto skips). Responses are shaped as the AWS API reference documents them; Stubber
checks them against botocore's service model."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import pytest
from botocore.stub import Stubber

from permscope.clouds.aws.collect.iam import (
    collect_access_advisor,
    collect_credential_report,
    users_with_access_keys,
)
from permscope.clouds.aws.collect.support import CollectionError

ROLE = "arn:aws:iam::111122223333:role/app"
USER = "arn:aws:iam::111122223333:user/alice"
CREATED = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
USED = datetime(2024, 2, 3, 4, 5, 6, tzinfo=UTC)
REPORT = (
    "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,"
    "password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,"
    "access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,"
    "access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,"
    "cert_1_last_rotated,cert_2_active,cert_2_last_rotated\n"
    "alice,arn:aws:iam::111122223333:user/alice,2024-01-01T00:00:00+00:00,true,N/A,N/A,N/A,false,true,"
    "2024-01-01T00:00:00+00:00,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n"
    "bob,arn:aws:iam::111122223333:user/bob,2024-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,false,N/A,N/A,N/A,"
    "N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n"
)


@pytest.fixture
def iam() -> object:
    return boto3.client("iam", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")


def test_access_advisor_polls_each_job_and_reads_every_page(iam: object) -> None:
    sleeps: list[float] = []
    with Stubber(iam) as stub:
        stub.add_response(
            "generate_service_last_accessed_details",
            {"JobId": "examplef-1305-c245-eba4-71fe298bcda7"},
            {"Arn": ROLE, "Granularity": "ACTION_LEVEL"},
        )
        stub.add_response(
            "get_service_last_accessed_details",
            {
                "JobStatus": "IN_PROGRESS",
                "JobCreationDate": CREATED,
                "ServicesLastAccessed": [],
                "JobCompletionDate": CREATED,
            },
            {"JobId": "examplef-1305-c245-eba4-71fe298bcda7"},
        )
        service = {
            "ServiceName": "Amazon S3",
            "ServiceNamespace": "s3",
            "LastAuthenticated": USED,
            "LastAuthenticatedEntity": ROLE,
            "LastAuthenticatedRegion": "eu-west-1",
            "TotalAuthenticatedEntities": 1,
            "TrackedActionsLastAccessed": [
                {
                    "ActionName": "GetObject",
                    "LastAccessedEntity": ROLE,
                    "LastAccessedTime": USED,
                    "LastAccessedRegion": "eu-west-1",
                }
            ],
        }
        stub.add_response(
            "get_service_last_accessed_details",
            {
                "JobStatus": "COMPLETED",
                "JobType": "ACTION_LEVEL",
                "JobCreationDate": CREATED,
                "JobCompletionDate": CREATED,
                "ServicesLastAccessed": [service],
                "IsTruncated": True,
                "Marker": "next",
            },
            {"JobId": "examplef-1305-c245-eba4-71fe298bcda7"},
        )
        stub.add_response(
            "get_service_last_accessed_details",
            {
                "JobStatus": "COMPLETED",
                "JobType": "ACTION_LEVEL",
                "JobCreationDate": CREATED,
                "JobCompletionDate": CREATED,
                "ServicesLastAccessed": [
                    {"ServiceName": "IAM", "ServiceNamespace": "iam", "TotalAuthenticatedEntities": 0}
                ],
                "IsTruncated": False,
            },
            {"JobId": "examplef-1305-c245-eba4-71fe298bcda7", "Marker": "next"},
        )
        reports = collect_access_advisor(iam, [ROLE], interval=7, sleep=sleeps.append)
        stub.assert_no_pending_responses()
    assert sleeps == [7]
    report = reports[ROLE]
    assert report["JobStatus"] == "COMPLETED" and "Marker" not in report and "IsTruncated" not in report
    assert [s["ServiceNamespace"] for s in report["ServicesLastAccessed"]] == ["s3", "iam"]
    assert report["ServicesLastAccessed"][0]["LastAuthenticated"] == USED.isoformat()


def test_a_failed_access_advisor_job_is_kept_with_its_error(iam: object) -> None:
    with Stubber(iam) as stub:
        stub.add_response("generate_service_last_accessed_details", {"JobId": "j" * 36})
        stub.add_response(
            "get_service_last_accessed_details",
            {
                "JobStatus": "FAILED",
                "JobCreationDate": CREATED,
                "JobCompletionDate": CREATED,
                "ServicesLastAccessed": [],
                "Error": {"Message": "internal", "Code": "ServiceFailure"},
            },
        )
        reports = collect_access_advisor(iam, [USER], sleep=lambda _s: None)
    assert reports[USER]["JobStatus"] == "FAILED" and reports[USER]["Error"]["Code"] == "ServiceFailure"


def test_an_access_advisor_job_that_never_ends_is_an_error(iam: object) -> None:
    with Stubber(iam) as stub:
        stub.add_response("generate_service_last_accessed_details", {"JobId": "j" * 36})
        stub.add_response(
            "get_service_last_accessed_details",
            {
                "JobStatus": "IN_PROGRESS",
                "JobCreationDate": CREATED,
                "ServicesLastAccessed": [],
                "JobCompletionDate": CREATED,
            },
        )
        with pytest.raises(CollectionError, match=r"Access Advisor report of .* was not ready"):
            collect_access_advisor(iam, [USER], timeout=0, sleep=lambda _s: None)


def test_the_credential_report_is_generated_until_complete_then_read(iam: object) -> None:
    sleeps: list[float] = []
    with Stubber(iam) as stub:
        stub.add_response("generate_credential_report", {"State": "STARTED", "Description": "started"})
        stub.add_response("generate_credential_report", {"State": "INPROGRESS"})
        stub.add_response("generate_credential_report", {"State": "COMPLETE"})
        stub.add_client_error("get_credential_report", "ReportInProgress", "not yet", 410)
        stub.add_response("generate_credential_report", {"State": "COMPLETE"})
        stub.add_response(
            "get_credential_report",
            {"Content": REPORT.encode(), "ReportFormat": "text/csv", "GeneratedTime": CREATED},
        )
        text = collect_credential_report(iam, interval=3, sleep=sleeps.append)
        stub.assert_no_pending_responses()
    assert text == REPORT and sleeps == [3, 3, 3]


def test_a_credential_report_that_never_completes_is_an_error(iam: object) -> None:
    with Stubber(iam) as stub:
        stub.add_response("generate_credential_report", {"State": "STARTED"})
        with pytest.raises(CollectionError, match="credential report was not ready"):
            collect_credential_report(iam, timeout=0, sleep=lambda _s: None)


def test_only_users_with_keys_have_their_keys_listed() -> None:
    assert users_with_access_keys(REPORT, ["alice", "bob", "carol"]) == ["alice"]
    assert users_with_access_keys(None, ["bob", "alice"]) == ["alice", "bob"]
