"""Sign-in and sign-out in a real browser (headless Chromium): the form, the navigation, and a session that is
gone after sign-out, for the back button and for a copy of the old cookie alike."""

from __future__ import annotations

from typing import Any

from .conftest import sign_in_page


def test_sign_in_see_the_layout_sign_out_and_the_old_session_is_gone(
    browser: Any, live_url: str, keys: dict[str, str], screenshots: Any
) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on(
            "console",
            lambda message: (
                errors.append(message.text)
                if message.type == "error"
                and "Failed to load resource" not in message.text  # the 401 of a wrong key
                else None
            ),
        )
        page.goto(f"{live_url}/")  # the root leads a browser to the sign-in form
        assert "/ui/sign-in" in page.url
        page.get_by_label("API key").fill("psk_000000000000_wrong")
        page.get_by_role("button", name="Sign in").click()
        assert page.get_by_role("alert").inner_text().startswith("Error:")

        sign_in_page(page, live_url, keys["viewer"])
        header = page.locator("header")
        assert "vic.viewer@example.com" in header.inner_text()
        assert page.get_by_role("navigation", name="Main").count() == 1
        sign_out = page.get_by_role("button", name="Sign out")
        assert sign_out.is_visible()
        page.keyboard.press("Tab")  # the first stop is the skip link, shown when focused
        assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
        page.screenshot(path=str(screenshots / "signed-in.png"), full_page=True)
        old_cookies = context.cookies()
        assert any(cookie["name"] == "permscope_session" and cookie["httpOnly"] for cookie in old_cookies)
        assert page.evaluate("document.cookie") == ""  # HttpOnly: no script reads the session

        sign_out.click()
        page.wait_for_url("**/ui/sign-in?signed_out=true")
        assert "You are signed out." in page.content()
        page.go_back()  # back to the signed-in page: the server asks for a sign-in again
        page.wait_for_load_state()
        assert "/ui/sign-in" in page.url and page.get_by_role("button", name="Sign out").count() == 0
        assert not errors, (
            errors
        )  # no CSP violation (Chromium logs them as errors) or script error on any page
    finally:
        context.close()

    replay = browser.new_context()
    try:
        replay.add_cookies(
            old_cookies
        )  # a copy of the cookie taken before sign-out no longer signs anyone in
        page = replay.new_page()
        page.goto(f"{live_url}/ui/")
        assert "/ui/sign-in" in page.url
        assert page.get_by_role("button", name="Sign out").count() == 0
    finally:
        replay.close()
