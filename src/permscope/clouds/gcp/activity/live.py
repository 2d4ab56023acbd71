"""The live sources, through Google's client libraries: Cloud Logging (`google-cloud-logging`,
`entries.list` over its JSON/REST transport, so entries arrive in the same JSON shape as files), Policy Analyzer
(`activities.query` over `google-auth`'s authorized session: no Python client library exists for it) and Cloud
Storage log-sink buckets (`google-cloud-storage`).

Every function takes the credentials (None: application default credentials) and an optional `http` session
(a `requests.Session`, authorized or not): the libraries' own seam, which the tests fill with recorded answers.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from permscope.core.errors import InputError

SCOPE = "https://www.googleapis.com/auth/cloud-platform"  # what Policy Analyzer accepts; IAM roles limit it
POLICY_ANALYZER = "https://policyanalyzer.googleapis.com/v1"
AUDIT_LOGS = ("activity", "data_access")  # the audit logs read: Admin Activity and Data Access
PAGE_SIZE = 1000
RETRIES = 6  # refusals for quota or unavailability in a row before giving up (pauses 2, 4, ... 64 s)
_BUCKET = re.compile(r"gs://([a-z0-9][a-z0-9._-]{1,220}[a-z0-9])(?:/(.*))?")


def _rfc3339(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def audit_filter(project: str, start: datetime, end: datetime, logs: tuple[str, ...] = AUDIT_LOGS) -> str:
    """The Logging query of a project's audit logs in [start, end) (UTC datetimes)."""
    names = " OR ".join(f'"projects/{project}/logs/cloudaudit.googleapis.com%2F{log}"' for log in logs)
    return f'logName=({names}) AND timestamp>="{_rfc3339(start)}" AND timestamp<"{_rfc3339(end)}"'


def logging_client(project: str, credentials: Any = None, http: Any = None) -> Any:
    """A Cloud Logging client on its JSON transport."""
    from google.cloud.logging_v2.client import Client  # imported here: only the live paths need it

    return Client(project=project, credentials=credentials, _http=http, _use_grpc=False)  # type: ignore[no-untyped-call]


def audit_entries(
    client: Any, project: str, start: datetime, end: datetime, sleep: Callable[[float], None] = time.sleep
) -> Iterator[dict[str, Any]]:
    """The audit-log entries of a project in [start, end), oldest first, as LogEntry JSON (paged by the
    library). A call refused for quota (429) or unavailability (500, 503) is made again after a pause, up to
    RETRIES times without progress (the JSON transport does not retry by itself; entries.list allows 60 calls
    a minute per project): the query then starts at the time of the last entry read, and the entries of that
    instant read already (by logName and insertId) are skipped."""
    since = start
    edge: datetime | None = None
    at_edge: set[tuple[str, str]] = set()  # (logName, insertId): what Cloud Logging itself keeps once
    failures = 0
    while True:
        entries = client.list_entries(
            resource_names=[f"projects/{project}"],
            filter_=audit_filter(project, since, end),
            order_by="timestamp asc",
            page_size=PAGE_SIZE,
        )
        try:
            for entry in entries:
                moment = entry.timestamp
                if moment is not None:
                    seen = (entry.log_name, entry.insert_id)
                    if moment == edge and seen in at_edge:
                        continue
                    if moment != edge:
                        edge, at_edge = moment, set()
                    at_edge.add(seen)
                failures = 0
                yield entry.to_api_repr()
            return
        except Exception as exc:
            failures += 1
            if not retryable(exc) or failures > RETRIES:
                raise
            sleep(min(2.0**failures, 64.0))
            if edge is not None:
                since = edge


def retryable(exc: BaseException) -> bool:
    """Whether a Google API error is worth asking again (quota, unavailable, internal)."""
    from google.api_core import exceptions

    return isinstance(
        exc, exceptions.TooManyRequests | exceptions.ServiceUnavailable | exceptions.InternalServerError
    )


def authorized_session(credentials: Any = None, http: Any = None) -> Any:
    """A session sending the credentials' token (the given session when one is given, for tests)."""
    if http is not None:
        return http
    import google.auth
    from google.auth.transport.requests import AuthorizedSession

    if credentials is None:
        credentials, _project = google.auth.default(scopes=[SCOPE])
    return AuthorizedSession(credentials)  # type: ignore[no-untyped-call]


def last_authentications(
    session: Any, project: str, kind: str, sleep: Callable[[float], None] = time.sleep
) -> Iterator[dict[str, Any]]:
    """Policy Analyzer's activities of one type for a project (`activities.query`, paged; 429 and 5xx asked
    again after a pause, up to RETRIES times in a row)."""
    url = f"{POLICY_ANALYZER}/projects/{project}/locations/global/activityTypes/{kind}/activities:query"
    token: str | None = None
    failures = 0
    while True:
        params: dict[str, Any] = {"pageSize": PAGE_SIZE}
        if token:
            params["pageToken"] = token
        response = session.get(url, params=params, timeout=60)
        try:
            raise_for_status(response)
        except Exception as exc:
            failures += 1
            if not retryable(exc) or failures > RETRIES:
                raise
            sleep(min(2.0**failures, 64.0))
            continue
        failures = 0
        page = response.json()
        yield from page.get("activities") or []
        token = page.get("nextPageToken")
        if not token:
            return


def raise_for_status(response: Any) -> None:
    """A google.api_core exception for an HTTP error answer (as the client libraries raise)."""
    if response.status_code < 400:
        return
    from google.api_core import exceptions

    raise exceptions.from_http_response(response)  # type: ignore[no-untyped-call]


@dataclass(frozen=True, slots=True)
class BucketObject:
    """A log object in a sink bucket, identified for incremental imports by bucket, name and generation."""

    bucket: str
    name: str
    generation: int
    size: int

    @property
    def uri(self) -> str:
        """gs://bucket/name."""
        return f"gs://{self.bucket}/{self.name}"


def parse_gs_uri(uri: str) -> tuple[str, str]:
    """(bucket, prefix) of `gs://bucket/prefix`; InputError naming the URI otherwise."""
    match = _BUCKET.fullmatch(uri)
    if match is None:
        raise InputError(uri, "expected a Cloud Storage URI: gs://bucket[/prefix]")
    return match.group(1), match.group(2) or ""


def storage_client(project: str | None, credentials: Any = None, http: Any = None) -> Any:
    """A Cloud Storage client."""
    from google.cloud.storage import Client

    return Client(project=project, credentials=credentials, _http=http)


def log_objects(client: Any, bucket: str, prefix: str) -> Iterator[Any]:
    """The audit-log objects of a sink bucket under a prefix (`cloudaudit.googleapis.com/<log>/YYYY/MM/DD/...`
    for the exports of a sink; any `.json` object under a prefix that names such a folder), name order."""
    for blob in client.list_blobs(bucket, prefix=prefix or None):
        name = str(blob.name)
        if name.endswith((".json", ".json.gz", ".jsonl")) and "cloudaudit.googleapis.com" in name:
            yield blob
