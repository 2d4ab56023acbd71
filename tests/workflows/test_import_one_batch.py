"""An Azure or GCP import holds one system's batch at a time: each is built when its turn comes and dropped once
stored (an organization's batches together repeat every identity per project: gigabytes)."""

from __future__ import annotations

import weakref
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from permscope.clouds.base import ImportedFiles, LazyBatches, plugin
from permscope.core.ids import Cloud
from permscope.core.inventory import InventoryBatch
from permscope.workflows.collection import import_files

CLOUDS = Path(__file__).resolve().parents[1] / "clouds"


class _Tracked(InventoryBatch):
    """A batch that can be watched (weak references) while the import goes on."""


@pytest.mark.parametrize(
    ("cloud", "export"),
    [(Cloud.AZURE, CLOUDS / "azure" / "data" / "export"), (Cloud.GCP, CLOUDS / "gcp" / "data" / "export")],
)
def test_the_previous_batch_is_gone_when_the_next_is_built(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch, cloud: Cloud, export: Path
) -> None:
    cut = type(plugin(cloud)).read_files
    built: list[weakref.ref[InventoryBatch]] = []

    def read_files(self: Any, *args: Any, **kwargs: Any) -> ImportedFiles:
        found = cut(self, *args, **kwargs)
        batches = found.batches
        assert isinstance(batches, LazyBatches)

        def build(system_id: str) -> InventoryBatch:
            assert all(ref() is None for ref in built), "an earlier batch is still held"
            batch = batches[batches.system_ids.index(system_id)]
            tracked = _Tracked(**{field.name: getattr(batch, field.name) for field in fields(batch)})
            built.append(weakref.ref(tracked))
            return tracked

        found.batches = LazyBatches(batches.system_ids, build)
        return found

    monkeypatch.setattr(type(plugin(cloud)), "read_files", read_files)
    reports = import_files(sqlite_engine, cloud, [export])
    assert len(reports) == len(built) == 2
    assert all(report.counts for report in reports)
