"""`permscope serve` as a user runs it (a real uvicorn in a subprocess): a huge body is refused before it is read,
with its memory measured; links come from the configured public URL, never from the Host header; X-Forwarded-*
headers are trusted only from the configured proxies."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from typer.testing import CliRunner

from permscope.cli.main import app as cli
from serve_support import new_key, permscope, serving

SPR = "/identityGovernance/permissionsManagement/scheduledPermissionsRequests"
MIB = 1024 * 1024


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'serve.sqlite3'}"
    assert permscope(url, "db", "upgrade").returncode == 0
    return url


def post_json_array(port: int, megabytes: int, headers: str = "") -> tuple[int, bytes, int]:
    """POST a JSON array of `megabytes` MiB over a raw socket, as fast as the server takes it; returns (status,
    answer, bytes the server took before it answered and closed)."""
    size = megabytes * MIB
    with socket.create_connection(("127.0.0.1", port)) as connection:
        head = (
            f"POST {SPR} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {size}\r\n"
        )
        connection.sendall(f"{head}{headers}\r\n[".encode())
        sent, chunk = 1, b"1," * (256 * 1024)
        try:
            while sent < size - 2:
                part = chunk[: size - 2 - sent]
                connection.sendall(part)
                sent += len(part)
            connection.sendall(b"1]")
            sent += 2
        except OSError:
            pass  # the server answered and closed the connection
        connection.settimeout(30)
        answer = b""
        try:
            while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
                data = connection.recv(65536)
                if not data:
                    break
                answer += data
        except OSError:
            pass
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0
    return status, answer, sent


def body_of(answer: bytes) -> dict[str, object]:
    """The JSON body of a raw HTTP answer."""
    body = orjson.loads(answer.split(b"\r\n\r\n", 1)[1])
    assert isinstance(body, dict)
    return body


@pytest.mark.slow
def test_an_anonymous_100_mib_body_is_refused_before_it_is_read(db_url: str, tmp_path: Path) -> None:
    with serving(db_url, tmp_path) as served:
        before = served.memory_mib()
        status, answer, sent = post_json_array(served.port, 100)
        peak = served.memory_mib("VmHWM")
    assert status == 401, answer[:300]
    error = body_of(answer)["error"]
    assert isinstance(error, dict) and error["code"] == "unauthenticated"
    assert b"connection: close" in answer.lower()
    assert sent < 60 * MIB  # the server stopped taking the body (what was taken sat in socket buffers)
    assert peak - before < 40, f"the server grew from {before:.0f} MiB to a peak of {peak:.0f} MiB"


@pytest.mark.slow
def test_an_oversize_body_with_a_key_is_413_before_it_is_read(db_url: str, tmp_path: Path) -> None:
    token = new_key(db_url, "--role", "admin", "--name", "big")
    with serving(db_url, tmp_path) as served:
        before = served.memory_mib()
        status, answer, sent = post_json_array(served.port, 100, f"Authorization: Bearer {token}\r\n")
        peak = served.memory_mib("VmHWM")
        small = httpx.post(f"{served.base}{SPR}", json={}, headers={"Authorization": f"Bearer {token}"})
    assert status == 413, answer[:300]
    error = body_of(answer)["error"]
    assert isinstance(error, dict) and error["code"] == "requestEntityTooLarge"
    assert sent < 60 * MIB and peak - before < 40
    assert small.status_code in (400, 422) and small.json()["error"]["code"] == "invalidRequest"


FORGED = {"Host": "evil.example.com", "X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}


@pytest.mark.slow
def test_links_and_client_addresses_ignore_forged_headers(db_url: str, tmp_path: Path) -> None:
    token = new_key(db_url, "--role", "viewer", "--name", "links")
    headers = {"Authorization": f"Bearer {token}", **FORGED}
    with serving(db_url, tmp_path) as served:
        body = httpx.get(f"{served.base}/external/authorizationSystems", headers=headers).json()
        assert body["@odata.context"] == f"{served.base}/$metadata#external/authorizationSystems"
        output = served.output()
    assert "203.0.113.9" not in output  # the access log names the real peer, not the header's claim
    assert "127.0.0.1" in output

    with serving(
        db_url,
        tmp_path,
        "--public-url",
        "https://permscope.example.com",
        env={"PERMSCOPE_FORWARDED_ALLOW_IPS": "127.0.0.1"},
    ) as served:
        body = httpx.get(f"{served.base}/external/authorizationSystems", headers=headers).json()
        assert (
            body["@odata.context"] == "https://permscope.example.com/$metadata#external/authorizationSystems"
        )
        output = served.output()
    assert "203.0.113.9" in output  # a configured proxy's X-Forwarded-For is believed


def test_a_bad_public_url_is_refused_before_serving(db_url: str) -> None:
    result = permscope(db_url, "serve", "--public-url", "permscope.example.com")
    assert result.returncode == 2
    assert "public_url must be an absolute http(s) URL" in result.stderr


def test_serve_hands_uvicorn_the_proxy_trust_and_the_app_its_public_url(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[dict[str, Any]] = []

    def fake_uvicorn(api: Any, **options: Any) -> None:
        seen.append({**options, "base": api.state.settings.api_base_url()})

    monkeypatch.setattr("uvicorn.run", fake_uvicorn)  # `serve` imports uvicorn when it serves

    def serve(*args: str) -> str:
        result = CliRunner().invoke(cli, ["--database-url", db_url, "serve", "--no-scheduler", *args])
        assert result.exit_code == 0, result.output
        return result.stdout

    serve("--port", "8123")
    assert seen[-1]["proxy_headers"] is False and seen[-1]["base"] == "http://127.0.0.1:8123"
    serve("--forwarded-allow-ips", "10.0.0.0/8", "--public-url", "https://p.example.com/x/")
    assert seen[-1]["proxy_headers"] is True and seen[-1]["forwarded_allow_ips"] == "10.0.0.0/8"
    assert seen[-1]["base"] == "https://p.example.com/x"
    assert "give --public-url" in serve("--host", "0.0.0.0")


def test_the_in_process_scheduler_is_woken_by_the_api_and_by_the_ui(
    sqlite_engine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both apps hold the same runner (an approval made in either runs the grant at once), stopped after."""
    import uvicorn

    from permscope.cli.serve import run_server
    from permscope.settings import Settings

    served: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda server, **_: served.append(server))
    run_server(
        sqlite_engine, Settings(database_url="sqlite://", scheduler_interval_seconds=3600), "127.0.0.1", 0
    )
    [server] = served
    runner = server.state.scheduler
    assert (
        runner is not None and server.state.api.state.scheduler is runner is server.state.web.state.scheduler
    )
    assert not runner._thread.is_alive()  # stopped when serving ended
