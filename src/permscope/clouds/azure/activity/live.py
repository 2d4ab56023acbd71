"""Live Azure activity: the Activity Log per subscription (azure-mgmt-monitor) and Entra sign-ins (msgraph-sdk).

Each pass reads the parts of [start, end) that earlier passes of the same subscription (or tenant and sign-in
kind) did not cover (`sink.windows`), so running it again counts nothing twice; windows are half-open (the
Activity Log filter's `le` edge is cut client-side, Graph's `lt` is exact), so adjacent windows share no event.
A window ends SETTLE before now: both logs deliver events minutes after they happen. Pages are folded into the
aggregate as they come (bounded memory); each window is recorded as soon as it is read.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from permscope.clouds.azure.activity.aggregate import AzureAggregate
from permscope.core.activity import ActivitySink, ActivitySource

Progress = Callable[[int, int], None]
SETTLE = timedelta(minutes=20)  # the Activity Log is complete after about 15 minutes, sign-ins after a few
ACTIVITY_LOG_DAYS = 90  # what the Activity Log keeps
SIGN_IN_DAYS = 30  # what Entra keeps (P1/P2 tenants; 7 days on the free tier)
GRAPH = "https://graph.microsoft.com"
# sign-in kinds: interactive user sign-ins come from v1.0; the others only from beta (v1.0 lists
# interactive sign-ins alone), read through the same client and the v1.0 model
SIGN_IN_KINDS = ("interactiveUser", "nonInteractiveUser", "servicePrincipal", "managedIdentity")
DEFAULT_SIGN_IN_KINDS = ("interactiveUser", "servicePrincipal", "managedIdentity")


def gaps(
    start: datetime, end: datetime, covered: list[tuple[datetime, datetime]]
) -> list[tuple[datetime, datetime]]:
    """The parts of [start, end) no covered window holds."""
    found: list[tuple[datetime, datetime]] = []
    cursor = start
    for window_start, window_end in sorted(covered):
        if window_end <= cursor:
            continue
        if window_start > cursor:
            found.append((cursor, min(window_start, end)))
        cursor = max(cursor, window_end)
        if cursor >= end:
            break
    if cursor < end:
        found.append((cursor, end))
    return [(a, b) for a, b in found if a < b]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _window_end(end: datetime | None, now: datetime | None) -> datetime:
    latest = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0) - SETTLE
    return min(end, latest) if end is not None else latest


def _passes(
    sink: ActivitySink, kind: str, location: str, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """The windows of [start, end) not read yet at a location (counted in the sink's report)."""
    covered = [
        (datetime.fromisoformat(details["start"]), datetime.fromisoformat(details["end"]))
        for details in sink.windows(kind, location)
    ]
    found = gaps(start, end, covered)
    sink.report.sources_found += len(found)
    if not found and start < end:
        sink.report.sources_skipped += 1
    return found


def _record(
    sink: ActivitySink, aggregate: AzureAggregate, kind: str, location: str, window: tuple[datetime, datetime]
) -> None:
    start, end = window
    details = {"start": start.isoformat(), "end": end.isoformat()}
    sink.add(
        aggregate,
        ActivitySource(
            kind=kind, key=_digest(kind, location, *details.values()), location=location, details=details
        ),
    )
    sink.commit()  # a window is recorded as soon as it is read: the next pass starts from it


# ------------------------------------------------------------------------------------------- Activity Log


def monitor_client(subscription_id: str, credential: Any, **client_options: Any) -> Any:
    """An azure-mgmt-monitor client of one subscription (`transport=` and other azure-core options pass on)."""
    from azure.mgmt.monitor import MonitorManagementClient  # imported here: only the live path needs it

    return MonitorManagementClient(credential, subscription_id, **client_options)


def read_activity_log(client: Any, start: datetime, end: datetime, into: AzureAggregate) -> int:
    """The events of [start, end) of the client's subscription into an aggregate; how many were read.

    The filter's `le` is inclusive: events at `end` itself belong to the next window and are left out here.
    """
    flt = f"eventTimestamp ge '{_iso(start)}' and eventTimestamp le '{_iso(end)}'"
    read = 0
    batch: list[Any] = []
    for event in client.activity_logs.list(filter=flt):
        moment = getattr(event, "event_timestamp", None)
        if isinstance(moment, datetime) and moment.astimezone(UTC) >= end:
            continue
        batch.append(event.serialize(keep_readonly=True))
        if len(batch) >= 1000:
            into.add_all(batch)
            read += len(batch)
            batch = []
    into.add_all(batch)
    return read + len(batch)


def import_activity_log(
    sink: ActivitySink,
    *,
    subscriptions: Sequence[str],
    credential: Any = None,
    start: datetime | None = None,
    end: datetime | None = None,
    now: datetime | None = None,
    clients: dict[str, Any] | None = None,
    client_options: dict[str, Any] | None = None,
    progress: Progress | None = None,
) -> None:
    """The Activity Log of each subscription, over the windows not read before (see the module)."""
    window_end = _window_end(end, now)
    moment = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    window_start = start or moment - timedelta(days=ACTIVITY_LOG_DAYS)
    for done, subscription in enumerate(subscriptions, start=1):
        subscription = subscription.lower()
        client = (clients or {}).get(subscription) or monitor_client(
            subscription, credential, **(client_options or {})
        )
        for window in _passes(sink, "activityLog", subscription, window_start, window_end):
            aggregate = AzureAggregate()
            read_activity_log(client, window[0], window[1], aggregate)
            _record(sink, aggregate, "activityLog", subscription, window)
        if progress is not None:
            progress(done, len(subscriptions))


# ------------------------------------------------------------------------------------------- sign-ins


def graph_client(credential: Any, http_client: Any = None) -> Any:
    """A msgraph-sdk client reading with a credential (AuditLog.Read.All and Directory.Read.All), with Graph's
    default middleware (429 and 5xx retried, Retry-After honoured); over `http_client` (an httpx.AsyncClient)
    when given."""
    from kiota_authentication_azure.azure_identity_authentication_provider import (
        AzureIdentityAuthenticationProvider,
    )
    from msgraph.graph_request_adapter import GraphRequestAdapter
    from msgraph.graph_service_client import GraphServiceClient
    from msgraph_core import GraphClientFactory

    client = GraphClientFactory.create_with_default_middleware(client=http_client)
    auth = AzureIdentityAuthenticationProvider(credential, scopes=[f"{GRAPH}/.default"])
    return GraphServiceClient(request_adapter=GraphRequestAdapter(auth, client=client))


def _sign_in_dict(item: Any, kind: str) -> dict[str, Any]:
    """A Graph signIn model as the Graph JSON the aggregate reads."""
    extra = getattr(item, "additional_data", None) or {}
    status = getattr(item, "status", None)
    created = getattr(item, "created_date_time", None)
    return {
        "id": item.id,
        "createdDateTime": created.isoformat() if isinstance(created, datetime) else created,
        "userId": item.user_id,
        "userPrincipalName": item.user_principal_name,
        "appId": item.app_id,
        "servicePrincipalId": item.service_principal_id,
        "status": {"errorCode": getattr(status, "error_code", None)},
        "signInEventTypes": extra.get("signInEventTypes") or [kind],
    }


def _sign_in_url(kind: str, start: datetime, end: datetime) -> str:
    from urllib.parse import quote

    flt = f"createdDateTime ge {_iso(start)} and createdDateTime lt {_iso(end)}"
    if kind == "interactiveUser":
        return f"{GRAPH}/v1.0/auditLogs/signIns?$filter={quote(flt)}&$top=1000"
    flt += f" and signInEventTypes/any(t: t eq '{kind}')"
    return f"{GRAPH}/beta/auditLogs/signIns?$filter={quote(flt)}&$top=1000"


async def _read_sign_ins(client: Any, url: str, kind: str, into: AzureAggregate) -> None:
    builder = client.audit_logs.sign_ins
    page = await builder.with_url(url).get()
    while page is not None:
        into.add_all(_sign_in_dict(item, kind) for item in page.value or [])
        link = page.odata_next_link
        page = await builder.with_url(link).get() if link else None


async def _import_sign_ins(
    sink: ActivitySink, graph: Any, tenant: str, kinds: Sequence[str], start: datetime, end: datetime
) -> None:
    for kind in kinds:
        location = f"{tenant}/{kind}"
        for window in _passes(sink, "graphSignIns", location, start, end):
            aggregate = AzureAggregate()
            await _read_sign_ins(graph, _sign_in_url(kind, *window), kind, aggregate)
            _record(sink, aggregate, "graphSignIns", location, window)


def import_sign_ins(
    sink: ActivitySink,
    *,
    tenant: str,
    credential: Any = None,
    client: Any = None,
    kinds: Sequence[str] = DEFAULT_SIGN_IN_KINDS,
    start: datetime | None = None,
    end: datetime | None = None,
    now: datetime | None = None,
) -> None:
    """Entra sign-ins of each kind over the windows not read before; recorded per tenant and kind. One event
    loop reads them all (msgraph-sdk is asynchronous; its connections belong to the loop that opened them)."""
    graph = client if client is not None else graph_client(credential)
    window_end = _window_end(end, now)
    moment = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    window_start = start or moment - timedelta(days=SIGN_IN_DAYS)
    asyncio.run(_import_sign_ins(sink, graph, tenant, kinds, window_start, window_end))


def azure_problem(error: BaseException) -> str | None:
    """One line naming an Azure SDK error (azure-core's HttpResponseError, ClientAuthenticationError, a
    connection failure; msgraph-sdk's API errors) that stopped an import; None for any other exception."""
    try:
        from azure.core.exceptions import AzureError, HttpResponseError
    except ImportError:  # pragma: no cover - without the azure extra no Azure error can occur
        return None
    if isinstance(error, HttpResponseError):
        status = f"HTTP {error.status_code} " if error.status_code else ""
        code = f"{error.error.code}: " if error.error is not None and error.error.code else ""
        message = (error.error.message if error.error is not None else None) or error.reason or str(error)
        return f"{type(error).__name__}: {status}{code}{_first_line(message)}"
    if isinstance(error, AzureError):
        return f"{type(error).__name__}: {_first_line(error.message or str(error))}"
    try:
        from kiota_abstractions.api_error import APIError
    except ImportError:  # pragma: no cover
        return None
    if isinstance(error, APIError):
        status = f"HTTP {error.response_status_code} " if error.response_status_code else ""
        detail = getattr(getattr(error, "error", None), "message", None) or error.message or str(error)
        return f"Microsoft Graph {status}{_first_line(str(detail))}"
    return None


def _first_line(text: str) -> str:
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[0] if lines else ""
