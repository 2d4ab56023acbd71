"""Alembic environment: runs migrations on the engine handed over in the config attributes."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from permscope.store.tables import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    """Run every pending migration in one transaction."""
    engine: Engine = config.attributes["engine"]
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()
