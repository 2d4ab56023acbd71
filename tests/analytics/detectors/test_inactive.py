"""Inactive identities and groups."""

from __future__ import annotations

from permscope.analytics.detectors.inactive import DETECTOR

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
