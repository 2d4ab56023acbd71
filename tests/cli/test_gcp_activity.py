"""`permscope import gcp-activity`: files into usage, failures naming file and line (exit 2), one input mode."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clouds.gcp.activity.helpers import audit_entry, register_standin
from permscope.cli.main import app


@pytest.fixture
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    register_standin(monkeypatch)  # until the GCP plugin is registered
    return f"sqlite:///{tmp_path / 'cli.sqlite3'}"


def run(db_url: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["--database-url", db_url, *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_files_then_usage(db_url: str, tmp_path: Path) -> None:
    log = tmp_path / "audit-log.jsonl"
    log.write_text(json.dumps(audit_entry(granted=["storage.buckets.get"])) + "\n")
    code, out, _err = run(db_url, "import", "gcp-activity", str(log), "--format", "json")
    assert code == 0
    record = json.loads(out)
    assert record["systems"] == ["my-project"] and record["events"]["usage"] == 1
    code, out, _err = run(db_url, "import", "gcp-activity", str(log))
    assert (
        code == 0
        and "projects" in out
        and "inputs already counted (skipped)" in out
        and "entries read" in out
    )


def test_bad_file_exits_2_naming_file_and_line(db_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(audit_entry()) + "\n" + "{not json\n")
    code, _out, err = run(db_url, "import", "gcp-activity", str(bad))
    assert code == 2 and "bad.jsonl" in err and "line 2 is not JSON" in err


def test_exactly_one_input_mode(db_url: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["--database-url", db_url, "import", "gcp-activity"])
    assert result.exit_code == 2 and "one of them" in result.output
    result = CliRunner().invoke(
        app, ["--database-url", db_url, "import", "gcp-activity", str(tmp_path), "--project", "p"]
    )
    assert result.exit_code == 2
    code, _out, err = run(db_url, "import", "gcp-activity", "--from-gcs", "s3://not-gcs")
    assert code == 2 and "gs://" in err
