"""The API docs page in Chromium: Swagger UI starts under the page's CSP and lists the API's operations."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any


def test_swagger_ui_lists_the_operations(page_as: Callable[[str], Any], screenshots: Path) -> None:
    page = page_as("viewer")
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.goto(page.url.split("/ui/")[0] + "/ui/docs")
    page.wait_for_selector(".opblock", timeout=30_000)
    page.screenshot(path=str(screenshots / "api-docs.png"))
    assert page.locator(".opblock").count() > 20
    assert page.locator(".opblock-summary-path", has_text="/external/authorizationSystems").count() >= 1
    assert page.get_by_role("button", name="Authorize").count() >= 1
    assert page.get_by_role("link", name="API docs").get_attribute("aria-current") == "page"  # the layout
    assert not problems, problems  # no CSP violation, no script error
