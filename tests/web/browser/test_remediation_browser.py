"""The issue's remediation flow in Chromium, against IAM in moto seeded from the demo's own export: an
administrator plans an identity's remediation from its page, an approver approves in another browser, the
administrator previews the calls and applies them, then previews and rolls back to exactly the prior IAM state; a
reader sees the plan without a single button. Screenshots of the plan page at each stage."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from permscope.web.links import identity_url
from remediation_support import ACCOUNT, iam_state, mocked_account, seed_identity

from ..plans_support import HOLDS_NOTHING, USER, enabled_production, export_of

POLICY = f"arn:aws:iam::{ACCOUNT}:policy/growth/growth-catalog-policy-admin"
GROUPED = f"arn:aws:iam::{ACCOUNT}:user/igor.cohen"  # over-provisioned through one group it uses in part
GROUP_ARN = f"arn:aws:iam::{ACCOUNT}:group/frontend-auditors"


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
    assert "Applied: 5 steps changed" in ada.locator("#result").inner_text()
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
    assert "Rolled back: 5 steps restored" in ada.locator("#result").inner_text()
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


def test_the_generated_policy_is_shown_for_review_before_approval(
    page_as: Callable[[str], Any], live_url: str, production: str, screenshots: Path
) -> None:
    ada = page_as("admin")
    ada.goto(live_url + identity_url("aws", ACCOUNT, GROUPED))
    ada.get_by_role("button", name="Plan remediation").click()
    ada.wait_for_url("**/ui/remediation/*")
    assert _status(ada) == "draft"
    steps = ada.locator("table.steps-table tbody tr")
    assert steps.count() == 2
    assert "Put generated least-privilege policy" in steps.nth(0).inner_text()
    assert "Remove from group frontend-auditors" in steps.nth(1).inner_text()
    steps.nth(0).get_by_role("link", name="Read the generated policy").click()
    section = ada.locator("section.generated")
    assert ada.url.endswith("#generated-1") and section.is_visible()
    article = section.locator("#generated-1")
    assert "permscope-least-privilege-igor.cohen" in article.locator("h3").inner_text()
    figures = article.locator("dl.generated-figures").inner_text()
    check = article.locator("#generated-check-1").inner_text()
    allowed, _of, observed = check.split(" observations")[0].partition(" of ")
    assert int(allowed) == int(observed) > 0 and "(every one)" in figures
    assert "Distinct actions observed" in figures and "Widened grants" in figures
    assert "frontend-auditors" in figures and GROUP_ARN in figures  # what it replaces
    text = article.locator("pre.generated-json").inner_text()
    document = json.loads(text)  # the whole document, pretty-printed
    assert text.startswith("{\n  ") and document["Version"] == "2012-10-17"
    actions = {
        a
        for s in document["Statement"]
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert actions and all(action.startswith("iam:") for action in actions)
    assert article.locator("pre.generated-json").is_visible()  # open on the page, not behind a toggle
    article.screenshot(path=str(screenshots / "remediation-generated-policy.png"))
    ada.screenshot(path=str(screenshots / "remediation-plan-generated.png"), full_page=True)

    abe = page_as("approver")  # the approver reads the same document before approving
    abe.goto(ada.url.split("#")[0])
    assert json.loads(abe.locator("#generated-document-1").inner_text()) == document
    assert abe.get_by_role("button", name="Approve").is_visible()
