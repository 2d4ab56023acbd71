"""An autopilot rule in Chromium: written by the administrator (through the workflow: rules are written with the
CLI or API), accepted by the approver in another browser, then dry-run by the administrator, whose rule page
lists the drafted plan, which opens as a draft made by the rule. A screenshot of the rule page after the run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from permscope.core.autopilot import check_spec
from permscope.settings import Settings
from permscope.web.links import autopilot_rule_url, autopilot_rules_url
from permscope.workflows.remediation import autopilot_rules as rules
from permscope.workflows.requests import local_actor
from remediation_support import ACCOUNT

from ..conftest import PRINCIPALS

MATCHED = f"arn:aws:iam::{ACCOUNT}:user/wendy.mueller"  # unused grants to remove; no other test plans for it


def test_accept_as_another_person_dry_run_and_see_the_drafted_plan(
    page_as: Callable[[str], Any], live_url: str, demo_engine: Engine, screenshots: Path
) -> None:
    spec = check_spec("browser idle wendy", [f"aws:{ACCOUNT}"], ["*:user/wendy.mueller"], unused_days=90)
    author = local_actor(PRINCIPALS["admin"])
    rule_id = rules.add_rule(demo_engine, author, spec, settings=Settings(database_url="sqlite://")).rule_id

    ada = page_as("admin")
    ada.on("dialog", lambda dialog: dialog.accept())
    ada.goto(live_url + autopilot_rules_url())
    ada.get_by_role("link", name="browser idle wendy").click()
    ada.wait_for_url("**" + autopilot_rule_url(rule_id))
    assert ada.get_by_role("button", name="Accept").count() == 0  # the author does not accept
    assert "you wrote it" in ada.locator("#accept-wait").inner_text()

    abe = page_as("approver")
    abe.on("dialog", lambda dialog: dialog.accept())
    abe.goto(live_url + autopilot_rule_url(rule_id))
    assert abe.get_by_role("button", name="Dry run").count() == 0  # approvers do not run
    abe.get_by_role("button", name="Accept").click()
    abe.wait_for_url("**?done=accept")
    assert abe.locator("#rule-state").inner_text().strip() == "accepted"

    ada.reload()
    ada.get_by_role("button", name="Dry run").click()
    ada.wait_for_url("**?done=run")
    run = ada.locator("details.run").first
    assert "1 made, 0 applied" in run.locator(".run-counts").inner_text()
    row = run.locator("table.run-items tbody tr", has_text=MATCHED)
    assert "drafted" in row.inner_text()
    ada.screenshot(path=str(screenshots / "remediation-autopilot-rule.png"), full_page=True)
    row.get_by_role("link").click()
    ada.wait_for_url("**/ui/remediation/*")
    assert ada.locator("#plan-status").inner_text().strip() == "draft"
    assert "autopilot:browser idle wendy" in ada.locator("dl.plan-facts").inner_text()
