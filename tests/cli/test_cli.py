"""The `permscope` command end to end on a temporary SQLite file: import, list, keys, database, errors."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from analysis_support import export
from permscope.cli.main import app
from permscope.estates.aws import generate_authorization_details

ACCOUNT = "123456789012"


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.sqlite3'}"


@pytest.fixture
def export_file(tmp_path: Path) -> Path:
    export = generate_authorization_details(
        account_id=ACCOUNT, users=7, groups=3, roles=9, customer_policies=5, seed=5
    )
    path = tmp_path / "account.json"
    path.write_text(json.dumps(export))
    return path


def run(db_url: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["--database-url", db_url, *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_import_then_reimport_reports_unchanged(db_url: str, export_file: Path) -> None:
    code, out, _err = run(
        db_url, "import", "aws", str(export_file), "--account-name", "prod", "--format", "json"
    )
    assert code == 0, out
    [report] = json.loads(out)
    assert report["system_id"] == ACCOUNT and report["name"] == "prod" and report["changed"] is True
    assert (
        report["counts"]["users"] == 7 and report["counts"]["groups"] == 3 and report["counts"]["roles"] == 9
    )
    code, out, _err = run(db_url, "import", "aws", str(export_file))
    assert code == 0
    assert ACCOUNT in out and "unchanged" in out and "prod" in out


def test_import_analyzes_so_findings_are_there(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "admins.json"
    path.write_text(json.dumps(export()))  # bob and the role app hold everything
    code, out, err = run(db_url, "import", "aws", str(path), "--format", "json")
    assert code == 0, err
    [report] = json.loads(out)
    assert report["analysis"]["findings"]["superUserFinding"] == 1
    code, out, _ = run(db_url, "findings", "list", "--format", "json")
    found = {f["permscope"]["findingType"] for f in json.loads(out)["findings"]}
    assert {"superUserFinding", "superAwsRoleFinding"} <= found
    code, out, _ = run(db_url, "import", "aws", str(path))  # the table says what was found and what next
    assert code == 0 and "Open findings" in out and "permscope findings list" in out


def test_import_no_analyze_says_how_to_analyze(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "admins.json"
    path.write_text(json.dumps(export()))
    code, out, err = run(db_url, "import", "aws", "--no-analyze", str(path))
    assert code == 0, err
    assert "permscope analyze" in out
    assert json.loads(run(db_url, "findings", "list", "--format", "json")[1]) == {"findings": []}
    code, out, _ = run(db_url, "import", "aws", "--no-analyze", str(path), "--format", "json")
    assert json.loads(out)[0]["analysis"] is None


def test_import_of_a_cloudtrail_log_points_to_import_aws_activity(db_url: str, tmp_path: Path) -> None:
    record = {"eventVersion": "1.08", "eventSource": "s3.amazonaws.com", "eventName": "GetObject",
              "eventTime": "2024-01-01T00:00:00Z", "userIdentity": {"type": "IAMUser"}}  # fmt: skip
    trail = tmp_path / "trail.json"
    trail.write_text(json.dumps({"Records": [record]}))
    lines = tmp_path / "events.jsonl"
    lines.write_text(json.dumps(record) + "\n" + json.dumps(record) + "\n")
    for path in (trail, lines):
        code, _out, err = run(db_url, "import", "aws", str(path))
        assert code == 2
        assert f"permscope import aws-activity {path}" in err and "CloudTrail" in err


def test_systems_and_identities_in_every_format(db_url: str, export_file: Path) -> None:
    assert run(db_url, "import", "aws", str(export_file))[0] == 0

    code, out, _ = run(db_url, "systems", "list", "--format", "json")
    assert code == 0
    [system] = json.loads(out)
    assert system["system_id"] == ACCOUNT and system["identities"] == 7 + 3 + 9
    assert system["by_kind"] == {"group": 3, "role": 9, "user": 7}
    rows = list(csv.DictReader(io.StringIO(run(db_url, "systems", "list", "--format", "csv")[1])))
    assert [(r["system_id"], r["users"], r["roles"], r["groups"]) for r in rows] == [(ACCOUNT, "7", "9", "3")]
    code, out, _ = run(db_url, "systems", "list")
    assert code == 0 and ACCOUNT in out and "Identities" in out

    code, out, _ = run(db_url, "identities", "list", "--system", ACCOUNT, "--format", "json")
    assert code == 0 and len(json.loads(out)) == 19
    code, out, _ = run(db_url, "identities", "list", "--system", ACCOUNT, "--kind", "role", "--format", "csv")
    roles = list(csv.DictReader(io.StringIO(out)))
    assert len(roles) == 9 and {r["kind"] for r in roles} == {"role"}
    assert all(r["external_id"].startswith(f"arn:aws:iam::{ACCOUNT}:role/") for r in roles)
    code, out, _ = run(db_url, "identities", "list", "--system", ACCOUNT, "--kind", "user")
    assert code == 0 and "user" in out and "Identities of" in out


def test_unknown_system_is_an_error(db_url: str) -> None:
    code, _out, err = run(db_url, "identities", "list", "--system", "999999999999")
    assert code == 1
    assert "error: no authorization system '999999999999'" in err


def test_malformed_file_exits_2_naming_the_file(db_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "broken-export.json"
    bad.write_text('{"UserDetailList": [')
    code, _out, err = run(db_url, "import", "aws", str(bad))
    assert code == 2
    assert err.startswith("error: ") and "broken-export.json" in err
    code, _out, err = run(db_url, "import", "aws", str(tmp_path / "missing.json"))
    assert code == 2 and "missing.json" in err
    assert json.loads(run(db_url, "systems", "list", "--format", "json")[1]) == []


def test_api_key_token_is_shown_once_and_never_listed(db_url: str) -> None:
    code, out, err = run(db_url, "apikey", "create", "--role", "viewer", "--name", "ci")
    assert code == 0
    token = out.strip()
    assert token.startswith("psk_") and "cannot be" in err.replace("\n", " ")
    code, out, _ = run(db_url, "apikey", "list", "--format", "json")
    [key] = json.loads(out)
    assert key["name"] == "ci" and key["role"] == "viewer" and key["disabled"] is False
    secret = token.split("_", 2)[2]
    for fmt in ("json", "csv", "table"):
        assert secret not in run(db_url, "apikey", "list", "--format", fmt)[1]
    assert run(db_url, "apikey", "disable", key["key_id"])[0] == 0
    assert json.loads(run(db_url, "apikey", "list", "--format", "json")[1])[0]["disabled"] is True
    code, _out, err = run(db_url, "apikey", "disable", "nope")
    assert code == 1 and "nope" in err


def test_db_upgrade_on_an_empty_database(db_url: str) -> None:
    code, out, _ = run(db_url, "db", "current")
    assert code == 0 and "(empty database)" in out
    code, out, _ = run(db_url, "db", "upgrade")
    assert code == 0 and "before: (empty database)" in out and "upgraded" in out
    code, out, _ = run(db_url, "db", "upgrade")
    assert code == 0 and "already up to date" in out
    code, out, _ = run(db_url, "db", "current")
    assert code == 0 and "needs an upgrade" not in out


def test_bad_database_url_is_an_error(tmp_path: Path) -> None:
    code, _out, err = run("nonsense://", "systems", "list")
    assert code == 1 and err.startswith("error: ")


def test_an_id_in_two_clouds_without_a_cloud_exits_2_naming_the_clouds(db_url: str) -> None:
    from permscope.core.ids import Cloud
    from permscope.core.inventory import AuthorizationSystem, InventoryBatch
    from permscope.store.engine import open_database
    from permscope.store.ingest import ingest

    engine = open_database(db_url)
    for cloud in (Cloud.AWS, Cloud.GCP):
        ingest(
            engine,
            InventoryBatch(
                system=AuthorizationSystem(cloud=cloud, system_id="shared", name="x"), source="test"
            ),
        )
    engine.dispose()
    code, _out, err = run(db_url, "identities", "list", "--system", "shared")
    assert code == 2
    assert "error: authorization system 'shared': exists in several clouds (aws, gcp)" in err
    assert "--cloud aws in the CLI" in err  # says how to name the cloud
    code, _out, _err = run(db_url, "identities", "list", "--system", "shared", "--cloud", "gcp")
    assert code == 0


def test_systems_remove_asks_then_removes(db_url: str, export_file: Path, tmp_path: Path) -> None:
    assert run(db_url, "import", "aws", str(export_file))[0] == 0
    other = tmp_path / "other.json"
    other.write_text(json.dumps(export()))
    assert run(db_url, "import", "aws", str(other))[0] == 0
    refused = CliRunner().invoke(app, ["--database-url", db_url, "systems", "remove", ACCOUNT], input="n\n")
    assert refused.exit_code == 1
    assert "19 identities" in refused.stdout and "findings" in refused.stdout  # what would go
    assert len(json.loads(run(db_url, "systems", "list", "--format", "json")[1])) == 2
    asked = CliRunner().invoke(app, ["--database-url", db_url, "systems", "remove", ACCOUNT], input="y\n")
    assert asked.exit_code == 0, asked.output
    assert f"removed aws {ACCOUNT}" in asked.stdout
    [left] = json.loads(run(db_url, "systems", "list", "--format", "json")[1])
    assert left["system_id"] != ACCOUNT
    code, out, _ = run(db_url, "findings", "list", "--format", "csv")
    assert code == 0 and ACCOUNT not in out and left["system_id"] in out
    code, out, _ = run(db_url, "systems", "remove", left["system_id"], "--yes")
    assert code == 0 and json.loads(run(db_url, "systems", "list", "--format", "json")[1]) == []
    code, _, err = run(db_url, "systems", "remove", left["system_id"], "--yes")
    assert code == 1 and f"no authorization system {left['system_id']!r}" in err
