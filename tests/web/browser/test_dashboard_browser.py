"""The dashboard and a system's inventory in a real browser: the heat map and counters render (a screenshot is
written for reviewers), and the identities tab pages forward and back, with and without a filter."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

TO = "\u2013"  # the pager's en dash: "Rows 1\u201320 of 117"
PROD_PAGE = "/ui/systems/aws/111122223333"


def test_the_dashboard_renders_its_heat_map_and_counters(
    page_as: Callable[[str], Any], live_url: str, screenshots: Path
) -> None:
    page = page_as("viewer")
    page.goto(f"{live_url}/ui/")
    assert page.get_by_role("heading", name="Dashboard", level=1).is_visible()
    heat = page.locator("#pci-heat-map svg")
    assert heat.is_visible()
    box = heat.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 100
    assert page.get_by_role("img", name="PCI distribution per authorization system").count() == 1
    assert heat.locator("text", has_text="demo-production").count() >= 1
    assert int(page.locator("#count-systems").inner_text().replace(",", "")) == 8
    assert int(page.locator("#count-identities").inner_text().replace(",", "")) > 0
    assert page.locator("#riskiest tbody tr").count() == 10
    page.screenshot(path=str(screenshots / "dashboard.png"), full_page=True)
    page.locator("#pci-heat-map svg a").first.click()  # a system's label leads to its page
    page.wait_for_load_state()
    assert "/ui/systems/" in page.url and page.locator("#inventory").is_visible()


def test_a_systems_identities_tab_pages_and_filters(
    page_as: Callable[[str], Any], live_url: str, screenshots: Path
) -> None:
    page = page_as("viewer")
    page.goto(f"{live_url}{PROD_PAGE}?size=20")
    status = page.locator(".pager-status")
    assert status.inner_text().startswith(f"Rows 1{TO}20 of ")
    first = page.locator("#inventory tbody th").all_inner_texts()
    page.get_by_role("link", name="Next →").click()
    page.wait_for_load_state()
    assert "page=2" in page.url and status.inner_text().startswith(f"Rows 21{TO}40 of ")
    second = page.locator("#inventory tbody th").all_inner_texts()
    assert len(second) == 20 and not set(first) & set(second)
    page.get_by_role("link", name="← Previous").click()
    page.wait_for_load_state()
    assert page.locator("#inventory tbody th").all_inner_texts() == first
    page.get_by_label("Kind").select_option("role")  # app.js submits the filter on change
    page.wait_for_url("**kind=role**")
    assert set(page.locator("#inventory tbody td:nth-child(2)").all_inner_texts()) == {"role"}
    page.screenshot(path=str(screenshots / "system-identities.png"), full_page=True)
    page.get_by_role("link", name="Policies").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Policies", level=2).is_visible()
