"""The scan report in a real browser (headless Chromium): it loads offline, its script runs, and the riskiest
identities' sections are open with their findings and the escalation path drawn. Skips without Chromium,
except where PERMSCOPE_REQUIRE_BROWSER=1 (set by .ci/run, which installs Debian's chromium): there it fails."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from permscope.presentation.report import write_html
from permscope.workflows.scan import scan_files
from scan_support import write_export

BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def _browser() -> str:
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    missing = f"no Chromium on this machine (none of {', '.join(BROWSERS)}; apt-get install chromium)"
    if os.environ.get("PERMSCOPE_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{missing}, and PERMSCOPE_REQUIRE_BROWSER=1 says this run must have one")
    pytest.skip(missing)


def test_report_shows_a_finding_and_an_escalation_path(tmp_path: Path) -> None:
    browser = _browser()
    result = scan_files([write_export(tmp_path)])
    report = write_html(result, tmp_path / "report.html")
    dom = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", report.as_uri()],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert 'data-ready="1"' in dom  # the inline script ran: nothing blocked, nothing fetched
    opened = re.findall(r'<details class="identity"[^>]*\bopen[^>]*>(.*?)</details>', dom, re.S)
    dev = next(section for section in opened if "arn:aws:iam::111122223333:user/dev" in section)
    assert "privilegeEscalationUserFinding" in dev
    assert '<ol class="path">' in dev and "lambda-001" in dev
    assert "arn:aws:iam::111122223333:role/deployer</span>" in dev
    assert "<script>alert" not in dom
