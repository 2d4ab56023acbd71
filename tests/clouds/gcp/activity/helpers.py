"""What the GCP activity tests share: an in-memory activity sink, LogEntry builders, recorded HTTP answers."""

from __future__ import annotations

import io
import itertools
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.adapters import BaseAdapter
from urllib3 import HTTPResponse

from permscope.core.activity import ActivityReport, ActivitySource, UsageAggregate


@dataclass
class MemorySink:
    """An `ActivitySink` that keeps what it is given (and what it was told is counted already)."""

    report: ActivityReport = field(default_factory=ActivityReport)
    counted_keys: set[tuple[str, str]] = field(default_factory=set)
    recorded: list[dict[str, Any]] = field(default_factory=list)  # (kind, location) details
    added: list[tuple[UsageAggregate, ActivitySource]] = field(default_factory=list)
    commits: int = 0

    def counted(self, kind: str, keys: Iterable[str]) -> set[str]:
        return {key for key in keys if (kind, key) in self.counted_keys}

    def windows(self, kind: str, location: str) -> list[dict[str, Any]]:
        return [r["details"] for r in self.recorded if r["kind"] == kind and r["location"] == location]

    def add(self, aggregate: UsageAggregate, source: ActivitySource) -> None:
        self.added.append((aggregate, source))
        self.report.sources_read += 1
        self.counted_keys.add((source.kind, source.key))
        self.recorded.append({"kind": source.kind, "location": source.location, "details": source.details})
        self.report.stats.merge(aggregate.stats)

    def commit(self) -> None:
        self.commits += 1

    def finish(self) -> ActivityReport:
        return self.report

    def store_failed(self, error: BaseException) -> bool:
        return False

    def usage(self) -> dict[tuple[str, str, str], list[Any]]:
        """Every aggregate's usage, merged."""
        merged: dict[tuple[str, str, str], list[Any]] = {}
        for aggregate, _source in self.added:
            for key, (first, last, count) in aggregate.usage.items():
                entry = merged.setdefault(key, [first, last, 0])
                entry[0], entry[1], entry[2] = min(entry[0], first), max(entry[1], last), entry[2] + count
        return merged

    def activity(self) -> dict[str, list[Any]]:
        """Every aggregate's activity, merged."""
        merged: dict[str, list[Any]] = {}
        for aggregate, _source in self.added:
            for key, (first, last, count) in aggregate.activity.items():
                entry = merged.setdefault(key, [first, last, 0])
                entry[0], entry[1], entry[2] = min(entry[0], first), max(entry[1], last), entry[2] + count
        return merged


_INSERT_IDS = itertools.count()


def audit_entry(
    *,
    email: str | None = "alice@example.com",
    method: str = "storage.buckets.get",
    service: str = "storage.googleapis.com",
    resource: str = "projects/_/buckets/b1",
    project: str | None = "my-project",
    log: str = "activity",
    timestamp: str = "2024-05-01T10:00:00.123456789Z",
    granted: list[str] | None = None,
    status: dict[str, Any] | None = None,
    delegation: list[str] | None = None,
    type_key: str = "@type",
) -> dict[str, Any]:
    """One Cloud Audit Logs LogEntry in the JSON shape Cloud Logging gives."""
    authentication: dict[str, Any] = {}
    if email is not None:
        authentication["principalEmail"] = email
    if delegation:
        authentication["serviceAccountDelegationInfo"] = [
            {"firstPartyPrincipal": {"principalEmail": who}} for who in delegation
        ]
    payload: dict[str, Any] = {
        type_key: "type.googleapis.com/google.cloud.audit.AuditLog",
        "authenticationInfo": authentication,
        "methodName": method,
        "serviceName": service,
        "resourceName": resource,
        "requestMetadata": {"callerIp": "203.0.113.9", "callerSuppliedUserAgent": "gcloud"},
    }
    if granted is not None:
        payload["authorizationInfo"] = [
            {"permission": permission, "granted": True, "resource": resource} for permission in granted
        ]
    if status is not None:
        payload["status"] = status
    entry: dict[str, Any] = {
        "insertId": f"i{next(_INSERT_IDS)}",
        "logName": f"projects/{project or 'x'}/logs/cloudaudit.googleapis.com%2F{log}",
        "protoPayload": payload,
        "receiveTimestamp": timestamp,
        "resource": {"type": "gcs_bucket", "labels": {"bucket_name": "b1"}},
        "severity": "INFO",
        "timestamp": timestamp,
    }
    if project is not None:
        entry["resource"]["labels"]["project_id"] = project
    else:
        entry["logName"] = f"organizations/123/logs/cloudaudit.googleapis.com%2F{log}"
    return entry


def last_authentication(
    name: str, when: str, kind: str = "serviceAccountLastAuthentication"
) -> dict[str, Any]:
    """One Policy Analyzer activity (activities.query shape)."""
    holder = "serviceAccount" if kind == "serviceAccountLastAuthentication" else "serviceAccountKey"
    return {
        "fullResourceName": name,
        "activityType": kind,
        "observationPeriod": {"startTime": "2024-04-01T07:00:00Z", "endTime": when},
        "activity": {
            "lastAuthenticatedTime": when,
            holder: {"fullResourceName": name, "projectNumber": "123456789012", "serviceAccountId": "1" * 21},
        },
    }


Answer = Callable[[requests.PreparedRequest], tuple[int, Any, dict[str, str]]]


class RecordedAdapter(BaseAdapter):
    """A requests transport answering from recorded responses: (method, URL regex) -> answer; every request
    is kept. An unexpected request fails the test (no network)."""

    def __init__(self, routes: list[tuple[str, str, Answer]]) -> None:
        super().__init__()
        self.routes = [(method, re.compile(pattern), answer) for method, pattern, answer in routes]
        self.requests: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.requests.append(request)
        for method, pattern, answer in self.routes:
            if request.method == method and pattern.search(request.url or ""):
                status, body, headers = answer(request)
                return self._response(request, status, body, headers)
        raise AssertionError(f"unexpected request {request.method} {request.url}")

    @staticmethod
    def _response(
        request: requests.PreparedRequest, status: int, body: Any, headers: dict[str, str]
    ) -> requests.Response:
        response = requests.Response()
        response.status_code = status
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        all_headers = {"content-type": "application/json", **headers}
        response.raw = HTTPResponse(  # read as the body streams, as urllib3 gives it
            body=io.BytesIO(data), headers=all_headers, status=status, preload_content=False
        )
        response.headers.update(all_headers)
        response.url = request.url or ""
        response.request = request
        response.reason = "OK" if status < 400 else "Error"
        response.encoding = "utf-8"
        return response

    def close(self) -> None:
        pass


def session_with(adapter: RecordedAdapter) -> requests.Session:
    """google-auth's authorized session (anonymous credentials), every HTTPS request going to the adapter."""
    from google.auth.credentials import AnonymousCredentials
    from google.auth.transport.requests import AuthorizedSession

    session = AuthorizedSession(AnonymousCredentials())
    session.mount("https://", adapter)
    return session


PERMISSIONS = (
    "storage.buckets.get",
    "storage.buckets.getIamPolicy",
    "storage.objects.get",
    "compute.instances.stop",
)


def register_standin(monkeypatch: Any) -> None:
    """Register, for one test, a stand-in GCP plugin giving the activity importer GCP's readers and a catalogue
    of PERMISSIONS (until the GCP plugin is registered in `clouds.base.CLOUDS`)."""
    from types import SimpleNamespace

    from permscope.clouds import base
    from permscope.clouds.gcp.activity.readers import GCP_ACTIVITY
    from permscope.core.catalog import ActionCatalog
    from permscope.core.ids import Cloud
    from permscope.core.inventory import Action

    actions = [
        Action(external_id=name, service=name.split(".")[0], name=name.split(".", 1)[1], access_level="read",
               severity="normal", action_type=None)
        for name in PERMISSIONS
    ]  # fmt: skip
    catalog = ActionCatalog("stand-in-1", actions, separator=".")
    standin = SimpleNamespace(
        activity=GCP_ACTIVITY, catalog_version=lambda: "stand-in-1", catalog=lambda: catalog
    )
    monkeypatch.setitem(base.CLOUDS, Cloud.GCP, lambda: standin)
