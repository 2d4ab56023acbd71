"""Alembic environment: runs migrations on the engine handed over in the config attributes."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from permscope.store.tables import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    """Run every pending migration in one transaction.

    On SQLite, foreign keys are off while migrations run (as Alembic advises for batch mode): a batch operation
    that must copy a table drops the old one, and with foreign keys on that drop would cascade to every row
    referencing it. They are checked, and turned back on, afterwards."""
    engine: Engine = config.attributes["engine"]
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:  # before anything else: SQLite ignores this pragma inside a transaction
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        try:
            context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
            with context.begin_transaction():
                context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                if broken:
                    raise RuntimeError(f"the migration left rows with dangling foreign keys: {broken[:5]}")
            connection.commit()
        finally:
            if sqlite:
                connection.rollback()
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")


run_migrations_online()
