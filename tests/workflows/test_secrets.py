"""The server secret behind signed tokens: configured, or made once and kept in the database for every process."""

from __future__ import annotations

import threading

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from permscope.settings import Settings
from permscope.store.tables import ServerSecretRow
from permscope.workflows.secrets import database_secret, signing_key


def _stored(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.execute(select(func.count()).select_from(ServerSecretRow)).scalar_one())


def test_the_database_secret_is_made_once_and_then_read(engine: Engine) -> None:
    assert _stored(engine) == 0
    first = database_secret(engine)
    assert len(first) >= 43 and _stored(engine) == 1
    assert database_secret(engine) == first and _stored(engine) == 1


def test_processes_starting_together_agree_on_one_secret(engine: Engine) -> None:
    start = threading.Barrier(6)
    found: list[str] = []

    def make() -> None:
        start.wait()
        found.append(database_secret(engine))

    threads = [threading.Thread(target=make) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(found) == 6 and len(set(found)) == 1
    assert _stored(engine) == 1


def test_a_configured_secret_is_used_and_nothing_is_stored(engine: Engine) -> None:
    configured = Settings(database_url="sqlite://", secret_key="s3cret")
    key = signing_key(engine, configured, "skiptoken")
    assert len(key) == 32 and _stored(engine) == 0
    assert signing_key(engine, configured, "skiptoken") == key
    assert signing_key(engine, configured, "other") != key
    assert signing_key(engine, Settings(database_url="sqlite://", secret_key="another"), "skiptoken") != key
    stored = Settings(database_url="sqlite://")
    assert signing_key(engine, stored, "skiptoken") not in (key, signing_key(engine, stored, "other"))
    assert _stored(engine) == 1
