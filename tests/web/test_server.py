"""The server's one app: `/` and `/docs` lead a browser to the UI, the API answers as before (401 JSON without
a key), and every UI response carries the security headers."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from permscope.web.render import CONTENT_SECURITY_POLICY

from .conftest import WebClient

EXPECTED_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


@pytest.mark.parametrize(("path", "target"), [("/", "/ui/"), ("/docs", "/ui/docs"), ("/ui", "/ui/")])
def test_a_browser_opening_the_root_or_docs_is_sent_to_the_ui(
    anonymous: TestClient, path: str, target: str
) -> None:
    answer = anonymous.get(path, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == target


def test_the_root_ends_at_the_sign_in_form_not_a_401(anonymous: TestClient) -> None:
    page = anonymous.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'id="api_key"' in page.text


@pytest.mark.parametrize(
    "path", ["/external/authorizationSystems", "/openapi.json", "/identityGovernance/permissionsManagement"]
)
def test_the_api_still_answers_401_json_without_a_bearer(anonymous: TestClient, path: str) -> None:
    answer = anonymous.get(path)
    assert answer.status_code == 401
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json()["error"]["code"] == "unauthenticated"
    assert "content-security-policy" not in answer.headers  # the API's responses are as they were


def test_the_api_does_not_take_the_ui_session(client_as: Callable[..., WebClient]) -> None:
    client = client_as("admin")
    assert client.get("/external/authorizationSystems").status_code == 401  # the cookie is for /ui only


def test_the_api_still_answers_with_a_bearer(anonymous: TestClient, keys: dict[str, str]) -> None:
    answer = anonymous.get(
        "/external/authorizationSystems", headers={"Authorization": f"Bearer {keys['viewer']}"}
    )
    assert answer.status_code == 200 and answer.json()["value"]


def _assert_security_headers(headers: object, *, page: bool) -> None:
    assert headers["content-security-policy"] == EXPECTED_CSP  # type: ignore[index]
    assert "unsafe-inline" not in headers["content-security-policy"]  # type: ignore[index]
    assert headers["x-content-type-options"] == "nosniff"  # type: ignore[index]
    assert headers["referrer-policy"] == "same-origin"  # type: ignore[index]
    if page:
        assert headers["cache-control"] == "no-store"  # type: ignore[index]


def test_the_policy_is_the_contract_s() -> None:
    assert CONTENT_SECURITY_POLICY == EXPECTED_CSP


@pytest.mark.parametrize(
    ("path", "status"),
    [("/ui/sign-in", 200), ("/ui/", 303), ("/ui/no-such-page", 303), ("/ui/static/app.css", 200)],
)
def test_every_ui_response_carries_the_security_headers(
    anonymous: TestClient, path: str, status: int
) -> None:
    answer = anonymous.get(path, follow_redirects=False)
    assert answer.status_code == status
    _assert_security_headers(answer.headers, page=not path.startswith("/ui/static/"))


def test_error_pages_of_a_signed_in_person_have_the_layout_and_headers(
    client_as: Callable[..., WebClient],
) -> None:
    client = client_as("viewer")
    missing = client.get("/ui/no-such-page")
    assert missing.status_code == 404 and "There is no such page." in missing.text
    assert "Sign out" in missing.text
    _assert_security_headers(missing.headers, page=True)
    wrong_method = client.delete("/ui/sign-in")
    assert wrong_method.status_code == 405
    _assert_security_headers(wrong_method.headers, page=True)


def test_static_files_are_served(anonymous: TestClient) -> None:
    css = anonymous.get("/ui/static/app.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    js = anonymous.get("/ui/static/app.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]
    outside = anonymous.get("/ui/static/%2e%2e/session.py", follow_redirects=False)
    assert outside.status_code in (303, 404) and "import" not in outside.text


def test_pages_have_no_inline_script(anonymous: TestClient) -> None:
    html = anonymous.get("/ui/sign-in").text
    assert "<script>" not in html and " on" + "click=" not in html
    assert '<script src="/ui/static/app.js" defer></script>' in html


def test_a_body_larger_than_the_limit_is_refused_unread(anonymous: TestClient) -> None:
    answer = anonymous.post(
        "/ui/sign-in", content=b"a" * 2_000_000, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert answer.status_code == 413
    _assert_security_headers(answer.headers, page=True)


def test_bad_form_input_is_a_clear_400_not_a_500(anonymous: TestClient) -> None:
    answer = anonymous.post("/ui/sign-in", data={"api_key": "x" * 600, "form_token": "t"})
    assert answer.status_code == 400 and "not valid" in answer.text


def test_the_navigation_links_the_page_groups_that_are_served(client_as: Callable[..., WebClient]) -> None:
    client = client_as("viewer")
    page = client.get("/ui/docs")
    assert '<a href="/ui/docs" aria-current="page">API docs</a>' in page.text
    served = client.app.state.web.state.page_paths  # type: ignore[attr-defined]
    assert {"/sign-in", "/sign-out", "/docs"} <= served
