"""The dashboard view-model over a small stored estate: per-cloud totals, systems, finding types, riskiest
identities, heat map rows and trends."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from dashboard_support import PROD, PROJECT, SANDBOX, T0, analyze, arn, distribution, finding, load_system
from permscope.core.access import Systems
from permscope.core.findings import FindingSubject, Severity
from permscope.core.ids import Cloud
from permscope.presentation.web.dashboard import (
    TREND_DAYS,
    Dashboard,
    DashboardLinks,
    age_text,
    band_counts,
    build_dashboard,
)
from permscope.store.dashboard import read_dashboard

NOW = T0 + timedelta(days=2, hours=1)


def _findings_url(**query: Any) -> str:
    return "/f?" + "&".join(f"{key}={value}" for key, value in sorted(query.items()))


LINKS = DashboardLinks(
    system=lambda cloud, system_id: f"/s/{cloud}/{system_id}",
    identity=lambda cloud, system_id, external_id: f"/i/{cloud}/{system_id}?id={external_id}",
    findings=_findings_url,
)


def _dashboard(engine: Engine, within: Systems = Systems(everything=True)) -> Dashboard:
    with Session(engine) as session:
        facts = read_dashboard(session, within, (NOW - timedelta(days=TREND_DAYS)).date())
        return build_dashboard(facts, NOW, LINKS)


@pytest.fixture
def estate(engine: Engine) -> Engine:
    prod = load_system(engine, Cloud.AWS, PROD, users=3, roles=2, name="production")
    sandbox = load_system(engine, Cloud.AWS, SANDBOX, users=1, roles=0, name="sandbox")
    project = load_system(engine, Cloud.GCP, PROJECT, users=2, roles=1)
    alice = arn(PROD, "user", "user-00")
    analyze(
        engine,
        prod,
        [finding(PROD, alice, "alice", score=80, severity=Severity.HIGH)],
        T0,
        distribution(3, 1, 1),
    )
    analyze(engine, prod, [
        finding(PROD, alice, "alice", score=80, severity=Severity.HIGH),
        finding(PROD, "arn:aws:s3:::b", "b", "openS3BucketFinding", score=None, severity=Severity.CRITICAL,
                kind=FindingSubject.STORAGE_BUCKET),
    ], T0 + timedelta(days=1), distribution(1, 1, 3))  # fmt: skip
    analyze(
        engine,
        sandbox,
        [finding(SANDBOX, arn(SANDBOX, "user", "user-00"), "dave", score=20)],
        T0,
        distribution(1, 0, 0),
    )
    analyze(engine, project, [], T0, distribution(2, 1, 0))
    return engine


def test_totals_per_cloud_and_per_system(estate: Engine) -> None:
    dashboard = _dashboard(estate)
    assert [(c.label, c.systems, c.identities, c.open_findings) for c in dashboard.clouds] == [
        ("AWS", 2, 6, 3),
        ("GCP", 1, 3, 0),
    ]
    aws = dashboard.clouds[0]
    assert aws.identities_by_kind == {"role": 2, "user": 4}
    assert aws.findings_by_severity == {"critical": 1, "high": 1, "medium": 1, "low": 0}
    assert aws.pci_bands == {"low": 2, "medium": 1, "high": 3}
    assert aws.findings_url == "/f?cloud=aws&state=open"
    assert (dashboard.identities, dashboard.open_findings, dashboard.high_pci) == (9, 3, 3)
    prod = dashboard.systems[0]
    assert (prod.name, prod.url, prod.identities, prod.open_findings) == (
        "production",
        f"/s/aws/{PROD}",
        5,
        2,
    )
    assert prod.pci_bands == {"low": 1, "medium": 1, "high": 3}  # the latest analysis's
    assert prod.last_run_status == "succeeded" and prod.collection_status == "online"
    assert prod.analysis_age == "1 d ago"


def test_finding_types_and_riskiest_identities_link_to_their_pages(estate: Engine) -> None:
    dashboard = _dashboard(estate)
    assert [(t.finding_type, t.total, t.by_severity["medium"]) for t in dashboard.finding_types] == [
        ("inactiveUserFinding", 2, 1),
        ("openS3BucketFinding", 1, 0),
    ]
    assert dashboard.finding_types[1].url == "/f?state=open&type=openS3BucketFinding"
    assert [(r.name, r.pci, r.band, r.worst_severity) for r in dashboard.riskiest] == [
        ("alice", 80, "high", "high"),
        ("dave", 20, "low", "medium"),
    ]
    assert dashboard.riskiest[0].url == f"/i/aws/{PROD}?id={arn(PROD, 'user', 'user-00')}"


def test_heat_map_and_trends(estate: Engine) -> None:
    dashboard = _dashboard(estate)
    assert "AWS · production (111122223333)" in dashboard.heat_map_svg
    assert dashboard.heat_map_svg.count("<rect") == 9  # three systems, three bands
    assert [(d.day, d.new, d.open_findings) for d in dashboard.trend_days] == [
        (T0.date(), 2, 2),  # production's first analysis and the sandbox's
        ((T0 + timedelta(days=1)).date(), 1, 2),
    ]
    assert len(dashboard.trend_dates) == TREND_DAYS and dashboard.trend_dates[-1] == NOW.date()
    by_label = {t.label: t.values for t in dashboard.pci_trends}
    prod = by_label["AWS · production (111122223333)"]
    assert prod[-3:] == [20.0, 60.0, None]  # 1 of 5 high, then 3 of 5; not analyzed today
    assert by_label["GCP · name-demo-project (demo-project)"][-3] == 0.0
    assert dashboard.pci_trends[0].label.startswith("AWS · production")  # the highest share first
    assert "Findings new, resolved and reopened" in dashboard.findings_trend_svg
    assert "% high PCI" in dashboard.pci_trend_svg


def test_a_scoped_view_adds_up_only_its_systems(estate: Engine) -> None:
    dashboard = _dashboard(estate, Systems(scopes=(("gcp", "*"),)))
    assert [c.cloud for c in dashboard.clouds] == ["gcp"]
    assert [s.system_id for s in dashboard.systems] == [PROJECT]
    assert dashboard.riskiest == [] and dashboard.finding_types == []
    assert "production" not in dashboard.heat_map_svg and "production" not in dashboard.pci_trend_svg


def test_an_empty_store_builds_an_empty_dashboard(engine: Engine) -> None:
    dashboard = _dashboard(engine)
    assert dashboard.clouds == [] and dashboard.systems == [] and dashboard.trend_days == []
    assert "No data" in dashboard.heat_map_svg and "No analyses recorded yet" in dashboard.findings_trend_svg


def test_age_and_bands() -> None:
    assert age_text(None, NOW) == "never"
    assert age_text(NOW - timedelta(seconds=30), NOW) == "just now"
    assert age_text(NOW - timedelta(minutes=5), NOW) == "5 min ago"
    assert age_text(NOW - timedelta(hours=3, minutes=59), NOW) == "3 h ago"
    assert age_text(NOW + timedelta(hours=1), NOW) == "just now"  # a clock a little ahead
    assert band_counts(None) is None
    assert band_counts({"high": {"humanCount": 2, "nonHumanCount": 3}}) == {"low": 0, "medium": 0, "high": 5}
