"""`permscope import azure-activity`: files into usage, the report, bad files (exit 2), one input mode."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clouds.azure.activity.samples import ALICE_OID, SUB, graph_sign_in, rest_event
from clouds.azure.activity.stand_in import register
from permscope.cli.main import app
from permscope.core.ids import Cloud
from permscope.core.inventory import AuthorizationSystem, Identity, IdentityKind, InventoryBatch
from permscope.store.engine import open_database
from permscope.store.ingest import ingest


@pytest.fixture
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    register(monkeypatch)
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    alice = Identity(external_id=ALICE_OID, kind=IdentityKind.USER, display_name="Alice", source="aad")
    system = AuthorizationSystem(cloud=Cloud.AZURE, system_id=SUB, name="prod")
    ingest(open_database(url), InventoryBatch(system=system, source="test", identities=[alice]))
    return url


def run(db_url: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["--database-url", db_url, *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_files_become_usage_and_the_report_says_what_counted(db_url: str, tmp_path: Path) -> None:
    log = tmp_path / "activity-log.json"
    log.write_text(json.dumps({"value": [rest_event(), rest_event(status="Started"), graph_sign_in()]}))
    code, out, _err = run(db_url, "import", "azure-activity", str(log), "--format", "json")
    assert code == 0
    report = json.loads(out)
    assert report["sources"] == {"found": 1, "read": 1, "skipped_already_counted": 0, "failed": 0}
    assert (report["events"]["usage"], report["events"]["sign_in"], report["events"]["other_events"]) == (
        1,
        1,
        1,
    )
    assert report["usage_rows_merged"] == 1 and report["systems"] == [SUB]
    code, out, _err = run(db_url, "import", "azure-activity", str(tmp_path))
    assert code == 0 and "operations exercised (usage)" in out and "subscriptions" in out


def test_a_bad_file_exits_2_naming_it_and_the_line(db_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "sign-ins.json"
    bad.write_text(json.dumps(graph_sign_in()) + "\n{not json\n")
    code, _out, err = run(db_url, "import", "azure-activity", str(bad))
    assert code == 2 and "sign-ins.json" in err and "line 2 is not JSON" in err


def test_exactly_one_input_mode(db_url: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["--database-url", db_url, "import", "azure-activity"])
    assert result.exit_code == 2 and "one of them" in result.output
    result = CliRunner().invoke(
        app, ["--database-url", db_url, "import", "azure-activity", str(tmp_path), "--sign-ins"]
    )
    assert result.exit_code == 2
    code, _out, err = run(db_url, "import", "azure-activity", str(tmp_path / "missing.json"))
    assert code == 2 and "no such file" in err
