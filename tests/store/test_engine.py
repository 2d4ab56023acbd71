"""Schema management: migrations match the models, empty databases are upgraded on first use, bad URLs are clear."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from permscope.core.errors import ConfigurationError
from permscope.store.engine import (
    SQLITE_BUSY_TIMEOUT,
    SQLITE_CACHE_KIB,
    current_revision,
    head_revision,
    make_engine,
    open_database,
)
from permscope.store.tables import Base


def test_migrations_match_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection)
        diff = compare_metadata(context, Base.metadata)
    # type-only differences of our UTC/JSON decorators are not schema drift
    real = [d for d in diff if not (isinstance(d, list) and d and d[0][0] == "modify_type")]
    assert real == [], f"models and migrations differ; write a migration: {real}"


def test_empty_database_is_upgraded_on_first_use(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh' / 'db.sqlite3'}"
    engine = open_database(url)
    assert current_revision(engine) == head_revision()
    assert "identities" in inspect(engine).get_table_names()
    open_database(url)  # a second open is a no-op


def test_invalid_url_is_a_clear_error_that_does_not_echo_secrets() -> None:
    with pytest.raises(ConfigurationError, match="invalid database URL") as info:
        make_engine("not a url with hunter2")
    assert "hunter2" not in str(info.value)


@pytest.mark.parametrize("url", ["oracle+nodriver://u@h/db", "mysql+nosuchdriver://u@h/db"])
def test_unsupported_backend_is_a_clear_error(url: str) -> None:
    with pytest.raises(ConfigurationError, match="unsupported database URL"):
        make_engine(url)


def test_unreachable_database_is_a_clear_error() -> None:
    with pytest.raises(ConfigurationError, match="cannot open the database"):
        open_database("postgresql://nobody@127.0.0.1:1/none")


def test_sqlite_waits_for_another_writer_unless_the_url_says_otherwise(tmp_path: Path) -> None:
    """A writer queues behind another for SQLITE_BUSY_TIMEOUT (Python's driver alone gives up after 5 s)."""
    waits = {}
    for name, url in (("default", "db.sqlite3"), ("url", "db.sqlite3?timeout=2.5")):
        engine = make_engine(f"sqlite:///{tmp_path / url}")
        with engine.connect() as connection:
            waits[name] = connection.exec_driver_sql("PRAGMA busy_timeout").scalar_one()
        engine.dispose()
    assert waits == {"default": int(SQLITE_BUSY_TIMEOUT * 1000), "url": 2500}
    assert SQLITE_BUSY_TIMEOUT >= 60


def test_sqlite_connections_get_the_estate_sized_page_cache(tmp_path: Path) -> None:
    """Every connection, not only the first: SQLite's 2 MB default made an import re-read its index pages."""
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    with engine.connect() as first, engine.connect() as second:
        sizes = [c.exec_driver_sql("PRAGMA cache_size").scalar_one() for c in (first, second)]
    engine.dispose()
    assert sizes == [-SQLITE_CACHE_KIB, -SQLITE_CACHE_KIB] and SQLITE_CACHE_KIB >= 32_768
