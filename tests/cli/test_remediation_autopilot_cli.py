"""`permscope remediation autopilot` on the demo account through moto: add (bad input exits 2 naming the field),
a proposed rule's run exits 1, its author cannot accept it, another person accepts it, a dry run drafts, a run
applies (IAM shows it), `runs` lists both, `remediation rollback` undoes the auto-applied plan, disable stops it."""

from __future__ import annotations

# ruff: noqa: F811 - the demo account fixtures come from test_remediation_cli, and tests take them by name
import json
from pathlib import Path
from typing import Any

from cli.test_remediation_cli import demo, iam, run  # noqa: F401 - the demo account fixtures
from remediation_support import ACCOUNT, iam_state, seed_identity

USER = f"arn:aws:iam::{ACCOUNT}:user/tomas.nowak"
CUSTOMER = f"arn:aws:iam::{ACCOUNT}:policy/growth/growth-catalog-policy-admin"


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
