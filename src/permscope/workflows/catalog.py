"""Loading a cloud's action catalogue into the database, once per catalogue version."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from permscope.clouds.aws.catalog import iamdata as aws_catalog
from permscope.core.ids import Cloud
from permscope.core.inventory import Action
from permscope.store.catalog import action_count, loaded_version, replace_actions


@dataclass(frozen=True, slots=True)
class CatalogSource:
    """Where a cloud's catalogue comes from: a cheap version probe and the full (slower) loader."""

    version: Callable[[], str]
    actions: Callable[[], list[Action]]


CATALOGS: dict[Cloud, CatalogSource] = {
    Cloud.AWS: CatalogSource(
        version=aws_catalog.catalog_version,
        actions=lambda: aws_catalog.load_catalog().actions,
    ),
}


def ensure_catalog(engine: Engine, cloud: Cloud = Cloud.AWS) -> int:
    """Load the cloud's catalogue into the database unless that version is already there; the action count.

    One transaction: a reader never sees half a catalogue.
    """
    source = CATALOGS.get(cloud)
    if source is None:
        raise ValueError(f"no action catalogue is available for {cloud.value} yet")
    version = source.version()
    with Session(engine) as session, session.begin():
        if loaded_version(session, cloud) == version:
            return action_count(session, cloud)
        return replace_actions(session, cloud, version, source.actions())
