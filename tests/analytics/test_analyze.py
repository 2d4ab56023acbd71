"""analyze(): detectors run by what the snapshot holds, skipped types say why, a failing detector is contained."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from permscope.analytics.analyze import analyze, available_data, sort_findings
from permscope.analytics.detector import AWS, Detector
from permscope.analytics.registry import DETECTORS
from permscope.clouds.aws.files.authorization_details import read_authorization_details
from permscope.clouds.aws.transform.authorization_details import transform_authorization_details
from permscope.core.findings import Finding, FindingSubject, Severity
from permscope.core.ids import Cloud
from permscope.core.snapshot import AnalysisSettings, SystemSnapshot
from permscope.workflows.snapshots import batch_snapshot

from .builders import ADMIN, NOW, Account, allow, days_ago


def _boom(snapshot: SystemSnapshot) -> Iterator[Finding]:
    raise RuntimeError("detector bug")
    yield  # pragma: no cover


BROKEN = Detector(
    name="broken",
    finding_types=("brokenFinding",),
    clouds=AWS,
    severity=Severity.LOW,
    title="Broken detector",
    description="A detector that raises.",
    remediation="Fix the detector.",
    needs=frozenset(),
    detect=_boom,
)


def test_export_without_activity_skips_what_needs_it_and_says_why() -> None:
    account = Account()
    account.identity("user", "admin", ADMIN)
    result = analyze(account.snapshot(activity=False))
    assert {f.finding_type for f in result.findings} == {
        "superUserFinding",
        "secretInformationAccessAwsUserFinding",
        "securityToolAwsUserAdministratorFinding",
    }
    assert result.skipped["inactiveUserFinding"].startswith("needs activity: import CloudTrail")
    assert "overprovisionedAwsRoleFinding" in result.skipped
    assert result.skipped["openAwsSecurityGroupFinding"].startswith("needs resources")
    assert result.skipped["unenforcedMfaAwsUserFinding"].startswith("needs credentials")
    assert "superUserFinding" not in result.skipped
    assert result.errors == {}


def test_available_data() -> None:
    account = Account()
    user = account.identity("user", "u", attributes={"credentialReport": {"mfaActive": False}})
    account.used(user, "s3:GetObject")
    account.resource("s3:bucket", "b")
    account.organization_id = "o-abcdefghij"
    assert available_data(account.snapshot()) == {"activity", "resources", "credentials", "organization"}
    assert available_data(Account().snapshot()) == set()


def test_a_failing_detector_is_recorded_and_the_others_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(DETECTORS, "brokenFinding", BROKEN)
    account = Account()
    account.identity("user", "admin", ADMIN)
    result = analyze(account.snapshot(activity=False))
    assert result.errors["broken"].startswith("RuntimeError: detector bug at test_analyze.py:")
    assert "superUserFinding" in {f.finding_type for f in result.findings}
    assert "broken" not in result.ran and "super" in result.ran


def test_only_and_deterministic_order() -> None:
    account = Account()
    for name in ("b", "a", "c"):
        account.identity("user", name, ADMIN)
    account.identity("role", "r", ADMIN)
    first = analyze(account.snapshot(activity=False), only={"superUserFinding", "inactiveUserFinding"})
    assert [f.subject_name for f in first.findings] == ["a", "b", "c"]
    assert set(first.skipped) == {"inactiveUserFinding"}
    second = analyze(account.snapshot(activity=False), only={"superUserFinding", "inactiveUserFinding"})
    assert [f.fingerprint for f in first.findings] == [f.fingerprint for f in second.findings]


def test_findings_are_sorted_by_type_subject_and_fingerprint() -> None:
    def finding(finding_type: str, subject_id: str, system_id: str) -> Finding:
        return Finding(
            finding_type=finding_type,
            cloud=Cloud.AWS,
            system_id=system_id,
            subject=FindingSubject.IDENTITY,
            subject_id=subject_id,
            subject_name=subject_id,
            severity=Severity.LOW,
            summary="",
        )

    findings = [
        finding(kind, subject, system)
        for kind in ("bFinding", "aFinding")
        for subject in ("u2", "u1")
        for system in ("111111111111", "222222222222", "333333333333")
    ]
    findings.append(finding("aFinding", "u3", "111111111111"))
    expected = sorted(findings, key=lambda f: (f.finding_type, f.subject_id, f.fingerprint))
    sort_findings(findings)
    assert findings == expected
    assert [f.subject_id for f in findings[:7]] == ["u1"] * 3 + ["u2"] * 3 + ["u3"]


def test_analysis_with_activity_and_credentials() -> None:
    account = Account()
    idle = account.identity(
        "user",
        "idle",
        allow("s3:*"),
        attributes={"credentialReport": {"mfaActive": False, "passwordEnabled": True}},
    )
    busy = account.identity("role", "busy", allow("s3:*"))
    account.used(busy, "s3:GetObject")
    result = analyze(account.snapshot())
    found = {(f.finding_type, f.subject_id) for f in result.findings}
    assert found == {
        ("inactiveUserFinding", idle),
        ("overprovisionedAwsRoleFinding", busy),
        ("unenforcedMfaAwsUserFinding", idle),
    }
    assert result.skipped == {
        t: result.skipped[t] for t in result.skipped if result.skipped[t].startswith("needs resources")
    }


def export_snapshots(shared_dir: Path) -> list[SystemSnapshot]:
    """The snapshots of the accounts of the cloudsplaining example export (no activity, no resources)."""
    raw = read_authorization_details(
        [shared_dir / "data/snapshots/aws_authz_details_cloudsplaining_example.json"]
    )
    batches, _warnings = transform_authorization_details(raw, source="test")
    return [batch_snapshot(batch, AnalysisSettings(now=NOW)) for batch in batches]


def test_cloudsplaining_example_export(shared_dir: Path) -> None:
    results = [analyze(snapshot) for snapshot in export_snapshots(shared_dir)]
    assert [r.errors for r in results] == [{}, {}]
    findings = [f for r in results for f in r.findings]
    by_type: dict[str, set[str]] = {}
    for finding in findings:
        by_type.setdefault(finding.finding_type, set()).add(finding.subject_name)
    assert {"obama", "userwithlotsofpermissions"} <= by_type["superUserFinding"]
    assert "biden" not in by_type["superUserFinding"]
    assert "fp2-allow-and-deny-multiple-policies-user" not in by_type["superUserFinding"]  # admin + deny-all
    assert "fp3-deny-iam-user" not in by_type["superUserFinding"]
    assert {
        "OrganizationAccountAccessRole",
        "AWSReservedSSO_AdministratorAccess_dc6414f7f2ab04fc",
    } <= by_type["superAwsRoleFinding"]
    assert "AWSReservedSSO_ViewOnlyAccess_0ace44bbc7092ea8" not in by_type["superAwsRoleFinding"]
    assert "AWSServiceRoleForSupport" not in set().union(*by_type.values())  # service-linked: not judged
    for skipped in ("inactiveUserFinding", "overprovisionedUserFinding", "inactiveGroupFinding"):
        assert results[0].skipped[skipped].startswith("needs activity")
    assert "privesc-AssumeRole-starting-role" not in by_type.get("awsExternalSystemAccessRoleFinding", set())
    supers = [f for f in findings if f.finding_type.startswith("super")]
    assert all(  # every action everywhere; iam:* alone is super too, with what it holds as its PCI
        f.pci is not None and f.pci.score == 100
        for f in supers
        if f.evidence["rule"].startswith("every catalogue")
    )
    assert {"privesc-sre-user", "privesc-sre-role"} == {
        f.subject_name for f in supers if f.evidence["rule"].startswith("every IAM action")
    }
    counts = Counter(f.finding_type for f in findings)
    assert counts["secretInformationAccessAwsUserFinding"] >= 3  # the admins at least


def test_large_account_analysis_completes() -> None:
    """17,500 identities through every non-escalation detector (its speed is measured by bench/bench_scan.py)."""
    account = Account()
    documents = [allow("s3:GetObject"), allow("ec2:*", "s3:*"), ADMIN, allow("secretsmanager:GetSecretValue")]
    for number in range(6000):
        user = account.identity(
            "user", f"u{number}", documents[number % 4], last_active=days_ago(number % 200)
        )
        if number % 3 == 0:
            account.used(user, "s3:GetObject")
    for number in range(11500):
        account.identity("role", f"r{number}", documents[number % 4], trust=allow("sts:AssumeRole"))
    snapshot = account.snapshot()
    mine = {t for t in DETECTORS if not t.startswith("privilegeEscalation")}  # privesc has its own benchmark
    result = analyze(snapshot, only=mine)
    assert result.errors == {}
    assert len(result.findings) > 17500
