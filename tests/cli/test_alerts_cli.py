"""`permscope alerts` end to end over a SQLite file: channels (a secret made and printed once; a secret file),
rules, an analysis that alerts, list, ack, mute, `evaluate` delivering to a loopback receiver, and clear errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alert_support import WebhookReceiver, load_account
from analysis_support import ACCOUNT, BOB
from permscope.cli.main import app
from permscope.store.engine import open_database
from permscope.workflows.analysis import analyze_system


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.sqlite3'}"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver("shared-secret-from-a-file-0123") as hook:
        yield hook


def run(db_url: str, *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, ["--database-url", db_url, *args], catch_exceptions=False)
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result.stdout + result.stderr


def test_rules_channels_alerts_from_the_command_line(
    db_url: str, tmp_path: Path, receiver: WebhookReceiver
) -> None:
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text("shared-secret-from-a-file-0123\n")
    out = run(
        db_url, "alerts", "channels", "add-webhook", "slack", receiver.url, "--secret-file", str(secret_file)
    )
    assert "added webhook channel 'slack' to http://127.0.0.1" in out and "secret-path-part" not in out
    made = run(db_url, "alerts", "channels", "add-webhook", "other", "https://hooks.example.com/x")
    assert "not shown again" in made and len(made.strip().splitlines()[-1]) >= 32
    run(
        db_url,
        "alerts",
        "rules",
        "add",
        "high",
        "--kind",
        "finding.new",
        "--min-severity",
        "high",
        "--channel",
        "slack",
    )
    listed = json.loads(run(db_url, "alerts", "rules", "list", "--format", "json"))
    assert listed[0]["name"] == "high" and listed[0]["channels"] == "slack"
    assert "slack" in run(db_url, "alerts", "channels", "list")

    engine = open_database(db_url)
    load_account(engine, tmp_path, bob_admin=False)
    analyze_system(engine, ACCOUNT)
    load_account(engine, tmp_path, bob_admin=True)
    analyze_system(engine, ACCOUNT)
    out = run(db_url, "alerts", "evaluate")
    assert "evaluated 0 signal(s)" in out  # the analysis evaluated them already
    assert "delivered" in out and "failed 0" in out
    assert receiver.received and all(r.verified for r in receiver.received)

    alerts = json.loads(run(db_url, "alerts", "list", "--format", "json"))
    assert alerts and {a["subject_id"] for a in alerts} == {BOB} and {a["status"] for a in alerts} == {"open"}
    first = alerts[0]["id"]
    assert f"acknowledged {first} (by ada)" in run(db_url, "alerts", "ack", first, "--as", "ada")
    assert len(json.loads(run(db_url, "alerts", "list", "--status", "acknowledged", "--format", "json"))) == 1
    assert "muted arn:aws:iam::111122223333:user/bob until" in run(
        db_url, "alerts", "mute", "--alert", first, "--for", "P1D"
    )
    assert "muted rule 'high' until" in run(db_url, "alerts", "mute", "--rule", "high", "--for", "PT2H")
    assert "--for DURATION" in run(db_url, "alerts", "mute", "--rule", "high", code=2)

    assert "unknown signal kind 'finding.old'" in run(
        db_url, "alerts", "rules", "add", "x", "--kind", "finding.old", code=2
    )
    assert "rules deliver through it (high)" in run(db_url, "alerts", "channels", "remove", "slack", code=2)
    assert "removed rule 'high'" in run(db_url, "alerts", "rules", "remove", "high")
    assert "no alert rule named 'high'" in run(db_url, "alerts", "rules", "remove", "high", code=1)
