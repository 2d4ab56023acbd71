"""Bulk inserts keep every value intact (COPY escaping on PostgreSQL) and roll back with the transaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, event, insert, select
from sqlalchemy.orm import Session

from permscope.store.bulk import insert_rows
from permscope.store.tables import AuthorizationSystemRow, IdentityRow, ResourceRow

AWKWARD = 'tab\there, newline\nthere, back\\slash, quote\' "dq", NUL-free ünïcode, \\N literal'


def _system(session: Session, system_id: str = "1") -> int:
    row = AuthorizationSystemRow(cloud="aws", system_id=system_id, name="s", created_at=datetime.now(UTC))
    session.add(row)
    session.flush()
    return row.id


def _rows(system_pk: int, count: int) -> list[dict[str, object]]:
    return [
        {
            "system_pk": system_pk,
            "external_id": f"arn:aws:s3:::b{i}",
            "resource_type": "bucket",
            "service": "s3",
            "display_name": AWKWARD,
            "region": None,
            "policy": None if i % 2 else {"Statement": [{"Sid": AWKWARD, "Effect": "Allow"}]},
            "facts": {"list": [1, 2.5, None, True], "text": AWKWARD},
            "digest": "d" * 40,
        }
        for i in range(count)
    ]


def test_values_round_trip(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        insert_rows(session, ResourceRow, _rows(_system(session), 50))
    with Session(engine) as session:
        stored = session.execute(select(ResourceRow).order_by(ResourceRow.id)).scalars().all()
    assert len(stored) == 50
    assert all(r.display_name == AWKWARD for r in stored)
    assert stored[0].policy == {"Statement": [{"Sid": AWKWARD, "Effect": "Allow"}]}
    assert stored[1].policy is None  # SQL NULL, not JSON null
    assert stored[0].facts == {"list": [1, 2.5, None, True], "text": AWKWARD}
    assert stored[0].region is None


def test_rollback_undoes_bulk_insert(engine: Engine) -> None:
    with pytest.raises(RuntimeError), Session(engine) as session, session.begin():
        insert_rows(session, ResourceRow, _rows(_system(session), 10))
        raise RuntimeError("abort")
    with Session(engine) as session:
        assert session.execute(select(ResourceRow)).first() is None
        assert session.execute(select(AuthorizationSystemRow)).first() is None


def test_empty_is_a_no_op(engine: Engine) -> None:
    statements: list[str] = []

    def sent(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    with Session(engine) as session, session.begin():
        system_pk = _system(session)
        event.listen(engine, "before_cursor_execute", sent)
        try:
            insert_rows(session, ResourceRow, [])
        finally:
            event.remove(engine, "before_cursor_execute", sent)
    assert statements == []  # nothing is sent to the database
    with Session(engine) as session:
        assert session.execute(select(ResourceRow)).first() is None
        assert session.get(AuthorizationSystemRow, system_pk) is not None  # and the transaction went on


NEW_YORK = ZoneInfo("America/New_York")
# equal as Python compares them (same zone: fold is ignored), an hour apart as instants
REPEATED_HOUR = (
    datetime(2021, 11, 7, 1, 30, tzinfo=NEW_YORK),
    datetime(2021, 11, 7, 1, 30, fold=1, tzinfo=NEW_YORK),
)
TIMES = [
    None,
    datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
    datetime(2024, 5, 1, 14, 0, tzinfo=timezone(timedelta(hours=2))),  # the same instant as the one above
    datetime(2024, 5, 1, 12, 0),  # naive: taken as UTC
    datetime(2024, 5, 1, 12, 0, 0, 1, tzinfo=UTC),
]


def _identities(system_pk: int, times: list[datetime | None]) -> list[dict[str, object]]:
    return [
        {
            "system_pk": system_pk,
            "external_id": f"id-{i}",
            "kind": "user",
            "display_name": f"user {i}",
            "source": "aws",
            "created_at": created,
            "last_active_at": times[-1 - i],
            "managed_by_cloud": [True, False, 1, 0][i % 4],
            "attributes": [{}, {"a": [1, None, True]}, {"k": AWKWARD}][i % 3],
            "digest": "d" * 40,
        }
        for i, created in enumerate(times)
    ]


def _stored(session: Session, system_pk: int) -> list[tuple[object, ...]]:
    return list(
        session.connection().exec_driver_sql(
            "SELECT external_id, created_at, typeof(created_at), last_active_at, managed_by_cloud, "
            "typeof(managed_by_cloud), attributes, typeof(attributes) FROM identities "
            f"WHERE system_pk = {system_pk} ORDER BY id"
        )
    )


@pytest.mark.parametrize("times", [TIMES, [*TIMES, *REPEATED_HOUR]], ids=["fixed-zones", "repeated-hour"])
def test_values_are_stored_as_sqlalchemy_stores_them(
    sqlite_engine: Engine, times: list[datetime | None]
) -> None:
    """What insert_rows writes on SQLite is, byte for byte, what SQLAlchemy's own insert writes, including equal
    values converted once and remembered from an earlier insert of the same column."""
    with Session(sqlite_engine) as session, session.begin():
        ours, theirs, again, theirs_again = (_system(session, str(n)) for n in range(4))
        insert_rows(session, IdentityRow, _identities(ours, times))
        session.execute(insert(IdentityRow), _identities(theirs, times))
        insert_rows(session, IdentityRow, _identities(again, list(reversed(times))))
        assert _stored(session, ours) == _stored(session, theirs)
        session.execute(insert(IdentityRow), _identities(theirs_again, list(reversed(times))))
        assert _stored(session, again) == _stored(session, theirs_again)
