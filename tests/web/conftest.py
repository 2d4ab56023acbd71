"""Fixtures of the web UI's tests: the demo estate in a SQLite database (once per session), API keys of each
role, the server (API + UI) over it, and TestClients signed in through the real sign-in form."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from permscope.core.requests import SystemRole
from permscope.server import create_server
from permscope.settings import Settings
from permscope.store.engine import make_engine
from permscope.workflows.apikeys import ApiRole, KeyScope, create_api_key
from permscope.workflows.demo import load_demo

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
FORM_TOKEN_FIELD = re.compile(r'name="form_token" value="([^"]+)"')
PRINCIPALS = {  # who each key acts for: distinct people, so an approver never reviews their own request
    "admin": "ada.admin@example.com",
    "requestor": "rita.requestor@example.com",
    "approver": "abe.approver@example.com",
    "viewer": "vic.viewer@example.com",
}


@pytest.fixture(scope="session")
def demo_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of the session's demo database, with the estate's export files it imported under `estate/`."""
    return tmp_path_factory.mktemp("web-demo")


@pytest.fixture(scope="session")
def demo_engine(sqlite_template: Path, demo_folder: Path) -> Iterator[Engine]:
    """The demo estate (AWS, Azure, GCP: inventory, activity, analysis with findings) in a SQLite database of
    this session's own; tests that change it (requests, sign-ins, plans) share it, so they assert on what they
    made."""
    folder = demo_folder
    path = folder / "permscope.sqlite3"
    shutil.copyfile(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    load_demo(engine, folder=folder / "estate")
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def keys(demo_engine: Engine) -> dict[str, str]:
    """Bearer tokens by role name: an administrator, a requestor and an approver (scoped to every system) and a
    viewer."""
    made = {
        "admin": create_api_key(demo_engine, ApiRole.ADMIN, "web-admin", principal=PRINCIPALS["admin"]),
        "requestor": create_api_key(
            demo_engine,
            ApiRole.SCOPED,
            "web-requestor",
            principal=PRINCIPALS["requestor"],
            scopes=[KeyScope(SystemRole.REQUESTOR)],
        ),
        "approver": create_api_key(
            demo_engine,
            ApiRole.SCOPED,
            "web-approver",
            principal=PRINCIPALS["approver"],
            scopes=[KeyScope(SystemRole.APPROVER)],
        ),
        "viewer": create_api_key(demo_engine, ApiRole.VIEWER, "web-viewer", principal=PRINCIPALS["viewer"]),
    }
    return {name: key.token for name, key in made.items()}


@pytest.fixture(scope="session")
def web_settings() -> Settings:
    """The server's settings: no scheduler, the default page sizes."""
    return Settings(database_url="sqlite://", scheduler_enabled=False)


@pytest.fixture(scope="session")
def site(demo_engine: Engine, web_settings: Settings) -> FastAPI:
    """The server (API with the UI at /ui) over the demo estate."""
    return create_server(demo_engine, web_settings)


class WebClient(TestClient):
    """A TestClient holding a signed-in session's cookie."""

    def csrf_token(self, path: str = "/ui/sign-in?next=/ui/") -> str:
        """The CSRF token of this session's forms, read from the page at `path` (every page of a signed-in
        person has one in its sign-out form)."""
        page = self.get(path, follow_redirects=True)
        found = CSRF_FIELD.search(page.text)
        assert found is not None, f"no CSRF token on {path} ({page.status_code})"
        return found.group(1)


def sign_in(client: TestClient, token: str, next_path: str = "/ui/") -> None:
    """Sign `client` in through the sign-in form (GET it, then POST it as a browser does)."""
    form = client.get("/ui/sign-in")
    assert form.status_code == 200, form.text
    found = FORM_TOKEN_FIELD.search(form.text)
    assert found is not None
    answer = client.post(
        "/ui/sign-in",
        data={"api_key": token, "next": next_path, "form_token": found.group(1)},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    assert "permscope_session" in client.cookies


@pytest.fixture
def client_as(site: FastAPI, keys: dict[str, str]) -> Iterator[Callable[..., WebClient]]:
    """`client_as("viewer")`: a client signed in with that key through the sign-in form (`base_url` may be
    https://testserver, to be served as over TLS)."""
    clients: list[WebClient] = []

    def make(name: str, base_url: str = "http://testserver") -> WebClient:
        client = WebClient(site, base_url=base_url)
        client.__enter__()
        clients.append(client)
        sign_in(client, keys[name])
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def anonymous(site: FastAPI) -> Iterator[TestClient]:
    """A client that has not signed in."""
    with TestClient(site) as client:
        yield client
