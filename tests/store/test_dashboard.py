"""The dashboard's counts in SQL: identities by kind, open findings by type and severity, the riskiest identities,
the latest collection run, each within a key's view."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from dashboard_support import PROD, PROJECT, SANDBOX, T0, analyze, arn, distribution, finding, load_system
from permscope.core.access import Systems
from permscope.core.findings import FindingSubject, Severity
from permscope.core.ids import Cloud
from permscope.core.inventory import AuthorizationSystem
from permscope.store.dashboard import (
    RISKIEST_KEPT,
    FindingCount,
    latest_collection_runs,
    open_finding_counts,
    open_summary_of,
    read_dashboard,
    riskiest_identities,
    subject_risks,
    summarized_open_count,
)
from permscope.store.findings import FindingQuery, FindingStatus, TimeRange, count_findings, latest_runs
from permscope.store.ingest import record_failed_run

EVERYTHING = Systems(everything=True)


def _estate(engine: Engine) -> tuple[int, int, int]:
    prod = load_system(engine, Cloud.AWS, PROD, users=3, roles=2, name="production")
    sandbox = load_system(engine, Cloud.AWS, SANDBOX, users=1, roles=0, name="sandbox")
    project = load_system(engine, Cloud.GCP, PROJECT, users=2, roles=1)
    alice, bob, carol = (arn(PROD, "user", f"user-{n:02d}") for n in range(3))
    analyze(engine, prod, [
        finding(PROD, alice, "alice", score=90, severity=Severity.HIGH),
        finding(PROD, alice, "alice", "superUserFinding", score=90, severity=Severity.HIGH),
        finding(PROD, bob, "bob", score=90, severity=Severity.MEDIUM),
        finding(PROD, carol, "carol", score=None, severity=Severity.CRITICAL),
        finding(PROD, "arn:aws:s3:::open", "open", "openS3BucketFinding", score=None,
                severity=Severity.CRITICAL, kind=FindingSubject.STORAGE_BUCKET),
    ], T0, distribution(1, 1, 2))  # fmt: skip
    analyze(engine, sandbox, [finding(SANDBOX, arn(SANDBOX, "user", "user-00"), "dave", score=95)], T0)
    analyze(
        engine, project, [finding(PROJECT, "user:eve@example.test", "eve", score=10, cloud=Cloud.GCP)], T0
    )
    return prod, sandbox, project


def test_open_findings_are_counted_per_system_type_and_severity(engine: Engine) -> None:
    prod, sandbox, _project = _estate(engine)
    # a later analysis of production no longer finds bob's: resolved, so no longer counted
    alice, _bob, carol = (arn(PROD, "user", f"user-{n:02d}") for n in range(3))
    analyze(engine, prod, [
        finding(PROD, alice, "alice", score=90, severity=Severity.HIGH),
        finding(PROD, alice, "alice", "superUserFinding", score=90, severity=Severity.HIGH),
        finding(PROD, carol, "carol", score=None, severity=Severity.CRITICAL),
        finding(PROD, "arn:aws:s3:::open", "open", "openS3BucketFinding", score=None,
                severity=Severity.CRITICAL, kind=FindingSubject.STORAGE_BUCKET),
    ], T0 + timedelta(days=1))  # fmt: skip
    with Session(engine) as session:
        counts = sorted(
            open_finding_counts(session, [prod, sandbox]),
            key=lambda c: (c.system_pk, c.finding_type, c.severity),
        )
        everywhere = open_finding_counts(session, None)
    assert counts == [
        FindingCount(prod, "inactiveUserFinding", "critical", 1),
        FindingCount(prod, "inactiveUserFinding", "high", 1),
        FindingCount(prod, "openS3BucketFinding", "critical", 1),
        FindingCount(prod, "superUserFinding", "high", 1),
        FindingCount(sandbox, "inactiveUserFinding", "medium", 1),
    ]
    assert sum(c.count for c in everywhere) == 6  # the GCP project's too


def test_riskiest_identities_rank_by_pci_then_severity_then_findings(engine: Engine) -> None:
    prod, sandbox, project = _estate(engine)
    with Session(engine) as session:
        ranked = riskiest_identities(session, None, limit=10)
        top_two = riskiest_identities(session, None, limit=2)
        prod_only = riskiest_identities(session, [prod], limit=10)
    assert [(r.name, r.pci, r.worst_severity, r.open_findings) for r in ranked] == [
        ("dave", 95, "medium", 1),
        ("alice", 90, "high", 2),  # same PCI as bob, worse severity
        ("bob", 90, "medium", 1),
        ("eve", 10, "medium", 1),
        ("carol", None, "critical", 1),  # no PCI: last, whatever its severity
    ]  # the bucket is no identity
    assert [r.name for r in top_two] == ["dave", "alice"]
    assert {r.system_pk for r in prod_only} == {prod}
    assert ranked[0].system_pk == sandbox and ranked[3].system_pk == project
    assert ranked[1].external_id == arn(PROD, "user", "user-00") and ranked[1].subject_kind == "identity"


def test_subject_risks_of_a_page_of_identities(engine: Engine) -> None:
    prod, _sandbox, _project = _estate(engine)
    alice, bob, nobody = (
        arn(PROD, "user", "user-00"),
        arn(PROD, "user", "user-01"),
        arn(PROD, "role", "role-00"),
    )
    with Session(engine) as session:
        risks = subject_risks(session, prod, [alice, bob, nobody, alice])
        assert subject_risks(session, prod, []) == {}
    assert (risks[alice].open_findings, risks[alice].pci) == (2, 90)
    assert (risks[bob].open_findings, risks[bob].pci) == (1, 90)
    assert nobody not in risks


def test_latest_collection_run_per_system_within_a_view(engine: Engine) -> None:
    _estate(engine)
    system = AuthorizationSystem(cloud=Cloud.AWS, system_id=PROD, name="production")
    record_failed_run(engine, system, "live", T0, "AccessDenied <b>")
    with Session(engine) as session:
        runs = latest_collection_runs(session, EVERYTHING)
        gcp_only = latest_collection_runs(session, Systems(scopes=(("gcp", "*"),)))
    assert set(runs) == {("aws", PROD), ("aws", SANDBOX), ("gcp", PROJECT)}
    assert runs[("aws", PROD)].status == "failed" and runs[("aws", PROD)].error == "AccessDenied <b>"
    assert runs[("aws", SANDBOX)].status == "succeeded"
    assert set(gcp_only) == {("gcp", PROJECT)}


def test_the_dashboard_reads_only_the_systems_of_a_view(engine: Engine) -> None:
    prod, sandbox, project = _estate(engine)
    since = T0.date() - timedelta(days=30)
    with Session(engine) as session:
        everything = read_dashboard(session, EVERYTHING, since)
        sandbox_only = read_dashboard(session, Systems(scopes=(("aws", SANDBOX),)), since)
        nothing = read_dashboard(session, Systems(), since)
    assert [s.system_id for s in everything.systems] == [PROD, SANDBOX, PROJECT]
    assert everything.identity_counts[prod] == {"user": 3, "role": 2}
    assert everything.identity_counts[project] == {"user": 2, "role": 1}
    assert set(everything.analyses) == {prod, sandbox, project}
    assert [s.system_id for s in sandbox_only.systems] == [SANDBOX]
    assert set(sandbox_only.identity_counts) == {sandbox}
    assert {c.system_pk for c in sandbox_only.finding_counts} == {sandbox}
    assert [r.name for r in sandbox_only.riskiest] == ["dave"]
    assert set(sandbox_only.collection_runs) == {("aws", SANDBOX)}
    assert [d.new for d in sandbox_only.changes] == [1]
    assert sandbox_only.distributions == []  # analyzed without a PCI distribution
    assert nothing.systems == [] and nothing.finding_counts == [] and nothing.riskiest == []
    assert nothing.changes == [] and nothing.identity_counts == {}


def test_each_analysis_keeps_its_open_findings_summary_equal_to_the_findings(engine: Engine) -> None:
    prod, sandbox, _project = _estate(engine)
    alice, bob = arn(PROD, "user", "user-00"), arn(PROD, "user", "user-01")
    # a later analysis that could not decide superUserFinding: its stored finding stays open, and is counted
    later = [finding(PROD, bob, "bob", score=30, severity=Severity.LOW)]
    analyze(engine, prod, later, T0 + timedelta(days=1), untouched={"superUserFinding"})
    with Session(engine) as session:
        truth = sorted((c.finding_type, c.severity, c.count) for c in open_finding_counts(session, [prod]))
        summary = open_summary_of(latest_runs(session, [prod])[prod])
        facts = read_dashboard(session, EVERYTHING, T0.date())
    assert summary is not None
    assert (
        sorted((c.finding_type, c.severity, c.count) for c in summary.counts)
        == truth
        == [
            ("inactiveUserFinding", "low", 1),
            ("superUserFinding", "high", 1),
        ]
    )
    assert [(r.external_id, r.pci) for r in summary.riskiest] == [(alice, 90), (bob, 30)]
    # the dashboard's riskiest: every system's, merged in the same order as the SQL ranks them
    assert [r.name for r in facts.riskiest] == ["dave", "alice", "bob", "eve"]
    assert sum(c.count for c in facts.finding_counts) == 2 + 1 + 1
    assert {c.system_pk for c in facts.finding_counts} == {prod, sandbox, _project}


def test_riskiest_kept_per_system_is_bounded(engine: Engine) -> None:
    prod = load_system(engine, Cloud.AWS, PROD, users=RISKIEST_KEPT + 5, roles=0)
    users = [arn(PROD, "user", f"user-{n:02d}") for n in range(RISKIEST_KEPT + 5)]
    analyze(engine, prod, [finding(PROD, user, f"u{n:02d}", score=n) for n, user in enumerate(users)], T0)
    with Session(engine) as session:
        summary = open_summary_of(latest_runs(session, [prod])[prod])
        assert open_summary_of(None) is None
    assert summary is not None and summary.total == RISKIEST_KEPT + 5
    assert len(summary.riskiest) == RISKIEST_KEPT and summary.riskiest[0].pci == RISKIEST_KEPT + 4


def test_the_open_count_of_a_listing_is_read_from_the_analyses_and_equals_the_findings(
    engine: Engine,
) -> None:
    """Open findings by cloud, system, type and severity (within a key's systems) are counted from the latest
    analyses' summaries, equal to the SQL COUNT; other listings (another state, PCI, dates) are not."""
    prod, sandbox, project = _estate(engine)
    bob = arn(PROD, "user", "user-01")
    analyze(  # a later analysis resolves most of production's findings and leaves one type untouched
        engine, prod, [finding(PROD, bob, "bob", score=30, severity=Severity.LOW)], T0 + timedelta(days=1),
        untouched={"superUserFinding"},
    )  # fmt: skip
    aws_only = Systems(scopes=(("aws", "*"),))
    asked = [
        FindingQuery(),
        FindingQuery(clouds=["aws"]),
        FindingQuery(clouds=["gcp"]),
        FindingQuery(system_pks=[prod]),
        FindingQuery(system_pks=[sandbox, project], types=["inactiveUserFinding"]),
        FindingQuery(types=["superUserFinding", "openS3BucketFinding"]),
        FindingQuery(severities=["high", "low"]),
        FindingQuery(severities=["nonsense"]),
        FindingQuery(scope=aws_only, severities=["medium"]),
    ]
    with Session(engine) as session:
        for query in asked:
            assert summarized_open_count(session, query) == count_findings(session, query), query
        assert [summarized_open_count(session, q) for q in asked[:4]] == [4, 3, 1, 2]
        for other in (
            FindingQuery(status=FindingStatus.RESOLVED),
            FindingQuery(status=FindingStatus.ALL),
            FindingQuery(min_pci=10),
            FindingQuery(first_seen=TimeRange(since=T0)),
        ):
            assert summarized_open_count(session, other) is None
