"""The identity explorer's view-models over the demo estate: granted versus used, the PCI and its factors,
findings with the fix, escalation paths and their drawing, decisions in words."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from demo_support import demo_engine, escalating, granted_everywhere
from permscope.analytics.registry import DETECTORS
from permscope.core.access import Systems
from permscope.core.ids import Cloud
from permscope.presentation.findings import remediation_of
from permscope.presentation.web.identity import (
    PCI_FACTORS,
    acting_as,
    decision_view,
    escalation_view,
    evidence_facts,
    finding_views,
    granted_vs_used,
    pci_view,
    value_text,
    words,
)
from permscope.store.tables import AuthorizationSystemRow, UsageRow
from permscope.workflows.identity_explorer import IdentityFacts, identity_facts, why

EVERYTHING = Systems(everything=True)
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def demo(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = demo_engine(sqlite_template, tmp_path_factory.mktemp("identity-views"))
    yield engine
    engine.dispose()


def _facts(demo: Engine, cloud: str, **options: object) -> IdentityFacts:
    system_id, subject = escalating(demo)[cloud]
    return identity_facts(demo, Cloud(cloud), system_id, subject, within=EVERYTHING, **options)  # type: ignore[arg-type]


def test_words_and_values_read_as_text() -> None:
    assert words("reachesAdmin") == "Reaches admin" and words("s3:GetObject") == "s3:GetObject"
    assert value_text(True) == "yes" and value_text(None) == "none" and value_text([]) == "none"
    assert value_text(list(range(25)), limit=3) == "0, 1, 2 and 22 more"
    assert value_text({"externalId": "arn:x", "displayName": "x"}) == "x"
    facts = evidence_facts(
        {"roles": ["a", "b"], "rolesTotal": 5, "paths": [{"a": 1}, {"a": 2}], "admin": False}
    )
    assert [(f.label, f.value, f.items) for f in facts] == [
        ("Roles", "a, b (5 in all)", ()),
        ("Paths", "2 items", ("A: 1", "A: 2")),
        ("Admin", "no", ()),
    ]


@pytest.mark.parametrize("cloud", ["aws", "azure", "gcp"])
def test_granted_vs_used_by_service_adds_up(demo: Engine, cloud: str) -> None:
    facts = _facts(demo, cloud)
    assert facts.permissions is not None
    closed = granted_vs_used(facts)
    assert closed.granted == facts.permissions.counts.granted and closed.note is None
    assert closed.granted == sum(s.granted for s in closed.services) == closed.used + closed.unused
    assert all(s.granted == s.used + s.unused and s.actions == () for s in closed.services)
    assert [(-s.unused_high, -s.granted) for s in closed.services] == sorted(
        (-s.unused_high, -s.granted) for s in closed.services
    )
    service = closed.services[0].service
    opened = granted_vs_used(facts, service.upper())
    assert opened.opened == service
    line = next(s for s in opened.services if s.service == service)
    assert sum(1 for action in line.actions if action.granted) == line.granted
    assert [(not a.granted, not a.used, a.action) for a in line.actions] == sorted(
        (not a.granted, not a.used, a.action) for a in line.actions
    )
    assert granted_vs_used(facts, "no-such-service").opened is None


def test_used_actions_are_marked_in_their_service(demo: Engine) -> None:
    with Session(demo) as session:
        cloud, system_id, identity, latest = session.execute(
            select(AuthorizationSystemRow.cloud, AuthorizationSystemRow.system_id, UsageRow.identity_external_id,
                   UsageRow.last_seen)
            .join(AuthorizationSystemRow, AuthorizationSystemRow.id == UsageRow.system_pk)
            .order_by(UsageRow.last_seen.desc())
            .limit(1)
        ).one()  # fmt: skip
    facts = identity_facts(
        demo, Cloud(cloud), system_id, identity, within=EVERYTHING, as_of=latest, window_days=400
    )
    view = granted_vs_used(facts)
    assert view.used > 0 and view.window_end == latest
    used_service = next(s for s in view.services if s.used)
    opened = next(s for s in granted_vs_used(facts, used_service.service).services if s.actions)
    used_lines = [a for a in opened.actions if a.used]
    assert len(used_lines) == opened.used and all(a.uses > 0 and a.last_used is not None for a in used_lines)
    assert {a.action.lower() for a in used_lines} <= {use.action.lower() for use in facts.used}


@pytest.mark.parametrize("cloud", ["aws", "azure", "gcp"])
def test_the_pci_is_the_one_the_analysis_recorded_with_its_factors(demo: Engine, cloud: str) -> None:
    facts = _facts(demo, cloud)
    pci = pci_view(facts.findings)
    assert pci is not None
    recorded = next(row for row in facts.findings if row.pci_score is not None)
    assert pci.score == recorded.pci_score and pci.band in ("low", "medium", "high")
    assert [f.label for f in pci.factors][: len(PCI_FACTORS)] == [
        k for k in PCI_FACTORS if k in recorded.pci_factors
    ]
    assert {f.label: f.value for f in pci.factors}["granted"] == str(recorded.pci_factors["granted"])
    assert pci_view(()) is None


@pytest.mark.parametrize("cloud", ["aws", "azure", "gcp"])
def test_findings_carry_their_evidence_and_fix(demo: Engine, cloud: str) -> None:
    facts = _facts(demo, cloud)
    views = finding_views(facts)
    assert len(views) == len(facts.findings) and views
    for view in views:
        assert view.remediation == remediation_of(view.finding_type) and view.remediation
        assert view.title == DETECTORS[view.finding_type].title
        assert view.status == "open" and view.evidence


@pytest.mark.parametrize("cloud", ["aws", "azure", "gcp"])
def test_escalation_paths_are_listed_and_drawn(demo: Engine, cloud: str) -> None:
    facts = _facts(demo, cloud)
    view = escalation_view(facts, href=lambda node: f"/x?id={node}")
    assert view is not None and view.paths
    stored = next(row for row in facts.findings if row.finding_type.startswith("privilegeEscalation"))
    assert view.fingerprint == stored.fingerprint
    assert len(view.paths) == len(stored.properties["privilegeEscalationDetails"])
    first = view.paths[0].steps[0]
    assert first.source == facts.identity.external_id or first.source  # a function's path starts at its role
    assert first.technique_id and first.details.startswith(first.technique_id)
    svg = ET.fromstring(view.svg)
    titles = " ".join(t.text or "" for t in svg.iter(f"{SVG}title"))
    for path in view.paths:
        for step in path.steps:
            assert step.details in titles  # each step in words on its arrow (the label shows the first ones)
    boxes = {
        g.findtext(f"{SVG}title") for g in svg.iter(f"{SVG}g") if (g.get("class") or "").startswith("node")
    }
    assert {s.source for p in view.paths for s in p.steps} <= boxes
    links = {a.get("href") for a in svg.iter(f"{SVG}a")}
    assert f"/x?id={view.paths[0].steps[0].source}" not in links  # the root is the page itself


def test_acting_as_names_each_identity(demo: Engine) -> None:
    facts = _facts(demo, "gcp")
    acting = acting_as(facts)
    assert acting is not None and [p.external_id for p in acting] == list(facts.acting or ())
    assert all(p.name and p.name != p.external_id for p in acting)  # service accounts by their display names


def test_decisions_read_as_words_on_each_cloud(demo: Engine) -> None:
    system_id, subject = escalating(demo)["aws"]
    allowed = decision_view(why(demo, Cloud.AWS, system_id, subject, "s3:GetObject", "arn:aws:s3:::b/k",
                                within=EVERYTHING))  # fmt: skip
    assert allowed.allowed and allowed.reason.startswith("allowed by identity policy")
    assert allowed.statements and all(line.effect == "Allow" for line in allowed.statements)
    assert allowed.notes
    system_id, subject = granted_everywhere(demo, "gcp")
    project = f"//cloudresourcemanager.googleapis.com/projects/{system_id}"
    facts = identity_facts(demo, Cloud.GCP, system_id, subject, within=EVERYTHING)
    assert facts.permissions is not None
    granted = next(
        a.action for s in facts.permissions.services for a in s.actions if a.status == "allResources"
    )
    gcp = decision_view(why(demo, Cloud.GCP, system_id, subject, granted, project, within=EVERYTHING))
    assert gcp.allowed and gcp.reason.startswith("Allowed:") and granted in gcp.reason
    system_id, subject = granted_everywhere(demo, "azure")
    facts = identity_facts(demo, Cloud.AZURE, system_id, subject, within=EVERYTHING)
    assert facts.permissions is not None
    granted = next(
        a.action for s in facts.permissions.services for a in s.actions if a.status == "allResources"
    )
    azure = decision_view(why(demo, Cloud.AZURE, system_id, subject, granted, f"/subscriptions/{system_id}",
                              within=EVERYTHING))  # fmt: skip
    assert azure.allowed and "grants it" in azure.reason
    assignments = next(f for f in azure.details if f.label == "Role assignments")
    assert assignments.items and any("grants" in line for line in assignments.items)
