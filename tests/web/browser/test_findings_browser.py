"""The Findings pages in a real browser (headless Chromium): filter by severity with the form, open a finding,
read its evidence, fix and history, and export the view; no script error or CSP violation on the way."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any


def test_filter_by_severity_open_a_finding_and_export(
    page_as: Callable[[str], Any], live_url: str, screenshots: Path
) -> None:
    page = page_as("viewer")
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(f"{live_url}/ui/findings")
    assert page.get_by_role("heading", name="Findings", level=1).is_visible()
    everything = int(page.locator(".list-actions strong").inner_text())

    page.get_by_label("Severity").select_option("high")  # applies itself (app.js); the button works without
    page.wait_for_url("**/ui/findings?*severity=high*")
    high = int(page.locator(".list-actions strong").inner_text())
    assert 0 < high < everything
    badges = page.locator("table.findings tbody .badge.severity").all_inner_texts()
    assert badges and set(badges) == {"High"}  # the severity is said in words, not only in colour
    page.screenshot(path=str(screenshots / "findings-high.png"), full_page=True)

    with page.expect_download() as download:
        page.get_by_role("link", name="Export this view as CSV").click()
    exported = Path(download.value.path()).read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert len(rows) == high and {row["severity"] for row in rows} == {"high"}

    first = page.locator("table.findings tbody tr").first
    title = first.get_by_role("link").inner_text()
    first.get_by_role("link").click()
    page.wait_for_url("**/ui/findings/*")
    assert page.get_by_role("heading", level=1).inner_text().startswith(title)
    for section in ("Evidence", "How to fix it", "History"):
        assert page.get_by_role("heading", name=section, level=2).is_visible()
    assert "First seen by an analysis" in page.locator("table.history").inner_text()
    page.screenshot(path=str(screenshots / "finding.png"), full_page=True)
    page.get_by_role("link", name="← All findings").click()
    page.wait_for_url("**/ui/findings")
    assert not errors, errors
