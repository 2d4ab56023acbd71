"""UtcDateTime reads every stored time back as an aware UTC datetime, and parses a text SQLite stores once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from permscope.store.tables import AuthorizationSystemRow

INSTANT = datetime(2024, 10, 27, 1, 30, tzinfo=UTC)  # 02:30 or 03:30 in Berlin: the night clocks go back
SPELLINGS = [
    INSTANT,
    INSTANT.replace(tzinfo=None),  # naive: taken to be UTC
    INSTANT.astimezone(timezone(timedelta(hours=-5))),
    INSTANT.astimezone(ZoneInfo("Europe/Berlin")),
]


def _store(engine: Engine, times: list[datetime]) -> None:
    with Session(engine) as session, session.begin():
        session.add_all(
            AuthorizationSystemRow(cloud="aws", system_id=str(i), name="s", created_at=moment)
            for i, moment in enumerate(times)
        )


def _read(engine: Engine) -> list[datetime]:
    with Session(engine) as session:
        return list(
            session.connection().scalars(
                select(AuthorizationSystemRow.created_at).order_by(AuthorizationSystemRow.id)
            )
        )


def test_every_spelling_reads_back_as_the_utc_instant(engine: Engine) -> None:
    _store(engine, SPELLINGS)
    for _ in range(2):  # the second read finds the parsed texts remembered (SQLite)
        found = _read(engine)
        assert found == [INSTANT] * len(SPELLINGS)
        assert all(moment.tzinfo is UTC for moment in found)


def test_sqlite_parses_a_stored_text_once(sqlite_engine: Engine) -> None:
    _store(sqlite_engine, [INSTANT, INSTANT + timedelta(seconds=1), INSTANT])
    first, other, again = _read(sqlite_engine)
    assert first is again and first is not other
    assert (first, other) == (INSTANT, INSTANT + timedelta(seconds=1))
