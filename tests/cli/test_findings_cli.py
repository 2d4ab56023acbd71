"""`permscope analyze` and `permscope findings list`: counts, skipped reasons, table / json / csv."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from analysis_support import ACCOUNT, APP, BOB, export
from permscope.cli.main import app


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    path = tmp_path / "export.json"
    path.write_text(json.dumps(export()))
    result = CliRunner().invoke(
        app, ["--database-url", url, "import", "aws", str(path)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.stdout + result.stderr
    return url


def run(db_url: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["--database-url", db_url, *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_analyze_prints_counts_and_skipped_reasons(db_url: str) -> None:
    code, out, err = run(db_url, "analyze", "--system", ACCOUNT, "--window-days", "30")
    assert code == 0, err
    assert f"AWS account {ACCOUNT}" in out
    assert "superUserFinding" in out and "superAwsRoleFinding" in out
    assert "inactiveUserFinding" in out and "needs activity" in out  # skipped, with the reason
    code, out, err = run(db_url, "analyze", "--format", "json")
    assert code == 0, err
    body = json.loads(out)["analyses"][0]
    assert body["systemId"] == ACCOUNT
    assert body["findings"]["superUserFinding"] == 1
    assert body["changes"]["new"] == 0 and body["changes"]["unchanged"] == body["total"]


def test_analyze_unknown_account_fails_cleanly(db_url: str) -> None:
    code, _out, err = run(db_url, "analyze", "--system", "999999999999")
    assert code == 1 and "999999999999" in err


def test_findings_list_formats(db_url: str) -> None:
    assert run(db_url, "analyze")[0] == 0
    code, out, err = run(db_url, "findings", "list", "--format", "json", "--type", "superUserFinding")
    assert code == 0, err
    findings = json.loads(out)["findings"]
    assert len(findings) == 1
    item = findings[0]
    assert item["@odata.type"] == "#microsoft.graph.superUserFinding"
    assert item["identity"]["externalId"] == BOB
    assert item["identity"]["@odata.type"] == "#microsoft.graph.awsUser"
    assert item["identity"]["authorizationSystem"]["authorizationSystemId"] == ACCOUNT
    assert isinstance(item["permissionsCreepIndex"]["score"], int)
    assert item["actionSummary"]["assigned"] == item["actionSummary"]["available"]
    assert item["permscope"]["status"] == "open"

    code, out, err = run(db_url, "findings", "list", "--format", "csv")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    subjects = {(r["finding_type"], r["subject_id"]) for r in rows}
    assert ("superUserFinding", BOB) in subjects and ("superAwsRoleFinding", APP) in subjects
    assert all(r["status"] == "open" for r in rows)

    code, out, err = run(db_url, "findings", "list", "--system", ACCOUNT)
    assert code == 0, err
    assert "Super identities:" in out and "user/bob" in out  # the type's title, the subject's short name
    code, out, err = run(db_url, "findings", "list", "--system", ACCOUNT, "--wide")
    assert code == 0, err
    assert "superUserFinding" in out and BOB in out

    code, out, err = run(db_url, "findings", "list", "--status", "resolved", "--format", "json")
    assert code == 0 and json.loads(out) == {"findings": []}
    code, _out, err = run(db_url, "findings", "list", "--status", "closed")
    assert code == 2 and "--status" in err


def test_findings_list_refuses_an_unknown_type_listing_the_known_ones(db_url: str) -> None:
    assert run(db_url, "analyze")[0] == 0
    code, out, err = run(db_url, "findings", "list", "--type", "superUserFindings")
    assert code == 2 and not out
    assert "'superUserFindings' is not a finding type" in err
    assert "superUserFinding," in err and "privilegeEscalationAwsRoleFinding" in err
    code, out, err = run(
        db_url, "findings", "list", "--type", "#microsoft.graph.SUPERUSERFINDING", "-f", "json"
    )
    assert code == 0, err
    assert [f["@odata.type"] for f in json.loads(out)["findings"]] == ["#microsoft.graph.superUserFinding"]
