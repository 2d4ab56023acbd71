"""Inactive identities and groups."""

from __future__ import annotations

import dataclasses

from permscope.analytics.detectors.inactive import DETECTOR, is_inactive
from permscope.analytics.pci import pci_of
from permscope.core.inventory import Usage
from permscope.core.snapshot import AnalysisSettings

from ..builders import Account, allow, days_ago, types_of


def test_inactive_users_roles_and_resources() -> None:
    account = Account()
    account.identity("user", "idle", allow("s3:GetObject"))
    busy = account.identity("user", "busy", allow("s3:GetObject"))
    account.used(busy, "s3:GetObject")
    account.identity("user", "recent-login", allow("s3:GetObject"), last_active=days_ago(10))
    account.identity("user", "old-login", allow("s3:GetObject"), last_active=days_ago(200))
    account.identity("user", "new", allow("s3:GetObject"), created=days_ago(30))
    old_use = account.identity("role", "stale", allow("s3:GetObject"))
    account.used(old_use, "s3:GetObject", when=days_ago(120))
    account.identity("role", "aws-owned", allow("s3:GetObject"), service_linked=True)
    account.resource("lambda:function", "fn", executionRole=old_use)
    account.resource("ec2:instance", "i-1", instanceProfileRole=busy.replace(":user/", ":role/"))
    found = types_of(DETECTOR.detect(account.snapshot()))
    assert found == {
        "idle": "inactiveUserFinding",
        "old-login": "inactiveUserFinding",
        "stale": "inactiveAwsRoleFinding",
        "fn": "inactiveServerlessFunctionFinding",
        "i-1": "inactiveAwsResourceFinding",  # its role does not exist: no activity known
    }


def test_window_is_configurable_and_evidence_has_dates() -> None:
    account = Account()
    role = account.identity("role", "stale", allow("s3:GetObject"))
    account.used(role, "s3:GetObject", when=days_ago(120))
    assert types_of(DETECTOR.detect(account.snapshot(window_days=180))) == {}
    (finding,) = DETECTOR.detect(account.snapshot())
    assert finding.evidence["lastActivity"] == days_ago(120).isoformat()
    # the contract's properties write times as Graph does: UTC with a trailing Z
    assert finding.properties["identityDetails"]["lastActiveDateTime"] == days_ago(120).isoformat()[:-6] + "Z"
    assert finding.action_summary is not None
    assert (finding.action_summary.assigned, finding.action_summary.exercised) == (1, 0)


def test_groups_inactive_when_no_member_used_what_the_group_grants() -> None:
    account = Account()
    used = account.identity("group", "used", allow("s3:GetObject"))
    unused = account.identity("group", "unused", allow("ec2:RunInstances"))
    account.identity("group", "new-group", allow("ec2:RunInstances"), created=days_ago(3))
    alice = account.identity("user", "alice")
    account.member(used, alice)
    account.member(unused, alice)
    account.used(alice, "s3:GetObject")
    findings = [f for f in DETECTOR.detect(account.snapshot()) if f.finding_type == "inactiveGroupFinding"]
    assert [f.subject_name for f in findings] == ["unused"]
    assert findings[0].evidence["members"] == [alice]
    assert findings[0].pci is not None and findings[0].pci.factors["unused"] == 1


def test_window_start_is_fixed_by_the_settings() -> None:
    settings = AnalysisSettings(now=days_ago(0), window_days=30)
    assert settings.window_start == days_ago(30)
    assert dataclasses.replace(settings, window_days=10).window_start == days_ago(10)


def test_per_identity_values_start_afresh_in_a_replaced_or_released_snapshot() -> None:
    account = Account()
    idle = account.identity("user", "idle", allow("s3:GetObject"))
    snapshot = account.snapshot(activity=True)
    assert is_inactive(snapshot, idle) and pci_of(snapshot, idle).factors["used"] == 0
    # what the remediation planner does: the same system with other usage, derived anew
    moment = days_ago(1)
    used = [Usage(identity_external_id=idle, action="s3:GetObject", resource=None, first_seen=moment,
                  last_seen=moment, count=1)]  # fmt: skip
    replaced = dataclasses.replace(snapshot, usages=used, _results={}, _derived={})
    assert not is_inactive(replaced, idle) and pci_of(replaced, idle).factors["used"] == 1
    assert is_inactive(snapshot, idle)  # the first snapshot keeps its own values
    snapshot.usages = used
    snapshot.__dict__.pop("exercised_by", None)
    snapshot.release()
    assert pci_of(snapshot, idle).factors["used"] == 1
