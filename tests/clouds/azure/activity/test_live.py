"""Live Azure activity from recorded responses: the Activity Log through azure-mgmt-monitor (paging, windows
not read twice, the inclusive edge cut, errors in one line) and sign-ins through msgraph-sdk."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import httpx
import pytest

from clouds.azure.activity.recorded import RecordedTransport, StaticCredential, graph_client
from clouds.azure.activity.samples import ALICE_OID, APP_ID, SP_OID, SUB, graph_sign_in, rest_event
from clouds.azure.activity.test_files import RecordingSink
from permscope.clouds.azure.activity.live import SETTLE, gaps
from permscope.clouds.azure.activity.readers import AZURE_ACTIVITY
from permscope.core.activity import ActivityReport

NOW = datetime(2024, 5, 10, 12, 0, tzinfo=UTC)
START = datetime(2024, 5, 1, tzinfo=UTC)
LIST = f"/subscriptions/{SUB}/providers/Microsoft.Insights/eventtypes/management/values"


def activity_log(events: list[dict[str, Any]], page_size: int = 2) -> RecordedTransport:
    """The Activity Log API over `events`: the filter's window honoured, pages of `page_size` with nextLink."""

    def answer(method: str, url: str) -> tuple[int, Any, dict[str, str]]:
        parsed = urlparse(url)
        assert method == "GET" and parsed.path == LIST
        query = parse_qs(parsed.query)
        window = query["$filter"][0]
        low, high = (datetime.fromisoformat(part.split("'")[1]) for part in window.split(" and "))
        chosen = [event for event in events if low <= datetime.fromisoformat(event["eventTimestamp"]) <= high]
        skip = int(query.get("$skiptoken", ["0"])[0])
        page: dict[str, Any] = {"value": chosen[skip : skip + page_size]}
        if skip + page_size < len(chosen):
            page["nextLink"] = (
                f"https://management.azure.com{LIST}?api-version=2015-04-01&$filter={window}&$skiptoken={skip + page_size}"
            )
        return 200, page, {}

    return RecordedTransport(answer)


def read_api(sink: RecordingSink, transport: RecordedTransport, **options: Any) -> None:
    AZURE_ACTIVITY.import_api(
        sink,
        subscriptions=[SUB.upper()],
        credential=StaticCredential(),
        client_options={"transport": transport},
        start=START,
        now=NOW,
        **options,
    )


def test_the_activity_log_is_read_page_by_page_and_no_window_twice() -> None:
    events = [rest_event(when=f"2024-05-0{day}T10:00:00.5Z") for day in range(1, 8)]
    transport = activity_log(events)
    sink = RecordingSink()
    read_api(sink, transport)
    ((aggregate, source),) = sink.added
    assert source.kind == "activityLog" and source.location == SUB
    assert source.details == {"start": START.isoformat(), "end": (NOW - SETTLE).isoformat()}
    assert aggregate.stats.usage == 7 and len(transport.urls) == 4  # 7 events in pages of 2
    assert "eventTimestamp ge '2024-05-01T00:00:00.000000Z'" in unquote(transport.urls[0])
    assert sink.commits == 1
    # a later pass reads only what came after the first window
    later = NOW + timedelta(days=1)
    transport.urls.clear()
    AZURE_ACTIVITY.import_api(
        sink,
        subscriptions=[SUB],
        credential=StaticCredential(),
        client_options={"transport": transport},
        start=START,
        now=later,
    )
    assert len(sink.added) == 2
    assert sink.added[1][1].details["start"] == (NOW - SETTLE).isoformat()
    assert "2024-05-10T11:40:00.000000Z" in unquote(transport.urls[0])
    # and a pass over what is read already reads nothing
    again = RecordingSink()
    again.recorded = sink.recorded
    AZURE_ACTIVITY.import_api(
        again,
        subscriptions=[SUB],
        credential=StaticCredential(),
        client_options={"transport": transport},
        start=START,
        now=later,
    )
    assert again.added == [] and again.report.sources_skipped == 1


def test_an_event_at_the_window_end_belongs_to_the_next_window() -> None:
    edge = rest_event(when="2024-05-05T00:00:00Z")
    transport = activity_log([edge, rest_event(when="2024-05-04T23:59:59.9Z")])
    sink = RecordingSink()
    read_api(sink, transport, end=datetime(2024, 5, 5, tzinfo=UTC))
    assert sink.added[0][0].stats.events == 1
    read_api(sink, transport, end=datetime(2024, 5, 6, tzinfo=UTC))
    assert sink.added[1][0].stats.events == 1


def test_a_refusal_is_one_line() -> None:
    def refuse(method: str, url: str) -> tuple[int, Any, dict[str, str]]:
        body = {
            "error": {
                "code": "AuthorizationFailed",
                "message": "The client 'x' does not have authorization\nto perform",
            }
        }
        return 403, body, {}

    sink = RecordingSink()
    with pytest.raises(Exception) as error:
        read_api(sink, RecordedTransport(refuse))
    problem = AZURE_ACTIVITY.problem(error.value)
    assert (
        problem
        == "HttpResponseError: HTTP 403 AuthorizationFailed: The client 'x' does not have authorization"
    )
    assert AZURE_ACTIVITY.problem(ValueError("x")) is None
    assert sink.added == []  # nothing recorded: the next pass reads the window again


def test_sign_ins_through_graph_each_kind_and_page() -> None:
    asked: list[str] = []
    pages = {
        "v1.0": [
            {
                "value": [graph_sign_in(when="2024-05-02T00:00:00Z")],
                "@odata.nextLink": "https://graph.microsoft.com/v1.0/auditLogs/signIns?$skiptoken=2",
            },
            {"value": [graph_sign_in(code=50126, when="2024-05-03T00:00:00Z")]},
        ],
        "beta": [
            {
                "value": [
                    {
                        **graph_sign_in(user=None, upn=None, app=APP_ID, service_principal=SP_OID),
                        "signInEventTypes": ["servicePrincipal"],
                    }
                ]
            }
        ],
    }

    def answer(request: httpx.Request) -> httpx.Response:
        url = unquote(str(request.url))
        asked.append(url)
        version = request.url.path.split("/")[1]
        if "managedIdentity" in url:
            return httpx.Response(200, json={"value": []})
        page = 1 if "skiptoken" in url else 0
        return httpx.Response(200, json=pages[version][page])

    sink = RecordingSink()
    AZURE_ACTIVITY.import_api(
        sink,
        sign_ins=True,
        tenant="t1",
        graph_client=graph_client(answer),
        credential=StaticCredential(),
        start=START,
        now=NOW,
    )
    kinds = {source.location: aggregate for aggregate, source in sink.added}
    assert set(kinds) == {"t1/interactiveUser", "t1/servicePrincipal", "t1/managedIdentity"}
    users = kinds["t1/interactiveUser"]
    assert users.activity == {f"*/oid/{ALICE_OID}": ["2024-05-02T00:00:00Z", "2024-05-02T00:00:00Z", 1]}
    assert users.stats.failed == 1
    assert kinds["t1/servicePrincipal"].activity == {
        f"*/oid/{SP_OID}": ["2024-05-03T08:00:00Z", "2024-05-03T08:00:00Z", 1]
    }
    assert (
        "createdDateTime ge 2024-05-01T00:00:00.000000Z and createdDateTime lt 2024-05-10T11:40:00.000000Z"
        in asked[0]
    )
    assert any("/beta/" in url and "signInEventTypes/any(t: t eq 'servicePrincipal')" in url for url in asked)


def test_a_graph_refusal_is_one_line() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        body = {
            "error": {
                "code": "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
                "message": "Neither tenant is B2C or tenant doesn't have premium license",
            }
        }
        return httpx.Response(403, json=body)

    with pytest.raises(Exception) as error:
        AZURE_ACTIVITY.import_api(
            RecordingSink(),
            sign_ins=True,
            graph_client=graph_client(refuse),
            credential=StaticCredential(),
            now=NOW,
        )
    problem = AZURE_ACTIVITY.problem(error.value)
    assert problem is not None and problem.startswith("Microsoft Graph HTTP 403")
    assert "premium license" in problem


def test_collected_subscriptions_each_get_their_activity_log_and_the_tenant_its_sign_ins_once() -> None:
    transport = activity_log([rest_event(when="2024-05-02T00:00:00Z")])
    refused = RecordedTransport(
        lambda method, url: (403, {"error": {"code": "AuthorizationFailed", "message": "no"}}, {})
    )
    sinks: list[RecordingSink] = []

    def new_sink() -> RecordingSink:
        sinks.append(RecordingSink())
        return sinks[-1]

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"value": [graph_sign_in()]})

    options = AZURE_ACTIVITY.collected_options(
        activity_log=True, sign_ins=True, start=START, end=NOW - SETTLE
    )
    warnings: list[tuple[str, str]] = []
    reaches = [
        {
            "subscription_id": SUB,
            "credential": StaticCredential(),
            "client_options": {"transport": transport},
            "graph_client": graph_client(answer),
        },
        {
            "subscription_id": "00000000-0000-0000-0000-000000000009",
            "credential": StaticCredential(),
            "client_options": {"transport": refused},
        },
    ]
    reports = AZURE_ACTIVITY.import_collected(
        new_sink, options, reaches, regions=None, warn=lambda s, m: warnings.append((s, m))
    )
    assert set(reports) == {SUB, "00000000-0000-0000-0000-000000000009"}
    assert all(isinstance(report, ActivityReport) for report in reports.values())
    assert len(sinks) == 3  # the first subscription's log and the sign-ins; the second's log refused
    assert warnings == [
        (
            "00000000-0000-0000-0000-000000000009",
            "activity: the Activity Log not imported: HttpResponseError: HTTP 403 AuthorizationFailed: no",
        )
    ]
    assert (
        AZURE_ACTIVITY.import_collected(
            new_sink, AZURE_ACTIVITY.collected_options(), reaches, regions=None, warn=print
        )
        == {}
    )


def test_window_gaps_are_half_open() -> None:
    t = lambda hour: datetime(2024, 5, 1, hour, tzinfo=UTC)  # noqa: E731
    assert gaps(t(0), t(10), []) == [(t(0), t(10))]
    assert gaps(t(0), t(10), [(t(2), t(4)), (t(3), t(6))]) == [(t(0), t(2)), (t(6), t(10))]
    assert gaps(t(0), t(10), [(t(0), t(10))]) == []
    assert gaps(t(5), t(10), [(t(0), t(5))]) == [(t(5), t(10))]


class CollectOptions:
    """The collector's options as a reach carries them (its SDK seams)."""

    def __init__(self, arm_transport: Any, graph_http_client: Any) -> None:
        self.credential = StaticCredential()
        self.arm_transport = arm_transport
        self.graph_http_client = graph_http_client


class SubscriptionReach:
    """The shape of the collector's reach: subscription, tenant, its options."""

    def __init__(self, subscription_id: str, tenant_id: str, options: CollectOptions) -> None:
        self.subscription_id, self.tenant_id, self.options = subscription_id, tenant_id, options


def test_a_collector_reach_lends_its_credential_transport_and_graph_http_client() -> None:
    asked: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(request)
        return httpx.Response(200, json={"value": [graph_sign_in()]})

    http = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    transport = activity_log([rest_event(when="2024-05-02T00:00:00Z")])
    reach = SubscriptionReach(SUB, "t1", CollectOptions(transport, http))
    sinks: list[RecordingSink] = []

    def new_sink() -> RecordingSink:
        sinks.append(RecordingSink())
        return sinks[-1]

    options = AZURE_ACTIVITY.collected_options(
        activity_log=True, sign_ins=True, start=START, end=NOW - SETTLE
    )
    warnings: list[Any] = []
    AZURE_ACTIVITY.import_collected(
        new_sink, options, [reach], regions=None, warn=lambda *w: warnings.append(w)
    )
    assert warnings == []
    assert [source.location for sink in sinks for _aggregate, source in sink.added] == [
        SUB,
        "t1/interactiveUser",
        "t1/servicePrincipal",
        "t1/managedIdentity",
    ]
    assert transport.urls and asked
    assert asked[0].headers["Authorization"] == "Bearer recorded-token"  # through the Graph middleware's auth
