"""Shared fixtures: a migrated, empty database per test on SQLite and PostgreSQL; the shared data dir.

Databases. `engine` (and `database_url_engine`, which names the backend) is a migrated, empty database that
is the test's alone, and `sqlite_engine` one on SQLite only. Each pytest session (each pytest-xdist worker)
migrates from empty once per backend, on first use: on SQLite a template file that each test gets a copy of;
on PostgreSQL a database of the session's own (`permscope_test_<random>`, dropped at the end; the role needs
CREATEDB), put back after each test to exactly the state the migrations left: rows, sequences, and no
connection of the test's left open; a test that changes the schema errors and the database is rebuilt.
Tests of the migrations themselves migrate their own empty databases (`tests/store/test_engine.py`,
`tests/test_end_to_end.py`).

Which backends. Every test using `engine` runs on SQLite. It runs on PostgreSQL as well (a second copy, id
`[postgres]`, skipped when PERMSCOPE_TEST_POSTGRES_URL is unset) when its subject is SQL: every test under
`tests/store` and `tests/workflows` (the store and the workflows that write through it: transactions, locking,
COPY), and elsewhere each test marked `@pytest.mark.postgres`, the mark for a test whose outcome depends on SQL
that may differ between backends: OData options compiled to SQL ($filter, $orderby, paging, $count),
aggregates, datetime, JSON and text comparisons (case, quotes, NUL), transactions and restarts. A test that
checks response shape, serialization, parse errors, authentication or settings, and reads rows by key, runs on
SQLite only. `-m postgres` selects the tests that have a PostgreSQL copy (both copies).
"""

from __future__ import annotations

import gc
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Connection, Engine, MetaData, text
from sqlalchemy.engine import make_url

from permscope.store.engine import make_engine, upgrade

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent
SHARED_DIR = REPO_ROOT.parent / "shared"
POSTGRES_URL = os.environ.get("PERMSCOPE_TEST_POSTGRES_URL")
POSTGRES_BY_DIRECTORY = ("store", "workflows")  # directories under tests/ whose every database test is SQL
DATABASE_FILE = "permscope.sqlite3"

# Property-based tests (Hypothesis): a moderate number of examples by default, to keep CI's time; many more
# with HYPOTHESIS_PROFILE=thorough. No deadline: a request to the app over PostgreSQL on a busy machine may
# take longer than Hypothesis's 200 ms now and then. A test's database (a function-scoped fixture) is shared
# by its examples, which is what the tests want: the same estate, queried many ways.
_PROPERTY_SETTINGS = {"deadline": None, "suppress_health_check": [HealthCheck.function_scoped_fixture]}
hypothesis_settings.register_profile("default", max_examples=150, **_PROPERTY_SETTINGS)
hypothesis_settings.register_profile("thorough", max_examples=2000, **_PROPERTY_SETTINGS)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture
def shared_dir() -> Path:
    """The read-only reference data beside the repository; skips the test when it is absent."""
    if not (SHARED_DIR / "data").is_dir():
        pytest.skip(
            f"reference data not found at {SHARED_DIR} (clone the project next to shared/ to run this)"
        )
    return SHARED_DIR


def _has_postgres_copy(node: pytest.Item) -> bool:
    """True when the test's subject is SQL: under tests/store or tests/workflows, or marked `postgres`."""
    path = Path(node.path)
    if path.is_relative_to(TESTS_DIR) and path.relative_to(TESTS_DIR).parts[0] in POSTGRES_BY_DIRECTORY:
        return True
    return node.get_closest_marker("postgres") is not None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Give each database test its backends: SQLite always, PostgreSQL when its subject is SQL."""
    if "database_url_engine" not in metafunc.fixturenames:
        return
    backends = ["sqlite", "postgres"] if _has_postgres_copy(metafunc.definition) else ["sqlite"]
    metafunc.parametrize("database_url_engine", backends, indirect=True, ids=backends)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests of tests/store and tests/workflows `postgres` too, so `-m postgres` finds every copy."""
    for item in items:
        if "database_url_engine" in getattr(item, "fixturenames", ()) and _has_postgres_copy(item):
            item.add_marker(pytest.mark.postgres)


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """After the last test of a module (its fixtures gone): collect, then freeze what survives, the session's
    long-lived objects (modules, catalogues, moto's service models, caches), out of the cyclic collector's
    reach. Its full passes, automatic or the gc.collect() after an activity import, walked millions of
    them again and again: over a third of the workers' time."""
    if nextitem is None or nextitem.path != item.path:
        gc.collect()
        gc.freeze()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated from empty once per session (per xdist worker); tests get copies of it."""
    path = tmp_path_factory.mktemp("template") / DATABASE_FILE
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()  # the last connection closed checkpoints the WAL into the file: the file is complete
    assert not path.with_name(f"{DATABASE_FILE}-wal").exists()
    return path


def _sqlite_copy(template: Path, folder: Path) -> Engine:
    path = folder / DATABASE_FILE
    shutil.copyfile(template, path)
    return make_engine(f"sqlite:///{path}")


def _postgres_url(database: str) -> str:
    assert POSTGRES_URL is not None
    return make_url(POSTGRES_URL).set(database=database).render_as_string(hide_password=False)


# Every relation, column, type and constraint outside the system schemas: a test must leave these as they were.
SCHEMA_FINGERPRINT = text(
    """
    SELECT md5(
        coalesce((SELECT string_agg(concat_ws(' ', n.nspname, c.relname, c.relkind, a.attname,
                                              format_type(a.atttypid, a.atttypmod), a.attnotnull),
                                    ',' ORDER BY n.nspname, c.relname, a.attnum)
                  FROM pg_class c
                  JOIN pg_namespace n ON n.oid = c.relnamespace
                  LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                  WHERE n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'), '')
        || coalesce((SELECT string_agg(pg_get_constraintdef(k.oid), ',' ORDER BY k.conname, k.oid::text)
                     FROM pg_constraint k JOIN pg_namespace n ON n.oid = k.connamespace
                     WHERE n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'), ''))
    """
)


class PostgresDatabase:
    """The session's own database on the configured server, migrated from empty once and put back to exactly
    its migrated state (rows, sequences) after each test; a test that changes the schema errors and the
    database is rebuilt. (A database per test costs a checkpoint per DROP DATABASE on PostgreSQL 15.)"""

    def __init__(self) -> None:
        self.name = f"permscope_test_{uuid.uuid4().hex[:12]}"  # one per session: parallel runs never collide
        self.url = _postgres_url(self.name)
        self.server = make_engine(_postgres_url(make_url(POSTGRES_URL or "").database or "postgres"))
        self.admin = self.server.execution_options(isolation_level="AUTOCOMMIT")  # as CREATE DATABASE needs
        self._build()

    def _execute(self, statement: str) -> None:
        with self.admin.connect() as connection:
            connection.execute(text(statement))

    def _build(self) -> None:
        """Create and migrate the database, then remember what the migrations left in it."""
        self._execute(f'CREATE DATABASE "{self.name}"')
        engine = make_engine(self.url)
        try:
            upgrade(engine)
            self.tables = MetaData()
            self.tables.reflect(engine)  # every table, alembic_version too
            with engine.connect() as connection:
                self.rows = {
                    table.name: [dict(row) for row in connection.execute(table.select()).mappings()]
                    for table in self.tables.sorted_tables
                }
                self.sequences = connection.execute(
                    text("SELECT schemaname, sequencename, start_value, last_value FROM pg_sequences")
                ).all()
                self.fingerprint = connection.execute(SCHEMA_FINGERPRINT).scalar_one()
        finally:
            engine.dispose()

    def reset(self) -> None:
        """Back to the migrated state: end the test's stray connections, restore rows and sequences. Should
        that fail, or the schema have changed, the database is rebuilt from empty and the test errors."""
        try:
            schema_kept = self._reset()
        except Exception:
            self._rebuild()
            raise
        if not schema_kept:
            self._rebuild()
            raise AssertionError(
                "the test changed the database schema; such a test must make its own database"
            )

    def _reset(self) -> bool:
        engine = make_engine(self.url)
        try:
            with engine.begin() as connection:
                connection.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                )
                if connection.execute(SCHEMA_FINGERPRINT).scalar_one() != self.fingerprint:
                    return False
                self._restore(connection)
                return True
        finally:
            engine.dispose()

    def _rebuild(self) -> None:
        self.drop()
        self._build()

    def _restore(self, connection: Connection) -> None:
        for table in reversed(self.tables.sorted_tables):
            connection.execute(table.delete())
        for table in self.tables.sorted_tables:
            if self.rows[table.name]:
                connection.execute(table.insert(), self.rows[table.name])
        for schema, sequence, start, last in self.sequences:
            connection.execute(
                text("SELECT setval(:sequence, :value, :called)"),
                {"sequence": f'"{schema}"."{sequence}"', "value": start if last is None else last,
                 "called": last is not None},
            )  # fmt: skip

    def drop(self) -> None:
        self._execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def close(self) -> None:
        self.drop()
        self.server.dispose()


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[PostgresDatabase]:
    """The session's PostgreSQL database, migrated from empty on first use; skips without a server URL."""
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL not configured: set PERMSCOPE_TEST_POSTGRES_URL (make test does)")
    database = PostgresDatabase()
    yield database
    database.close()


@pytest.fixture
def database_url_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Engine]]:
    """(backend name, migrated empty engine of this test's own): SQLite, or PostgreSQL (see the docstring)."""
    backend: str = request.param
    if backend == "sqlite":
        engine = _sqlite_copy(request.getfixturevalue("sqlite_template"), tmp_path)
        yield backend, engine
        engine.dispose()
        return
    database: PostgresDatabase = request.getfixturevalue("postgres_database")
    engine = make_engine(database.url)
    yield backend, engine
    engine.dispose()
    database.reset()


@pytest.fixture(params=["sqlite", "postgres"])
def unmigrated_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database without any schema, on SQLite and on PostgreSQL (for migration tests): a new SQLite
    file, or a schema of its own in the configured PostgreSQL database (dropped after the test)."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / DATABASE_FILE}")
        yield engine
        engine.dispose()
        return
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL not configured: set PERMSCOPE_TEST_POSTGRES_URL (make test does)")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    server = make_engine(POSTGRES_URL)
    with server.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    engine = make_engine(url.render_as_string(hide_password=False))
    yield engine
    engine.dispose()
    with server.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    server.dispose()


@pytest.fixture
def engine(database_url_engine: tuple[str, Engine]) -> Engine:
    """A migrated, empty database: on SQLite, and on PostgreSQL too for tests whose subject is SQL."""
    return database_url_engine[1]


@pytest.fixture
def sqlite_engine(sqlite_template: Path, tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty SQLite database only (for tests whose subject is not the backend)."""
    engine = _sqlite_copy(sqlite_template, tmp_path)
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
