"""Signals of findings: one `finding.new` per new finding, one `finding.reopened` per reopening, keyed by the
finding's fingerprint (and the reopening's number), with the identity's kind when known."""

from __future__ import annotations

from datetime import UTC, datetime

from permscope.analytics.finding_signals import Reopened, finding_signals
from permscope.core.findings import Finding, FindingSubject, PciScore, Severity
from permscope.core.ids import Cloud
from permscope.core.signals import SignalKind

AT = datetime(2026, 12, 1, 12, tzinfo=UTC)
BOB = "arn:aws:iam::111122223333:user/bob"


def finding(kind: str = "superAwsUserFinding", severity: Severity = Severity.CRITICAL) -> Finding:
    return Finding(
        finding_type=kind,
        cloud=Cloud.AWS,
        system_id="111122223333",
        subject=FindingSubject.IDENTITY,
        subject_id=BOB,
        subject_name="user/bob",
        severity=severity,
        summary="bob holds every action",
        pci=PciScore(88),
    )


def test_new_and_reopened_findings_become_signals() -> None:
    new, again = finding(), finding("inactiveUserFinding", Severity.MEDIUM)
    found = finding_signals([new], [Reopened(again, 2)], AT, {BOB: "user"})
    assert [s.kind for s in found] == [SignalKind.FINDING_NEW, SignalKind.FINDING_REOPENED]
    first, second = found
    assert first.key == f"finding.new:{new.fingerprint}"
    assert second.key == f"finding.reopened:{again.fingerprint}:2"
    assert first.subject_kind == "user" and first.severity is Severity.CRITICAL
    assert first.evidence == {
        "findingType": "superAwsUserFinding",
        "fingerprint": new.fingerprint,
        "findingSubject": "identity",
        "findingSummary": "bob holds every action",
        "pci": 88,
    }
    assert first.summary == "New critical finding superAwsUserFinding on user/bob"
    assert "reopened 2 times now" in second.explanation and second.evidence["reopenedTimes"] == 2


def test_without_the_identitys_kind_the_findings_subject_is_used() -> None:
    (signal,) = finding_signals([finding()], [], AT)
    assert signal.subject_kind == "identity" and signal.observed_at == AT
