"""Fast bulk inserts: COPY on PostgreSQL, executemany elsewhere; always inside the caller's transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import JSON, Boolean, Date, DateTime, LargeBinary, Table, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from permscope.core.times import equal_means_same_instant
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


@dataclass(frozen=True, slots=True)
class _Statement:
    """How rows with given keys go into one table on one SQLite dialect: the SQL, how a row becomes the tuple
    of its values in the statement's order, and the converter of each column that needs one (by position)."""

    sql: str
    values: Callable[[dict[str, Any]], tuple[Any, ...]]
    converters: tuple[tuple[int, Callable[[list[Any]], list[Any]]], ...]


# Built once per dialect, table and set of keys: compiling the statement and finding the processors cost more
# than inserting a small table's rows.
_STATEMENTS: WeakKeyDictionary[Dialect, dict[tuple[str, tuple[str, ...]], _Statement | None]] = (
    WeakKeyDictionary()
)


def _statement(dialect: Dialect, target: Table, columns: tuple[str, ...]) -> _Statement | None:
    """The cached `_Statement` for rows with `columns`, or None when the statement needs more than the rows'
    own values (a column default to fill in)."""
    known = _STATEMENTS.setdefault(dialect, {})
    key = (target.name, columns)
    if key not in known:
        compiled = insert(target).compile(dialect=dialect, column_keys=list(columns))
        order = tuple(compiled.positiontup or ())
        if sorted(order) != sorted(columns) or len(order) != len(columns):
            known[key] = None
        else:
            getter = itemgetter(*order)
            values = getter if len(order) > 1 else lambda row: (getter(row),)
            converters = tuple(
                (position, converter)
                for position, name in enumerate(order)
                if (converter := _converter(target.c[name].type, dialect)) is not None
            )
            known[key] = _Statement(str(compiled), values, converters)
    return known[key]


def _converter(column_type: Any, dialect: Dialect) -> Callable[[list[Any]], list[Any]] | None:
    """What turns a column's values into what the driver stores, as SQLAlchemy's bind processor would; None
    when the driver takes them as they are (text, numbers)."""
    impl = column_type.dialect_impl(dialect)
    process = impl.bind_processor(dialect)
    if process is None:
        return None
    affinity = column_type._type_affinity  # a TypeDecorator's is its implementation's (UtcDateTime: DateTime)
    if affinity is not None and issubclass(affinity, DateTime | Date | Boolean):
        return _Distinct(process, zoned=issubclass(affinity, DateTime))
    if isinstance(impl, LargeBinary):  # bytes are stored as they are (the processor only wraps them)
        return lambda values: [value if type(value) is bytes else process(value) for value in values]
    if isinstance(impl, JSON) and impl.none_as_null:  # None is SQL NULL without the serializer
        return lambda values: [None if value is None else process(value) for value in values]
    return lambda values: list(map(process, values))


_MEMO_LIMIT = 50_000  # distinct values a column remembers (about 10 MiB at most); more: it starts again


class _Distinct:
    """Converts each distinct value of a column once, remembering it for later inserts: for immutable values
    stored alike when equal, of which there are few (a run's times, a day, true/false, the times of an
    estate's identities, which reach every subscription or project they have grants in)."""

    def __init__(self, process: Callable[[Any], Any], *, zoned: bool) -> None:
        self._process = process
        self._zoned = zoned
        self._known: dict[Any, Any] = {}

    def __call__(self, values: list[Any]) -> list[Any]:
        distinct = set(values)
        if self._zoned and any(
            isinstance(value, datetime) and not equal_means_same_instant(value) for value in distinct
        ):
            return list(map(self._process, values))
        known = self._known
        if len(known) > _MEMO_LIMIT:
            known.clear()
        for value in distinct.difference(known):
            known[value] = self._process(value)
        return list(map(known.__getitem__, values))


def _sqlite_rows(session: Session, target: Table, rows: Sequence[dict[str, Any]]) -> bool:
    """executemany on the session's own SQLite connection, each value as its column type's bind processor
    makes it, as SQLAlchemy would; False (nothing written) when the statement needs more than the rows' own
    values (a column default to fill in)."""
    statement = _statement(session.get_bind().dialect, target, tuple(rows[0]))
    if statement is None:
        return False
    values: list[tuple[Any, ...]] = list(map(statement.values, rows))
    if statement.converters:  # column by column: each converter sees its whole column once
        columns: list[Any] = list(zip(*values, strict=True))
        for position, convert in statement.converters:
            columns[position] = convert(list(columns[position]))
        values = list(zip(*columns, strict=True))
    session.flush()  # ORM objects added before (the system row) are written first, as session.execute does
    cursor: Any = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(statement.sql, values)
    except sqlite3.Error as exc:  # raised as SQLAlchemy raises it (a locked database is OperationalError)
        raise DBAPIError.instance(statement.sql, None, exc, sqlite3.Error) from exc
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
