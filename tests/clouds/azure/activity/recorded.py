"""Recorded HTTP for the Azure SDKs, through their own transport seams: azure-core's `transport=` for
azure-mgmt-monitor, an httpx transport under msgraph-sdk's request adapter."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
from azure.core.credentials import AccessToken, AccessTokenInfo
from azure.core.pipeline.transport import HttpRequest, HttpResponse, HttpTransport

Answer = tuple[int, Any, dict[str, str]]  # status, JSON body, headers


class RecordedResponse(HttpResponse):
    """A recorded response as azure-core's pipeline reads it."""

    def __init__(self, request: HttpRequest, status: int, body: bytes, headers: dict[str, str]) -> None:
        super().__init__(request, None)
        self.status_code = status
        self.headers = {"Content-Type": "application/json", **headers}
        self.reason = "OK" if status < 400 else "Error"
        self.content_type = "application/json"
        self._body = body

    def body(self) -> bytes:
        return self._body


class RecordedTransport(HttpTransport):
    """Answers each request from a handler (method, URL -> recorded answer) and keeps the URLs asked."""

    def __init__(self, handler: Callable[[str, str], Answer]) -> None:
        self.handler = handler
        self.urls: list[str] = []

    def __enter__(self) -> RecordedTransport:
        return self

    def __exit__(self, *args: Any) -> None:
        return None

    def open(self) -> None:
        return None

    def close(self) -> None:
        return None

    def send(self, request: HttpRequest, **kwargs: Any) -> RecordedResponse:
        self.urls.append(request.url)
        status, body, headers = self.handler(request.method, request.url)
        return RecordedResponse(request, status, json.dumps(body).encode(), headers)


class StaticCredential:
    """A token credential that never reaches Entra (the recorded responses need no real token)."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("recorded-token", 4_102_444_800)

    def get_token_info(self, *scopes: str, **kwargs: Any) -> AccessTokenInfo:
        return AccessTokenInfo("recorded-token", 4_102_444_800)


def graph_client(handler: Callable[[httpx.Request], httpx.Response]) -> Any:
    """A msgraph-sdk client whose HTTP goes to a handler (httpx's MockTransport)."""
    from kiota_abstractions.authentication import AnonymousAuthenticationProvider
    from msgraph.graph_request_adapter import GraphRequestAdapter
    from msgraph.graph_service_client import GraphServiceClient

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return GraphServiceClient(
        request_adapter=GraphRequestAdapter(AnonymousAuthenticationProvider(), client=http)
    )
