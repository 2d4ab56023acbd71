"""Authentication before the body: an ASGI middleware that checks the API key from the headers alone, before
anything reads the request body, and then lets the route read a body counted against that route's cap.

FastAPI reads and parses a route's body before it resolves the route's dependencies, so a key checked by a
dependency alone is checked after an anonymous caller's body was read and parsed (a 100 MB JSON array cost the
server 600 MB). Here an anonymous caller is answered 401 without one byte of the body being read, and the
response closes the connection so the server does not drain the rest either. A known caller's body is counted
as it streams in: a body larger than its route accepts (`Content-Length`, or the bytes counted so far) is
refused with 413 before more is read. A route declares its cap with `body_cap`; a route without one reads no
body, and any body sent to it is never read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from permscope.api.errors import GraphError, error_response
from permscope.settings import Settings

Endpoint = TypeVar("Endpoint", bound=Callable[..., object])
BodyCap = Callable[[Settings], int]

_CAP_ATTRIBUTE = "permscope_body_cap"
CLOSE = {"Connection": "close"}  # the server stops reading the connection instead of draining the body


def body_cap(cap: BodyCap) -> Callable[[Endpoint], Endpoint]:
    """Declare the largest body (bytes, read from the settings) a route's endpoint accepts."""

    def declare(endpoint: Endpoint) -> Endpoint:
        setattr(endpoint, _CAP_ATTRIBUTE, cap)
        return endpoint

    return declare


def route_body_cap(scope: Scope, settings: Settings) -> int:
    """The largest body the matched route accepts: its declared cap, or 0 when it declares none."""
    cap: BodyCap | None = getattr(scope.get("endpoint"), _CAP_ATTRIBUTE, None)
    return cap(settings) if cap is not None else 0


class BodyTooLarge(StarletteHTTPException):
    """413: the body is larger than its route accepts (an HTTPException so FastAPI's body reading passes it on)."""

    def __init__(self, cap: int) -> None:
        super().__init__(413, f"the request body is larger than the {cap} bytes this route accepts", CLOSE)


def announced_length(scope: Scope) -> int | None:
    """The request's `Content-Length`, or None when it sends none (or one that is not a number)."""
    text = Headers(scope=scope).get("content-length")
    return int(text) if text is not None and text.strip().isdecimal() else None


def has_body(scope: Scope) -> bool:
    """Whether the request announces a body (a length above 0, or a chunked or otherwise encoded one)."""
    length = announced_length(scope)
    return (length is not None and length > 0) or "transfer-encoding" in Headers(scope=scope)


class CappedReceive:
    """`receive` counting the body against the route's cap; the cap is looked up when the body is first read,
    after routing (a body larger than an announced `Content-Length` is refused before anything is read)."""

    def __init__(self, scope: Scope, receive: Receive, settings: Settings) -> None:
        self.scope = scope
        self.receive = receive
        self.settings = settings
        self.cap: int | None = None
        self.received = 0

    async def __call__(self) -> Message:
        """The next message, or BodyTooLarge once the body is known to exceed the cap."""
        if self.cap is None:
            self.cap = route_body_cap(self.scope, self.settings)
            length = announced_length(self.scope)
            if length is not None and length > self.cap:
                raise BodyTooLarge(self.cap)
        message = await self.receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.cap:
                raise BodyTooLarge(self.cap)
        return message


class AuthenticateFirst:
    """ASGI middleware: every HTTP request is authenticated from its headers before its body is read (401
    otherwise, the body unread), then its body is capped per route (`CappedReceive`)."""

    def __init__(self, app: ASGIApp, authenticate: Callable[[Request], object], settings: Settings) -> None:
        self.app = app
        self.authenticate = authenticate
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse unknown callers with the Graph 401; pass known ones on with a capped body."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)  # no receive: nothing here can read the body
        try:
            await run_in_threadpool(self.authenticate, request)
        except GraphError as exc:
            headers = {**exc.headers, **(CLOSE if has_body(scope) else {})}
            response = error_response(request, exc.status, exc.code, exc.message, headers)
            await response(scope, receive, send)
            return
        await self.app(scope, CappedReceive(scope, receive, self.settings), send)
