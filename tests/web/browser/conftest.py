"""Fixtures of the web UI's browser tests: the server on a free port (uvicorn in a thread), Playwright driving
Debian's Chromium (never a downloaded browser), and pages signed in through the real form. Skips without
Chromium or Playwright, except where PERMSCOPE_REQUIRE_BROWSER=1 (CI): there it fails."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

REPO_ROOT = Path(__file__).resolve().parents[3]
SCREENSHOTS = REPO_ROOT / "test-output" / "screenshots"
BROWSERS = ("chromium", "chromium-browser")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _missing(why: str) -> None:
    if os.environ.get("PERMSCOPE_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{why}, and PERMSCOPE_REQUIRE_BROWSER=1 says this run must have one")
    pytest.skip(why)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def live_url(site: FastAPI) -> Iterator[str]:
    """The server (API + UI over the demo estate) answering on a free loopback port, for the session."""
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(site, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="web-tests-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the test server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium (Debian's package, found on PATH) driven by Playwright for Python. Per module, not per
    session: Playwright's sync API keeps an event loop running in the main thread while it is started, and
    other tests of the same pytest process call asyncio.run() (which refuses to run inside a running loop)."""
    executable = next((found for name in BROWSERS if (found := shutil.which(name))), None)
    if executable is None:
        _missing(f"no Chromium on this machine (none of {', '.join(BROWSERS)}; apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright for Python is not installed (pip install -e '.[dev]')")
    playwright = sync_playwright().start()
    try:
        launched = playwright.chromium.launch(executable_path=executable, args=LAUNCH_ARGS, headless=True)
    except Exception as exc:
        playwright.stop()
        _missing(f"Chromium at {executable} did not start under Playwright: {exc}")
    yield launched
    launched.close()
    playwright.stop()


def sign_in_page(page: Any, live_url: str, token: str) -> None:
    """Sign in on the sign-in form as a person does: type the key, press the button."""
    page.goto(f"{live_url}/ui/sign-in")
    page.get_by_label("API key").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    assert "/ui/sign-in" not in page.url, page.content()


@pytest.fixture
def page_as(browser: Any, live_url: str, keys: dict[str, str]) -> Iterator[Callable[[str], Any]]:
    """`page_as("approver")`: a Playwright page signed in with that key, in a browser context of its own."""
    contexts: list[Any] = []

    def make(name: str) -> Any:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        sign_in_page(page, live_url, keys[name])
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """Where the browser tests write screenshots for reviewers (test-output/screenshots, git-ignored)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
