"""Web sessions: signed in by key, kept by hash, ended by sign-out, idleness, age and a disabled key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from permscope.settings import Settings
from permscope.store.tables import WebSessionRow
from permscope.workflows.apikeys import ApiRole, create_api_key, disable_api_key
from permscope.workflows.web_sessions import session_id_hash, sign_in, sign_out, signed_in

SETTINGS = Settings(database_url="sqlite://", web_session_idle_seconds=600, web_session_max_seconds=3600)
T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def _rows(engine: Engine) -> list[WebSessionRow]:
    with Session(engine) as session:
        return list(session.execute(select(WebSessionRow)).scalars())


def test_a_session_is_kept_by_its_hash_and_finds_its_principal(engine: Engine) -> None:
    key = create_api_key(engine, ApiRole.VIEWER, "v", principal="vic@example.com")
    created = sign_in(engine, key.token, SETTINGS, T0)
    assert created is not None
    assert [row.id_hash for row in _rows(engine)] == [session_id_hash(created.session_id)]
    assert created.session_id not in {row.id_hash for row in _rows(engine)}
    found = signed_in(engine, created.session_id, SETTINGS, T0 + timedelta(minutes=5))
    assert found is not None and found.principal.who == "vic@example.com"
    assert found.csrf_token == created.signed_in.csrf_token and len(found.csrf_token) >= 32


def test_a_wrong_key_gets_no_session(engine: Engine) -> None:
    key = create_api_key(engine, ApiRole.VIEWER, "v")
    assert sign_in(engine, key.token + "x", SETTINGS, T0) is None
    assert sign_in(engine, "", SETTINGS, T0) is None
    assert _rows(engine) == []


def test_a_session_idle_too_long_ends(engine: Engine) -> None:
    key = create_api_key(engine, ApiRole.VIEWER, "v")
    created = sign_in(engine, key.token, SETTINGS, T0)
    assert created is not None
    assert signed_in(engine, created.session_id, SETTINGS, T0 + timedelta(seconds=590)) is not None
    # the request above was more than a minute after sign-in: it counts as activity, so the session lives on
    assert signed_in(engine, created.session_id, SETTINGS, T0 + timedelta(seconds=1100)) is not None
    assert signed_in(engine, created.session_id, SETTINGS, T0 + timedelta(seconds=1800)) is None
    assert _rows(engine) == []


def test_a_session_ends_at_its_absolute_limit_however_busy(engine: Engine) -> None:
    key = create_api_key(engine, ApiRole.VIEWER, "v")
    created = sign_in(engine, key.token, SETTINGS, T0)
    assert created is not None
    for minute in range(5, 60, 5):
        assert signed_in(engine, created.session_id, SETTINGS, T0 + timedelta(minutes=minute)) is not None
    assert signed_in(engine, created.session_id, SETTINGS, T0 + timedelta(minutes=61)) is None


def test_sign_out_and_a_disabled_key_end_sessions(engine: Engine) -> None:
    key = create_api_key(engine, ApiRole.VIEWER, "v")
    first = sign_in(engine, key.token, SETTINGS, T0)
    second = sign_in(engine, key.token, SETTINGS, T0)
    assert first is not None and second is not None
    assert sign_out(engine, first.signed_in.session_id_hash) is True
    assert signed_in(engine, first.session_id, SETTINGS, T0) is None
    assert signed_in(engine, second.session_id, SETTINGS, T0) is not None
    disable_api_key(engine, key.key_id)
    assert signed_in(engine, second.session_id, SETTINGS, T0) is None
    assert _rows(engine) == []


def test_signing_in_clears_sessions_that_are_over(engine: Engine) -> None:
    key = create_api_key(engine, ApiRole.VIEWER, "v")
    old = sign_in(engine, key.token, SETTINGS, T0)
    assert old is not None
    new = sign_in(engine, key.token, SETTINGS, T0 + timedelta(hours=2))
    assert new is not None
    assert [row.id_hash for row in _rows(engine)] == [new.signed_in.session_id_hash]
