"""Fast bulk inserts: COPY on PostgreSQL, executemany elsewhere; always inside the caller's transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Table, insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from permscope.store.tables import Base


def insert_rows(session: Session, table: type[Base], rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows (dicts with the same keys) into `table` as part of the session's transaction.

    PostgreSQL gets one COPY stream (psycopg's executemany costs a round trip per row, which made a
    60,000-identity import spend most of its time waiting on the network); SQLite gets the driver's
    executemany with the columns' own bind processors applied (SQLAlchemy's per-row parameter handling cost
    more than SQLite's writes on the 100,000-assignment estates).
    """
    if not rows:
        return
    target = table.__table__
    assert isinstance(target, Table)
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        _copy_rows(session, target, rows)
    elif dialect != "sqlite" or not _sqlite_rows(session, target, rows):
        session.execute(insert(target), list(rows))


def _sqlite_rows(session: Session, target: Table, rows: Sequence[dict[str, Any]]) -> bool:
    """executemany on the session's own SQLite connection, each value through its column type's bind
    processor, as SQLAlchemy would; False (nothing written) when the statement needs more than the rows' own
    values (a column default to fill in)."""
    columns = list(rows[0])
    dialect = session.get_bind().dialect
    compiled = insert(target).compile(dialect=dialect, column_keys=columns)
    order = list(compiled.positiontup or ())
    if sorted(order) != sorted(columns) or len(order) != len(columns):
        return False
    processors = [target.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in order]
    session.flush()  # ORM objects added before (the system row) are written first, as session.execute does
    cursor: Any = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    statement = str(compiled)
    try:
        cursor.executemany(
            statement,
            [
                tuple(
                    value if process is None else process(value)
                    for process, value in zip(processors, (row[name] for name in order), strict=True)
                )
                for row in rows
            ],
        )
    except sqlite3.Error as exc:  # raised as SQLAlchemy raises it (a locked database is OperationalError)
        raise DBAPIError.instance(statement, None, exc, sqlite3.Error) from exc
    finally:
        cursor.close()
    return True


def _copy_rows(session: Session, target: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Stream rows through COPY FROM STDIN on the session's own connection (so a rollback undoes them)."""
    from psycopg.types.json import Jsonb  # imported here: psycopg is only installed with PostgreSQL

    columns = list(rows[0])
    is_json = [isinstance(target.c[name].type, JSON) for name in columns]
    driver_connection: Any = session.connection().connection.driver_connection
    quoted = ", ".join(f'"{name}"' for name in columns)
    with (
        driver_connection.cursor() as cursor,
        cursor.copy(f'COPY "{target.name}" ({quoted}) FROM STDIN') as copy,
    ):
        for row in rows:
            values: list[Any] = []
            for json_column, value in zip(is_json, row.values(), strict=True):
                if value is None:
                    values.append(None)
                elif json_column:
                    values.append(Jsonb(value))
                elif isinstance(value, datetime) and value.tzinfo is None:
                    values.append(value.replace(tzinfo=UTC))
                else:
                    values.append(value)
            copy.write_row(values)
