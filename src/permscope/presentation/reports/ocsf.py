"""Findings as OCSF events for SIEMs: one Detection Finding (class_uid 2004, OCSF 1.3.0, with the cloud profile)
per finding, written as JSON lines (one event a line, streamed).

Every attribute set is one of the schema's: the finding's id, type, title, description and first and last
observation in `finding_info`; its subject in `resources`; the account, subscription or project in `cloud`;
the detector's fix in `remediation`; severity and lifecycle in `severity_id` / `status_id` / `activity_id`
(open: Create, reopened: Update, resolved: Close); `metadata.product` names permscope and its version. What
OCSF has no attribute for (the Permission Creep Index, how often the finding reopened) is under
`unmapped.permscope`, the schema's place for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

import orjson

from permscope import __version__
from permscope.analytics.registry import DETECTORS
from permscope.presentation.findings import finding_id, remediation_of

OCSF_VERSION = "1.3.0"
CLASS_UID, CLASS_NAME = 2004, "Detection Finding"
CATEGORY_UID, CATEGORY_NAME = 2, "Findings"
SEVERITY = {"low": (2, "Low"), "medium": (3, "Medium"), "high": (4, "High"), "critical": (5, "Critical")}
ACTIVITY = {"open": (1, "Create"), "reopened": (2, "Update"), "resolved": (3, "Close")}
STATUS = {"open": (1, "New"), "reopened": (1, "New"), "resolved": (4, "Resolved")}
PROVIDERS = {"aws": "AWS", "azure": "Azure", "gcp": "GCP"}
PRODUCT = {"name": "permscope", "version": __version__, "lang": "en"}


def epoch_ms(moment: datetime) -> int:
    """OCSF's timestamp_t: milliseconds since the epoch."""
    return int(moment.timestamp() * 1000)


def ocsf_event(record: Mapping[str, Any], system_name: str = "") -> dict[str, Any]:
    """One finding record (`store.findings.stream_records(..., details=True)`) as an OCSF Detection Finding."""
    state = str(record["status"])
    activity_id, activity_name = ACTIVITY.get(state, (99, state))
    status_id, status_name = STATUS.get(state, (99, state))
    severity_id, severity_name = SEVERITY.get(str(record["severity"]), (0, "Unknown"))
    detector = DETECTORS.get(record["finding_type"])
    happened = record["resolved_at"] if record.get("resolved_at") is not None else record["last_seen"]
    cloud: dict[str, Any] = {
        "provider": PROVIDERS.get(str(record["cloud"]), str(record["cloud"])),
        "account": {"uid": record["system_id"], **({"name": system_name} if system_name else {})},
    }
    if record["cloud"] == "gcp":
        cloud["project_uid"] = record["system_id"]
    finding_info: dict[str, Any] = {
        "uid": finding_id(record["fingerprint"]),
        "title": detector.title if detector is not None else record["finding_type"],
        "types": [record["finding_type"]],
        "created_time": epoch_ms(record["first_seen"]),
        "first_seen_time": epoch_ms(record["first_seen"]),
        "last_seen_time": epoch_ms(record["last_seen"]),
        "product_uid": "permscope",
    }
    if detector is not None:
        finding_info["desc"] = detector.description
    event: dict[str, Any] = {
        "class_uid": CLASS_UID,
        "class_name": CLASS_NAME,
        "category_uid": CATEGORY_UID,
        "category_name": CATEGORY_NAME,
        "activity_id": activity_id,
        "activity_name": activity_name,
        "type_uid": CLASS_UID * 100 + activity_id,
        "type_name": f"{CLASS_NAME}: {activity_name}",
        "time": epoch_ms(happened),
        "severity_id": severity_id,
        "severity": severity_name,
        "status_id": status_id,
        "status": status_name,
        "message": record["summary"],
        "metadata": {"version": OCSF_VERSION, "product": PRODUCT, "profiles": ["cloud"]},
        "finding_info": finding_info,
        "resources": [
            {
                "uid": record["subject_id"],
                "name": record["subject_name"],
                "type": record.get("subject_kind") or "",
            }
        ],
        "cloud": cloud,
    }
    fix = remediation_of(record["finding_type"])
    if fix:
        event["remediation"] = {"desc": fix}
    extras = {"pci": record.get("pci"), "state": state, "reopened": record.get("reopened", 0)}
    event["unmapped"] = {"permscope": {key: value for key, value in extras.items() if value is not None}}
    return event


def ocsf_lines(
    records: Iterable[Mapping[str, Any]], system_names: Mapping[tuple[str, str], str]
) -> Iterator[bytes]:
    """The OCSF JSON lines of finding records, one event per line (`system_names`: by (cloud, system id))."""
    for record in records:
        name = system_names.get((str(record["cloud"]), str(record["system_id"])), "")
        yield orjson.dumps(ocsf_event(record, name)) + b"\n"
