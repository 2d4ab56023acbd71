"""CloudTrail activity of the moto organization (`moto_estate`), for the collection-with-activity tests (not a
test module).

- `put_trail_logs`: an organization trail bucket in one member account (a log archive), holding gzip log files
  in the standard organization-trail layout `<prefix>/AWSLogs/<org id>/<account>/CloudTrail/<region>/YYYY/MM/DD/`
  whose records name principals of two member accounts (`trail_records`).
- `LookupEventsStubs`: moto does not implement CloudTrail LookupEvents; this attaches botocore's `Stubber` to
  every cloudtrail client the collector makes (through `CollectOptions.client_hook`) and answers per account,
  with responses shaped like the CloudTrail API reference (`lookup_page`), or with an error.
- `AssumedKeys`: the access key id of the role credentials sts:AssumeRole handed out, per account, to check
  which session made a call.
"""

from __future__ import annotations

import gzip
import json
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import boto3
from botocore.stub import Stubber

from .botocore_hooks import remember_params
from .moto_estate import REGION, Estate, member_session

TRAIL_BUCKET = "org-trail-logs"
TRAIL_PREFIX = "trail"
DAY = "2024/05/01"


@dataclass(frozen=True)
class Trail:
    """What `put_trail_logs` wrote: where, by whom, and the events' expected meaning."""

    uri: str
    owner: str  # the member account whose bucket it is
    user_account: str  # alice's account (IAM user events)
    role_account: str  # the account of the `app` role (assumed-role session events)
    keys: list[str]


def user_identity(account: str) -> dict[str, Any]:
    """`userIdentity` of alice, an IAM user of `account`."""
    return {
        "type": "IAMUser",
        "principalId": "AIDAEXAMPLEALICE0001",
        "arn": f"arn:aws:iam::{account}:user/alice",
        "accountId": account,
        "accessKeyId": "AKIAEXAMPLEALICE0001",
        "userName": "alice",
    }


def role_identity(account: str) -> dict[str, Any]:
    """`userIdentity` of a session of the role `app` of `account`."""
    return {
        "type": "AssumedRole",
        "principalId": "AROAEXAMPLEAPP000001:worker",
        "arn": f"arn:aws:sts::{account}:assumed-role/app/worker",
        "accountId": account,
        "accessKeyId": "ASIAEXAMPLEAPP000001",
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": "AROAEXAMPLEAPP000001",
                "arn": f"arn:aws:iam::{account}:role/app",
                "accountId": account,
                "userName": "app",
            },
            "attributes": {"creationDate": "2024-05-01T09:00:00Z", "mfaAuthenticated": "false"},
        },
    }


def event(
    identity: dict[str, Any],
    when: str,
    source: str,
    name: str,
    number: int,
    *,
    request: dict[str, Any] | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    """One CloudTrail record as CloudTrail writes it."""
    item: dict[str, Any] = {
        "eventVersion": "1.09",
        "userIdentity": identity,
        "eventTime": when,
        "eventSource": source,
        "eventName": name,
        "awsRegion": REGION,
        "sourceIPAddress": "203.0.113.10",
        "userAgent": "aws-cli/2.15.0",
        "requestParameters": request,
        "responseElements": None,
        "requestID": f"req-{number}",
        "eventID": f"00000000-0000-4000-8000-{number:012d}",
        "readOnly": True,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": identity["accountId"],
        "eventCategory": "Management",
    }
    if error:
        item["errorCode"] = error
        item["errorMessage"] = "User is not authorized to perform this operation"
    return item


def trail_records(user_account: str, role_account: str) -> dict[str, list[dict[str, Any]]]:
    """The log files' records per account folder: alice's calls in one account, the `app` role's in another.

    alice: s3:ListAllMyBuckets twice (last at 10:05), s3:GetObject on one object (a data event), and one
    AccessDenied (not usage). app: sqs:ListQueues three times, the last at 11:30.
    """
    alice, app = user_identity(user_account), role_identity(role_account)
    return {
        user_account: [
            event(alice, "2024-05-01T10:00:00Z", "s3.amazonaws.com", "ListBuckets", 1),
            event(alice, "2024-05-01T10:05:00Z", "s3.amazonaws.com", "ListBuckets", 2),
            event(
                alice,
                "2024-05-01T10:03:00Z",
                "s3.amazonaws.com",
                "GetObject",
                3,
                request={"bucketName": "reports", "key": "q1.csv"},
            ),
            event(alice, "2024-05-01T10:09:00Z", "iam.amazonaws.com", "CreateUser", 4, error="AccessDenied"),
        ],
        role_account: [
            event(app, f"2024-05-01T11:{minute:02d}:00Z", "sqs.amazonaws.com", "ListQueues", 10 + minute)
            for minute in (10, 20, 30)
        ],
    }


def put_trail_logs(session: boto3.Session, estate: Estate, endpoint_url: str | None = None) -> Trail:
    """An organization trail bucket in the first member account (the log archive) with one gzip log file per
    account folder; alice is a user of the first member, `app` a role of the second."""
    owner, other = sorted(estate.members)[:2]
    org = session.client("organizations", region_name=REGION, endpoint_url=endpoint_url)
    organization_id = org.describe_organization()["Organization"]["Id"]
    s3 = member_session(session, owner, endpoint_url).client(
        "s3", region_name=REGION, endpoint_url=endpoint_url
    )
    s3.create_bucket(Bucket=TRAIL_BUCKET)
    keys = []
    for account, records in trail_records(owner, other).items():
        folder = f"{TRAIL_PREFIX}/AWSLogs/{organization_id}/{account}/CloudTrail/{REGION}/{DAY}"
        key = f"{folder}/{account}_CloudTrail_{REGION}_20240501T1010Z_{account[-4:]}abcd.json.gz"
        s3.put_object(
            Bucket=TRAIL_BUCKET, Key=key, Body=gzip.compress(json.dumps({"Records": records}).encode())
        )
        keys.append(key)
    digest = (
        f"{TRAIL_PREFIX}/AWSLogs/{organization_id}/{owner}/CloudTrail-Digest/{REGION}/{DAY}/digest.json.gz"
    )
    s3.put_object(Bucket=TRAIL_BUCKET, Key=digest, Body=gzip.compress(b"{}"))  # never read
    return Trail(
        uri=f"s3://{TRAIL_BUCKET}/{TRAIL_PREFIX}/",
        owner=owner,
        user_account=owner,
        role_account=other,
        keys=keys,
    )


def lookup_page(records: list[dict[str, Any]], next_token: str | None = None) -> dict[str, Any]:
    """A LookupEvents response as the CloudTrail API reference shapes it: Events[] with CloudTrailEvent."""
    events = [
        {
            "EventId": item["eventID"],
            "EventName": item["eventName"],
            "ReadOnly": "true",
            "AccessKeyId": item["userIdentity"].get("accessKeyId", ""),
            "EventTime": datetime.fromisoformat(item["eventTime"].replace("Z", "+00:00")),
            "EventSource": item["eventSource"],
            "Username": item["userIdentity"].get("userName", "worker"),
            "Resources": [],
            "CloudTrailEvent": json.dumps(item),
        }
        for item in sorted(records, key=lambda record: record["eventTime"], reverse=True)  # newest first
    ]
    response: dict[str, Any] = {"Events": events}
    if next_token:
        response["NextToken"] = next_token
    return response


class LookupEventsStubs:
    """A `client_hook` answering CloudTrail LookupEvents per account with botocore's Stubber (moto lacks it).

    `answers[account]` is a list of (response, expected parameters) pages, or an error code the call fails
    with; an account without an answer gets no stubbed response, so any call it makes fails the Stubber.
    """

    def __init__(self, answers: dict[str, list[tuple[dict[str, Any], dict[str, Any]]] | str]) -> None:
        self.answers = answers
        self.clients: dict[str, list[Any]] = {}
        self.stubbers: dict[str, list[Stubber]] = {}
        self._lock = threading.Lock()

    def __call__(self, account_id: str, service: str, client: Any) -> None:
        if service != "cloudtrail":
            return
        stubber = Stubber(client)
        answer = self.answers.get(account_id, [])
        if isinstance(answer, str):
            stubber.add_client_error(
                "lookup_events", service_error_code=answer, service_message="denied", http_status_code=400
            )
        else:
            for response, expected in answer:
                stubber.add_response("lookup_events", response, expected)
        stubber.activate()
        with self._lock:
            self.clients.setdefault(account_id, []).append(client)
            self.stubbers.setdefault(account_id, []).append(stubber)

    def assert_answered(self) -> None:
        """Every stubbed response was asked for."""
        for stubbers in self.stubbers.values():
            for stubber in stubbers:
                stubber.assert_no_pending_responses()


class AssumedKeys:
    """A `session_hook`: the access key id sts:AssumeRole handed out for each account's role."""

    def __init__(self) -> None:
        self.by_account: dict[str, set[str]] = {}
        self._lock = threading.Lock()

    def __call__(self, session: boto3.Session) -> None:
        remember_params(session)
        session.events.register("after-call.sts.AssumeRole", self._keep)

    def _keep(self, parsed: dict[str, Any], context: dict[str, Any], **_kwargs: Any) -> None:
        account = context["api_params"]["RoleArn"].split(":")[4]
        key = (parsed.get("Credentials") or {}).get("AccessKeyId")
        if key:
            with self._lock:
                self.by_account.setdefault(account, set()).add(str(key))


def access_key_of(client: Any) -> str:
    """The access key id a client signs its requests with."""
    credentials = client._request_signer._credentials  # private, but it names the session that made it
    return str(credentials.get_frozen_credentials().access_key)


class SessionCalls:
    """A `session_hook` recording, for every call, the access key id of the session that made it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []  # (service:Operation, access key id)
        self._lock = threading.Lock()

    def __call__(self, session: boto3.Session) -> None:
        def record(model: Any, **_kwargs: Any) -> None:
            credentials = session.get_credentials()
            key = credentials.get_frozen_credentials().access_key if credentials is not None else ""
            with self._lock:
                self.calls.append((f"{model.service_model.service_name}:{model.name}", key))

        session.events.register("before-parameter-build", record)

    def keys_of(self, call: str) -> set[str]:
        """The access key ids that made `call`."""
        return {key for name, key in self.calls if name == call}
