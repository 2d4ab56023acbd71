"""Engines, sessions and schema upgrades (Alembic, run programmatically; no alembic.ini needed)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from permscope.core.errors import ConfigurationError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# How long a SQLite connection waits for another writer's transaction before "database is locked" (seconds).
# SQLite has one writer at a time; an import or collection holds the write lock while it writes one system's
# inventory and effective permissions (seconds; longer for the largest estates), so other writers queue
# behind it rather than fail. `?timeout=SECONDS` in the database URL sets another wait.
SQLITE_BUSY_TIMEOUT = 60.0
# Page cache of each SQLite connection, at most (KiB; SQLite's default is 2,000). An import writes findings
# and effective permissions into indexes keyed by hashes and ids, in no order: with 2 MB most of those inserts
# missed the cache and re-read their pages (an Azure import of 30 subscriptions: the findings insert 3.5 s
# against 2.4 s, and 1.5-2 s of system time). Filled only as pages are read.
SQLITE_CACHE_KIB = 65_536


def _json_text(value: Any) -> str:
    """JSON column values as text, by orjson (several times faster than the standard library's encoder)."""
    return orjson.dumps(value).decode()


# JSON columns are encoded and decoded with orjson on every backend.
JSON_CODEC: dict[str, Any] = {"json_serializer": _json_text, "json_deserializer": orjson.loads}


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Foreign keys on (SQLite leaves them off), a journal that survives crashes, and a page cache sized for
    an estate's store (`SQLITE_CACHE_KIB`)."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for a database URL; creates the parent folder of a SQLite file."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        # the text is not echoed: an unparseable URL may still hold a password
        raise ConfigurationError(
            f"invalid database URL (PERMSCOPE_DATABASE_URL or --database-url): {exc}; "
            "expected e.g. sqlite:///path/to/file.db or postgresql://user@host/db"
        ) from exc
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        waits = {} if "timeout" in parsed.query else {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT}}
        engine = create_engine(parsed, **waits, **JSON_CODEC)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    try:
        return create_engine(parsed, pool_pre_ping=True, **JSON_CODEC)
    except (NoSuchModuleError, ModuleNotFoundError) as exc:
        raise ConfigurationError(
            f"unsupported database URL {parsed.render_as_string(hide_password=True)!r}: {exc}; "
            "use sqlite:///path or postgresql://user@host/db (install permscope[postgres])"
        ) from exc


def _alembic_config(engine: Engine) -> Config:
    from alembic.config import Config  # Alembic is imported only when the schema is checked or changed

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def head_revision() -> str:
    """The newest migration revision this code knows."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_alembic_config(create_engine("sqlite://")))
    head = script.get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None for an empty database."""
    with engine.connect() as connection:
        from alembic.runtime.migration import MigrationContext

        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to the newest revision (or to `revision`)."""
    from alembic import command

    command.upgrade(_alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Take the schema back to `revision`, converting the data on the way."""
    from alembic import command

    command.downgrade(_alembic_config(engine), revision)


def open_database(url: str) -> Engine:
    """An engine whose schema is at the newest revision (an empty database is upgraded on first use)."""
    engine = make_engine(url)
    try:
        if current_revision(engine) != head_revision():
            upgrade(engine)
    except OperationalError as exc:
        raise ConfigurationError(f"cannot open the database {engine.url!r}: {exc.orig}") from exc
    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session maker whose sessions keep loaded objects usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)
