"""Alert rules: matching by kind, severity, scope (clouds, systems, identity kinds and tags), finding types and
PCI numbers; mutes; checked input with clear errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from permscope.core.alerts import (
    AlertRule,
    PciParameters,
    RuleScope,
    check_name,
    clean_list,
    mute_reason,
    parse_clouds,
    parse_kinds,
    parse_severity,
)
from permscope.core.errors import InputError
from permscope.core.findings import Severity
from permscope.core.ids import Cloud
from permscope.core.signals import Signal, SignalKind

AT = datetime(2026, 12, 1, tzinfo=UTC)


def signal(
    kind: SignalKind = SignalKind.FINDING_NEW,
    severity: Severity = Severity.HIGH,
    *,
    cloud: Cloud = Cloud.AWS,
    system: str = "111122223333",
    subject_kind: str = "user",
    evidence: dict | None = None,
) -> Signal:
    return Signal(
        kind=kind,
        key="k",
        cloud=cloud,
        system_id=system,
        subject_id="arn:aws:iam::111122223333:user/bob",
        subject_kind=subject_kind,
        subject_name="user/bob",
        severity=severity,
        observed_at=AT,
        summary="s",
        evidence=evidence if evidence is not None else {"findingType": "superAwsUserFinding"},
    )


def test_kind_and_minimum_severity() -> None:
    rule = AlertRule("r", frozenset({SignalKind.FINDING_NEW}), min_severity=Severity.HIGH)
    assert rule.matches(signal())
    assert rule.matches(signal(severity=Severity.CRITICAL))
    assert not rule.matches(signal(severity=Severity.MEDIUM))
    assert not rule.matches(signal(SignalKind.FINDING_REOPENED))
    assert not AlertRule("r", frozenset({SignalKind.FINDING_NEW}), enabled=False).matches(signal())


def test_scope_by_cloud_system_identity_kind_and_tag() -> None:
    kinds = frozenset({SignalKind.FINDING_NEW})
    assert not AlertRule("r", kinds, RuleScope(clouds=("gcp",))).matches(signal())
    assert AlertRule("r", kinds, RuleScope(clouds=("aws",), system_ids=("111122223333",))).matches(signal())
    assert not AlertRule("r", kinds, RuleScope(system_ids=("999",))).matches(signal())
    assert not AlertRule("r", kinds, RuleScope(identity_kinds=("role",))).matches(signal())
    tagged = AlertRule("r", kinds, RuleScope(identity_tags=("env=prod", "team")))
    assert tagged.matches(signal(), {"env": "prod"})
    assert tagged.matches(signal(), {"team": "x"})
    assert not tagged.matches(signal(), {"env": "dev"})
    assert not tagged.matches(signal(), None)


def test_finding_types_apply_to_finding_signals() -> None:
    rule = AlertRule("r", frozenset({SignalKind.FINDING_NEW}), finding_types=("inactiveUserFinding",))
    assert not rule.matches(signal())
    assert rule.matches(signal(evidence={"findingType": "inactiveUserFinding"}))


def test_pci_signals_match_the_rules_own_numbers() -> None:
    rule = AlertRule(
        "r", frozenset({SignalKind.PCI_THRESHOLD, SignalKind.PCI_RISE}), pci=PciParameters(50, 10, 7)
    )
    mine = {"parameters": {"threshold": 50, "risePoints": 10, "windowDays": 7}}
    other = {"parameters": {"threshold": 67, "risePoints": 20, "windowDays": 30}}
    assert rule.matches(signal(SignalKind.PCI_THRESHOLD, evidence=mine))
    assert rule.matches(signal(SignalKind.PCI_RISE, evidence=mine))
    assert not rule.matches(signal(SignalKind.PCI_THRESHOLD, evidence=other))
    assert not rule.matches(signal(SignalKind.PCI_RISE, evidence={}))


def test_mutes() -> None:
    later, earlier = AT + timedelta(hours=1), AT - timedelta(hours=1)
    assert mute_reason(None, [], AT) is None
    assert mute_reason(earlier, [earlier], AT) is None
    assert mute_reason(later, [], AT) == "rule muted until 2026-12-01T01:00:00+00:00"
    assert mute_reason(None, [earlier, later], AT) == "subject muted until 2026-12-01T01:00:00+00:00"


def test_input_is_checked_with_clear_errors() -> None:
    assert parse_kinds(["finding.new", " pci.rise"]) == {SignalKind.FINDING_NEW, SignalKind.PCI_RISE}
    with pytest.raises(InputError, match=r"unknown signal kind 'finding\.old'"):
        parse_kinds(["finding.old"])
    with pytest.raises(InputError, match="at least one signal kind"):
        parse_kinds([])
    assert parse_severity("HIGH") is Severity.HIGH
    with pytest.raises(InputError, match="'urgent' is not one of"):
        parse_severity("urgent")
    assert parse_clouds(["GCP", "aws", "aws"]) == ("aws", "gcp")
    with pytest.raises(InputError, match="unknown cloud"):
        parse_clouds(["oracle"])
    assert check_name(" prod critical ") == "prod critical"
    with pytest.raises(InputError, match="must start with a letter"):
        check_name("<script>")
    with pytest.raises(InputError, match="not a tag"):
        clean_list(["=x"], "tags", tags=True)
    assert PciParameters.from_dict({"threshold": 50}) == PciParameters(50, 20, 30)
    with pytest.raises(InputError, match="threshold must be a whole number from 1 to 100"):
        PciParameters.from_dict({"threshold": 150})
    with pytest.raises(InputError, match="unknown parameter 'points'"):
        PciParameters.from_dict({"points": 5})
