"""Findings as OCSF: every line one Detection Finding (class 2004, OCSF 1.3.0) holding the class's required
attributes, and no attribute the schema lacks; one event per open finding."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from permscope import __version__
from permscope.presentation.reports.ocsf import ocsf_event
from permscope.store.tables import FindingRow

from .conftest import MakeReport

# Detection Finding (1.3.0) and the base event: required attributes, and every attribute an event of it may
# hold (the class's, the Findings category's, the base event's, and the cloud profile's `cloud`)
REQUIRED = {
    "activity_id",
    "category_uid",
    "class_uid",
    "finding_info",
    "metadata",
    "severity_id",
    "time",
    "type_uid",
}
ALLOWED = REQUIRED | {
    "activity_name", "category_name", "class_name", "type_name", "severity", "status", "status_id", "message",
    "resources", "remediation", "cloud", "unmapped", "start_time", "end_time", "confidence_id", "evidences",
    "count", "duration", "timezone_offset", "raw_data", "observables", "enrichments", "status_code",
    "status_detail", "risk_score", "risk_level", "risk_level_id", "is_alert", "impact", "impact_id",
    "impact_score", "confidence", "confidence_score", "vulnerabilities", "malware", "device", "comment",
    "api", "actor", "attacks", "analytic",
}  # fmt: skip
FINDING_INFO = {"uid", "title", "desc", "types", "created_time", "first_seen_time", "last_seen_time",
                "modified_time", "product_uid", "src_url", "analytic", "related_events", "data_sources"}  # fmt: skip
METADATA = {"version", "product", "profiles", "uid", "logged_time", "labels", "event_code", "log_name"}
PRODUCT = {"name", "version", "uid", "lang", "vendor_name", "feature", "path"}
RESOURCE = {
    "uid",
    "name",
    "type",
    "labels",
    "data",
    "owner",
    "region",
    "group",
    "cloud_partition",
    "criticality",
}
CLOUD = {"provider", "account", "region", "zone", "org", "project_uid"}
SEVERITY_IDS = {"low": 2, "medium": 3, "high": 4, "critical": 5}


def check_event(event: dict[str, Any]) -> None:
    assert set(event) >= REQUIRED, REQUIRED - set(event)
    assert set(event) <= ALLOWED, set(event) - ALLOWED
    assert (event["class_uid"], event["category_uid"]) == (2004, 2)
    assert event["type_uid"] == 2004 * 100 + event["activity_id"] and event["activity_id"] in (1, 2, 3)
    assert isinstance(event["time"], int) and event["time"] > 1_500_000_000_000  # epoch milliseconds
    info = event["finding_info"]
    assert {"uid", "title"} <= set(info) and set(info) <= FINDING_INFO
    assert set(event["metadata"]) <= METADATA and event["metadata"]["version"] == "1.3.0"
    product = event["metadata"]["product"]
    assert set(product) <= PRODUCT and product["name"] == "permscope" and product["version"] == __version__
    assert all(set(resource) <= RESOURCE and resource["uid"] for resource in event["resources"])
    assert set(event["cloud"]) <= CLOUD and event["cloud"]["provider"] in ("AWS", "Azure", "GCP")
    assert set(event["remediation"]) == {"desc"} and event["remediation"]["desc"]


def test_every_open_finding_is_one_valid_detection_finding(demo: Engine, make: MakeReport) -> None:
    lines = make("analytics", "ocsf", "all").path.read_text(encoding="utf-8").splitlines()
    events = [json.loads(line) for line in lines]
    with Session(demo) as session:
        opened = session.scalar(select(func.count()).where(FindingRow.resolved_at.is_(None)))
    assert len(events) == opened
    for event in events:
        check_event(event)
        assert event["severity_id"] == SEVERITY_IDS[event["severity"].lower()]
        assert event["status_id"] == 1 and event["activity_id"] == 1  # the demo's findings are all new
    assert len({event["finding_info"]["uid"] for event in events}) == len(events)
    assert {event["cloud"]["provider"] for event in events} == {"AWS", "Azure", "GCP"}
    assert any(event["unmapped"]["permscope"].get("pci") is not None for event in events)


def test_external_ocsf_carries_only_external_access_findings(make: MakeReport) -> None:
    events = [json.loads(line) for line in make("external", "ocsf", "all").path.read_text().splitlines()]
    assert events
    types = {t for event in events for t in event["finding_info"]["types"]}
    assert "awsExternalSystemAccessFinding" in types and not any(t.startswith("inactive") for t in types)


def test_resolved_and_reopened_findings_close_and_update() -> None:
    from datetime import UTC, datetime

    base = {
        "fingerprint": "a" * 64, "cloud": "gcp", "system_id": "p-1", "finding_type": "inactiveUserFinding",
        "severity": "medium", "subject_name": "bob", "subject_id": "user:bob@example.com",
        "subject_kind": "identity", "pci": None, "summary": "bob is inactive", "reopened": 1,
        "first_seen": datetime(2026, 1, 1, tzinfo=UTC), "last_seen": datetime(2026, 2, 1, tzinfo=UTC),
    }  # fmt: skip
    closed = ocsf_event({**base, "status": "resolved", "resolved_at": datetime(2026, 3, 1, tzinfo=UTC)}, "p")
    check_event(closed)
    assert (closed["activity_id"], closed["status_id"], closed["activity_name"]) == (3, 4, "Close")
    assert closed["time"] == 1_772_323_200_000 and closed["cloud"]["project_uid"] == "p-1"
    again = ocsf_event({**base, "status": "reopened", "resolved_at": None})
    assert (again["activity_id"], again["status_id"], again["type_uid"]) == (2, 1, 200402)
    assert "pci" not in again["unmapped"]["permscope"] and again["unmapped"]["permscope"]["reopened"] == 1
