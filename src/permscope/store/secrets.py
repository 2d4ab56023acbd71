"""The server's own secrets in the database: read one, or keep a new one."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from permscope.store.tables import ServerSecretRow


def server_secret(session: Session, name: str) -> str | None:
    """The stored secret called `name`, None when there is none yet."""
    return session.execute(select(ServerSecretRow.value).where(ServerSecretRow.name == name)).scalar()


def add_server_secret(session: Session, name: str, value: str, now: datetime) -> None:
    """Keep a new secret (an IntegrityError at commit when another process kept one of that name first)."""
    session.add(ServerSecretRow(name=name, value=value, created_at=now))
