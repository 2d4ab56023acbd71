"""Loading the AWS action catalogue into the database once per version."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from permscope.clouds.aws.catalog.iamdata import catalog_version
from permscope.core.ids import Cloud
from permscope.core.inventory import Action
from permscope.store.tables import ActionRow, CatalogRow
from permscope.workflows import catalog as workflow
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

    source = workflow.CATALOGS[Cloud.AWS]
    monkeypatch.setitem(workflow.CATALOGS, Cloud.AWS, workflow.CatalogSource(source.version, no_loading))  # type: ignore[arg-type]
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
    monkeypatch.setitem(workflow.CATALOGS, Cloud.AWS, workflow.CatalogSource(lambda: "old", lambda: tiny))
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
    monkeypatch.setitem(workflow.CATALOGS, Cloud.AWS, workflow.CatalogSource(lambda: "new", lambda: bigger))
    assert ensure_catalog(engine) == 2
    with Session(engine) as session:
        assert sorted(session.execute(select(ActionRow.external_id)).scalars()) == [
            "s3:GetObject",
            "s3:PutObject",
        ]


def test_unknown_cloud(engine: Engine) -> None:
    with pytest.raises(ValueError, match="no action catalogue"):
        ensure_catalog(engine, Cloud.GCP)
