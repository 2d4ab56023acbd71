"""Shared fixtures: a fresh database per test on SQLite and, when configured, PostgreSQL; the shared data dir."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from permscope.store.engine import make_engine, upgrade

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DIR = REPO_ROOT.parent / "shared"
POSTGRES_URL = os.environ.get("PERMSCOPE_TEST_POSTGRES_URL")


@pytest.fixture
def shared_dir() -> Path:
    """The read-only reference data beside the repository; skips the test when it is absent."""
    if not (SHARED_DIR / "data").is_dir():
        pytest.skip(
            f"reference data not found at {SHARED_DIR} (clone the project next to shared/ to run this)"
        )
    return SHARED_DIR


def _postgres_engine(schema: str) -> Engine:
    assert POSTGRES_URL is not None
    url = POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1)
    admin = create_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    return create_engine(url, connect_args={"options": f"-csearch_path={schema}"})


def _drop_postgres_schema(schema: str) -> None:
    assert POSTGRES_URL is not None
    admin = create_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


@contextmanager
def _empty_database(backend: str, tmp_path: Path) -> Iterator[Engine]:
    """An engine over a new, empty database (a SQLite file, or a PostgreSQL schema of its own)."""
    if backend == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'permscope.sqlite3'}")
        yield engine
        engine.dispose()
        return
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL not configured: set PERMSCOPE_TEST_POSTGRES_URL (make test does)")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = _postgres_engine(schema)
    yield engine
    engine.dispose()
    _drop_postgres_schema(schema)


@pytest.fixture(params=["sqlite", "postgres"])
def database_url_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Engine]]:
    """(backend name, migrated empty engine) on SQLite and on PostgreSQL (skipped without its URL)."""
    with _empty_database(request.param, tmp_path) as engine:
        upgrade(engine)
        yield request.param, engine


@pytest.fixture(params=["sqlite", "postgres"])
def unmigrated_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database without any schema, on SQLite and on PostgreSQL (for migration tests)."""
    with _empty_database(request.param, tmp_path) as engine:
        yield engine


@pytest.fixture
def engine(database_url_engine: tuple[str, Engine]) -> Engine:
    """A migrated, empty database, once on SQLite and once on PostgreSQL."""
    return database_url_engine[1]


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty SQLite database only (for tests whose subject is not the backend)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'permscope.sqlite3'}")
    upgrade(engine)
    yield engine
    engine.dispose()


def dump_database(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, sorted, as plain tuples: proves a failed run changed nothing."""
    from permscope.store.tables import Base

    result: dict[str, list[tuple[object, ...]]] = {}
    with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            rows = connection.execute(table.select()).all()
            result[table.name] = sorted((tuple(row) for row in rows), key=repr)
    return result


@pytest.fixture
def dump_db() -> object:
    """The `dump_database` function, as a fixture."""
    return dump_database
