"""`permscope remediation generate`: the summary and the documents in a table, the whole result in JSON, a
refusal or an unknown identity with their exit codes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from least_privilege_support import ACCOUNT, DEPLOYER, ROLE_A, ROLE_B, load_with_trail
from permscope.cli.main import app
from permscope.store.engine import open_database


def store(tmp_path: Path, span_days: float) -> str:
    url = f"sqlite:///{tmp_path / 'remediation.sqlite3'}"
    engine = open_database(url)
    load_with_trail(engine, tmp_path, datetime.now(UTC), span_days)
    engine.dispose()
    return url


def run(url: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["--database-url", url, "remediation", "generate", *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def url(tmp_path: Path) -> str:
    return store(tmp_path, span_days=40)


def test_the_table_shows_the_check_the_widening_and_the_documents(url: str) -> None:
    code, out, err = run(url, "--system", ACCOUNT, "--identity", DEPLOYER)
    assert code == 0, err
    assert f"Least privilege for {DEPLOYER} (role) in aws {ACCOUNT}" in out
    assert "Checked by the engine: 5 of 5 observed (action, resource) pairs allowed" in out
    assert "Actions: 4 granted for 4 observed (0 never observed);" in out and "actions held today" in out
    assert "iam:PassRole: limited to the 2 role(s) passed" in out
    assert "permscope-least-privilege-deployer (awsManagedPolicy, size " in out
    assert ROLE_A in out and ROLE_B in out


def test_json_holds_the_whole_result(url: str) -> None:
    code, out, err = run(
        url, "--system", ACCOUNT, "--identity", DEPLOYER, "--format", "json", "--window-days", "60"
    )
    assert code == 0, err
    body = json.loads(out)
    assert (body["status"], body["refusal"], body["window"]["days"]) == ("verified", None, 60)
    assert body["verification"] == {"observed": 5, "allowed": 5, "observedEvents": 7, "rejected": []}
    assert body["widening"]["grantedActions"] == body["widening"]["observedActions"] == 4
    assert body["currentGrantedActions"] > 4 and body["notHeldToday"] == []
    [document] = body["documents"]
    assert document["kind"] == "awsManagedPolicy" and document["document"]["Version"] == "2012-10-17"


def test_refusals_and_unknown_identities_exit_non_zero(tmp_path: Path) -> None:
    url = store(tmp_path, span_days=5)
    code, out, err = run(url, "--system", ACCOUNT, "--identity", DEPLOYER, "-f", "json")
    assert code == 1 and "refused: the activity logs" in err
    assert json.loads(out)["status"] == "refused" and json.loads(out)["documents"] == []
    code, out, err = run(url, "--system", ACCOUNT, "--identity", DEPLOYER, "--min-observation-days", "2")
    assert code == 0, err
    code, _out, err = run(url, "--system", ACCOUNT, "--identity", "arn:aws:iam::111122223333:role/nobody")
    assert code == 1 and "no identity" in err
    code, _out, err = run(url, "--system", "999999999999", "--identity", DEPLOYER)
    assert code == 1 and "no authorization system '999999999999'" in err
    code, _out, err = run(url, "--system", ACCOUNT, "--identity", DEPLOYER, "--window-days", "0")
    assert code == 2 and "window days" in err
