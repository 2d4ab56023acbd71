"""`permscope schedules add|list|runs|enable|disable|remove|run-due` and `permscope pci history`, as a person
types them: a schedule added, made due, run, listed with its outcome; a PCI history after the run."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from analysis_support import ACCOUNT, BOB, export
from permscope.cli.main import app
from permscope.store.engine import make_engine
from permscope.store.tables import ScheduleRow


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    path = tmp_path / "export.json"
    path.write_text(json.dumps(export()))
    result = CliRunner().invoke(app, ["--database-url", url, "import", "aws", str(path), "--no-analyze"])
    assert result.exit_code == 0, result.stdout + result.stderr
    return url


def run(db_url: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["--database-url", db_url, *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def _make_due(db_url: str) -> None:
    engine = make_engine(db_url)
    with Session(engine) as session, session.begin():
        session.execute(update(ScheduleRow).values(next_run_at=datetime.now(UTC) - timedelta(minutes=2)))
    engine.dispose()


def test_a_schedule_from_add_to_its_run_and_the_pci_history(db_url: str) -> None:
    code, out, err = run(
        db_url, "schedules", "add", "hourly", "--system", ACCOUNT, "--every", "PT1H", "--jitter", "PT1M"
    )
    assert code == 0, err
    assert "hourly" in out and "every PT1H +PT1M jitter" in out and f"aws {ACCOUNT}" in out
    code, out, err = run(db_url, "schedules", "run-due")
    assert (code, out) == (0, "") and "no schedule was due" in err
    _make_due(db_url)
    code, out, err = run(db_url, "schedules", "run-due")
    assert code == 0, err
    assert out.strip() == "hourly: succeeded"
    code, out, _ = run(db_url, "schedules", "list", "--format", "json")
    [listed] = json.loads(out)
    assert (listed["lastStatus"], listed["consecutiveFailures"], listed["enabled"]) == ("succeeded", 0, True)
    code, out, _ = run(db_url, "schedules", "runs", "hourly", "--format", "csv")
    assert "done" in out
    code, out, err = run(db_url, "pci", "history", "--system", ACCOUNT, "--identity", BOB, "--format", "json")
    assert code == 0, err
    history = json.loads(out)
    assert history["identityExternalId"] == BOB
    assert [day["permissionsCreepIndex"] for day in history["days"]] == [100]
    code, out, err = run(db_url, "pci", "history", "--system", ACCOUNT)
    assert code == 0 and "PCI of aws" in out and datetime.now(UTC).date().isoformat() in out


def test_disable_enable_remove_and_clear_errors(db_url: str) -> None:
    assert run(db_url, "schedules", "add", "nightly", "--task", "analyze", "--cron", "0 3 * * *")[0] == 0
    code, out, _ = run(db_url, "schedules", "disable", "nightly")
    assert (code, out.strip()) == (0, "schedule nightly disabled")
    code, out, _ = run(db_url, "schedules", "enable", "nightly")
    assert code == 0 and "schedule nightly enabled; next run" in out and "T03:00:00" in out
    assert run(db_url, "schedules", "remove", "nightly")[1].strip() == "schedule nightly removed"
    code, _, err = run(db_url, "schedules", "remove", "nightly")
    assert code == 1 and "no schedule named 'nightly'" in err
    code, _, err = run(db_url, "schedules", "add", "bad", "--cron", "every day")
    assert code == 2 and "cron: 'every day' is not a cron expression" in err
    code, _, err = run(db_url, "schedules", "add", "bad", "--every", "15 minutes")
    assert code == 2 and "--every" in err and "ISO 8601" in err
    code, _, err = run(
        db_url,
        "schedules",
        "add",
        "bad",
        "--every",
        "PT1H",
        "--source",
        "live",
        "--cloud",
        "aws",
        "--option",
        "no_such=1",
    )
    assert code == 2 and "not a aws collection option" in err
    code, _, err = run(
        db_url, "pci", "history", "--system", ACCOUNT, "--identity", "arn:aws:iam::111122223333:user/nobody"
    )
    assert code == 1 and "no identity" in err
