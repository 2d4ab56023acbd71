"""`GcpCollector`, the GCP plugin's live collector: one system per project through the one GCP transform
(those tests run once the transform is merged), and how collection errors become warnings."""

from __future__ import annotations

from typing import Any

import pytest
from google.api_core import exceptions as core_exceptions
from sqlalchemy import Engine

from clouds.gcp.collect.conftest import RECORDED, Record, example_org
from permscope.clouds.gcp.collect.bundle import collect_bundle
from permscope.clouds.gcp.collect.collector import GcpCollector, _project_warnings, source_label
from permscope.clouds.gcp.collect.options import PARTS, CollectOptions


def test_the_collector_names_its_parts_and_makes_its_options() -> None:
    collector = GcpCollector()
    assert collector.parts == PARTS
    options = collector.options(
        organization="100", parts=frozenset({"groups"}), impersonate="r@p.iam.gserviceaccount.com"
    )
    assert isinstance(options, CollectOptions) and options.scope == "organizations/100"
    assert source_label(options) == "live:google-cloud organizations/100 as r@p.iam.gserviceaccount.com"


def test_errors_become_warnings_of_their_project() -> None:
    bundle: dict[str, Any] = {
        "errors": [
            {"scope": "projects/locked-proj", "part": "buckets", "error": "403 Forbidden: no"},
            {"scope": "folders/202", "part": "folders", "error": "403 Forbidden: no"},
            {"scope": "customers/C01", "part": "groups", "error": "403 HttpError: no"},  # warned already
        ]
    }
    assert _project_warnings(bundle) == {
        "locked-proj": ["buckets of projects/locked-proj not read: 403 Forbidden: no"],
        "": ["folders of folders/202 not read: 403 Forbidden: no"],
    }


def test_an_organization_the_caller_may_not_read_is_an_error(record: Record) -> None:
    _recording, options = record([RECORDED / "organization-denied.json"])
    with pytest.raises(core_exceptions.Forbidden):
        collect_bundle(options)


def test_every_project_becomes_a_system(record: Record) -> None:
    _recording, options = record(example_org())
    started: list[list[str]] = []
    found = {system.system.system_id: system for system in GcpCollector().collect(options, started.append)}
    assert sorted(started[0]) == ["app-prod", "data-lake", "locked-proj"]
    assert len(found) == 3 and all(system.batch is not None for system in found.values())
    locked = next(system for system in found.values() if any("locked-proj" in w for w in system.warnings))
    assert any(w.startswith("buckets of projects/locked-proj not read: 403") for w in locked.warnings)
    assert all(system.source == "live:google-cloud organizations/100" for system in found.values())
    assert sorted(system.reach.project_id for system in found.values()) == [
        "app-prod",
        "data-lake",
        "locked-proj",
    ]
    assert "credentials" not in repr(next(iter(found.values())).reach)


def test_an_unreadable_organization_fails_the_collection_in_one_line(record: Record) -> None:
    from permscope.core.errors import PermscopeError

    _recording, options = record([RECORDED / "organization-denied.json"])
    with pytest.raises(PermscopeError, match=r"GCP organizations/100 could not be read: 403"):
        list(GcpCollector().collect(options, lambda systems: None))


def test_the_collection_workflow_stores_every_project(record: Record, sqlite_engine: Engine) -> None:
    """Once the GCP plugin serves this collector: the recorded organization collected into the store."""
    from permscope.clouds.base import plugin
    from permscope.core.errors import CloudNotBuiltError
    from permscope.core.ids import Cloud

    try:
        collector = plugin(Cloud.GCP).collector
    except (CloudNotBuiltError, KeyError, LookupError):
        collector = None
    if not isinstance(collector, GcpCollector):
        pytest.skip("the GCP plugin does not serve the live collector yet")
    from permscope.workflows.collection import collect

    _recording, options = record(example_org())
    progress: list[tuple[int, int]] = []
    reports = collect(
        sqlite_engine, Cloud.GCP, options, progress=lambda done, total: progress.append((done, total))
    )
    assert len(reports) == 3 and progress[-1] == (3, 3)
    assert all(report.status == "succeeded" for report in reports), [r.error for r in reports]
