"""The issue's remediation flow in Chromium, against IAM in moto seeded from the demo's own export: an
administrator plans an identity's remediation from its page, an approver approves in another browser, the
administrator previews the calls and applies them, then previews and rolls back to exactly the prior IAM state; a
reader sees the plan without a single button. Screenshots of the plan page at each stage."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from permscope.web.links import identity_url
from remediation_support import ACCOUNT, iam_state, mocked_account, seed_identity

from ..plans_support import HOLDS_NOTHING, USER, enabled_production, export_of

POLICY = f"arn:aws:iam::{ACCOUNT}:policy/growth/growth-catalog-policy-admin"


@pytest.fixture(scope="module")
def production(demo_engine: Engine) -> Iterator[str]:
    """The demo's production account, open to modification."""
    yield from enabled_production(demo_engine)


@pytest.fixture
def iam(monkeypatch: pytest.MonkeyPatch, demo_folder: Path) -> Iterator[Any]:
    """IAM in moto as the production account, holding the user as the demo's export describes it."""
    for client in mocked_account(monkeypatch):
        seed_identity(client, export_of(demo_folder), USER)
        yield client


def _status(page: Any) -> str:
    return str(page.locator("#plan-status").inner_text()).strip()


def _accept_confirmations(page: Any) -> None:
    """Say yes to the forms' "are you sure?" (app.js asks before an apply or a rollback)."""
    page.on("dialog", lambda dialog: dialog.accept())


def test_plan_approve_preview_apply_and_roll_back(
    page_as: Callable[[str], Any], live_url: str, production: str, iam: Any, screenshots: Path
) -> None:
    before = iam_state(iam, USER, [POLICY])
    assert POLICY in before["attached"] and "sre-admins" in before["groups"]

    ada = page_as("admin")
    _accept_confirmations(ada)
    ada.goto(live_url + identity_url("aws", ACCOUNT, USER))
    ada.get_by_label("Plan over the last (days)").select_option("90")
    ada.get_by_role("button", name="Plan remediation").click()
    ada.wait_for_url("**/ui/remediation/*")
    plan_path = ada.url.removeprefix(live_url)
    assert _status(ada) == "draft"
    assert ada.get_by_role("button", name="Approve").count() == 0  # the author does not approve
    ada.locator("table.diff-table details summary").first.click()  # the collapsible actions open
    assert ada.locator("table.diff-table details[open] li").first.is_visible()
    ada.screenshot(path=str(screenshots / "remediation-plan-draft.png"), full_page=True)

    abe = page_as("approver")
    abe.goto(live_url + plan_path)
    assert abe.get_by_role("link", name="Preview apply (dry run)").count() == 0
    abe.get_by_role("button", name="Approve").click()
    abe.wait_for_load_state()
    assert _status(abe) == "approved"
    assert "Approved by abe.approver@example.com" in abe.locator("#result").inner_text()

    ada.reload()
    ada.get_by_role("link", name="Preview apply (dry run)").click()
    ada.wait_for_url("**/preview/apply*")
    calls = ada.locator("#preview-calls").inner_text()
    assert "aws iam detach-user-policy --user-name tomas.nowak" in calls
    assert "aws iam remove-user-from-group" in calls
    assert iam_state(iam, USER, [POLICY]) == before  # a preview changes nothing
    ada.screenshot(path=str(screenshots / "remediation-plan-preview.png"), full_page=True)
    ada.get_by_role("button", name="Apply the plan").click()
    ada.wait_for_url("**/ui/remediation/*?done=apply")
    assert _status(ada) == "applied", ada.locator("main").inner_text()
    assert "Applied: 4 steps changed" in ada.locator("#result").inner_text()
    after = iam_state(iam, USER, [POLICY])
    assert POLICY not in after["attached"] and "sre-admins" not in after["groups"]
    assert after["versions"] == before["versions"]  # the policy itself is untouched
    ada.screenshot(path=str(screenshots / "remediation-plan-applied.png"), full_page=True)

    vic = page_as("viewer")
    vic.goto(live_url + plan_path)
    assert _status(vic) == "applied"
    assert vic.locator("main button").count() == 0 and vic.locator("main form").count() == 0
    assert vic.get_by_role("link", name="Preview rollback (dry run)").count() == 0
    vic.locator("#apply-script").evaluate("element => element.closest('details').open = true")
    assert "aws iam detach-user-policy" in vic.locator("#apply-script").inner_text()

    ada.get_by_role("link", name="Preview rollback (dry run)").click()
    ada.wait_for_url("**/preview/rollback*")
    assert "aws iam attach-user-policy --user-name tomas.nowak" in ada.locator("#preview-calls").inner_text()
    assert iam_state(iam, USER, [POLICY]) == after
    ada.get_by_role("button", name="Roll back the plan").click()
    ada.wait_for_url("**/ui/remediation/*?done=rollback")
    assert _status(ada) == "rolled back"
    assert "Rolled back: 4 steps restored" in ada.locator("#result").inner_text()
    assert iam_state(iam, USER, [POLICY]) == before  # exactly the prior state
    assert ada.locator("main form").count() == 0
    ada.screenshot(path=str(screenshots / "remediation-plan-rolled-back.png"), full_page=True)

    ada.goto(live_url + identity_url("aws", ACCOUNT, USER))
    section = ada.locator("section[aria-labelledby='remediation-heading']")
    assert plan_path.rsplit("/", 1)[1][:8] in section.inner_text()
    section.screenshot(path=str(screenshots / "remediation-identity-section.png"))
    ada.goto(f"{live_url}/ui/remediation")
    assert plan_path.rsplit("/", 1)[1][:8] in ada.locator("table.plans-table").inner_text()
    ada.screenshot(path=str(screenshots / "remediation-plans.png"), full_page=True)


def test_a_refusal_shows_its_reason_and_a_form_without_its_token_is_refused(
    page_as: Callable[[str], Any], live_url: str, production: str, screenshots: Path
) -> None:
    ada = page_as("admin")
    ada.goto(live_url + identity_url("aws", ACCOUNT, HOLDS_NOTHING))
    ada.get_by_role("button", name="Plan remediation").click()
    ada.wait_for_load_state()
    problem = ada.locator("#plan-problem").inner_text()
    assert "No plan was made" in problem and "it holds nothing" in problem
    assert ada.get_by_label("Identity").input_value() == HOLDS_NOTHING  # the form again, to try otherwise
    ada.screenshot(path=str(screenshots / "remediation-plan-refused.png"), full_page=True)

    ada.goto(live_url + identity_url("aws", ACCOUNT, USER))
    form = ada.locator("form.plan-form")
    form.locator("input[name='csrf_token']").evaluate("field => field.remove()")
    form.get_by_role("button", name="Plan remediation").click()
    ada.wait_for_load_state()
    assert "Form refused" in ada.locator("h1").inner_text()
    assert "security token is missing or wrong" in ada.locator("main").inner_text()
