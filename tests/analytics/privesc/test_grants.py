"""Principals that make ANOTHER principal administrator-equivalent without becoming it: their own kind of
escalation finding (`reaches: grantsAdmin`), naming the beneficiaries and the chain to them when one exists."""

from __future__ import annotations

from typing import Any

from permscope.analytics.detectors.privilege_escalation import DETECTOR
from permscope.analytics.privesc.analysis import escalation_analysis
from permscope.core.findings import Finding

from ..builders import ACCOUNT, ADMIN, Account, allow
from .test_graph import trusts


def findings(account: Account) -> dict[str, Finding]:
    return {f.subject_name: f for f in DETECTOR.detect(account.snapshot())}


def grants(finding: Finding) -> list[dict[str, Any]]:
    return [d for d in finding.properties["privilegeEscalationDetails"] if d["reaches"] == "grantsAdmin"]


def test_a_role_that_writes_other_users_policies_grants_them_admin() -> None:
    for action, technique in (("iam:AttachUserPolicy", "grant-002"), ("iam:PutUserPolicy", "grant-001")):
        account = Account()
        account.identity("role", "writer", allow(action), trust=trusts(Service="lambda.amazonaws.com"))
        alice = account.identity("user", "alice", allow("s3:ListBucket"))
        account.identity("user", "admin", ADMIN)  # already administrator: granting it changes nothing
        found = findings(account)
        assert set(found) == {"writer"}, action
        finding = found["writer"]
        assert finding.finding_type == "privilegeEscalationAwsRoleFinding"
        assert finding.evidence["grantsAdminTo"] == [alice] and not finding.evidence["reachesAdmin"]
        (detail,) = grants(finding)
        assert detail["beneficiaries"] == [alice] and detail["reach"] == []
        assert [s["techniqueId"] for s in detail["steps"]] == [technique]
        assert detail["steps"][0]["grants"] is True
        assert "grants administrator-equivalent rights to alice" in finding.summary


def test_a_user_that_writes_other_roles_policies_grants_them_admin_unless_a_boundary_limits_them() -> None:
    account = Account()
    account.identity("user", "writer", allow("iam:AttachRolePolicy", "iam:PutRolePolicy"))
    app = account.identity("role", "app", allow("s3:GetObject"), trust=trusts(Service="ec2.amazonaws.com"))
    account.identity("role", "bounded", allow("s3:GetObject"), boundary=allow("s3:*"),
                     trust=trusts(Service="ec2.amazonaws.com"))  # fmt: skip
    finding = findings(account)["writer"]
    assert finding.evidence["grantsAdminTo"] == [app]
    assert {s["techniqueId"] for d in grants(finding) for s in d["steps"]} == {"grant-003", "grant-004"}


def test_writing_a_groups_policies_grants_its_members_admin() -> None:
    account = Account()
    account.identity("role", "writer", allow("iam:PutGroupPolicy", "iam:AttachGroupPolicy"),
                     trust=trusts(Service="lambda.amazonaws.com"))  # fmt: skip
    team = account.identity("group", "team")
    account.identity("group", "empty")
    bob = account.identity("user", "bob")
    account.member(team, bob)
    finding = findings(account)["writer"]
    assert finding.evidence["grantsAdminTo"] == [bob]
    assert all(d["steps"][0]["via"] == team for d in grants(finding))


def test_adding_users_to_an_administrator_group_grants_them_admin() -> None:
    account = Account()
    account.identity(
        "role", "joiner", allow("iam:AddUserToGroup"), trust=trusts(Service="lambda.amazonaws.com")
    )
    ops = account.identity(
        "group", "ops", allow("iam:*", "ec2:*")
    )  # every IAM action: administrator-equivalent
    dev = account.identity("user", "dev")
    finding = findings(account)["joiner"]
    assert finding.evidence["grantsAdminTo"] == [dev]
    (detail,) = grants(finding)
    assert detail["steps"][0]["techniqueId"] == "grant-007" and detail["steps"][0]["via"] == ops

    readers = Account()  # a group that is not administrator-equivalent: nothing is granted
    readers.identity(
        "role", "joiner", allow("iam:AddUserToGroup"), trust=trusts(Service="lambda.amazonaws.com")
    )
    readers.identity("group", "readers", allow("s3:GetObject"))
    readers.identity("user", "dev")
    assert findings(readers) == {}


def test_the_chain_to_a_beneficiary_is_named_when_one_exists() -> None:
    account = Account()
    alice = account.identity("user", "alice", allow("s3:ListBucket"))
    account.identity("role", "helpdesk", allow("iam:AttachUserPolicy", "iam:CreateLoginProfile", resource=alice),
                     trust=trusts(Service="lambda.amazonaws.com"))  # fmt: skip
    (detail,) = grants(findings(account)["helpdesk"])
    assert detail["beneficiaries"] == [alice]
    assert [s["techniqueId"] for s in detail["reach"]] == ["iam-004"]
    assert "can then reach alice through iam:CreateLoginProfile (iam-004)" in detail["description"]


def test_grants_through_a_role_the_principal_can_assume_and_to_itself_reach_admin() -> None:
    account = Account()
    intern = account.identity("user", "intern")
    account.identity("role", "writer", allow("iam:AttachUserPolicy"), trust=trusts(AWS=intern))
    paths = escalation_analysis(account.snapshot()).paths(intern)
    assert paths and paths[0].admin  # it assumes writer, which attaches admin to the intern itself
    assert [s.technique_id for s in paths[0].steps] == ["sts-001", "grant-002"]


def test_a_principal_that_reaches_admin_itself_gets_no_grant_paths() -> None:
    account = Account()
    account.identity("user", "self-writer", allow("iam:AttachUserPolicy"))  # iam-008 on itself: admin
    account.identity("user", "other")
    (finding,) = DETECTOR.detect(account.snapshot())
    assert finding.evidence["reachesAdmin"] and "grantsAdminTo" not in finding.evidence
    assert not grants(finding)


def test_scoped_or_denied_writes_grant_nothing() -> None:
    account = Account()
    account.identity("role", "scoped", allow("iam:AttachUserPolicy", resource=f"arn:aws:iam::{ACCOUNT}:user/svc-*"),
                     trust=trusts(Service="lambda.amazonaws.com"))  # fmt: skip
    account.identity("role", "denied", allow("iam:AttachUserPolicy"), allow("iam:AttachUserPolicy", effect="Deny"),
                     trust=trusts(Service="lambda.amazonaws.com"))  # fmt: skip
    account.identity("user", "alice")
    assert findings(account) == {}


def test_identity_center_roles_are_neither_granted_nor_passed() -> None:
    account = Account()
    account.identity("user", "writer", allow("iam:AttachRolePolicy", "iam:PassRole", "lambda:CreateFunction",
                                             "lambda:InvokeFunction"))  # fmt: skip
    # its trust is made to admit Lambda here: even so, an IAM principal can neither change nor pass it
    sso = account.identity("role", "aws-reserved/sso.amazonaws.com/AWSReservedSSO_Dev_0123456789abcdef",
                           allow("s3:DeleteObject"), trust=trusts(Service="lambda.amazonaws.com"))  # fmt: skip
    assert ":role/aws-reserved/sso.amazonaws.com/" in sso
    assert findings(account) == {}
