"""Sign-in and sign-out of the web UI: good and bad keys, where `next` may lead, the session cookie's flags,
CSRF on every POST, and sessions that end (sign-out, a disabled key)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from permscope.store.tables import WebSessionRow
from permscope.workflows.apikeys import ApiRole, create_api_key, disable_api_key
from permscope.workflows.web_sessions import session_id_hash

from .conftest import FORM_TOKEN_FIELD, WebClient, sign_in


def _form_token(client: TestClient) -> str:
    found = FORM_TOKEN_FIELD.search(client.get("/ui/sign-in").text)
    assert found is not None
    return found.group(1)


def _post_sign_in(client: TestClient, api_key: str, next_path: str = "/ui/") -> object:
    return client.post(
        "/ui/sign-in",
        data={"api_key": api_key, "next": next_path, "form_token": _form_token(client)},
        follow_redirects=False,
    )


def _sessions(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.execute(select(func.count()).select_from(WebSessionRow)).scalar_one())


def test_the_sign_in_form_is_accessible(anonymous: TestClient) -> None:
    page = anonymous.get("/ui/sign-in")
    assert page.status_code == 200
    html = page.text
    assert '<html lang="en">' in html and 'href="#main"' in html and '<main id="main"' in html
    assert '<label for="api_key">API key</label>' in html and 'id="api_key"' in html
    assert 'type="password"' in html
    assert "Sign out" not in html  # nobody is signed in: no navigation, no sign-out


def test_a_good_key_signs_in_and_goes_on_to_next(
    site: FastAPI, keys: dict[str, str], demo_engine: Engine
) -> None:
    with TestClient(site) as client:
        answer = _post_sign_in(client, keys["viewer"], "/ui/findings?severity=high")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/ui/findings?severity=high"
        session_id = client.cookies["permscope_session"]
        with Session(demo_engine) as session:
            row = session.get(WebSessionRow, session_id_hash(session_id))
            assert row is not None  # kept by its hash...
            assert session.get(WebSessionRow, session_id) is None  # ...never by the id itself
        page = client.get("/ui/sign-in", follow_redirects=False)  # signed in: the form sends it on
        assert page.status_code == 303 and page.headers["location"] == "/ui/"


@pytest.mark.parametrize("wrong", ["psk_0123456789ab_not-the-secret", "not a key at all", "  "])
def test_a_wrong_key_shows_the_form_again_with_an_error(anonymous: TestClient, wrong: str) -> None:
    answer = _post_sign_in(anonymous, wrong)
    assert answer.status_code in (400, 401)
    assert "permscope_session" not in anonymous.cookies
    assert 'role="alert"' in answer.text and 'aria-invalid="true"' in answer.text
    assert wrong.strip() == "" or wrong not in answer.text  # the key typed is not sent back
    if wrong.strip():
        assert answer.status_code == 401 and "not valid" in answer.text


def test_a_disabled_key_cannot_sign_in(anonymous: TestClient, demo_engine: Engine) -> None:
    key = create_api_key(demo_engine, ApiRole.VIEWER, "web-disabled-before")
    disable_api_key(demo_engine, key.key_id)
    assert _post_sign_in(anonymous, key.token).status_code == 401


def test_sign_in_needs_the_form_s_own_token(anonymous: TestClient, keys: dict[str, str]) -> None:
    """A page on another site cannot sign a browser in with the attacker's key (login CSRF)."""
    anonymous.get("/ui/sign-in")
    answer = anonymous.post(
        "/ui/sign-in",
        data={"api_key": keys["viewer"], "next": "/ui/", "form_token": "forged"},
        follow_redirects=False,
    )
    assert answer.status_code == 400 and "permscope_session" not in anonymous.cookies
    assert "expired" in answer.text


@pytest.mark.parametrize(
    "next_path",
    [
        "https://evil.example/",
        "//evil.example/ui/",
        "/\\evil.example",
        "/ui/\\\\evil.example",
        "javascript:alert(1)",
        "/external/authorizationSystems",
        "/ui/../external/authorizationSystems",
        "/uix/",
        "/ui/\r\nSet-Cookie: x=1",
        "",
    ],
)
def test_next_never_leads_outside_the_ui(site: FastAPI, keys: dict[str, str], next_path: str) -> None:
    with TestClient(site) as client:
        answer = _post_sign_in(client, keys["viewer"], next_path)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/ui/"


def test_next_is_escaped_in_the_form(anonymous: TestClient) -> None:
    page = anonymous.get('/ui/sign-in?next=/ui/"><script>alert(1)</script>')
    assert "<script>alert(1)" not in page.text
    assert "&lt;script&gt;" in page.text or "&#34;&gt;" in page.text


def test_the_session_cookie_is_http_only_strict_and_scoped_to_the_ui(
    site: FastAPI, keys: dict[str, str]
) -> None:
    with TestClient(site) as client:
        answer = _post_sign_in(client, keys["viewer"])
    cookie = next(
        value for value in answer.headers.get_list("set-cookie") if value.startswith("permscope_session=")
    )
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert "httponly" in flags and "samesite=strict" in flags and "path=/ui" in flags
    assert "secure" not in flags  # served over plain http, as on 127.0.0.1


def test_the_session_cookie_is_secure_over_https(site: FastAPI, keys: dict[str, str]) -> None:
    with TestClient(site, base_url="https://testserver") as client:
        answer = _post_sign_in(client, keys["viewer"])
    cookie = next(
        value for value in answer.headers.get_list("set-cookie") if value.startswith("permscope_session=")
    )
    assert "secure" in {part.strip().lower() for part in cookie.split(";")[1:]}


@pytest.mark.parametrize("token", [None, "", "wrong-token"])
def test_a_post_without_the_session_s_csrf_token_is_refused(
    client_as: Callable[..., WebClient], token: str | None
) -> None:
    client = client_as("viewer")
    data = {} if token is None else {"csrf_token": token}
    answer = client.post("/ui/sign-out", data=data, follow_redirects=False)
    assert answer.status_code == 403
    assert "security token" in answer.text and "Sign out" in answer.text  # the layout, signed in
    assert client.get("/ui/sign-in", follow_redirects=False).status_code == 303  # still signed in


def test_another_session_s_csrf_token_is_refused(client_as: Callable[..., WebClient]) -> None:
    first, second = client_as("viewer"), client_as("viewer")
    answer = first.post("/ui/sign-out", data={"csrf_token": second.csrf_token()}, follow_redirects=False)
    assert answer.status_code == 403


def test_sign_out_ends_the_session_and_the_old_cookie_no_longer_works(
    site: FastAPI, client_as: Callable[..., WebClient], demo_engine: Engine
) -> None:
    client = client_as("approver")
    session_id = client.cookies["permscope_session"]
    answer = client.post("/ui/sign-out", data={"csrf_token": client.csrf_token()}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/ui/sign-in?signed_out=true"
    assert any(
        value.startswith("permscope_session=") and "max-age=0" in value.lower()
        for value in answer.headers.get_list("set-cookie")
    )
    with Session(demo_engine) as session:
        assert session.get(WebSessionRow, session_id_hash(session_id)) is None
    assert "You are signed out." in client.get("/ui/sign-in?signed_out=true").text
    with TestClient(site, cookies={"permscope_session": session_id}) as replay:
        again = replay.get("/ui/", follow_redirects=False)
        assert again.status_code == 303 and again.headers["location"].startswith("/ui/sign-in")
        assert (
            replay.post("/ui/sign-out", data={"csrf_token": "x"}, follow_redirects=False).status_code == 303
        )


def test_disabling_a_key_ends_its_sessions(site: FastAPI, demo_engine: Engine) -> None:
    key = create_api_key(demo_engine, ApiRole.VIEWER, "web-disabled-later")
    with TestClient(site) as client:
        sign_in(client, key.token)
        assert client.get("/ui/sign-in", follow_redirects=False).status_code == 303  # signed in
        disable_api_key(demo_engine, key.key_id)
        answer = client.get("/ui/sign-in", follow_redirects=False)
        assert answer.status_code == 200 and 'id="api_key"' in answer.text  # signed out
    with Session(demo_engine) as session:
        left = session.execute(select(WebSessionRow).where(WebSessionRow.key_id == key.key_id)).all()
    assert left == []


def test_a_page_without_a_session_redirects_to_sign_in_and_back(anonymous: TestClient) -> None:
    answer = anonymous.get("/ui/identities?q=admin&page=2", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/ui/sign-in?next=/ui/identities%3Fq%3Dadmin%26page%3D2"
    form = anonymous.get(answer.headers["location"])
    assert 'name="next" value="/ui/identities?q=admin&amp;page=2"' in form.text


def test_a_made_up_session_cookie_is_no_session(site: FastAPI) -> None:
    with TestClient(site, cookies={"permscope_session": "made-up"}) as client:
        answer = client.get("/ui/", follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/ui/sign-in")
