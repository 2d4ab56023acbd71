"""`permscope schedules add|list|runs|enable|disable|remove|run-due` and `permscope pci history`, as a person
types them: a schedule added, made due, run, listed with its outcome; a PCI history after the run."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from alert_support import SMTP_PASSWORD, SMTP_USER, SmtpServerThread
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


def test_a_report_schedule_mails_its_report_when_run_due(db_url: str, tmp_path: Path) -> None:
    with SmtpServerThread(tmp_path) as smtp:
        secret = tmp_path / "smtp-password"
        secret.write_text(SMTP_PASSWORD)
        code, _, err = run(
            db_url, "alerts", "channels", "add-email", "secops", "--host", "127.0.0.1", "--port", str(smtp.port),
            "--username", SMTP_USER, "--password-file", str(secret), "--ca-file", str(smtp.cert),
            "--from", "permscope@example.com", "--to", "secops@example.com",
        )  # fmt: skip
        assert code == 0, err
        code, out, err = run(
            db_url, "schedules", "add", "weekly", "--task", "report", "--report", "entitlements",
            "--report-format", "csv", "--to", "ciso@example.com", "--system", ACCOUNT, "--every", "P7D",
            "--format", "json",
        )  # fmt: skip
        assert code == 0, err
        [added] = json.loads(out)
        assert added["task"] == "report" and added["report"] == {
            "kind": "entitlements",
            "format": "csv",
            "channel": "secops",
            "recipients": ["ciso@example.com"],
        }
        code, out, _ = run(db_url, "schedules", "list", "--format", "csv")
        [listed] = list(csv.DictReader(io.StringIO(out)))
        assert listed["source"] == "entitlements as csv to ciso@example.com via secops"
        _make_due(db_url)
        code, out, err = run(db_url, "schedules", "run-due")  # the entry point hands the report writer in
        assert (code, out.strip()) == (0, "weekly: succeeded"), err
        [(_, recipients, message)] = smtp.mailbox.messages
        assert recipients == ["ciso@example.com"]
        [part] = list(message.iter_attachments())
        rows = list(csv.DictReader(io.StringIO(part.get_payload(decode=True).decode("utf-8"))))
        assert BOB in {row["Id"] for row in rows}
        code, out, _ = run(db_url, "schedules", "runs", "weekly", "--format", "json")
        assert json.loads(out)[0]["delivery"].startswith("sent to ciso@example.com")
    code, _, err = run(
        db_url, "schedules", "add", "bad", "--task", "report", "--report", "weekly", "--every", "P1D"
    )
    assert code == 2 and "analytics, pci, entitlements, credentials, external" in err
    code, _, err = run(db_url, "alerts", "channels", "remove", "secops")
    assert code == 2 and "report schedules mail through it (weekly)" in err
