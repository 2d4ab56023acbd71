"""The API docs page: behind sign-in, Swagger UI from the installed package, the OpenAPI document for the
session, no inline script."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from .conftest import WebClient


def test_the_docs_page_needs_a_session(anonymous: TestClient) -> None:
    for path in ("/ui/docs", "/ui/openapi.json"):
        answer = anonymous.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/ui/sign-in?next=/ui/")


def test_the_docs_page_loads_swagger_ui_and_our_initializer(client_as: Callable[..., WebClient]) -> None:
    client = client_as("requestor")
    page = client.get("/ui/docs")
    assert page.status_code == 200
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page.text, re.S)
    assert all('src="' in attributes and not body.strip() for attributes, body in scripts)  # none inline
    sources = [re.search(r'src="([^"]+)"', attributes).group(1) for attributes, _ in scripts]  # type: ignore[union-attr]
    assert "/ui/swagger-ui/swagger-ui-bundle.js" in sources and "/ui/static/api-docs.js" in sources
    assert 'data-openapi-url="/ui/openapi.json?version=3.0"' in page.text
    policy = page.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "unsafe-eval" not in policy
    assert "unsafe-inline" not in policy.split("script-src", 1)[1].split(";", 1)[0]
    for source in sources:
        asset = client.get(source)
        assert asset.status_code == 200 and "javascript" in asset.headers["content-type"]
        assert asset.headers["x-content-type-options"] == "nosniff"


def test_the_openapi_document_is_the_api_s(client_as: Callable[..., WebClient], keys: dict[str, str]) -> None:
    client = client_as("viewer")
    document = client.get("/ui/openapi.json")
    assert document.status_code == 200 and document.headers["cache-control"] == "no-store"
    from_api = client.get("/openapi.json", headers={"Authorization": f"Bearer {keys['viewer']}"})
    assert document.json() == from_api.json()
    assert "/external/authorizationSystems" in document.json()["paths"]
