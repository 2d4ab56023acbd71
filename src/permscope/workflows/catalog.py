"""Loading a cloud's action catalogue into the database, once per catalogue version."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from permscope.clouds.base import plugin
from permscope.core.ids import Cloud
from permscope.store.catalog import action_count, loaded_version, replace_actions
from permscope.store.locks import lock_catalog


def ensure_catalog(engine: Engine, cloud: Cloud = Cloud.AWS) -> int:
    """Load the cloud's catalogue into the database unless that version is already there; the action count.

    One transaction: a reader never sees half a catalogue. Loaders queue (`store.locks.lock_catalog`), and the
    version is checked again once the lock is held, so two imports started at once load it once.
    CloudNotBuiltError for a cloud without a plugin.
    """
    source = plugin(cloud)
    version = source.catalog_version()
    with Session(engine) as session:
        if loaded_version(session, cloud) == version:  # the common case, without taking a write lock
            return action_count(session, cloud)
    with Session(engine) as session, session.begin():
        lock_catalog(session, cloud.value)
        if loaded_version(session, cloud) == version:
            return action_count(session, cloud)
        return replace_actions(session, cloud, version, source.catalog().actions)
