"""The analysis workflow: stored account -> snapshot -> detectors -> findings with history, one transaction."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from analysis_support import ACCOUNT, APP, BOB, CAROL, export
from permscope.analytics.analyze import AnalysisResult
from permscope.core.errors import NotFoundError
from permscope.core.findings import Finding, FindingSubject, PciScore, Severity
from permscope.core.ids import Cloud
from permscope.core.snapshot import AnalysisSettings, SystemSnapshot
from permscope.store.tables import FindingRow
from permscope.workflows.analysis import analyze_all, analyze_system, load_snapshot
from permscope.workflows.collection import import_aws_files


def load(engine: Engine, tmp_path: Path, data: dict[str, Any]) -> None:
    path = tmp_path / "export.json"
    path.write_text(json.dumps(data))
    import_aws_files(engine, [path])


@pytest.fixture
def imported(engine: Engine, tmp_path: Path) -> Engine:
    load(engine, tmp_path, export())
    return engine


def finding_rows(engine: Engine) -> dict[tuple[str, str], FindingRow]:
    with Session(engine, expire_on_commit=False) as session:
        return {(r.finding_type, r.subject_id): r for r in session.scalars(select(FindingRow))}


def test_snapshot_of_an_iam_export(imported: Engine) -> None:
    _pk, snapshot = load_snapshot(imported, ACCOUNT)
    assert {i.external_id for i in snapshot.identities} >= {BOB, CAROL, APP}
    assert snapshot.resources is None  # an IAM export alone: resources never collected
    assert snapshot.has_activity is False
    assert snapshot.usages == []
    bob = snapshot.permissions(BOB)
    assert bob is not None and bob.granted.bit_count() == snapshot.index.size


def test_real_analysis_finds_super_identities_and_skips_what_needs_activity(imported: Engine) -> None:
    report = analyze_system(imported, ACCOUNT)
    assert report.open_by_type.get("superUserFinding") == 1
    assert report.open_by_type.get("superAwsRoleFinding") == 1
    assert "needs activity" in report.skipped["inactiveUserFinding"]
    assert report.errors == []
    assert report.checked["user"] == 2 and report.checked["role"] == 1
    rows = finding_rows(imported)
    assert ("superUserFinding", BOB) in rows and ("superUserFinding", CAROL) not in rows
    assert report.changes["new"] == report.total


def test_reanalysis_without_change_adds_no_rows_then_resolves_and_reopens(
    imported: Engine, tmp_path: Path, dump_db: Callable[[Engine], dict[str, Any]]
) -> None:
    analyze_system(imported, ACCOUNT)
    before = finding_rows(imported)
    again = analyze_system(imported, ACCOUNT)
    assert again.changes["new"] == 0 and again.changes["resolved"] == 0
    assert again.changes["unchanged"] == len(before)
    after = finding_rows(imported)
    assert set(after) == set(before)
    assert {k: r.id for k, r in after.items()} == {k: r.id for k, r in before.items()}

    load(imported, tmp_path, export(bob_admin=False))  # bob loses AdministratorAccess
    resolved = analyze_system(imported, ACCOUNT)
    assert resolved.changes["resolved"] >= 1  # bob's super finding, and whatever else admin gave him
    assert finding_rows(imported)[("superUserFinding", BOB)].resolved_at is not None
    assert "superUserFinding" not in resolved.open_by_type

    load(imported, tmp_path, export(bob_admin=True))  # and gets it back
    reopened = analyze_system(imported, ACCOUNT)
    assert reopened.changes["reopened"] == resolved.changes["resolved"]
    assert reopened.changes["new"] == 0
    row = finding_rows(imported)[("superUserFinding", BOB)]
    assert row.resolved_at is None and row.reopened == 1
    with Session(imported) as session:
        assert session.scalar(select(func.count()).select_from(FindingRow)) == len(before)


def _fake(findings: list[Finding], errors: dict[str, str] | None = None) -> Callable[..., AnalysisResult]:
    def analyzer(_snapshot: SystemSnapshot) -> AnalysisResult:
        return AnalysisResult(findings=list(findings), errors=dict(errors or {}))

    return analyzer


def _inactive(subject_id: str) -> Finding:
    return Finding(
        finding_type="inactiveUserFinding",
        cloud=Cloud.AWS,
        system_id=ACCOUNT,
        subject=FindingSubject.IDENTITY,
        subject_id=subject_id,
        subject_name=subject_id.rsplit("/", 1)[-1],
        severity=Severity.MEDIUM,
        summary="unused",
        pci=PciScore(40),
    )


def test_an_exception_mid_analysis_leaves_the_previous_findings(
    imported: Engine, dump_db: Callable[[Engine], dict[str, Any]]
) -> None:
    analyze_system(imported, ACCOUNT, analyzer=_fake([_inactive(BOB)]))
    before = dump_db(imported)

    def broken(_snapshot: SystemSnapshot) -> AnalysisResult:
        raise RuntimeError("analysis broke")

    with pytest.raises(RuntimeError):
        analyze_system(imported, ACCOUNT, analyzer=broken)
    assert dump_db(imported) == before


def test_a_failed_detector_keeps_its_stored_findings(imported: Engine) -> None:
    analyze_system(imported, ACCOUNT, analyzer=_fake([_inactive(BOB), _inactive(CAROL)]))
    # the inactive detector fails this time: its findings are neither resolved nor seen again
    report = analyze_system(imported, ACCOUNT, analyzer=_fake([], {"inactive": "KeyError: 'x'"}))
    assert report.errors == ["inactive: KeyError: 'x'"]
    assert report.changes["resolved"] == 0
    assert report.open_by_type == {"inactiveUserFinding": 2}
    rows = finding_rows(imported)
    assert all(row.resolved_at is None for row in rows.values())
    # when it works again and finds only carol, bob's finding resolves
    analyze_system(imported, ACCOUNT, analyzer=_fake([_inactive(CAROL)]))
    assert finding_rows(imported)[("inactiveUserFinding", BOB)].resolved_at is not None


def test_settings_window_and_unknown_account(imported: Engine) -> None:
    now = datetime(2025, 6, 1, tzinfo=UTC)
    settings = AnalysisSettings(window_days=30, now=now)
    _pk, snapshot = load_snapshot(imported, ACCOUNT, settings)
    assert snapshot.settings.window_start == now - timedelta(days=30)
    with pytest.raises(NotFoundError):
        analyze_system(imported, "999999999999")
    reports = analyze_all(imported, settings, analyzer=_fake([]))
    assert [r.system_id for r in reports] == [ACCOUNT]
    # a run over many systems keeps no snapshot alive (each held to the end took gigabytes for 100 subscriptions)
    assert all(r.snapshot is None and r.findings == [] for r in reports)
