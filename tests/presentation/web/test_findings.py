"""The Findings pages' view-models: filters read and written back, bad values named by field, the query they
make, and one finding's page (identities, resources, escalation steps, evidence, fix, history)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from permscope.core.access import Systems
from permscope.core.findings import Finding, FindingSubject, PciScore, Severity
from permscope.core.ids import Cloud
from permscope.core.inventory import AuthorizationSystem, Identity, IdentityKind
from permscope.presentation.findings import finding_id, finding_to_wire, remediation_of
from permscope.presentation.stored_findings import FINDING_CSV_FIELDS, finding_csv_row
from permscope.presentation.web.findings import (
    MAX_ITEMS,
    FilterError,
    FindingFilters,
    evidence_item,
    filter_options,
    finding_detail,
    list_row,
    parse_filters,
    words,
)
from permscope.store.findings import FindingOrder, FindingStatus, TimeRange
from permscope.store.tables import AuthorizationSystemRow

ACCOUNT = "123456789012"
BOB = f"arn:aws:iam::{ACCOUNT}:user/bob"
ADMIN_ROLE = f"arn:aws:iam::{ACCOUNT}:role/admin"
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def test_no_parameters_is_every_open_finding_worst_first() -> None:
    filters = parse_filters({})
    assert filters == FindingFilters()
    assert filters.state is FindingStatus.OPEN and filters.order is FindingOrder.SEVERITY
    assert filters.params() == []


def test_filters_are_read_and_written_back() -> None:
    given = {
        "cloud": "AWS",
        "system": f" {ACCOUNT} ",
        "type": "microsoft.graph.SUPERUSERFINDING",
        "severity": "High",
        "state": "reopened",
        "first_seen_from": "2026-01-01",
        "first_seen_to": "2026-01-31",
        "last_seen_from": "2026-02-01",
        "last_seen_to": "2026-02-01",
        "sort": "last-seen",
    }
    filters = parse_filters(given)
    assert (filters.cloud, filters.system, filters.finding_type, filters.severity) == (
        "aws",
        ACCOUNT,
        "superUserFinding",
        "high",
    )
    assert filters.state is FindingStatus.REOPENED and filters.order is FindingOrder.LAST_SEEN
    assert dict(filters.params()) == {**given, "cloud": "aws", "system": ACCOUNT, "type": "superUserFinding",
                                      "severity": "high"}  # fmt: skip
    assert parse_filters(dict(filters.params())) == filters  # a link keeps exactly the view


def test_state_absent_is_open_and_empty_is_any() -> None:
    assert parse_filters({}).state is FindingStatus.OPEN
    assert parse_filters({"state": ""}).state is FindingStatus.ALL
    assert parse_filters({"state": "all"}).state is FindingStatus.ALL
    assert ("state", "all") in parse_filters({"state": ""}).params()


@pytest.mark.parametrize(
    ("params", "field_name"),
    [
        ({"cloud": "oracle"}, "cloud"),
        ({"type": "noSuchFinding"}, "type"),
        ({"severity": "severe"}, "severity"),
        ({"state": "closed"}, "state"),
        ({"sort": "name"}, "sort"),
        ({"first_seen_from": "yesterday"}, "first_seen_from"),
        ({"last_seen_to": "2026-02-30"}, "last_seen_to"),
        ({"first_seen_from": "2026-02-02", "first_seen_to": "2026-02-01"}, "first_seen_to"),
        ({"system": "x" * 201}, "system"),
    ],
)
def test_a_bad_value_names_its_field(params: dict[str, str], field_name: str) -> None:
    with pytest.raises(FilterError) as raised:
        parse_filters(params)
    assert raised.value.field_name == field_name and raised.value.message


def test_the_query_of_the_filters() -> None:
    filters = parse_filters({"cloud": "gcp", "severity": "low", "type": "inactiveUserFinding",
                             "first_seen_from": "2026-01-01", "last_seen_to": "2026-01-31"})  # fmt: skip
    scope = Systems(scopes=(("gcp", "*"),))
    query = filters.query([7], scope)
    assert (
        query.clouds == ("gcp",) and query.severities == ("low",) and query.types == ("inactiveUserFinding",)
    )
    assert query.system_pks == [7] and query.scope is scope and query.status is FindingStatus.OPEN
    assert query.first_seen == TimeRange(since=datetime(2026, 1, 1, tzinfo=UTC))
    assert query.last_seen == TimeRange(before=datetime(2026, 2, 1, tzinfo=UTC))  # the last day included
    assert FindingFilters().query(None, scope).first_seen == TimeRange()


def test_filter_options_follow_the_cloud() -> None:
    systems = [
        AuthorizationSystemRow(cloud="aws", system_id=ACCOUNT, name="prod"),
        AuthorizationSystemRow(cloud="gcp", system_id="proj", name="proj"),
    ]
    every = filter_options(systems)
    assert [value for value, _ in every.systems] == [ACCOUNT, "proj"]
    assert ("aws", "AWS") in every.clouds and every.severities[0][0] == "critical"
    assert any(value == "superUserFinding" for value, _ in every.types)
    label = dict(every.systems)[ACCOUNT]
    assert ACCOUNT in label and "prod" in label
    gcp = filter_options(systems, "gcp")
    assert [value for value, _ in gcp.systems] == ["proj"]
    assert not any("Aws" in value for value, _ in gcp.types) and len(gcp.types) < len(every.types)


@dataclass
class _Context:
    system: AuthorizationSystem = field(
        default_factory=lambda: AuthorizationSystem(cloud=Cloud.AWS, system_id=ACCOUNT, name="prod")
    )
    identities: dict[str, Identity] = field(default_factory=dict)
    resources: dict[str, Any] = field(default_factory=dict)


def _escalation() -> Finding:
    step = {"techniqueId": "iam:PassRole+lambda", "techniqueName": "Pass a role to a new Lambda function",
            "actions": ["iam:PassRole", "lambda:CreateFunction"], "source": BOB, "target": ADMIN_ROLE,
            "resources": [ADMIN_ROLE], "via": "", "yields": "role", "dependsOnUnseenResource": False,
            "conditional": True, "conditionKeys": ["iam:PassedToService"], "grants": False}  # fmt: skip
    detail = {"displayName": "1 step (admin)", "description": "<b>bob</b> can become admin",
              "actions": [{"externalId": "iam:PassRole"}], "resources": [{"externalId": ADMIN_ROLE}],
              "reaches": "admin", "target": ADMIN_ROLE, "steps": [step]}  # fmt: skip
    return Finding(
        finding_type="privilegeEscalationUserFinding",
        cloud=Cloud.AWS,
        system_id=ACCOUNT,
        subject=FindingSubject.IDENTITY,
        subject_id=BOB,
        subject_name="bob",
        severity=Severity.HIGH,
        summary="bob can escalate to admin in 1 step(s): iam:PassRole+lambda.",
        properties={"privilegeEscalationDetails": [detail]},
        evidence={
            "reachesAdmin": True,
            "techniques": [f"t{n}" for n in range(MAX_ITEMS + 5)],
            "nested": {"deeper": {"policies": ["a"]}},
        },
        pci=PciScore(80, {"unusedActions": 120}),
    )


def _record(finding: Finding, **changes: Any) -> dict[str, Any]:
    return {
        "fingerprint": finding.fingerprint,
        "cloud": "aws",
        "system_id": ACCOUNT,
        "finding_type": finding.finding_type,
        "severity": finding.severity.value,
        "subject_name": finding.subject_name,
        "subject_id": finding.subject_id,
        "pci": 80,
        "status": "resolved",
        "first_seen": T0,
        "last_seen": T0 + timedelta(days=3),
        "resolved_at": T0 + timedelta(days=4),
        "reopened": 2,
        "summary": finding.summary,
        **changes,
    }


def test_one_finding_page_carries_evidence_fix_and_history() -> None:
    finding = _escalation()
    bob = Identity(external_id=BOB, kind=IdentityKind.USER, display_name="bob", source="aws")
    wire = finding_to_wire(finding, _Context(identities={BOB: bob}), created=T0)
    system = AuthorizationSystemRow(cloud="aws", system_id=ACCOUNT, name="prod")
    page = finding_detail(wire, _record(finding), system, lambda external_id: f"/id?{external_id}")
    assert page.finding_id == finding_id(finding.fingerprint) and page.severity == "high"
    assert page.title and page.remediation == remediation_of(finding.finding_type) and page.remediation
    assert [(i.relation, i.name, i.external_id, i.url) for i in page.identities] == [
        ("Identity", "bob", BOB, f"/id?{BOB}")
    ]
    [path] = page.escalations
    assert path.reaches == "Admin" and path.description == "<b>bob</b> can become admin"  # escaped later
    [step] = path.steps
    assert step.technique_id == "iam:PassRole+lambda" and step.actions == [
        "iam:PassRole",
        "lambda:CreateFunction",
    ]
    assert step.conditional and step.condition_keys == ["iam:PassedToService"] and step.target == ADMIN_ROLE
    evidence = {item.label: item for item in page.evidence}
    assert evidence["Reaches admin"].text == "yes"
    assert len(evidence["Techniques"].items) == MAX_ITEMS and evidence["Techniques"].more == 5
    assert evidence["Nested"].items[0].label == "deeper"  # data keys are shown as they are
    assert page.pci == 80 and page.pci_band == "high" and ("Unused actions", "120") in page.pci_factors
    assert [e.what.split(" ")[0] for e in page.events] == ["First", "Last", "Resolved:"]
    assert page.reopened == 2 and page.state == "resolved" and page.snapshot_at == T0
    assert page.api_path.endswith(f"/findings/{page.finding_id}/microsoft.graph.{finding.finding_type}")
    assert all(item.label != "Privilege escalation details" for item in page.details)


def test_list_row_and_csv_row_of_a_record() -> None:
    finding = _escalation()
    record = _record(finding, status="open", resolved_at=None, summary="=cmd|' /C calc'!A0")
    row = list_row(record, lambda opaque: f"/ui/findings/{opaque}")
    assert row.url == f"/ui/findings/{finding_id(finding.fingerprint)}" and row.state == "open"
    assert row.title != row.finding_type  # the detector's title
    csv_row = dict(zip(FINDING_CSV_FIELDS, finding_csv_row(record), strict=True))
    assert csv_row["id"] == finding_id(finding.fingerprint) and csv_row["cloud"] == "aws"


def test_words_and_evidence_items() -> None:
    assert words("allResourcesActions") == "All resources actions"
    assert words("deniedBySCP") == "Denied by scp"
    assert words("snake_case") == "Snake case"
    assert evidence_item("x", None).text == "none" and evidence_item("x", []).text == "none"
    listed = evidence_item("Rules", [{"port": 22}, {"port": 3389}])
    assert [item.items[0].text for item in listed.items] == ["22", "3389"]
    assert evidence_item("When", date(2026, 1, 1)).text == "2026-01-01"
