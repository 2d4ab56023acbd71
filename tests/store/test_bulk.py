"""Bulk inserts keep every value intact (COPY escaping on PostgreSQL) and roll back with the transaction."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from permscope.store.bulk import insert_rows
from permscope.store.tables import AuthorizationSystemRow, ResourceRow

AWKWARD = 'tab\there, newline\nthere, back\\slash, quote\' "dq", NUL-free ünïcode, \\N literal'


def _system(session: Session) -> int:
    row = AuthorizationSystemRow(cloud="aws", system_id="1", name="s", created_at=datetime.now(UTC))
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
