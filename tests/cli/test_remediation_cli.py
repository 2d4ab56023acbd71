"""`permscope remediation` on the demo account: plan (table, json, script, terraform), approve by someone else,
apply (dry-run, then through moto), list, show and roll back exactly; refusals exit non-zero with the reason."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from permscope.cli.main import app
from permscope.clouds.gcp.plugin import GcpPlugin
from permscope.store.engine import open_database
from remediation_support import ACCOUNT, iam_state, load_demo_account, mocked_account, seed_identity

USER = f"arn:aws:iam::{ACCOUNT}:user/tomas.nowak"


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


def test_plan_approve_apply_and_roll_back(demo: tuple[str, Path], iam: Any) -> None:
    url, export = demo
    seed_identity(iam, export, USER)
    plan = ["remediation", "plan", "--system", ACCOUNT, "--identity", USER]
    table = run(url, *plan, "--as", "alice")
    assert "Steps" in table and "detachManagedPolicy" in table and "PCI 30 ->" in table
    assert "Granted before -> after, by service" in table
    body = json.loads(run(url, *plan, "--as", "alice", "--format", "json"))
    plan_id = body["id"]
    assert body["status"] == "draft" and body["createdBy"] == "alice"
    script = run(url, *plan, "--as", "alice", "--format", "script")
    assert "aws iam detach-user-policy --user-name tomas.nowak" in script and script.startswith("#!/bin/sh")
    terraform = run(url, "remediation", "show", plan_id, "--format", "terraform")
    assert 'resource "aws_iam_user_policy_attachments_exclusive" "tomas_nowak"' in terraform
    listed = run(url, "remediation", "list")
    assert plan_id[:8] in listed and "draft" in listed

    assert "someone else must approve" in run(url, "remediation", "approve", plan_id, "--as", "alice", code=1)
    assert "draft" in run(url, "remediation", "apply", plan_id, code=1)
    run(url, "remediation", "approve", plan_id, "--as", "bob")
    assert "modification is not enabled" in run(url, "remediation", "apply", plan_id, code=1)
    run(url, "systems", "enable-modification", ACCOUNT)
    before = iam_state(iam, USER)
    dry = run(url, "remediation", "apply", plan_id, "--dry-run")
    assert "aws iam remove-user-from-group --user-name tomas.nowak --group-name sre-admins" in dry
    assert iam_state(iam, USER) == before
    applied = run(url, "remediation", "apply", plan_id)
    assert f"Plan {plan_id}: applied" in applied and iam_state(iam, USER) != before
    shown = json.loads(run(url, "remediation", "show", plan_id, "--format", "json"))
    assert all(step["status"] in ("applied", "manual") for step in shown["steps"])
    rolled = run(url, "remediation", "rollback", plan_id)
    assert f"Plan {plan_id}: rolled_back" in rolled and iam_state(iam, USER) == before


def test_refusals_exit_with_the_reason(demo: tuple[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    url, _export = demo
    base = ["remediation", "plan", "--system", ACCOUNT]
    assert "not an identity" in run(url, *base, "--identity", f"arn:aws:iam::{ACCOUNT}:user/nobody", code=1)
    assert "shorter than the minimum" in run(url, *base, "--identity", USER, "--window-days", "7", code=1)
    assert "not built yet" not in run(
        url, *base, "--identity", USER, "--cloud", "gcp", code=1
    )  # GCP is built
    monkeypatch.setattr(GcpPlugin, "remediation", property(lambda _self: None))
    assert "not built yet" in run(url, *base, "--identity", USER, "--cloud", "gcp", code=2)
    assert "no remediation plan" in run(url, "remediation", "show", "nope", code=1)
