"""botocore event hooks the collection tests install on every session the collector makes (not a test module).

- `CallRecorder`: every API call (`service:Operation`) and its parameters, from `before-parameter-build`.
- `Throttler`: answers the first attempts of chosen operations with a throttling error, from `before-send`
  (registered first, so it answers before moto does); botocore's retry logic then handles it as it would
  a real one.
- `AccessAdvisorStub`: moto does not implement IAM GenerateServiceLastAccessedDetails /
  GetServiceLastAccessedDetails; this answers them, as botocore's Stubber does, with responses shaped
  exactly like the AWS API reference (and validated against botocore's output shapes).
- `DenyAssumeRole`: answers sts:AssumeRole of chosen accounts with AccessDenied, as IAM does for a role whose
  trust policy does not allow the caller (moto lets any role be assumed).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse
from botocore.validate import ParamValidator

Hook = Callable[[boto3.Session], None]


def remember_params(session: boto3.Session) -> None:
    """Keep each call's API parameters in its request context, where `before-call` handlers read them
    (the `params` of `before-call` are the serialized request)."""

    def keep(params: dict[str, Any], context: dict[str, Any], **_kwargs: Any) -> None:
        context["api_params"] = dict(params)

    session.events.register("before-parameter-build", keep)


def combine(*hooks: Hook) -> Hook:
    """One session hook that installs several."""

    def install(session: boto3.Session) -> None:
        for hook in hooks:
            hook(session)

    return install


class _Body:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_kwargs: Any) -> Iterable[bytes]:
        yield self.body


class CallRecorder:
    """Records `service:Operation` of every call, with its parameters."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()

    def __call__(self, session: boto3.Session) -> None:
        session.events.register("before-parameter-build", self._record)  # emitted for every call, stubbed too

    def _record(self, model: Any, params: dict[str, Any], **_kwargs: Any) -> None:
        with self._lock:
            self.calls.append((f"{model.service_model.service_name}:{model.name}", dict(params)))

    @property
    def names(self) -> set[str]:
        """The distinct calls made."""
        return {name for name, _params in self.calls}


QUERY_THROTTLE = (
    b'<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type>'
    b"<Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>t</RequestId></ErrorResponse>"
)
JSON_THROTTLE = b'{"__type":"TooManyRequestsException","Message":"Rate exceeded"}'


class Throttler:
    """Throttles the first `times` attempts of each call of the given `service.Operation`s."""

    def __init__(self, operations: dict[str, int]) -> None:
        self.operations = operations  # "iam.GetAccountAuthorizationDetails" -> attempts throttled per call
        self.injected: Counter[str] = Counter()
        self._streak: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    def __call__(self, session: boto3.Session) -> None:
        for operation in self.operations:
            session.events.register_first(f"before-send.{operation}", self._send)
            session.events.register(f"after-call.{operation}", self._done)

    def _key(self, event_name: str) -> tuple[str, int]:
        return (event_name.split(".", 1)[1], threading.get_ident())

    def _send(self, request: Any, event_name: str, **_kwargs: Any) -> AWSResponse | None:
        operation, _thread = key = self._key(event_name)
        with self._lock:
            streak = self._streak.get(key, 0)
            if streak >= self.operations[operation]:
                return None
            self._streak[key] = streak + 1
            self.injected[operation] += 1
        service = operation.split(".", 1)[0]
        body = QUERY_THROTTLE if service in {"iam", "sts"} else JSON_THROTTLE
        headers = {"Content-Type": "text/xml" if service in {"iam", "sts"} else "application/x-amz-json-1.1"}
        return AWSResponse(request.url, 400, headers, _Body(body))

    def _done(self, event_name: str, **_kwargs: Any) -> None:
        with self._lock:
            self._streak.pop(self._key(event_name), None)  # the next call of this thread is throttled again


class AccessAdvisorStub:
    """Answers IAM's Access Advisor calls (which moto lacks) with AWS-API-reference-shaped responses.

    Every report says: s3 used at `used_at` by the entity, with the tracked action s3:GetObject; iam granted
    but never used. The first Get of each job is IN_PROGRESS, and the completed report comes in two pages.
    """

    def __init__(self, used_at: datetime) -> None:
        self.used_at = used_at
        self.jobs: dict[str, str] = {}  # job id -> entity ARN
        self.polls: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._validator = ParamValidator()

    def __call__(self, session: boto3.Session) -> None:
        remember_params(session)
        session.events.register("before-call.iam.GenerateServiceLastAccessedDetails", self._generate)
        session.events.register("before-call.iam.GetServiceLastAccessedDetails", self._get)

    def _answer(self, model: Any, parsed: dict[str, Any]) -> tuple[AWSResponse, dict[str, Any]]:
        report = self._validator.validate(parsed, model.output_shape)
        assert not report.has_errors(), report.generate_report()
        return AWSResponse(None, 200, {}, None), parsed

    def _generate(self, model: Any, context: dict[str, Any], **_kwargs: Any) -> Any:
        params = context["api_params"]
        with self._lock:
            job_id = f"{len(self.jobs):08d}-1305-c245-eba4-71fe298bcda7"
            self.jobs[job_id] = params["Arn"]
        return self._answer(model, {"JobId": job_id})

    def _get(self, model: Any, context: dict[str, Any], **_kwargs: Any) -> Any:
        params = context["api_params"]
        job_id = params["JobId"]
        arn = self.jobs[job_id]
        created = datetime(2024, 1, 1, tzinfo=UTC)
        with self._lock:
            self.polls[job_id] += 1
            first = self.polls[job_id] == 1
        if first:
            return self._answer(
                model,
                {
                    "JobStatus": "IN_PROGRESS",
                    "JobCreationDate": created,
                    "ServicesLastAccessed": [],
                    "JobCompletionDate": created,
                },
            )
        base = {
            "JobStatus": "COMPLETED",
            "JobType": "ACTION_LEVEL",
            "JobCreationDate": created,
            "JobCompletionDate": created,
        }
        if "Marker" not in params:
            page = {
                **base,
                "ServicesLastAccessed": [
                    {
                        "ServiceName": "Amazon S3",
                        "ServiceNamespace": "s3",
                        "LastAuthenticated": self.used_at,
                        "LastAuthenticatedEntity": arn,
                        "LastAuthenticatedRegion": "us-east-1",
                        "TotalAuthenticatedEntities": 1,
                        "TrackedActionsLastAccessed": [
                            {
                                "ActionName": "GetObject",
                                "LastAccessedEntity": arn,
                                "LastAccessedTime": self.used_at,
                                "LastAccessedRegion": "us-east-1",
                            },
                            {"ActionName": "PutObject"},
                        ],
                    }
                ],
                "IsTruncated": True,
                "Marker": "page-2",
            }
        else:
            page = {
                **base,
                "ServicesLastAccessed": [
                    {
                        "ServiceName": "AWS Identity and Access Management",
                        "ServiceNamespace": "iam",
                        "TotalAuthenticatedEntities": 0,
                    }
                ],
                "IsTruncated": False,
            }
        return self._answer(model, page)


class DenyAssumeRole:
    """sts:AssumeRole into the given accounts is refused with AccessDenied."""

    def __init__(self, accounts: Iterable[str]) -> None:
        self.accounts = set(accounts)

    def __call__(self, session: boto3.Session) -> None:
        remember_params(session)
        session.events.register("before-call.sts.AssumeRole", self._assume)

    def _assume(self, context: dict[str, Any], **_kwargs: Any) -> Any:
        params = context["api_params"]
        account = params["RoleArn"].split(":")[4]
        if account not in self.accounts:
            return None
        error = {
            "Error": {
                "Code": "AccessDenied",
                "Message": f"User: arn:aws:sts::123456789012:assumed-role/x is not authorized to perform: "
                f"sts:AssumeRole on resource: {params['RoleArn']}",
            },
            "ResponseMetadata": {"HTTPStatusCode": 403},
        }
        return AWSResponse(None, 403, {}, None), error
