"""Bearer API keys on every route (OpenAPI included), the 401/403 envelopes, and the short verification cache."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import Depends
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from permscope.api.app import create_app
from permscope.api.deps import require_role
from permscope.cli.main import app as cli
from permscope.settings import Settings
from permscope.workflows.apikeys import ApiPrincipal, ApiRole, create_api_key, disable_api_key

from .factories import AS, assert_error, seed


@pytest.fixture
def anonymous(engine: Engine) -> TestClient:
    return TestClient(create_app(engine, Settings(database_url="sqlite://")))


@pytest.mark.parametrize(
    "path", [AS, f"{AS}/123456789012", "/openapi.json", "/no/such/route", "/docs", "/redoc"]
)
def test_missing_key_is_401_everywhere(anonymous: TestClient, path: str) -> None:
    response = anonymous.get(path)
    error = assert_error(response, 401, "unauthenticated")
    assert response.headers["www-authenticate"] == "Bearer"
    assert "Authorization" in error["message"]


@pytest.mark.parametrize(
    "header",
    ["Bearer nope", "Bearer psk_abc_def", "Basic dXNlcjpwYXNz", "Bearer ", "psk_x_y"],
)
def test_bad_keys_are_401(anonymous: TestClient, header: str) -> None:
    response = anonymous.get(AS, headers={"Authorization": header})
    assert_error(response, 401, "unauthenticated")
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_forged_secret_of_a_real_key_is_401(engine: Engine, anonymous: TestClient) -> None:
    key = create_api_key(engine, ApiRole.ADMIN)
    forged = key.token[:-4] + ("AAAA" if not key.token.endswith("AAAA") else "BBBB")
    assert_error(anonymous.get(AS, headers={"Authorization": f"Bearer {forged}"}), 401, "unauthenticated")


@pytest.mark.parametrize(
    "mangle",
    [
        lambda token: token[:-1] + "é",  # a non-ASCII secret (was a 500: the secret was hashed as ASCII)
        lambda token: token + "ÿ",
        lambda token: token.replace("_", "_é", 1),  # in the key id
        lambda token: token[:-1] + "+",  # outside the url-safe alphabet
        lambda token: "psk__" + token.split("_", 2)[2],  # no key id
    ],
)
def test_secrets_that_no_key_can_have_are_401(
    engine: Engine, anonymous: TestClient, mangle: Callable[[str], str]
) -> None:
    token = create_api_key(engine, ApiRole.ADMIN).token
    header = f"Bearer {mangle(token)}".encode("latin-1")  # how a server reads header bytes
    assert_error(anonymous.get(AS, headers={"Authorization": header}), 401, "unauthenticated")
    assert anonymous.get(AS, headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_viewer_and_admin_can_read(engine: Engine, anonymous: TestClient) -> None:
    seed(engine)
    for role in (ApiRole.VIEWER, ApiRole.ADMIN):
        token = create_api_key(engine, role).token
        response = anonymous.get(AS, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200
        assert len(response.json()["value"]) == 1


def test_openapi_is_served_with_a_key(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert document["info"]["title"] == "permscope"
    paths = document["paths"]
    assert AS in paths
    assert f"{AS}/{{system_id}}/microsoft.graph.awsAuthorizationSystem/associatedIdentities/users" in paths
    assert not any("/graph.aws" in path for path in paths)  # the graph. aliases are not listed twice
    assert "HTTPBearer" in document["components"]["securitySchemes"]
    assert client.get("/docs").status_code == 404
    assert client.get("/redoc").status_code == 404
    # every 200 names its model (Graph JSON is JSON: no route is documented as returning a string)
    ok = {path: item["get"]["responses"]["200"] for path, item in paths.items() if "get" in item}
    # ... except the report downloads, documented as the files they are
    downloads = {
        path
        for path, body in ok.items()
        if "application/json" not in body.get("content", {"application/json": 0})
    }
    assert downloads == {"/monitoring/reports/{kind}"}
    assert ok["/monitoring/reports/{kind}"]["content"]["application/pdf"]["schema"]["format"] == "binary"
    ok = {path: body for path, body in ok.items() if path not in downloads}
    assert all(
        "$ref" in body["content"]["application/json"]["schema"]
        or "anyOf" in body["content"]["application/json"]["schema"]
        for body in ok.values()
        if "content" in body
    ), [
        path
        for path, body in ok.items()
        if body.get("content", {}).get("application/json", {}).get("schema") == {"type": "string"}
    ]
    findings = "/identityGovernance/permissionsAnalytics/{cloud}/findings/{cast}"
    assert ok[findings]["content"]["application/json"]["schema"]["$ref"].endswith("CollectionPage_Finding_")
    assert {"Finding", "PciDistribution", "IdentitySummary", "IamKeySummary"} <= set(
        document["components"]["schemas"]
    )


def test_a_disabled_key_stops_working_once_the_cache_expires(engine: Engine) -> None:
    app = create_app(engine, Settings(database_url="sqlite://"))
    now = [1000.0]
    app.state.token_cache.clock = lambda: now[0]
    key = create_api_key(engine, ApiRole.VIEWER)
    client = TestClient(app, headers={"Authorization": f"Bearer {key.token}"})
    assert client.get(AS).status_code == 200
    assert disable_api_key(engine, key.key_id)
    now[0] += app.state.token_cache.ttl + 0.1
    assert_error(client.get(AS), 401, "unauthenticated")


def test_a_disabled_key_is_refused_at_once_without_cache(engine: Engine) -> None:
    app = create_app(engine, Settings(database_url="sqlite://"))
    app.state.token_cache.ttl = 0
    key = create_api_key(engine, ApiRole.VIEWER)
    client = TestClient(app, headers={"Authorization": f"Bearer {key.token}"})
    assert client.get(AS).status_code == 200
    disable_api_key(engine, key.key_id)
    assert_error(client.get(AS), 401, "unauthenticated")


def test_require_role_refuses_viewers_with_403(engine: Engine) -> None:
    app = create_app(engine, Settings(database_url="sqlite://"))

    @app.post("/test-write")
    def write(principal: ApiPrincipal = Depends(require_role(ApiRole.ADMIN))) -> dict[str, str]:
        return {"by": principal.role.value}

    viewer = create_api_key(engine, ApiRole.VIEWER).token
    admin = create_api_key(engine, ApiRole.ADMIN).token
    client = TestClient(app)
    error = assert_error(
        client.post("/test-write", headers={"Authorization": f"Bearer {viewer}"}), 403, "accessDenied"
    )
    assert "admin" in error["message"]
    assert client.post("/test-write", headers={"Authorization": f"Bearer {admin}"}).json() == {"by": "admin"}
    assert_error(client.post("/test-write"), 401, "unauthenticated")


def test_errors_echo_the_client_request_id(client: TestClient) -> None:
    response = client.get(f"{AS}/999999999999", headers={"client-request-id": "abc-123"})
    error = assert_error(response, 404, "itemNotFound")
    assert error["innerError"]["client-request-id"] == "abc-123"
    assert response.headers["client-request-id"] == "abc-123"
    assert response.headers["request-id"] == error["innerError"]["request-id"]


def test_unknown_route_and_wrong_method_use_the_envelope(client: TestClient) -> None:
    assert_error(client.get("/no/such/route"), 404, "itemNotFound")
    assert_error(client.delete(AS), 405, "notSupported")


def test_lazy_engine_opens_the_configured_database(tmp_path: object) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/lazy.sqlite3")
    app = create_app(settings=settings)
    engine = app.state.engine_provider.get()
    token = create_api_key(engine, ApiRole.VIEWER).token
    response = TestClient(app).get(AS, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json()["value"] == []


def test_unexpected_errors_use_the_envelope(engine: Engine, token: str) -> None:
    app = create_app(engine, Settings(database_url="sqlite://"))

    @app.get("/test-boom")
    def boom() -> None:
        raise RuntimeError("secret detail")

    client = TestClient(app, raise_server_exceptions=False, headers={"Authorization": f"Bearer {token}"})
    error = assert_error(client.get("/test-boom"), 500, "generalException")
    assert "secret detail" not in error["message"]


def _listed_last_used(engine: Engine) -> dict[str, str | None]:
    """`permscope apikey list --format json` on the test database: each key's "last_used_at"."""
    url = engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(cli, ["--database-url", url, "apikey", "list", "--format", "json"])
    assert result.exit_code == 0, result.output
    return {row["name"]: row["last_used_at"] for row in json.loads(result.stdout)}


def test_a_key_used_over_the_api_shows_when_in_apikey_list(engine: Engine) -> None:
    app = create_app(engine, Settings(database_url="sqlite://"))
    now = [datetime(2025, 5, 1, 12, 0, tzinfo=UTC)]
    app.state.key_uses.clock = lambda: now[0]
    used = create_api_key(engine, ApiRole.VIEWER, "used").token
    create_api_key(engine, ApiRole.VIEWER, "unused")
    client = TestClient(app, headers={"Authorization": f"Bearer {used}"})
    assert _listed_last_used(engine) == {"used": None, "unused": None}
    assert client.get(AS).status_code == 200
    first = _listed_last_used(engine)
    assert first["unused"] is None and first["used"] is not None
    assert first["used"].startswith("2025-05-01") and "12:00" in first["used"]
    now[0] += timedelta(seconds=30)  # within the interval: no write
    assert client.get(AS).status_code == 200
    assert _listed_last_used(engine) == first
    now[0] += timedelta(seconds=31)
    assert client.get(AS).status_code == 200
    assert "12:01" in str(_listed_last_used(engine)["used"])
    assert_error(TestClient(app).get(AS), 401, "unauthenticated")  # a refused call is no use of a key
