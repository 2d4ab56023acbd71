"""`permscope demo --no-serve`: loads the estate, prints the web UI's URL and a working admin key first, then
commands that work pasted as they are."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from permscope.cli.main import app
from permscope.server import create_server
from permscope.settings import Settings
from permscope.store.engine import make_engine
from permscope.workflows.apikeys import ApiRole, verify_api_key


@dataclass(frozen=True)
class DemoRun:
    """One `permscope demo --no-serve --port 8123` into a database of the module's own: what it printed."""

    url: str
    folder: Path
    stdout: str
    output: str


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    folder = tmp_path_factory.mktemp("demo")
    url = f"sqlite:///{folder / 'demo.sqlite3'}"
    result = CliRunner().invoke(app, ["--database-url", url, "demo", "--no-serve", "--port", "8123"])
    assert result.exit_code == 0, result.output
    return DemoRun(url, folder, result.stdout, result.output)


def test_demo_without_serving(demo_run: DemoRun) -> None:
    url, result, tmp_path = demo_run.url, demo_run, demo_run.folder
    token = next(line.split()[-1] for line in result.stdout.splitlines() if line.startswith("API key:"))
    assert 'curl -H "Authorization: Bearer' in result.stdout
    assert "http://127.0.0.1:8123/external/authorizationSystems" in result.stdout
    engine: Engine = make_engine(url)
    principal = verify_api_key(engine, token)
    engine.dispose()
    assert principal is not None and principal.role is ApiRole.ADMIN
    listed = CliRunner().invoke(app, ["--database-url", url, "systems", "list", "--format", "json"])
    systems = json.loads(listed.stdout)
    assert {s["name"] for s in systems if s["cloud"] == "aws"} == {"demo-production", "demo-sandbox"}
    assert sum(s["cloud"] == "azure" for s in systems) == 3 and sum(s["cloud"] == "gcp" for s in systems) == 3
    # each cloud's line, its example routes, and the generated files kept next to the database
    assert "azure sub-" in result.output and "managed identities" in result.output
    assert "gcp " in result.output and "service accounts" in result.output
    assert "microsoft.graph.azureAuthorizationSystem/associatedIdentities/servicePrincipals" in result.stdout
    assert "/permissionsAnalytics/gcp/findings/microsoft.graph.superUserFinding" in result.stdout
    assert (tmp_path / "demo-estate" / "aws-demo-production.json").is_file()


def test_the_demo_prints_the_web_ui_first_and_its_key_signs_in(demo_run: DemoRun) -> None:
    lines = [line for line in demo_run.stdout.splitlines() if line.strip()]
    assert lines[0].startswith("Web UI:   http://127.0.0.1:8123/ ")
    assert lines[1].startswith("API key:  psk_")
    token = lines[1].split()[-1]
    engine = make_engine(demo_run.url)
    try:
        with TestClient(create_server(engine, Settings(database_url=demo_run.url))) as client:
            form = client.get("/")  # the printed URL leads to the sign-in form
            assert form.status_code == 200 and 'id="api_key"' in form.text
            form_token = re.search(r'name="form_token" value="([^"]+)"', form.text)
            assert form_token is not None
            signed_in = client.post(
                "/ui/sign-in",
                data={"api_key": token, "next": "/ui/docs", "form_token": form_token.group(1)},
                follow_redirects=False,
            )
            assert signed_in.status_code == 303 and "permscope_session" in client.cookies
    finally:
        engine.dispose()


def test_every_printed_curl_command_answers_200(demo_run: DemoRun) -> None:
    """Each curl line, split as a POSIX shell splits it, names a URL the API answers with 200 (the `$orderby`
    with its space encoded, the quotes right)."""
    lines = [line.strip() for line in demo_run.stdout.splitlines()]
    exported = next(shlex.split(line) for line in lines if line.startswith("export PERMSCOPE_KEY="))
    token = exported[1].split("=", 1)[1]
    curls = [shlex.split(line) for line in lines if line.startswith("curl ")]
    assert len(curls) >= 9
    engine = make_engine(demo_run.url)
    try:
        with TestClient(create_server(engine, Settings(database_url=demo_run.url))) as client:
            for words in curls:
                assert words[:3] == ["curl", "-H", "Authorization: Bearer $PERMSCOPE_KEY"] and len(words) == 4
                parts = urlsplit(words[3])
                assert (parts.scheme, parts.netloc) == ("http", "127.0.0.1:8123") and " " not in words[3]
                path = parts.path + (f"?{parts.query}" if parts.query else "")
                answer = client.get(path, headers={"Authorization": f"Bearer {token}"})
                assert answer.status_code == 200, (words[3], answer.text[:300])
    finally:
        engine.dispose()
    assert any("%20desc" in words[3] for words in curls)


def test_the_printed_permscope_commands_work_outside_the_virtualenv(
    demo_run: DemoRun, tmp_path: Path
) -> None:
    commands = [
        shlex.split(line.strip()) for line in demo_run.stdout.splitlines() if "--database-url" in line
    ]
    assert len(commands) == 2
    environment = {name: value for name, value in os.environ.items() if name != "VIRTUAL_ENV"}
    environment["PATH"] = "/usr/bin:/bin"  # no virtualenv on the PATH: the printed path must do
    for words in commands:
        assert Path(words[0]).is_absolute() and Path(words[0]).name == "permscope"
        done = subprocess.run(
            words, cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, (words, done.stderr[-500:])
        assert done.stdout.strip()


def test_without_the_gcp_engine_the_demo_says_what_to_install(tmp_path: Path) -> None:
    """The skipped cloud's line is printed as is (the extra's brackets are not taken for markup)."""
    probe = (
        "import sys; sys.modules['cel'] = None; "
        f"sys.argv = ['permscope', '--database-url', 'sqlite:///{tmp_path / 'd.sqlite3'}', 'demo', '--no-serve']; "
        "from permscope.cli.entry import run; run()"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stderr.split())
    assert "gcp: skipped (the GCP engine needs the cel package: pip install 'permscope[gcp]')" in text
    assert "azure sub-" in text and "gcp " not in text.split("skipped", 1)[1]
