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
from permscope.presentation.findings import finding_id
from permscope.settings import get_settings
from permscope.store.engine import open_database
from remediation_support import (
    ACCOUNT,
    iam_state,
    load_demo_account,
    mocked_account,
    open_finding,
    seed_identity,
)

USER = f"arn:aws:iam::{ACCOUNT}:user/tomas.nowak"
SVC = f"arn:aws:iam::{ACCOUNT}:user/service/svc-identity-worker"


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


def test_plan_for_a_finding_with_the_generated_policy(
    demo: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _export = demo
    engine = open_database(url)
    finding = open_finding(engine, "overprovisionedUserFinding", SVC)
    base = ["remediation", "plan", "--as", "alice"]
    table = run(url, *base, "--finding", finding_id(finding.fingerprint))
    assert "Plan " in table and f"for {SVC}" in table
    assert f"For finding overprovisionedUserFinding ({finding.fingerprint}): the plan resolves it" in table
    assert (
        "putGeneratedPolicy" in table
        and "Generated policy replaces arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess" in table
    )
    assert "permscope-least-privilege-svc-identity-worker (" in table and '"Effect": "Allow"' in table
    # the fingerprint itself is a finding id too; --no-generate plans removals only
    body = json.loads(run(url, *base, "--finding", finding.fingerprint, "--no-generate", "--format", "json"))
    assert body["evidence"]["generation"] == {"requested": False}
    assert "putGeneratedPolicy" not in {step["kind"] for step in body["steps"]}
    assert "No generated policy" not in run(url, *base, "--finding", finding.fingerprint, "--no-generate")
    generated = json.loads(run(url, *base, "--finding", finding.fingerprint, "--format", "json"))
    put = generated["steps"][0]
    assert put["kind"] == "putGeneratedPolicy" and put["parameters"]["document"]["Statement"]
    script = run(url, *base, "--finding", finding.fingerprint, "--format", "script")
    assert "aws iam put-user-policy --user-name svc-identity-worker" in script
    # a refused generation is said in the table
    monkeypatch.setenv("PERMSCOPE_REMEDIATION_MIN_OBSERVATION_DAYS", "90")  # more than the logs can cover
    get_settings.cache_clear()
    try:
        refused = run(url, *base, "--finding", finding.fingerprint)
    finally:
        monkeypatch.delenv("PERMSCOPE_REMEDIATION_MIN_OBSERVATION_DAYS")
        get_settings.cache_clear()
    assert "No generated policy: generation refused: the activity logs of AWS account" in refused


def test_finding_options_are_checked(demo: tuple[str, Path]) -> None:
    url, _export = demo
    engine = open_database(url)
    external = open_finding(engine, "awsExternalSystemAccessFinding")
    out = run(url, "remediation", "plan", "--finding", external.fingerprint, code=1)
    assert "remediation plans are made per identity" in out
    assert "not a finding id" in run(url, "remediation", "plan", "--finding", "???", code=2)
    assert "no finding" in run(url, "remediation", "plan", "--finding", "0" * 64, code=1)
    both = run(url, "remediation", "plan", "--finding", external.fingerprint, "--system", ACCOUNT, code=2)
    assert "not both" in both
    assert "--system and --identity" in run(url, "remediation", "plan", "--system", ACCOUNT, code=2)
