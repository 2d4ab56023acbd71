"""A recorded Azure tenant served through the SDKs' own transport seams: a `requests` adapter under azure-core's
RequestsTransport (ARM) and an httpx MockTransport under msgraph-sdk's middleware (Graph).

The recordings are our JSON files in `recorded/` (`recordings.py`): `arm.json` and `graph.json`, each a list of
`{"method", "url", "responses": [{"status", "headers", "body"}]}`; a request's responses are answered in turn
(the last one again after that). A request with no recording is answered 599 and listed in `unmatched`.
"""

from __future__ import annotations

import io
import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import requests
from azure.core.credentials import AccessToken
from azure.core.pipeline.transport import RequestsTransport
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from clouds.azure.collect.recordings import TENANT_ID, find_entry, load_entries

__all__ = [
    "TENANT_ID",
    "RecordedArmTransport",
    "RecordedTenant",
    "StaticTokenCredential",
    "graph_http_client",
]


@dataclass
class RecordedTenant:
    """The recordings of one tenant, and what the collector asked of them."""

    entries: list[dict[str, Any]]
    calls: list[tuple[str, str, str]] = field(default_factory=list)  # (method, url, authorization)
    unmatched: list[str] = field(default_factory=list)
    _served: dict[int, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def load(cls) -> RecordedTenant:
        return cls(entries=load_entries())

    def entry(self, method: str, url: str) -> dict[str, Any]:
        """The recording of a request (KeyError when none)."""
        return find_entry(self.entries, method, url)

    def answer(self, method: str, url: str, authorization: str) -> tuple[int, dict[str, str], bytes]:
        """The next recorded response of a request."""
        with self._lock:
            self.calls.append((method.upper(), url, authorization))
            try:
                entry = self.entry(method, url)
            except KeyError:
                self.unmatched.append(f"{method} {url}")
                return 599, {"Content-Type": "application/json"}, b'{"error": {"code": "Unrecorded"}}'
            index = id(entry)
            served = self._served.get(index, 0)
            self._served[index] = served + 1
            responses = entry["responses"]
            response = responses[min(served, len(responses) - 1)]
        headers = {"Content-Type": "application/json", **response.get("headers", {})}
        body = response.get("body")
        return int(response["status"]), headers, b"" if body is None else json.dumps(body).encode()

    def unused(self) -> list[str]:
        """Recordings no request asked for."""
        return [entry["url"] for entry in self.entries if id(entry) not in self._served]


class _Adapter(BaseAdapter):
    """A `requests` adapter answering from the recordings (what RequestsTransport's session sends through)."""

    def __init__(self, tenant: RecordedTenant) -> None:
        super().__init__()
        self.tenant = tenant

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        status, headers, body = self.tenant.answer(
            str(request.method), str(request.url), str(request.headers.get("Authorization", ""))
        )
        response = requests.Response()
        response.status_code = status
        response.headers = CaseInsensitiveDict(headers)
        response._content = body
        response.raw = io.BytesIO(body)
        response.url = str(request.url)
        response.request = request
        response.encoding = "utf-8"
        response.reason = "OK" if status < 400 else "Error"
        return response

    def close(self) -> None:
        pass


class RecordedArmTransport(RequestsTransport):
    """azure-core's RequestsTransport on a session that answers from the recordings; it keeps the retry
    policy's sleeps instead of sleeping."""

    def __init__(self, tenant: RecordedTenant) -> None:
        session = requests.Session()
        adapter = _Adapter(tenant)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        super().__init__(session=session, session_owner=False)
        self.sleeps: list[float] = []

    def sleep(self, duration: float) -> None:
        self.sleeps.append(duration)


def graph_http_client(tenant: RecordedTenant) -> httpx.AsyncClient:
    """An httpx client whose transport answers from the recordings (msgraph-sdk puts its middleware above it)."""

    def handle(request: httpx.Request) -> httpx.Response:
        status, headers, body = tenant.answer(
            request.method, str(request.url), request.headers.get("Authorization", "")
        )
        return httpx.Response(status, headers=headers, content=body)

    return httpx.AsyncClient(transport=httpx.MockTransport(handle))


class StaticTokenCredential:
    """A TokenCredential (get_token) handing out one fake token per scope and counting the requests."""

    def __init__(self) -> None:
        self.scopes: list[str] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.extend(scopes)
        expires = int((datetime.now(UTC) + timedelta(hours=1)).timestamp())
        return AccessToken(f"token-{'-'.join(scopes)}", expires)

    def close(self) -> None:
        pass
