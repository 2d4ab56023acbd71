"""Real `permscope import aws` processes against a test database, and what an import leaves stored.

Used by the crash test (an import killed at many points) and the two-writers test (two imports at once): both
compare what is stored with what a clean import of one export stores, identity by identity.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from permscope.estates.aws import generate_authorization_details
from permscope.store.engine import make_engine, upgrade
from permscope.store.tables import (
    AuthorizationSystemRow,
    CollectionRunRow,
    EffectivePermissionRow,
    IdentityRow,
)
from permscope.workflows.collection import import_aws_files

ACCOUNT = "210987654321"
PERMSCOPE = str(Path(sys.executable).parent / "permscope")  # the installed command, as a user runs it


@dataclass(frozen=True, slots=True)
class StoredState:
    """One account as stored: its identities (external id, kind) and each effective-permissions row's counts."""

    identities: frozenset[tuple[str, str]]
    counts: dict[str, tuple[int, ...]]  # identity external id -> the five stored counts and catalogue version

    def differences(self, other: StoredState) -> str:
        """How far this state is from `other`, in words (for assertion messages)."""
        gone = {i for i, _ in other.identities} - {i for i, _ in self.identities}
        new = {i for i, _ in self.identities} - {i for i, _ in other.identities}
        wrong = sum(
            1 for key, value in self.counts.items() if key in other.counts and other.counts[key] != value
        )
        missing = len(other.counts.keys() - self.counts.keys())
        extra = len(self.counts.keys() - other.counts.keys())
        return (
            f"{len(gone)} identities missing, {len(new)} extra; effective permissions: {missing} identities "
            f"without, {extra} rows of unknown identities, {wrong} with other counts"
        )


@dataclass(frozen=True, slots=True)
class Export:
    """A generated export file and what a clean import of it stores."""

    path: Path
    state: StoredState


def stored_state(engine: Engine, account: str = ACCOUNT) -> StoredState | None:
    """What is stored for the account (None when it is not stored at all)."""
    with Session(engine) as session:
        pk = session.scalar(
            select(AuthorizationSystemRow.id).where(AuthorizationSystemRow.system_id == account)
        )
        if pk is None:
            return None
        identities = frozenset(
            (external_id, kind)
            for external_id, kind in session.execute(
                select(IdentityRow.external_id, IdentityRow.kind).where(IdentityRow.system_pk == pk)
            )
        )
        table = EffectivePermissionRow
        rows = session.execute(
            select(
                table.identity_external_id,
                table.granted_count,
                table.all_resources_count,
                table.specific_resources_count,
                table.conditional_count,
                table.high_severity_count,
                table.catalog_version,
            ).where(table.system_pk == pk)
        )
        return StoredState(identities, {external_id: tuple(rest) for external_id, *rest in rows})


def runs(engine: Engine, account: str = ACCOUNT) -> list[CollectionRunRow]:
    """The account's recorded collection runs, oldest first."""
    with Session(engine) as session:
        return list(
            session.scalars(
                select(CollectionRunRow)
                .where(CollectionRunRow.system_id == account)
                .order_by(CollectionRunRow.id)
            )
        )


def write_export(folder: Path, name: str, *, users: int, roles: int, seed: int) -> Path:
    """A generated account export (the estate generator's small built-in policy pool: no shared data needed)."""
    document = generate_authorization_details(
        account_id=ACCOUNT, users=users, groups=max(1, users // 25), roles=roles,
        customer_policies=max(1, users // 6), seed=seed,
    )  # fmt: skip
    path = folder / f"{name}.json"
    path.write_bytes(orjson.dumps(document))
    return path


def clean_export(folder: Path, name: str, *, users: int, roles: int, seed: int) -> Export:
    """Generate an export and import it, uninterrupted, into a fresh SQLite database of its own."""
    path = write_export(folder, name, users=users, roles=roles, seed=seed)
    engine = make_engine(f"sqlite:///{folder / f'{name}.sqlite3'}")
    try:
        upgrade(engine)
        import_aws_files(engine, [path])
        state = stored_state(engine)
    finally:
        engine.dispose()
    assert state is not None
    return Export(path, state)


def database_url(engine: Engine) -> str:
    """The URL a `permscope --database-url` subprocess needs to reach the test's database."""
    return engine.url.render_as_string(hide_password=False)


def start_import(url: str, path: Path, *extra: str) -> subprocess.Popen[bytes]:
    """Start `permscope --database-url URL import aws FILE --format json` (stdout and stderr captured)."""
    return subprocess.Popen(
        [PERMSCOPE, "--database-url", url, "import", "aws", str(path), "--format", "json", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def finished(process: subprocess.Popen[bytes], timeout: float = 180) -> tuple[int, Any, str]:
    """(exit code, the JSON it printed or None, its standard error) once the process has ended."""
    out, err = process.communicate(timeout=timeout)
    printed = orjson.loads(out) if process.returncode == 0 and out.strip() else None
    return process.returncode, printed, err.decode(errors="replace")


class WriteWatch:
    """Tells whether another process is writing to the test's database right now, whatever its code: on SQLite
    someone holds the write lock (probed with BEGIN IMMEDIATE, never waiting, released at once); on PostgreSQL
    another connection's transaction has written (it has a transaction id)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.probe: sqlite3.Connection | None = None
        if engine.dialect.name == "sqlite":
            self.probe = sqlite3.connect(str(engine.url.database), timeout=0, isolation_level=None)

    def writing(self) -> bool:
        """Whether a writer is in the middle of a transaction now."""
        if self.probe is not None:
            try:
                self.probe.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError:
                return True
            self.probe.execute("ROLLBACK")
            return False
        with self.engine.connect() as connection:
            found = connection.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL"
                )
            )
            return bool(found.scalar_one())

    def wait_for_writes(self, process: subprocess.Popen[bytes], timeout: float = 120) -> float:
        """Seconds until the process starts writing (or ends), polling every 10 ms."""
        started = time.perf_counter()
        while process.poll() is None and not self.writing():
            assert time.perf_counter() - started < timeout, "the import never wrote"
            time.sleep(0.01)
        return time.perf_counter() - started

    def take_lock_when_released(self, process: subprocess.Popen[bytes], hold: float) -> bool:
        """SQLite: once the process has written, take the write lock the moment it lets go of it and hold it for
        `hold` seconds (another writer at the worst moment); False when the process ended first."""
        assert self.probe is not None, "SQLite only"
        self.wait_for_writes(process)
        while process.poll() is None:
            try:
                self.probe.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError:
                time.sleep(0.005)
                continue
            time.sleep(hold)
            self.probe.execute("ROLLBACK")
            return True
        return False

    def close(self) -> None:
        """Close the probe's own connection."""
        if self.probe is not None:
            self.probe.close()
