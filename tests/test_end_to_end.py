"""The foundation's promise end to end: `permscope import` an export, `permscope serve`, ask the API over HTTP."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

EXAMPLE = "data/snapshots/aws_authz_details_cloudsplaining_example.json"
PERMSCOPE = [str(Path(sys.executable).parent / "permscope")]  # the installed command, as a user runs it
POSTGRES_URL = os.environ.get("PERMSCOPE_TEST_POSTGRES_URL")


def _permscope(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*PERMSCOPE, "--database-url", database_url, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(database URL, base URL) of a real `permscope serve` on a free loopback port, stopped afterwards."""
    database_url = f"sqlite:///{tmp_path / 'e2e.sqlite3'}"
    port = _free_port()
    server = subprocess.Popen(
        [*PERMSCOPE, "--database-url", database_url, "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{base}/external/authorizationSystems", timeout=1)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stderr.read().decode() if server.stderr else ""
                time.sleep(0.2)
        else:
            pytest.fail("permscope serve did not answer within 30 s")
        yield database_url, base
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.slow
def test_import_serve_and_count_every_principal(shared_dir: Path, served: tuple[str, str]) -> None:
    database_url, base = served
    export = shared_dir / EXAMPLE
    raw = json.loads(export.read_text())
    imported = _permscope(database_url, "import", "aws", str(export), "--format", "json")
    assert imported.returncode == 0, imported.stderr
    reports = json.loads(imported.stdout)
    created = _permscope(database_url, "apikey", "create", "--role", "viewer", "--name", "e2e")
    assert created.returncode == 0, created.stderr
    token = next(word for word in created.stdout.split() if word.startswith("psk_"))

    assert httpx.get(f"{base}/external/authorizationSystems").status_code == 401
    headers = {"Authorization": f"Bearer {token}"}
    # the example export holds principals of two accounts: each is its own authorization system
    counted: dict[str, int] = {}
    for report in reports:
        url = (
            f"{base}/external/authorizationSystems/{report['system_id']}"
            "/microsoft.graph.awsAuthorizationSystem/associatedIdentities/all?$count=true&$top=50"
        )
        body = httpx.get(url, headers=headers).json()
        counted[report["system_id"]] = body["@odata.count"]
        seen = []
        while True:
            seen += [item["externalId"] for item in body["value"]]
            if "@odata.nextLink" not in body:
                break
            body = httpx.get(body["@odata.nextLink"], headers=headers).json()
        assert len(seen) == len(set(seen)) == body["@odata.count"]
    principals = [
        item["Arn"] for key in ("UserDetailList", "GroupDetailList", "RoleDetailList") for item in raw[key]
    ]
    assert sum(counted.values()) == len(principals) == 127
    for account, count in counted.items():
        assert count == sum(1 for arn in principals if arn.split(":")[4] == account)


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_URL, reason="PostgreSQL not configured: set PERMSCOPE_TEST_POSTGRES_URL")
def test_db_upgrade_on_postgres_through_the_cli(tmp_path: Path) -> None:
    import uuid

    from sqlalchemy import create_engine, text

    assert POSTGRES_URL is not None
    name = f"e2e_{uuid.uuid4().hex[:8]}"
    admin = create_engine(
        POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = POSTGRES_URL.rsplit("/", 1)[0] + "/" + name
        upgraded = _permscope(url, "db", "upgrade")
        assert upgraded.returncode == 0, upgraded.stderr
        listed = _permscope(url, "systems", "list", "--format", "json")
        assert listed.returncode == 0 and json.loads(listed.stdout) == []
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
