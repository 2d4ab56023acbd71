"""Authentication before the body (`api.guard`): an anonymous caller is refused before one byte of its body is
read, a known caller's body is capped per route (413, the rest unread), and only then parsed. The ASGI app is
called directly, with a `receive` that counts what the app pulls."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from permscope.api.app import create_app
from permscope.settings import Settings
from permscope.workflows.apikeys import ApiRole, create_api_key
from request_support import PM, seed_account, statements_body, team

from .factories import assert_error

SPR = f"{PM}/scheduledPermissionsRequests"
STEP = f"{PM}/scheduledPermissionsApprovals/some-request/steps/some-step"
CHUNK = 64 * 1024


class Sent:
    """What the app answered over ASGI, and how many body chunks it pulled with `receive`."""

    def __init__(self) -> None:
        self.status = 0
        self.headers: dict[str, str] = {}
        self.body = b""
        self.pulled = 0

    def json(self) -> Any:
        return orjson.loads(self.body)


def call(
    app: Any,
    method: str,
    path: str,
    headers: dict[str, str],
    chunks: Iterator[bytes],
) -> Sent:
    """Run one request through the ASGI app; the body is handed out one chunk per `receive`."""
    sent = Sent()
    pending = iter(chunks)
    next_chunk: list[bytes | None] = [next(pending, None)]

    async def receive() -> dict[str, Any]:
        chunk = next_chunk[0]
        if chunk is None:
            await asyncio.sleep(3600)  # a client that sends nothing more: only a disconnect would end it
        sent.pulled += 1
        next_chunk[0] = next(pending, None)
        return {"type": "http.request", "body": chunk, "more_body": next_chunk[0] is not None}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            sent.status = message["status"]
            sent.headers = {k.decode().lower(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            sent.body += message.get("body", b"")

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }
    asyncio.run(asyncio.wait_for(app(scope, receive, send), 30))
    return sent


def json_array(megabytes: int) -> Iterator[bytes]:
    """A JSON array of about `megabytes` MiB, made chunk by chunk as it is pulled."""
    yield b"["
    for _ in range(megabytes * 1024 * 1024 // CHUNK):
        yield b"1," * (CHUNK // 2)
    yield b"1]"


@pytest.fixture
def app(engine: Engine) -> Any:
    return create_app(engine, Settings(database_url="sqlite://"))


def test_malformed_json_without_a_key_is_401_not_422(app: Any) -> None:
    client = TestClient(app)
    response = client.post(SPR, content=b"{not json", headers={"Content-Type": "application/json"})
    assert_error(response, 401, "unauthenticated")
    assert response.headers["www-authenticate"] == "Bearer"
    bad_key = {"Authorization": "Bearer psk_nope_nope", "Content-Type": "application/json"}
    assert_error(client.patch(STEP, content=b"[[[", headers=bad_key), 401, "unauthenticated")


@pytest.mark.parametrize("announce", [True, False], ids=["content-length", "chunked"])
def test_an_anonymous_body_is_never_read(app: Any, announce: bool) -> None:
    headers = {"content-type": "application/json"}
    if announce:
        headers["content-length"] = str(100 * 1024 * 1024 + 3)
    else:
        headers["transfer-encoding"] = "chunked"
    sent = call(app, "POST", SPR, headers, json_array(100))
    assert sent.status == 401
    assert sent.json()["error"]["code"] == "unauthenticated"
    assert sent.pulled == 0  # not one chunk of the body was asked for
    assert sent.headers["connection"] == "close"  # so the server does not drain it either
    assert sent.headers["request-id"] == sent.json()["error"]["innerError"]["request-id"]


def test_an_announced_oversize_body_is_413_unread(engine: Engine, app: Any) -> None:
    token = create_api_key(engine, ApiRole.ADMIN).token
    headers = {
        "authorization": f"Bearer {token}",
        "content-type": "application/json",
        "content-length": str(100 * 1024 * 1024 + 3),
    }
    sent = call(app, "POST", SPR, headers, json_array(100))
    assert sent.status == 413
    error = sent.json()["error"]
    assert error["code"] == "requestEntityTooLarge"
    assert "1048576 bytes" in error["message"]
    assert sent.pulled == 0
    assert sent.headers["connection"] == "close"
    headers["content-length"] = str(65_537)
    sent = call(app, "PATCH", STEP, headers, iter([b" " * 65_537]))
    assert (sent.status, sent.pulled) == (413, 0)
    assert "65536 bytes" in sent.json()["error"]["message"]


def test_an_unannounced_oversize_body_stops_being_read_at_the_cap(engine: Engine, app: Any) -> None:
    token = create_api_key(engine, ApiRole.ADMIN).token
    headers = {
        "authorization": f"Bearer {token}",
        "content-type": "application/json",
        "transfer-encoding": "chunked",
    }
    sent = call(app, "POST", SPR, headers, json_array(100))
    assert sent.status == 413
    assert sent.json()["error"]["code"] == "requestEntityTooLarge"
    assert sent.pulled == 1_048_576 // CHUNK + 1  # the chunk that went past 1 MiB was the last one read


def test_the_caps_are_settings(engine: Engine) -> None:
    app = create_app(engine, Settings(database_url="sqlite://", requests_max_body_bytes=100))
    token = create_api_key(engine, ApiRole.ADMIN).token
    client = TestClient(app, headers={"Authorization": f"Bearer {token}"})
    response = client.post(SPR, json={"justification": "x" * 200})
    error = assert_error(response, 413, "requestEntityTooLarge")
    assert "100 bytes" in error["message"]


def test_a_body_within_the_cap_is_read_and_parsed_after_the_key(engine: Engine, app: Any) -> None:
    seed_account(engine)
    keys = team(engine)
    client = TestClient(app, headers={"Authorization": f"Bearer {keys['alice'].token}"})
    created = client.post(SPR, json=statements_body())
    assert created.status_code == 201, created.text
    bad = client.post(SPR, content=b"{not json", headers={"Content-Type": "application/json"})
    assert bad.status_code in (400, 422)  # a known caller's malformed body is its own error, not a 401
    assert bad.json()["error"]["code"] == "invalidRequest"


def test_a_route_that_reads_no_body_ignores_one(engine: Engine, app: Any) -> None:
    token = create_api_key(engine, ApiRole.VIEWER).token
    headers = {"authorization": f"Bearer {token}", "content-length": str(10 * 1024 * 1024 + 3)}
    sent = call(app, "GET", "/external/authorizationSystems", headers, json_array(10))
    assert (sent.status, sent.pulled) == (200, 0)


def test_the_openapi_document_names_the_413(engine: Engine, app: Any) -> None:
    token = create_api_key(engine, ApiRole.VIEWER).token
    paths = TestClient(app).get("/openapi.json", headers={"Authorization": f"Bearer {token}"}).json()["paths"]
    assert "413" in paths[SPR]["post"]["responses"]
    assert (
        "413"
        in paths[f"{PM}/scheduledPermissionsApprovals/{{approval_id}}/steps/{{step_id}}"]["patch"][
            "responses"
        ]
    )
    assert "413" not in paths[SPR]["get"]["responses"]
