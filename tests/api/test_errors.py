"""Failures as Graph errors: an unexpected exception is a 500 envelope that keeps the connection and is logged once,
briefly (checked through a real uvicorn server); request bodies are strict JSON (400 for what is not)."""

from __future__ import annotations

import http.client
import json
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from permscope.api.app import create_app
from permscope.api.routing import GraphRoute
from permscope.settings import Settings
from request_support import PM, seed_account, statements_body, team

from .factories import assert_error

SPR = f"{PM}/scheduledPermissionsRequests"


def _explode() -> None:
    raise RuntimeError("an unexpected failure")


@pytest.fixture
def failing_app(engine: Engine) -> FastAPI:
    """The app with one more route that fails as a bug would."""
    app = create_app(engine, Settings(database_url="sqlite://"))

    @app.get("/boom")
    def boom() -> None:
        _explode()

    return app


@pytest.fixture
def server(failing_app: FastAPI) -> Iterator[int]:
    """The app under uvicorn on a free loopback port (the port is yielded), with logging left to pytest."""
    config = uvicorn.Config(failing_app, host="127.0.0.1", port=0, log_config=None, lifespan="off")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not running.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    yield running.servers[0].sockets[0].getsockname()[1]
    running.should_exit = True
    thread.join(timeout=20)


def test_an_unexpected_error_is_a_500_envelope_on_a_kept_connection_logged_once(
    server: int, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    token = team(engine)["carol"].token
    headers = {"Authorization": f"Bearer {token}", "client-request-id": "c-1"}
    connection = http.client.HTTPConnection("127.0.0.1", server, timeout=20)
    caplog.set_level(logging.INFO)
    try:
        connection.request("GET", "/boom", headers=headers)
        response = connection.getresponse()
        body = json.loads(response.read())
        kept = connection.sock
        assert response.status == 500 and response.getheader("connection") != "close"
        assert body["error"]["code"] == "generalException"
        assert body["error"]["message"] == "an internal error occurred"  # nothing of the bug leaks out
        assert body["error"]["innerError"]["request-id"] == response.getheader("request-id")
        assert response.getheader("client-request-id") == "c-1"
        connection.request("GET", "/external/authorizationSystems", headers=headers)
        again = connection.getresponse()
        again.read()
        assert again.status == 200 and kept is not None and connection.sock is kept  # the same connection
    finally:
        connection.close()
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert [record.name for record in errors] == ["permscope.api.errors"]  # once: not again by uvicorn
    logged = errors[0].getMessage()
    assert body["error"]["innerError"]["request-id"] in logged and "GET /boom" in logged
    assert "in _explode" in logged and "RuntimeError: an unexpected failure" in logged
    assert "starlette" not in logged and len(logged.splitlines()) < 15  # no hundred frames of middleware


@pytest.fixture
def alice(engine: Engine) -> TestClient:
    seed_account(engine)
    token = team(engine)["alice"].token
    app = create_app(engine, Settings(database_url="sqlite://"))
    return TestClient(app, headers={"Authorization": f"Bearer {token}", "content-type": "application/json"})


def _body_with(text: str) -> bytes:
    """A valid request body whose justification is the raw JSON `text`."""
    return json.dumps(statements_body()).replace('"on call: INC1234567"', text).encode()


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (_body_with('"\\ud800"'), "surrogate"),  # was a 500: no database encodes a lone surrogate
        (_body_with('"\\udfff and more"'), "surrogate"),
        (
            _body_with("NaN"),
            "unexpected character",
        ),  # Python's decoder takes NaN; PostgreSQL's jsonb does not
        (_body_with("Infinity"), "unexpected character"),
        (_body_with("1e999"), "infinity"),
        (b'{"justification": "\xff"}', "UTF-8"),
        (b"[" * 2000 + b"]" * 2000, "depth limit"),
        (b"{", "unexpected end"),
    ],
)
def test_bodies_that_are_not_strict_json_are_400(alice: TestClient, raw: bytes, reason: str) -> None:
    error = assert_error(alice.post(SPR, content=raw), 400, "invalidRequest")
    assert error["message"].startswith("the request body is not valid JSON") and reason in error["message"]


def test_a_patch_body_with_a_lone_surrogate_is_400(alice: TestClient) -> None:
    url = f"{PM}/scheduledPermissionsApprovals/x/steps/y"
    error = assert_error(
        alice.patch(url, content=b'{"reviewResult": "Approve", "justification": "\\ud800"}'),
        400,
        "invalidRequest",
    )
    assert "surrogate" in error["message"]


def test_strict_json_still_reads_every_valid_body(alice: TestClient) -> None:
    body = statements_body(justification="on call \U0001f6a8 (an escaped pair is one character)")
    raw = json.dumps(body).encode()  # ensure_ascii: the emoji travels as \ud83d\udea8, a valid pair
    assert b"\\ud83d\\udea8" in raw
    created = alice.post(SPR, content=raw)
    assert created.status_code == 201, created.text
    assert created.json()["justification"] == body["justification"]
    assert_error(
        alice.post(SPR, json={"requestedPermissions": 5}), 422, "invalidRequest"
    )  # JSON, wrong shape


def _api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    """Every APIRoute, through included routers (FastAPI keeps an included router whole)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from _api_routes(route.original_router.routes)


def test_every_route_reads_bodies_strictly(engine: Engine, alice: TestClient) -> None:
    api_routes = list(_api_routes(create_app(engine, Settings(database_url="sqlite://")).routes))
    assert len(api_routes) > 40
    assert [route.path for route in api_routes if not isinstance(route, GraphRoute)] == []
    legacy = "/permissionsManagement/scheduledPermissionsRequests"  # the same routes under the older root
    assert_error(alice.post(legacy, content=_body_with('"\\ud800"')), 400, "invalidRequest")
