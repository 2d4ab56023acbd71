"""Opening the configured database (upgraded to the newest schema on first use)."""

from __future__ import annotations

from sqlalchemy import Engine

from permscope.settings import Settings, get_settings
from permscope.store.engine import open_database


def open_engine(settings: Settings | None = None) -> Engine:
    """The engine of the configured database, its schema brought up to date."""
    return open_database((settings or get_settings()).database_url)
