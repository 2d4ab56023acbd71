"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import JSON, DateTime
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

JsonType = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")

STORED_TEXTS_REMEMBERED = 1 << 16  # distinct datetime texts a backend storing text has parsed (under 16 MiB)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite forgets the zone; we put it back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Store as UTC; naive values are taken to be UTC already."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def result_processor(self, dialect: Dialect, coltype: Any) -> Callable[[Any], datetime | None] | None:
        """Read as `process_result_value` says; text (SQLite) parsed once per distinct text: an estate's
        identities and their times come back in every subscription or project they have grants in. Never for
        datetimes the driver makes (PostgreSQL): equal ones may be in different zones."""
        process = super().result_processor(dialect, coltype)
        if process is None or self.impl_instance.result_processor(dialect, coltype) is None:
            return process
        return lru_cache(maxsize=STORED_TEXTS_REMEMBERED)(process)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Return an aware UTC datetime."""
        if value is None:
            return None
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
