"""The web UI over a hand-made home: the systems list shows the member systems (with the identities each sees)
and never the home; a member's identities tab lists what it sees; the explorer filtered by a member finds what it
sees and links each hit to that member's identity page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from home_support import DEV_SEES, PROD_SEES, TENANT, home_estate
from permscope.server import create_server
from permscope.settings import Settings
from permscope.workflows.apikeys import ApiRole, create_api_key

from .conftest import sign_in
from .test_identities import _links

pytestmark = pytest.mark.postgres  # the members' views are SQL (unions, IN over subqueries): both databases
IDENTITY_LINK = re.compile(r'href="(/ui/identities/[^"]+)"')


@pytest.fixture
def web(engine: Engine) -> Iterator[TestClient]:
    home_estate(engine)
    site = create_server(engine, Settings(database_url="sqlite://", scheduler_enabled=False))
    token = create_api_key(engine, ApiRole.VIEWER, "v", principal="vic.viewer@example.com").token
    with TestClient(site) as client:
        sign_in(client, token)
        yield client


def test_the_systems_list_shows_members_and_never_the_home(web: TestClient) -> None:
    page = web.get("/ui/systems")
    assert page.status_code == 200
    assert "/ui/systems/azure/prod" in page.text and "/ui/systems/azure/dev" in page.text
    assert TENANT not in page.text
    assert web.get(f"/ui/systems/azure/{TENANT}").status_code == 404


@pytest.mark.parametrize(("system_id", "sees"), [("prod", PROD_SEES), ("dev", DEV_SEES)])
def test_a_member_lists_and_finds_what_it_sees(web: TestClient, system_id: str, sees: set[str]) -> None:
    tab = web.get(f"/ui/systems/azure/{system_id}", params={"tab": "identities"})
    assert tab.status_code == 200
    assert _ids(IDENTITY_LINK.findall(tab.text), system_id) == sees
    found = web.get("/ui/identities", params={"system": system_id})
    assert _ids(_links(found.text), system_id) == sees


def _ids(links: list[str], system_id: str) -> set[str]:
    """The identities `links` point at, all on the identity pages of `system_id`."""
    assert {urlsplit(unescape(link)).path for link in links} == {f"/ui/identities/azure/{system_id}"}
    return {parse_qs(urlsplit(unescape(link)).query)["id"][0] for link in links}
