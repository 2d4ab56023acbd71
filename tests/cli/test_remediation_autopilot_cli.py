"""`permscope remediation autopilot` on the demo account through moto: add (bad input exits 2 naming the field),
a proposed rule's run exits 1, its author cannot accept it, another person accepts it, a dry run drafts, a run
applies (IAM shows it), `runs` lists both, `remediation rollback` undoes the auto-applied plan, disable stops it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from permscope.cli.main import app
from permscope.store.engine import open_database
from remediation_support import ACCOUNT, iam_state, load_demo_account, mocked_account, seed_identity

USER = f"arn:aws:iam::{ACCOUNT}:user/tomas.nowak"
CUSTOMER = f"arn:aws:iam::{ACCOUNT}:policy/growth/growth-catalog-policy-admin"


@pytest.fixture
def iam(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    yield from mocked_account(monkeypatch)


@pytest.fixture
def demo(tmp_path: Path) -> tuple[str, Path]:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    export = load_demo_account(open_database(url), tmp_path / "estate")
    return url, export


def run(url: str, *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, ["--database-url", url, *args], catch_exceptions=False)
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result.stdout + result.stderr


def test_add_accept_run_and_roll_back(demo: tuple[str, Path], iam: Any) -> None:
    url, export = demo
    seed_identity(iam, export, USER)
    auto = ["remediation", "autopilot"]
    add = [*auto, "add", "idle", "--system", f"aws:{ACCOUNT}", "--identity", "*:user/tomas.nowak"]
    assert "unusedDays" in run(url, *add, "--unused-days", "0", code=2)
    assert "kinds" in run(url, *add, "--kind", "robot", code=2)
    assert "systems" in run(url, *auto, "add", "x", "--system", "mars:1", "--identity", "*", code=2)
    rule = json.loads(run(url, *add, "--kind", "user", "--as", "alice", "--format", "json"))
    assert (rule["state"], rule["createdBy"], rule["unusedDays"], rule["generate"]) == (
        "proposed",
        "alice",
        90,
        False,
    )
    assert "proposed" in run(url, *auto, "run", "idle", "--as", "alice", code=1)
    assert "someone else must accept" in run(url, *auto, "accept", "idle", "--as", "alice", code=1)
    assert "accepted by bob" in run(url, *auto, "accept", rule["id"], "--as", "bob")
    assert "accepted" in run(url, *auto, "list")

    before = iam_state(iam, USER, [CUSTOMER])
    skipped = run(url, *auto, "run", "idle", "--as", "alice")
    assert "modification is not enabled" in skipped and iam_state(iam, USER, [CUSTOMER]) == before
    run(url, "systems", "enable-modification", ACCOUNT)
    dry = json.loads(run(url, *auto, "run", "idle", "--dry-run", "--format", "json"))
    assert (dry["dryRun"], dry["plansMade"], dry["plansApplied"]) == (True, 1, 0)
    assert iam_state(iam, USER, [CUSTOMER]) == before
    real = json.loads(run(url, *auto, "run", "idle", "--as", "carol", "--format", "json"))
    assert (real["plansMade"], real["plansApplied"], real["runBy"]) == (0, 1, "carol")
    (item,) = real["items"]
    assert item["outcome"] == "applied" and CUSTOMER not in iam_state(iam, USER, [CUSTOMER])["attached"]
    runs = json.loads(run(url, *auto, "runs", "idle", "--format", "json"))
    assert [r["id"] for r in runs][:2] == [real["id"], dry["id"]]
    assert "idle" in run(url, *auto, "runs")

    rolled = run(url, "remediation", "rollback", item["planId"])
    assert "rolled_back" in rolled and iam_state(iam, USER, [CUSTOMER]) == before
    assert "disabled by dave" in run(url, *auto, "disable", "idle", "--as", "dave")
    assert "disabled" in run(url, *auto, "run", "idle", code=1)
    assert "no autopilot rule" in run(url, *auto, "show", "nothing", code=1)
