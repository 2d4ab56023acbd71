"""Super identities: every action on every resource after denies, boundaries and SCPs."""

from __future__ import annotations

from permscope.analytics.detectors.super_identity import DETECTOR, is_super

from ..builders import ADMIN, DENY_ALL, Account, allow


def _super_names(account: Account) -> set[str]:
    return {f.subject_name for f in DETECTOR.detect(account.snapshot())}


def test_issue_cases() -> None:
    account = Account()
    account.identity("user", "admin", ADMIN)
    account.identity("user", "split", allow("iam:*"), {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]})  # fmt: skip
    account.identity("user", "denied", ADMIN, DENY_ALL)
    account.identity("role", "bounded", ADMIN, boundary=allow("ec2:*"))
    account.identity("role", "almost", allow("iam:*", "s3:*"), allow("iam:PutRolePolicy", effect="Deny"))
    assert _super_names(account) == {"admin", "split"}


def test_every_iam_action_everywhere_is_administrator_equivalent() -> None:
    account = Account()
    account.identity("user", "iam-admin", allow("iam:*"))
    account.identity("role", "sre", allow("iam:*", "ec2:*", "s3:*"))
    # a boundary that leaves iam:* can itself be deleted with iam:*
    account.identity("role", "iam-bounded", allow("iam:*"), boundary=allow("iam:*"))
    account.identity("role", "ec2-bounded", allow("iam:*"), boundary=allow("ec2:*"))
    account.identity("user", "one-short", allow("iam:*"), allow("iam:DeleteUserPolicy", effect="Deny"))
    account.identity(
        "user", "with-mfa", allow("iam:*", Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}})
    )
    account.identity("user", "writes-itself", allow("iam:PutUserPolicy"))  # an escalation path, not super
    findings = {f.subject_name: f for f in DETECTOR.detect(account.snapshot())}
    assert set(findings) == {"iam-admin", "sre", "iam-bounded"}
    evidence = findings["iam-admin"].evidence
    assert evidence["rule"] == "every IAM action on every resource, so it can give itself every action"
    assert evidence["allResourcesActions"] < evidence["catalogueActions"]


def test_every_iam_action_is_not_super_when_scps_deny_much() -> None:
    account = Account()
    account.identity("user", "iam-admin", allow("iam:*"))
    account.scp(ADMIN, allow("s3:*", "ec2:*", "rds:*", "glue:*", "sagemaker:*", effect="Deny"))
    assert _super_names(account) == set()
    guarded = Account()
    guarded.identity("user", "iam-admin", allow("iam:*"))
    guarded.scp(ADMIN, allow("organizations:LeaveOrganization", effect="Deny"))
    findings = list(DETECTOR.detect(guarded.snapshot()))
    assert [f.subject_name for f in findings] == ["iam-admin"]
    assert findings[0].evidence["deniedBySCP"] == ["organizations:LeaveOrganization"]


def test_scp_guardrail_of_few_actions_keeps_super_but_wide_scp_deny_does_not() -> None:
    guarded = Account()
    guarded.identity("user", "admin", ADMIN)
    guarded.scp(ADMIN, allow("organizations:LeaveOrganization", "cloudtrail:StopLogging", effect="Deny"))
    findings = list(DETECTOR.detect(guarded.snapshot()))
    assert [f.subject_name for f in findings] == ["admin"]
    assert findings[0].evidence["deniedBySCP"] == [
        "cloudtrail:StopLogging",
        "organizations:LeaveOrganization",
    ]
    assert findings[0].evidence["allResourcesActions"] == findings[0].evidence["catalogueActions"] - 2

    wide = Account()
    wide.identity("user", "admin", ADMIN)
    wide.scp(ADMIN, allow("s3:*", "ec2:*", "iam:*", "rds:*", "glue:*", "sagemaker:*", effect="Deny"))
    assert _super_names(wide) == set()

    allow_list = Account()  # an SCP that allows only EC2 is no guardrail: not super
    allow_list.identity("user", "admin", ADMIN)
    allow_list.scp(allow("ec2:*"))
    assert _super_names(allow_list) == set()


def test_service_linked_roles_are_not_judged_and_resources_act_through_their_role() -> None:
    account = Account()
    account.identity("role", "aws-owned", ADMIN, service_linked=True)
    role = account.identity("role", "app", ADMIN)
    account.resource("lambda:function", "fn", executionRole=role)
    account.resource("ec2:instance", "i-1", instanceProfileRole=role)
    account.resource("ec2:instance", "i-2")
    found = {(f.finding_type, f.subject_name) for f in DETECTOR.detect(account.snapshot())}
    assert found == {
        ("superAwsRoleFinding", "app"),
        ("superServerlessFunctionFinding", "fn"),
        ("superAwsResourceFinding", "i-1"),
    }


def test_finding_carries_summary_pci_and_policies() -> None:
    account = Account()
    user = account.identity("user", "admin", ADMIN)
    snapshot = account.snapshot()
    assert is_super(snapshot, user)
    (finding,) = DETECTOR.detect(snapshot)
    assert finding.action_summary is not None
    assert finding.action_summary.assigned == finding.action_summary.available == snapshot.index.size
    assert finding.pci is not None and finding.pci.score == 100
    assert finding.evidence["policies"] == ["policy1"]
    assert finding.properties["identityDetails"]["createdDateTime"].startswith("2024-")
