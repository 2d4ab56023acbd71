"""API keys: the secret is shown once and never stored; tampered, unknown and disabled keys do not verify."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from permscope.store.locks import lock_system
from permscope.store.tables import ApiKeyRow
from permscope.workflows.apikeys import (
    KEY_USE_WAIT,
    ApiRole,
    create_api_key,
    disable_api_key,
    disable_api_keys_named,
    list_api_keys,
    record_key_use,
    verify_api_key,
)


def test_created_key_verifies_with_its_role(engine: Engine) -> None:
    key = create_api_key(engine, ApiRole.VIEWER, "ci")
    principal = verify_api_key(engine, key.token)
    assert principal is not None
    assert (principal.key_id, principal.name, principal.role) == (key.key_id, "ci", ApiRole.VIEWER)


def test_the_secret_is_nowhere_in_the_database(engine: Engine, dump_db: Callable[[Engine], Any]) -> None:
    key = create_api_key(engine, ApiRole.ADMIN, "ops")
    secret = key.token.split("_", 2)[2]
    everything = repr(dump_db(engine))
    assert key.key_id in everything  # the public id is stored...
    assert secret not in everything and key.token not in everything  # ...the secret is not


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t + "x",
        lambda t: t[:-1],
        lambda t: t.replace("psk_", "xyz_", 1),
        lambda t: "psk_000000000000_" + t.split("_", 2)[2],
        lambda t: "",
        lambda t: "psk",
        lambda t: " ",
    ],
)
def test_tampered_tokens_do_not_verify(engine: Engine, mangle: Callable[[str], str]) -> None:
    key = create_api_key(engine, ApiRole.ADMIN)
    assert verify_api_key(engine, mangle(key.token)) is None


def test_disabled_keys_stop_verifying(engine: Engine) -> None:
    kept = create_api_key(engine, ApiRole.VIEWER, "kept")
    gone = create_api_key(engine, ApiRole.VIEWER, "gone")
    assert disable_api_key(engine, gone.key_id)
    assert not disable_api_key(engine, "no-such-key")
    assert verify_api_key(engine, gone.token) is None
    assert verify_api_key(engine, kept.token) is not None
    assert [(k.name, k.disabled) for k in list_api_keys(engine)] == [("kept", False), ("gone", True)]


def test_disabling_by_name_touches_only_that_name(engine: Engine) -> None:
    first, second = (
        create_api_key(engine, ApiRole.ADMIN, "demo"),
        create_api_key(engine, ApiRole.ADMIN, "demo"),
    )
    other = create_api_key(engine, ApiRole.ADMIN, "other")
    assert disable_api_keys_named(engine, "demo") == 2
    assert disable_api_keys_named(engine, "demo") == 0
    assert verify_api_key(engine, first.token) is None and verify_api_key(engine, second.token) is None
    assert verify_api_key(engine, other.token) is not None


def test_key_use_is_recorded_at_most_once_per_interval(engine: Engine) -> None:
    key = create_api_key(engine, ApiRole.VIEWER, "busy")
    other = create_api_key(engine, ApiRole.VIEWER, "idle")
    start = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)
    minute = timedelta(minutes=1)

    def last_used() -> dict[str, datetime | None]:
        return {row.name: row.last_used_at for row in list_api_keys(engine)}

    assert last_used() == {"busy": None, "idle": None}
    assert record_key_use(engine, key.key_id, start, minute)
    assert not record_key_use(engine, key.key_id, start + timedelta(seconds=59), minute)
    assert last_used() == {"busy": start, "idle": None}
    assert record_key_use(engine, key.key_id, start + minute, minute)
    assert last_used() == {"busy": start + minute, "idle": None}
    assert not record_key_use(engine, "no-such-key", start, minute)
    assert other.key_id != key.key_id


def test_a_key_use_does_not_queue_behind_a_long_writer(engine: Engine) -> None:
    """An import holds its write lock for seconds (SQLite: the whole database's; on PostgreSQL a writer may hold
    the key's row): recording a key's use gives up after KEY_USE_WAIT, so the request it belongs to goes on."""
    key = create_api_key(engine, ApiRole.VIEWER, "used")
    now, minute = datetime(2025, 5, 1, 12, 0, tzinfo=UTC), timedelta(minutes=1)
    results: list[tuple[bool, float]] = []

    def use() -> None:
        started = time.perf_counter()
        results.append((record_key_use(engine, key.key_id, now, minute), time.perf_counter() - started))

    with Session(engine) as writer, writer.begin():
        lock_system(writer, "aws", "111122223333")  # SQLite: the database's write lock
        writer.execute(select(ApiKeyRow).where(ApiKeyRow.key_id == key.key_id).with_for_update())
        thread = threading.Thread(target=use)
        thread.start()
        thread.join(timeout=10)
        assert not thread.is_alive(), "the key's use waited for the writer"
    assert results[0][0] is False and results[0][1] < KEY_USE_WAIT + 2, results
    assert record_key_use(engine, key.key_id, now, minute)  # once the writer is gone, the use is recorded
