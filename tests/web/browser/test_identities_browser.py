"""The identity explorer in Chromium: an identity with an escalation path renders with its graph (screenshot for
reviewers), a search leads to it, and the why-form answers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from demo_support import escalating
from permscope.store.tables import AuthorizationSystemRow, IdentityRow
from permscope.web.links import identity_url


def test_an_identity_page_renders_with_its_escalation_graph(
    page_as: Callable[[str], Any], live_url: str, demo_engine: Engine, screenshots: Path
) -> None:
    system_id, subject = escalating(demo_engine)["aws"]
    page = page_as("admin")
    page.goto(live_url + identity_url("aws", system_id, subject))
    graph = page.locator("svg.escalation-graph")
    graph.wait_for()
    assert graph.is_visible()
    assert page.locator("svg.escalation-graph g.node").count() >= 2  # the identity and what it reaches
    assert page.locator("svg.escalation-graph g.edge").count() >= 1
    steps = page.locator("ol.steps > li")
    assert steps.count() >= 1 and "uses" in steps.first.inner_text()
    assert page.get_by_role("heading", name="Permission Creep Index").is_visible()
    assert page.get_by_role("link", name="Request time-bound access").is_visible()
    page.screenshot(path=str(screenshots / "identity.png"), full_page=True)


def test_search_then_the_why_form_answers(
    page_as: Callable[[str], Any], live_url: str, demo_engine: Engine
) -> None:
    with Session(demo_engine) as session:  # an AWS user of the demo, found by its name
        name = session.scalar(
            select(IdentityRow.display_name)
            .join(AuthorizationSystemRow, AuthorizationSystemRow.id == IdentityRow.system_pk)
            .where(AuthorizationSystemRow.cloud == "aws", IdentityRow.kind == "user")
            .order_by(IdentityRow.display_name)
            .limit(1)
        )
    assert name
    page = page_as("viewer")
    page.goto(f"{live_url}/ui/identities")
    page.get_by_label("Name or external id").fill(name)
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name=name, exact=True).first.click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name=name, exact=True).is_visible()
    page.get_by_label("Action", exact=True).fill("s3:GetObject")
    page.get_by_label("Resource", exact=True).fill("arn:aws:s3:::no-such-bucket/key")
    page.get_by_role("button", name="Ask the engine").click()
    page.wait_for_load_state()
    answer = page.locator("#answer-heading")
    answer.wait_for()
    assert "Answer:" in answer.inner_text()
    assert "s3:GetObject" in page.locator(".why-answer").inner_text()
    # a bad action is shown by its field, keyboard-reachable, the page still usable
    page.get_by_label("Action", exact=True).fill("s3:NoSuchAction")
    page.get_by_role("button", name="Ask the engine").click()
    page.wait_for_load_state()
    assert "is not an AWS action" in page.locator("#why-action-error").inner_text()
    assert page.get_by_label("Action", exact=True).get_attribute("aria-invalid") == "true"
