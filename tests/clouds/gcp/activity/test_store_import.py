"""GCP activity through the real activity importer into the store (SQLite), before the GCP plugin is registered:
a stand-in plugin gives the importer GCP's readers and a small catalogue, registered for the test only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from clouds.gcp.activity.helpers import PERMISSIONS, audit_entry, last_authentication, register_standin
from permscope.core.ids import Cloud
from permscope.store.tables import AuthorizationSystemRow, IdentityActivityRow, UsageRow
from permscope.workflows import activity


@pytest.fixture
def gcp_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    register_standin(monkeypatch)


def _rows(engine: Engine) -> tuple[dict[tuple[str, str, str | None], int], dict[str, Any]]:
    with Session(engine) as session:
        usage = {
            (r.identity_external_id, r.action, r.resource): r.count for r in session.scalars(select(UsageRow))
        }
        active = {r.identity_external_id: r.last_seen for r in session.scalars(select(IdentityActivityRow))}
    return usage, active


def test_files_into_the_store_and_again(sqlite_engine: Engine, gcp_registered: None, tmp_path: Path) -> None:
    sa = "//iam.googleapis.com/projects/my-project/serviceAccounts/robot@my-project.iam.gserviceaccount.com"
    lines = [
        audit_entry(granted=["storage.objects.get"], resource="projects/_/buckets/b1/objects/o"),
        audit_entry(granted=["storage.objects.get", "storage.made.up"], resource="projects/_/buckets/b1/objects/o"),
        audit_entry(email="ops@my-project.iam.gserviceaccount.com", method="v1.compute.instances.stop",
                    service="compute.googleapis.com", resource="projects/my-project/zones/z/instances/vm"),
        audit_entry(method="google.iam.admin.v1.CreateRole", service="iam.googleapis.com"),
    ]  # fmt: skip
    (tmp_path / "sink.jsonl").write_text("\n".join(json.dumps(line) for line in lines))
    (tmp_path / "last-auth.json").write_text(json.dumps([last_authentication(sa, "2024-05-09T07:00:00Z")]))
    report = activity.import_activity_files(sqlite_engine, [tmp_path], workers=1, cloud=Cloud.GCP)
    assert (report.sources_read, report.failures) == (2, [])
    assert report.systems == {"my-project"} and report.systems_created == ["my-project"]
    usage, active = _rows(sqlite_engine)
    assert usage == {
        ("user:alice@example.com", "storage.objects.get", "//storage.googleapis.com/projects/_/buckets/b1/objects/o"): 2,
        ("serviceAccount:ops@my-project.iam.gserviceaccount.com", "compute.instances.stop",
         "//compute.googleapis.com/projects/my-project/zones/z/instances/vm"): 1,
    }  # fmt: skip
    assert set(active) == {
        "user:alice@example.com",
        "serviceAccount:ops@my-project.iam.gserviceaccount.com",
        "serviceAccount:robot@my-project.iam.gserviceaccount.com",
    }
    assert report.stats.unknown_actions == {"method:google.iam.admin.v1.CreateRole": 1, "storage.made.up": 1}
    with Session(sqlite_engine) as session:
        assert session.scalars(select(AuthorizationSystemRow.cloud)).all() == ["gcp"]
    again = activity.import_activity_files(sqlite_engine, [tmp_path], workers=1, cloud=Cloud.GCP)
    assert (again.sources_skipped, again.sources_read) == (2, 0)
    assert _rows(sqlite_engine)[0] == usage


def test_shared_panther_entries_into_the_store(
    sqlite_engine: Engine, gcp_registered: None, shared_dir: Path
) -> None:
    """panther-labs/panther-analysis GCP audit-log test entries (Apache-2.0)."""
    path = shared_dir / "data/logs/gcp_audit_log_panther_rule_tests.jsonl"
    report = activity.import_activity_files(sqlite_engine, [path], workers=1, cloud=Cloud.GCP)
    assert report.failures == [] and report.stats.events == 143
    usage, active = _rows(sqlite_engine)
    assert {action for _member, action, _resource in usage} <= set(PERMISSIONS)  # the catalogue decides
    assert report.stats.unknown_action > report.stats.usage  # this small catalogue knows few of them
    assert "test-project" in report.systems and len(active) > 10
