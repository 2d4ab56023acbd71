"""One writer at a time per authorization system, on SQLite and PostgreSQL, with real concurrent transactions."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from permscope.store.locks import lock_catalog, lock_system


def _second_writer(engine: Engine, system_id: str, events: list[str]) -> threading.Thread:
    """A thread whose transaction locks `system_id`, then notes that it holds the lock."""

    def write() -> None:
        with Session(engine) as session, session.begin():
            lock_system(session, "aws", system_id)
            events.append(f"second holds {system_id}")

    thread = threading.Thread(target=write)
    thread.start()
    return thread


def test_a_second_writer_of_a_system_waits_for_the_first_to_commit(engine: Engine) -> None:
    events: list[str] = []
    with Session(engine) as first, first.begin():
        lock_system(first, "aws", "111122223333")
        thread = _second_writer(engine, "111122223333", events)
        time.sleep(0.5)
        events.append("first commits")
    thread.join(timeout=30)
    assert events == ["first commits", "second holds 111122223333"]


def test_a_rolled_back_writer_frees_the_system_too(engine: Engine) -> None:
    events: list[str] = []
    with Session(engine) as first:
        first.begin()
        lock_system(first, "aws", "111122223333")
        thread = _second_writer(engine, "111122223333", events)
        time.sleep(0.3)
        events.append("first rolls back")
        first.rollback()
    thread.join(timeout=30)
    assert events == ["first rolls back", "second holds 111122223333"]


def test_writers_of_other_systems_do_not_wait_on_postgresql(
    database_url_engine: tuple[str, Engine],
) -> None:
    backend, engine = database_url_engine
    if backend != "postgres":
        pytest.skip("SQLite has one writer for the whole file: its writers always queue")
    events: list[str] = []
    with Session(engine) as first, first.begin():
        lock_system(first, "aws", "111122223333")
        lock_catalog(first, "aws")
        thread = _second_writer(engine, "444455556666", events)
        thread.join(timeout=30)
        events.append("first commits")
    assert events == ["second holds 444455556666", "first commits"]
