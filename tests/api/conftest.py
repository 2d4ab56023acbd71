"""Fixtures of the API tests: an app over the `engine` fixture (SQLite and PostgreSQL) and a viewer key."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from permscope.api.app import create_app
from permscope.settings import Settings
from permscope.workflows.apikeys import ApiRole, create_api_key


@pytest.fixture
def token(engine: Engine) -> str:
    """A viewer key's bearer token (viewers may read every route there is so far)."""
    return create_api_key(engine, ApiRole.VIEWER, "tests").token


@pytest.fixture
def client(engine: Engine, token: str) -> Iterator[TestClient]:
    """A client of an app over the test database, authenticated as a viewer."""
    app = create_app(engine, Settings(database_url="sqlite://", page_size=100))
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as test_client:
        yield test_client
