"""`permscope import azure FOLDER`: one row per subscription, warnings where they belong, the analysis, and a
malformed file refused with its name (exit 2)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from permscope.cli.main import app

EXPORT = Path(__file__).resolve().parents[1] / "clouds" / "azure" / "data" / "export"


def run(db_url: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["--database-url", db_url, *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_import_azure_then_list_findings(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    code, out, err = run(db_url, "import", "azure", str(EXPORT), "--format", "json")
    assert code == 0, err
    reports = json.loads(out)
    assert [r["system_id"] for r in reports] == [
        "aaaaaaaa-0000-4000-8000-000000000001",
        "bbbbbbbb-0000-4000-8000-000000000002",
    ]
    assert reports[0]["cloud"] == "azure" and reports[0]["counts"]["managed_identities"] == 3
    assert reports[0]["analysis"]["findings"]["superUserFinding"] == 2
    assert any("dead0000" in w for w in reports[1]["warnings"])
    code, out, _ = run(db_url, "import", "azure", str(EXPORT))
    assert code == 0 and "Subscription" in out and "unchanged" in out and "Open findings" in out
    code, out, _ = run(db_url, "findings", "list", "--format", "json")
    found = {f["permscope"]["findingType"] for f in json.loads(out)["findings"]}
    assert {
        "superUserFinding",
        "superAzureServicePrincipalFinding",
        "inactiveServerlessFunctionFinding",
    } <= found


def test_a_malformed_export_file_is_named_and_nothing_is_stored(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    shutil.copytree(EXPORT, folder)
    (folder / "deny-assignments.json").write_text('[{"id": "/d", "properties": {"permissions": []}}]')
    db_url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    code, _out, err = run(db_url, "import", "azure", str(folder))
    assert code == 2
    assert "deny-assignments.json" in err and "has no properties.principals" in err
    code, out, _ = run(db_url, "systems", "list", "--format", "json")
    assert code == 0 and json.loads(out) == []


def test_scan_reads_an_azure_export_folder_without_a_store(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["scan", "--cloud", "azure", str(EXPORT), "--format", "json"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.stderr
    body = json.loads(result.stdout)
    found = {f["permscope"]["findingType"] for f in body["findings"]}
    assert {"superUserFinding", "inactiveGroupFinding", "superAzureServicePrincipalFinding"} <= found
    wrong = CliRunner().invoke(app, ["scan", "--cloud", "oci", str(EXPORT)])
    assert wrong.exit_code == 2 and "aws, azure or gcp" in wrong.stderr
