"""`permscope demo --no-serve`: loads the estate, prints a working admin key and curl commands."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sqlalchemy import Engine
from typer.testing import CliRunner

from permscope.cli.main import app
from permscope.store.engine import make_engine
from permscope.workflows.apikeys import ApiRole, verify_api_key


def test_demo_without_serving(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    result = CliRunner().invoke(app, ["--database-url", url, "demo", "--no-serve", "--port", "8123"])
    assert result.exit_code == 0, result.output
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
