"""A requestor asks for time-bound access in one browser, an approver approves it in another, and the requestor
then sees it approved: the issue's request flow, through the pages' own forms and buttons."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from permscope.web.links import request_new_url

from ..requests_support import Sandbox, enabled_sandbox


@pytest.fixture(scope="module")
def sandbox(demo_engine: Engine) -> Iterator[Sandbox]:
    """The demo's sandbox account, open to permissions requests."""
    yield from enabled_sandbox(demo_engine)


def test_a_request_created_by_a_requestor_is_approved_by_an_approver(
    page_as: Callable[[str], Any], live_url: str, sandbox: Sandbox, screenshots: Path
) -> None:
    rita = page_as("requestor")
    rita.goto(live_url + request_new_url("aws", sandbox.account, sandbox.role))
    assert rita.get_by_label("Authorization system").input_value() == sandbox.account
    rita.get_by_label("Actions, policies or roles").fill("s3:GetObjekt")
    rita.get_by_label("Justification").fill("browser test: read the reports")
    rita.get_by_role("button", name="Submit request").click()
    rita.wait_for_load_state()
    assert "not an AWS action" in rita.locator("#f-values-error").inner_text()
    rita.screenshot(path=str(screenshots / "request-form-error.png"), full_page=True)
    rita.get_by_label("Actions, policies or roles").fill("s3:GetObject")
    rita.get_by_role("button", name="Submit request").click()
    rita.wait_for_url("**/ui/requests/*")
    request_path = rita.url.removeprefix(live_url)
    assert "submitted" in rita.locator("dl.facts").first.inner_text()
    assert rita.get_by_role("button", name="Approve").count() == 0

    abe = page_as("approver")
    abe.goto(f"{live_url}/ui/requests?tab=approval")
    abe.screenshot(path=str(screenshots / "requests-approval-queue.png"), full_page=True)
    abe.locator(f'a[href="{request_path}"]').click()
    abe.wait_for_url(f"**{request_path}")
    abe.get_by_label("Justification").fill("approved from the browser")
    abe.get_by_role("button", name="Approve").click()
    abe.wait_for_load_state()
    assert abe.get_by_role("button", name="Approve").count() == 0
    abe.screenshot(path=str(screenshots / "request-approved.png"), full_page=True)

    rita.reload()
    facts = rita.locator("dl.facts").first.inner_text()
    assert "approved" in facts and "abe.approver@example.com" in rita.content()
    assert "approved from the browser" in rita.content()
