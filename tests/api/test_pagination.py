"""Server paging: every item exactly once across nextLinks, $top as the page size, $count, validated skip tokens."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from permscope.api.app import create_app
from permscope.settings import Settings

from .factories import AS, P, assert_error, seed, user

USERS = f"{P}/associatedIdentities/users"


@pytest.fixture
def many(engine: Engine) -> list[str]:
    identities = [user(f"u{i:03d}") for i in range(250)]
    seed(engine, identities=identities)
    return [identity.external_id for identity in identities]


def walk(client: TestClient, url: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Follow nextLinks from `url`; returns (items, pages)."""
    items: list[dict[str, Any]] = []
    pages: list[dict[str, Any]] = []
    next_url: str | None = url
    while next_url:
        response = client.get(next_url)
        assert response.status_code == 200, response.text
        page = response.json()
        pages.append(page)
        items.extend(page["value"])
        next_url = page.get("@odata.nextLink")
        assert len(pages) < 50
    return items, pages


@pytest.mark.postgres
def test_every_item_exactly_once(client: TestClient, many: list[str]) -> None:
    items, pages = walk(client, USERS)
    assert [len(page["value"]) for page in pages] == [100, 100, 50]
    assert sorted(item["externalId"] for item in items) == sorted(many)
    assert len({item["id"] for item in items}) == 250


@pytest.mark.postgres
def test_next_link_is_the_same_url_with_a_skiptoken(client: TestClient, many: list[str]) -> None:
    body = client.get(f"{USERS}?$orderby=displayName desc&$count=true&$select=displayName").json()
    link = urlsplit(body["@odata.nextLink"])
    assert (
        link.scheme == "http" and link.netloc == "127.0.0.1:8000" and link.path == USERS
    )  # the bind address
    query = parse_qs(link.query)
    assert query["$orderby"] == ["displayName desc"]
    assert query["$count"] == ["true"] and query["$select"] == ["displayName"]
    assert len(query["$skiptoken"]) == 1
    items, pages = walk(client, f"{USERS}?$orderby=displayName desc&$count=true&$select=displayName")
    assert [item["displayName"] for item in items] == [f"u{i:03d}" for i in reversed(range(250))]
    assert all(page["@odata.count"] == 250 for page in pages)
    assert set(items[0]) == {"@odata.type", "id", "displayName"}


@pytest.mark.postgres
@pytest.mark.parametrize(("top", "sizes"), [(150, [150, 100]), (100, [100, 100, 50]), (30, [30] * 8 + [10])])
def test_top_is_the_page_size_and_next_links_continue(
    client: TestClient, many: list[str], top: int, sizes: list[int]
) -> None:
    # Microsoft Graph semantics: $top sets the page size; @odata.nextLink walks the rest
    items, pages = walk(client, f"{USERS}?$top={top}&$orderby=displayName")
    assert [len(page["value"]) for page in pages] == sizes
    assert [item["displayName"] for item in items] == [f"u{i:03d}" for i in range(250)]


def test_top_zero_returns_an_empty_page_without_next_link(client: TestClient, many: list[str]) -> None:
    body = client.get(f"{USERS}?$top=0&$count=true").json()
    assert body["value"] == [] and body["@odata.count"] == 250 and "@odata.nextLink" not in body


def test_top_is_capped_by_the_maximum_page_size(engine: Engine, many: list[str], token: str) -> None:
    app = create_app(engine, Settings(database_url="sqlite://", max_page_size=40))
    client = TestClient(app, headers={"Authorization": f"Bearer {token}"})
    items, pages = walk(client, f"{USERS}?$top=1000")
    assert [len(page["value"]) for page in pages] == [40] * 6 + [10]
    assert len({item["id"] for item in items}) == 250


@pytest.mark.postgres
def test_filter_is_kept_across_pages(client: TestClient, many: list[str]) -> None:
    items, pages = walk(
        client, f"{USERS}?$filter=startswith(displayName,'u1') or startswith(displayName,'u2')"
    )
    assert len(items) == 150 and len(pages) == 2


def test_page_size_comes_from_the_settings(engine: Engine, many: list[str], token: str) -> None:
    app = create_app(engine, Settings(database_url="sqlite://", page_size=7))
    client = TestClient(app, headers={"Authorization": f"Bearer {token}"})
    items, pages = walk(client, USERS)
    assert [len(page["value"]) for page in pages] == [7] * 35 + [5]
    assert len({item["id"] for item in items}) == 250


@pytest.mark.postgres
def test_a_reimport_during_a_walk_does_not_shift_pages(client: TestClient, engine: Engine) -> None:
    identities = [user(f"u{i:03d}") for i in range(250)]
    seed(engine, identities=identities)
    first = client.get(USERS).json()
    sent = {item["displayName"] for item in first["value"]}
    # a re-import removes 30 users the client already received: the walk must not skip anyone after them
    seed(engine, identities=identities[30:])
    rest, _pages = walk(client, first["@odata.nextLink"])
    names = [item["displayName"] for item in rest]
    assert len(names) == len(set(names)) == 150
    assert sent.isdisjoint(names)
    assert sent | set(names) == {identity.display_name for identity in identities}


@pytest.mark.postgres
def test_skip_applies_once_across_pages(engine: Engine, token: str) -> None:
    for number in range(7):
        seed(engine, system_id=f"{number:012d}", name=f"s{number}")
    app = create_app(engine, Settings(database_url="sqlite://", page_size=2))
    client = TestClient(app, headers={"Authorization": f"Bearer {token}"})
    items, pages = walk(client, f"{AS}?$skip=3")
    assert [item["authorizationSystemName"] for item in items] == ["s3", "s4", "s5", "s6"]
    assert len(pages) == 2


def forge(data: object) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(data)).decode().rstrip("=")


def test_forged_or_foreign_skiptokens_are_400(client: TestClient, many: list[str]) -> None:
    link = client.get(USERS).json()["@odata.nextLink"]
    token = parse_qs(urlsplit(link).query)["$skiptoken"][0]
    assert client.get(f"{USERS}?$skiptoken={token}").status_code == 200
    # the same token on another query is refused: it only continues its own
    assert_error(client.get(f"{USERS}?$skiptoken={token}&$orderby=displayName"), 400, "invalidRequest")
    assert_error(client.get(f"{P}/associatedIdentities/all?$skiptoken={token}"), 400, "invalidRequest")
    fingerprint = orjson.loads(base64.urlsafe_b64decode(token + "=="))["q"]
    for bad in (
        "garbage",
        "!!!",
        forge([1]),
        forge({"n": -1, "q": fingerprint}),
        forge({"n": "1", "q": fingerprint}),
        forge({"n": 1, "q": "0" * 12}),
        forge({"n": 1, "q": fingerprint, "k": "1"}),
        forge({"n": 1, "q": fingerprint, "k": True}),
        forge({"n": 1, "q": fingerprint, "k": 1, "x": 0}),
        forge({"n": 1, "q": fingerprint, "x": 1}),
    ):
        error = assert_error(client.get(f"{USERS}?$skiptoken={bad}"), 400, "invalidRequest")
        assert "$skiptoken" in error["message"]


@pytest.mark.postgres
def test_count_is_the_whole_collection_on_every_page(client: TestClient, many: list[str]) -> None:
    # default order continues after the last key: that position must not leak into @odata.count
    _items, pages = walk(client, f"{USERS}?$count=true&$top=40")
    assert len(pages) == 7
    assert [page["@odata.count"] for page in pages] == [250] * 7


HOSTILE = {"Host": "evil.example.com", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example.com"}


def _links(body: dict[str, Any]) -> list[str]:
    return [body["@odata.context"], body["@odata.nextLink"]]


def test_links_never_echo_the_host_header(client: TestClient, many: list[str]) -> None:
    body = client.get(f"{USERS}?$top=10", headers=HOSTILE).json()
    for link in _links(body):
        assert link.startswith("http://127.0.0.1:8000/"), link  # the bind address, not the caller's Host
        assert "evil" not in link
    one = client.get(f"{AS}/123456789012", headers=HOSTILE).json()
    assert one["@odata.context"].startswith("http://127.0.0.1:8000/$metadata#")


def test_links_are_built_from_the_configured_public_url(engine: Engine, token: str, many: list[str]) -> None:
    settings = Settings(database_url="sqlite://", public_url="https://permscope.example.com/api/")
    client = TestClient(create_app(engine, settings), headers={"Authorization": f"Bearer {token}"})
    body = client.get(f"{USERS}?$top=10&$filter=startswith(displayName, 'u 1')", headers=HOSTILE).json()
    assert body["@odata.context"] == "https://permscope.example.com/api/$metadata#" + (
        "external/authorizationSystems('MTIzNDU2Nzg5MDEy')/microsoft.graph.awsAuthorizationSystem"
        "/associatedIdentities/users"
    )
    body = client.get(f"{USERS}?$top=10", headers=HOSTILE).json()
    link = urlsplit(body["@odata.nextLink"])
    assert (link.scheme, link.netloc, link.path) == ("https", "permscope.example.com", f"/api{USERS}")
    assert Settings(host="::1", port=9000).api_base_url() == "http://[::1]:9000"


@pytest.mark.parametrize(
    "url", ["permscope.example.com", "ftp://x", "https://x/?a=1", "https://x/#f", "/api"]
)
def test_a_public_url_must_be_an_absolute_http_url(url: str) -> None:
    with pytest.raises(ValueError, match="public_url"):
        Settings(public_url=url)
