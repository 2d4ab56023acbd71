"""Writers one at a time per authorization system, and readers that see one committed state.

Writers. A run of one authorization system (its inventory, its effective permissions, its run record) is one
transaction that first calls `lock_system`:
- PostgreSQL: a transaction-level advisory lock keyed on (cloud, system id). A second writer of the same system
  waits for the first to commit or roll back, then reads what it left; writers of other systems never wait.
  The lock goes with the transaction, so a writer killed mid-run (its connection closed) frees it too.
- SQLite: the database's own write lock, taken at the start of the transaction (`BEGIN IMMEDIATE`): SQLite
  has one writer at a time for the whole file, so writers of any system queue behind it, each waiting up to
  the connection's busy timeout (`store.engine.SQLITE_BUSY_TIMEOUT`, or `?timeout=` in the URL) before
  failing with "database is locked". Taking the lock before the first read means a writer never reads a state
  another writer is about to replace.
`lock_catalog` does the same for loading a cloud's action catalogue. A write that may be skipped (a key's last
use) must not queue behind an import for that long: `waiting_at_most` bounds its wait.

Readers. `read_one_state` makes every later read of a session see the same committed state of the database
(PostgreSQL: REPEATABLE READ; SQLite: a read transaction, which WAL mode keeps on one snapshot); without it
each statement may see a different commit, e.g. an inventory read before an import committed and effective
permissions read after.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

LOCK_CLASS = 0x7065726D  # "perm": the first key of every permscope advisory lock (PostgreSQL's two-key form)


def _key(name: str) -> int:
    """A stable signed 32-bit key for a lock name (equal names, equal keys, in every process)."""
    digest = hashlib.blake2b(name.encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big", signed=True)


def _sqlite_without_transaction(connection: Connection) -> bool:
    """Whether a SQLite connection has no transaction open: Python's driver opens one itself only before a
    write, so reads until then each see the latest commit and a later write may find the lock taken."""
    driver: Any = connection.connection.driver_connection
    return connection.dialect.name == "sqlite" and not driver.in_transaction


def _write_lock(session: Session, name: str) -> None:
    connection = session.connection()
    backend = connection.dialect.name
    if backend == "postgresql":
        connection.execute(
            text("SELECT pg_advisory_xact_lock(:class, :key)"), {"class": LOCK_CLASS, "key": _key(name)}
        )
    elif _sqlite_without_transaction(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")  # holds the write lock from now on


def lock_system(session: Session, cloud: str, system_id: str) -> None:
    """Make the session's transaction the only writer of one authorization system until it ends (call first)."""
    _write_lock(session, f"system:{cloud}:{system_id}")


def lock_catalog(session: Session, cloud: str) -> None:
    """Make the session's transaction the only loader of a cloud's action catalogue until it ends."""
    _write_lock(session, f"catalog:{cloud}")


def read_one_state(session: Session) -> None:
    """Make every later read of the session's transaction see one committed state (call before any read)."""
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        return
    connection = session.connection()
    if _sqlite_without_transaction(connection):
        connection.exec_driver_sql("BEGIN")  # deferred: the first read takes the snapshot, held to the end


@contextmanager
def waiting_at_most(session: Session, seconds: float) -> Iterator[None]:
    """Inside the block, the session's statements wait at most `seconds` for another writer's lock, then fail
    with an OperationalError (SQLite: the connection's busy timeout, put back after; PostgreSQL: lock_timeout for
    the rest of the transaction)."""
    connection = session.connection()
    milliseconds = max(0, int(seconds * 1000))
    if connection.dialect.name == "postgresql":
        connection.execute(
            text("SELECT set_config('lock_timeout', :wait, true)"), {"wait": f"{milliseconds}ms"}
        )
        yield
        return
    if connection.dialect.name != "sqlite":
        yield
        return
    before = int(connection.exec_driver_sql("PRAGMA busy_timeout").scalar_one())
    connection.exec_driver_sql(f"PRAGMA busy_timeout = {milliseconds}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA busy_timeout = {before}")
