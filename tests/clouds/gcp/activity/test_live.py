"""The live GCP activity sources through the client libraries' HTTP seams with recorded answers: Cloud Logging
`entries.list` (paged, windows remembered), Policy Analyzer `activities.query` (paged, a refusal), a log sink's
Cloud Storage bucket (listed, downloaded in ranges, objects counted before not downloaded)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from google.auth.credentials import AnonymousCredentials

from clouds.gcp.activity.helpers import (
    MemorySink,
    RecordedAdapter,
    audit_entry,
    last_authentication,
    session_with,
)
from permscope.clouds.gcp.activity.collected import GcpActivityOptions
from permscope.clouds.gcp.activity.imports import import_api, import_bucket
from permscope.clouds.gcp.activity.readers import GCP_ACTIVITY
from permscope.core.errors import ConfigurationError, InputError

NOW = datetime(2024, 5, 10, 12, 0, tzinfo=UTC)
SA = "//iam.googleapis.com/projects/my-project/serviceAccounts/robot@my-project.iam.gserviceaccount.com"


def _logging_pages(request: requests.PreparedRequest) -> tuple[int, Any, dict[str, str]]:
    body = json.loads(request.body or b"{}")
    assert body["resourceNames"] == ["projects/my-project"]
    assert "cloudaudit.googleapis.com%2Factivity" in body["filter"] and "timestamp>=" in body["filter"]
    if body.get("pageToken") == "page-2":
        return 200, {"entries": [audit_entry(email="bob@example.com", granted=["storage.objects.list"])]}, {}
    entries = [audit_entry(granted=["storage.buckets.get"]), audit_entry(status={"code": 7})]
    return 200, {"entries": entries, "nextPageToken": "page-2"}, {}


def _analyzer(request: requests.PreparedRequest) -> tuple[int, Any, dict[str, str]]:
    query = parse_qs(urlparse(request.url or "").query)
    kind = (request.url or "").split("/activityTypes/")[1].split("/")[0]
    if kind == "serviceAccountKeyLastAuthentication":
        return 200, {}, {}
    if query.get("pageToken") == ["next"]:
        return 200, {"activities": [last_authentication(SA, "2024-05-09T07:00:00Z")]}, {}
    return 200, {"activities": [last_authentication(SA, "2024-05-01T07:00:00Z")], "nextPageToken": "next"}, {}


def _adapter(analyzer: Any = _analyzer) -> RecordedAdapter:
    return RecordedAdapter(
        [
            ("POST", r"^https://logging\.googleapis\.com/v2/entries:list(\?.*)?$", _logging_pages),
            ("GET", r"^https://policyanalyzer\.googleapis\.com/v1/projects/my-project/locations/global/activityTypes/"
                    r"\w+/activities:query", analyzer),
        ]
    )  # fmt: skip


def test_logging_and_policy_analyzer() -> None:
    adapter = _adapter()
    sink = MemorySink()
    GCP_ACTIVITY.import_api(
        sink, projects=["my-project"], credentials=AnonymousCredentials(), http=session_with(adapter), now=NOW
    )
    assert [source.kind for _aggregate, source in sink.added] == [
        "cloudLogging",
        "policyAnalyzer",
        "policyAnalyzer",
    ]
    assert {key[:2] for key in sink.usage()} == {
        ("my-project/user:alice@example.com", "storage.buckets.get"),
        ("my-project/user:bob@example.com", "storage.objects.list"),
    }
    assert sink.report.stats.denied == 1 and sink.report.stats.sign_in == 2
    assert sink.activity()["my-project/serviceAccount:robot@my-project.iam.gserviceaccount.com"][:2] == [
        "2024-05-01T07:00:00Z", "2024-05-09T07:00:00Z"
    ]  # fmt: skip
    window = sink.added[0][1].details
    assert window["end"] == (NOW - timedelta(minutes=10)).isoformat()
    assert window["start"] == (NOW - timedelta(days=30)).isoformat()
    calls = len(adapter.requests)
    # a second pass an hour later reads only the new hour, and Policy Analyzer not again the same day
    later = MemorySink(counted_keys=set(sink.counted_keys), recorded=list(sink.recorded))
    import_api(later, projects=["my-project"], credentials=AnonymousCredentials(), http=session_with(adapter),
               now=NOW + timedelta(hours=1))  # fmt: skip
    (only,) = [source for _aggregate, source in later.added]
    assert (only.details["start"], only.details["end"]) == (
        window["end"],
        (NOW + timedelta(minutes=50)).isoformat(),
    )
    assert len(adapter.requests) == calls + 2 and later.report.sources_skipped == 2


def test_a_refusal_is_named_in_one_line() -> None:
    def refused(request: requests.PreparedRequest) -> tuple[int, Any, dict[str, str]]:
        error = {"code": 403, "message": "Permission 'policyanalyzer.serviceAccountLastAuthenticationActivities."
                 "query' denied on resource", "status": "PERMISSION_DENIED"}  # fmt: skip
        return 403, {"error": error}, {}

    with pytest.raises(Exception) as caught:
        import_api(MemorySink(), projects=["my-project"], audit_logs=False, http=session_with(_adapter(refused)),
                   now=NOW)  # fmt: skip
    problem = GCP_ACTIVITY.problem(caught.value)
    assert problem is not None and problem.startswith("PERMISSION_DENIED (403): Permission 'policyanalyzer.")
    assert "\n" not in problem
    assert GCP_ACTIVITY.problem(ValueError("x")) is None


def _bucket_adapter(objects: dict[str, bytes]) -> RecordedAdapter:
    def listing(request: requests.PreparedRequest) -> tuple[int, Any, dict[str, str]]:
        prefix = parse_qs(urlparse(request.url or "").query).get("prefix", [""])[0]
        items = [
            {"name": name, "bucket": "sink-bucket", "generation": "7", "size": str(len(data)),
             "contentType": "application/json"}
            for name, data in objects.items() if name.startswith(prefix)
        ]  # fmt: skip
        return 200, {"kind": "storage#objects", "items": items}, {}

    def media(request: requests.PreparedRequest) -> tuple[int, Any, dict[str, str]]:
        path = urlparse(request.url or "").path
        name = requests.utils.unquote(path.split("/o/", 1)[1])
        data = objects[name]
        found = re.fullmatch(r"bytes=(\d+)-(\d*)", request.headers.get("range", ""))
        if found is None:
            return 200, data, {"content-type": "application/octet-stream"}
        start, end = int(found.group(1)), int(found.group(2) or len(data) - 1)
        part = data[start : end + 1]
        headers = {
            "content-type": "application/octet-stream",
            "content-range": f"bytes {start}-{start + len(part) - 1}/{len(data)}",
        }
        return 206, part, headers

    def bucket(request: requests.PreparedRequest) -> tuple[int, Any, dict[str, str]]:
        return 200, {"kind": "storage#bucket", "name": "sink-bucket", "id": "sink-bucket"}, {}

    return RecordedAdapter(
        [
            ("GET", r"^https://storage\.googleapis\.com/storage/v1/b/sink-bucket\?", bucket),
            ("GET", r"^https://storage\.googleapis\.com/storage/v1/b/sink-bucket/o\?", listing),
            ("GET", r"^https://storage\.googleapis\.com/download/storage/v1/b/sink-bucket/o/", media),
        ]
    )


def test_log_sink_bucket() -> None:
    day = "cloudaudit.googleapis.com/activity/2024/05/01/"
    lines = b"\n".join(json.dumps(audit_entry(granted=["storage.buckets.get"])).encode() for _ in range(400))
    objects = {
        day + "00:00:00_00:59:59_S0.json": lines,
        day + "01:00:00_01:59:59_S0.json": b'{"timestamp": "2024-05-01T01:00:00Z"}\n{oops\n',
        "other/readme.txt": b"hello",
    }
    adapter = _bucket_adapter(objects)
    sink = MemorySink()
    GCP_ACTIVITY.import_bucket(sink, "gs://sink-bucket/cloudaudit.googleapis.com", project="my-project",
                               credentials=AnonymousCredentials(), http=session_with(adapter))  # fmt: skip
    assert (sink.report.sources_found, sink.report.sources_read) == (2, 1)
    ((where, problem),) = sink.report.failures
    assert where == f"gs://sink-bucket/{day}01:00:00_01:59:59_S0.json" and problem.startswith(
        "line 2 is not JSON"
    )
    assert next(iter(sink.usage().values()))[2] == 400
    calls = len(adapter.requests)
    again = MemorySink(counted_keys=set(sink.counted_keys))
    import_bucket(again, "gs://sink-bucket", credentials=AnonymousCredentials(), http=session_with(adapter))
    assert again.report.sources_skipped == 1 and again.report.sources_read == 0
    downloaded = {request.url.split("/o/")[1].split("?")[0] for request in adapter.requests[calls:]
                  if "/download/" in (request.url or "")}  # fmt: skip
    assert downloaded == {
        "cloudaudit.googleapis.com%2Factivity%2F2024%2F05%2F01%2F01%3A00%3A00_01%3A59%3A59_S0.json"
    }


def test_options_and_uris() -> None:
    with pytest.raises(InputError, match="gs://bucket"):
        import_bucket(MemorySink(), "s3://nope")
    with pytest.raises(ConfigurationError, match="not before its end"):
        GCP_ACTIVITY.collected_options(audit_logs=True, start=NOW, end=NOW)
    assert not GcpActivityOptions().wanted and GcpActivityOptions(last_authentication=True).wanted


def test_collected_projects_one_refused() -> None:
    def logging_answer(request: requests.PreparedRequest) -> tuple[int, Any, dict[str, str]]:
        body = json.loads(request.body or b"{}")
        if body["resourceNames"] == ["projects/locked-project"]:
            error = {
                "code": 403,
                "message": "Permission denied for all log views",
                "status": "PERMISSION_DENIED",
            }
            return 403, {"error": error}, {}
        return 200, {"entries": [audit_entry(granted=["storage.buckets.get"])]}, {}

    adapter = RecordedAdapter(
        [("POST", r"^https://logging\.googleapis\.com/v2/entries:list", logging_answer)]
    )
    session = session_with(adapter)
    reaches = [
        type("Reach", (), {"project_id": project, "credentials": AnonymousCredentials(), "http": session})()
        for project in ("my-project", "locked-project")
    ]
    sinks: list[MemorySink] = []

    def new_sink() -> MemorySink:
        sinks.append(MemorySink())
        return sinks[-1]

    warnings: list[tuple[str, str]] = []
    options = GCP_ACTIVITY.collected_options(audit_logs=True)
    reports = GCP_ACTIVITY.import_collected(
        new_sink, options, reaches, regions=None, warn=lambda system, text: warnings.append((system, text))
    )
    assert set(reports) == {"my-project", "locked-project"}
    assert reports["my-project"].sources_read == 1 and reports["locked-project"].sources_read == 0
    assert warnings == [
        ("locked-project", "activity not read (retried next time): PERMISSION_DENIED (403): "
                           "Permission denied for all log views")
    ]  # fmt: skip


def test_quota_refusals_are_asked_again_after_a_pause() -> None:
    answered: dict[str, int] = {"logging": 0, "analyzer": 0}
    quota = {
        "code": 429,
        "message": "Quota exceeded for quota metric 'Read requests'",
        "status": "RESOURCE_EXHAUSTED",
    }

    def logging_answer(request: requests.PreparedRequest) -> tuple[int, Any, dict[str, str]]:
        answered["logging"] += 1
        body = json.loads(request.body or b"{}")
        first = audit_entry(granted=["storage.buckets.get"], timestamp="2024-05-01T10:00:00.100Z")
        denied = audit_entry(status={"code": 7}, timestamp="2024-05-01T10:00:05.200Z")
        bob = audit_entry(
            email="bob@example.com", granted=["storage.objects.list"], timestamp="2024-05-01T10:00:05.2Z"
        )
        for number, entry in enumerate((first, denied, bob)):
            entry["insertId"] = f"e{number}"
        if answered["logging"] == 1:
            return 200, {"entries": [first, denied], "nextPageToken": "page-2"}, {}
        if (
            answered["logging"] == 2
        ):  # the second page is refused, and the query resumed from the last instant
            assert body["pageToken"] == "page-2"
            return 429, {"error": quota}, {}
        assert "pageToken" not in body and 'timestamp>="2024-05-01T10:00:05.200000Z"' in body["filter"]
        if answered["logging"] == 3:
            return 429, {"error": quota}, {}
        return 200, {"entries": [denied, bob]}, {}

    def analyzer_answer(request: requests.PreparedRequest) -> tuple[int, Any, dict[str, str]]:
        answered["analyzer"] += 1
        if answered["analyzer"] == 1:
            return 503, {"error": {"code": 503, "message": "unavailable", "status": "UNAVAILABLE"}}, {}
        return _analyzer(request)

    adapter = RecordedAdapter(
        [
            ("POST", r"^https://logging\.googleapis\.com/v2/entries:list", logging_answer),
            ("GET", r"^https://policyanalyzer\.googleapis\.com/", analyzer_answer),
        ]
    )
    pauses: list[float] = []
    sink = MemorySink()
    import_api(sink, projects=["my-project"], http=session_with(adapter), now=NOW, sleep=pauses.append)
    assert pauses == [2.0, 4.0, 2.0]
    assert {key[:2] for key in sink.usage()} == {
        ("my-project/user:alice@example.com", "storage.buckets.get"),
        ("my-project/user:bob@example.com", "storage.objects.list"),
    }
    assert sink.report.stats.events == 3 + 2  # no entry read twice; two activities


def test_quota_refusals_give_up_in_the_end() -> None:
    quota = {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED"}
    adapter = RecordedAdapter(
        [
            (
                "POST",
                r"^https://logging\.googleapis\.com/v2/entries:list",
                lambda request: (429, {"error": quota}, {}),
            )
        ]
    )
    pauses: list[float] = []
    with pytest.raises(Exception) as caught:
        import_api(MemorySink(), projects=["my-project"], last_authentication=False, http=session_with(adapter),
                   now=NOW, sleep=pauses.append)  # fmt: skip
    assert len(pauses) == 6 and pauses[-1] == 64.0
    assert GCP_ACTIVITY.problem(caught.value) == "RESOURCE_EXHAUSTED (429): Quota exceeded"
