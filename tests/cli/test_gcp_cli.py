"""`permscope import gcp DIR` and `permscope scan --cloud gcp DIR`: an export folder imported and analyzed, or
scanned without a store; a malformed file is exit 2 naming it."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from clouds.gcp.support import EXPORT, copy_export
from permscope.cli.main import app


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_import_gcp_stores_every_project_and_analyzes_it(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    code, out, err = run("--database-url", db, "import", "gcp", str(EXPORT), "--format", "json")
    assert code == 0, err
    records = json.loads(out)
    assert [r["system_id"] for r in records] == ["pay-prod", "web-dev"]
    assert records[0]["counts"]["users"] == 9 and "superUserFinding" in records[0]["analysis"]["findings"]
    code, out, _err = run("--database-url", db, "import", "gcp", str(EXPORT), "--no-analyze")
    assert code == 0 and "unchanged" in out and "Project" in out


def test_the_table_points_to_the_gcp_activity_import(tmp_path: Path) -> None:
    """Without audit logs the inactivity findings are not checked: the hint names GCP's import, not CloudTrail."""
    code, out, err = run(
        "--database-url", f"sqlite:///{tmp_path / 'h.sqlite3'}", "import", "gcp", str(EXPORT)
    )
    assert code == 0, err
    text = " ".join(out.split())
    assert "With Cloud Audit Logs: `permscope import gcp-activity FILES`" in text and "CloudTrail" not in text


def test_a_malformed_export_file_is_exit_2_naming_it(tmp_path: Path) -> None:
    folder = copy_export(tmp_path)
    (folder / "custom-roles.json").write_text('[{"name": 5}]')
    code, _out, err = run(
        "--database-url", f"sqlite:///{tmp_path / 'x.sqlite3'}", "import", "gcp", str(folder)
    )
    assert code == 2
    assert "custom-roles.json" in err and "item 0: 'name' must be a non-empty string" in " ".join(err.split())


def test_scan_reads_a_gcp_export_folder_without_a_store(tmp_path: Path) -> None:
    code, out, err = run("scan", "--cloud", "gcp", str(EXPORT), "--format", "json")
    assert code == 0, err
    found = json.loads(out)
    types = {f["@odata.type"] for f in found["findings"]}
    assert {
        "#microsoft.graph.superUserFinding",
        "#microsoft.graph.privilegeEscalationUserFinding",
        "#microsoft.graph.externallyAccessibleGcpStorageBucketFinding",
        "#microsoft.graph.encryptedGcpStorageBucketFinding",
    } == types
    users = [f for f in found["findings"] if "identity" in f]
    assert users and all(f["identity"]["@odata.type"] == "#microsoft.graph.gcpUser" for f in users)
