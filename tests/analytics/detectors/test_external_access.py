"""Access from outside the account through role trust."""

from __future__ import annotations

from typing import Any

from permscope.analytics.detectors import external_access
from permscope.core.findings import FindingSubject

from ..builders import ACCOUNT, Account, allow

PARTNER = "222222222222"


def trust(principal: Any, action: str = "sts:AssumeRole", **extra: Any) -> dict[str, Any]:
    statement = {"Effect": "Allow", "Principal": principal, "Action": action, **extra}
    return {"Version": "2012-10-17", "Statement": [statement]}


def test_roles_admitting_outsiders_and_outside_accounts() -> None:
    account = Account()
    account.identity(
        "role", "partner-whole", allow("sts:AssumeRole"), trust=trust({"AWS": f"arn:aws:iam::{PARTNER}:root"})
    )
    account.identity("role", "partner-one", trust=trust({"AWS": f"arn:aws:iam::{PARTNER}:role/ci"}))
    inner = account.identity("role", "inner", trust=trust({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}))
    anyone = account.identity("role", "anyone", trust=trust({"AWS": "*"}))
    account.identity(
        "role",
        "github",
        trust=trust({"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"},
                    "sts:AssumeRoleWithWebIdentity", Condition={"StringLike": {"token.actions.githubusercontent.com:sub": "repo:x/*"}}),
    )  # fmt: skip
    account.identity("role", "sso", trust=trust({"Federated": f"arn:aws:iam::{ACCOUNT}:saml-provider/AWSSSO_1"},
                                                "sts:AssumeRoleWithSAML"))  # fmt: skip
    account.identity("role", "lambda", trust=trust({"Service": "lambda.amazonaws.com"}))
    findings = list(external_access.DETECTOR.detect(account.snapshot()))
    roles = {f.subject_name: f for f in findings if f.finding_type == "awsExternalSystemAccessRoleFinding"}
    assert set(roles) == {"partner-whole", "partner-one", "anyone", "github", "sso"}
    assert roles["partner-one"].properties["accessibleSystemIds"] == [PARTNER]
    assert roles["anyone"].properties["accessibleSystemIds"] == ["*"]
    assert roles["github"].evidence["kinds"] == ["webIdentity"]
    assert roles["github"].evidence["conditionKeys"] == ["token.actions.githubusercontent.com:sub"]
    assert roles["sso"].evidence["kinds"] == ["sso"]
    assert roles["sso"].subject is FindingSubject.ROLE and roles["sso"].pci is not None

    systems = {f.subject_id: f for f in findings if f.finding_type == "awsExternalSystemAccessFinding"}
    assert set(systems) == {PARTNER, "*"}
    partner = systems[PARTNER]
    assert partner.properties["accessMethods"] == "direct,roleChaining"
    assert partner.properties["trustsAllIdentities"] is True
    assert partner.properties["trustedIdentityCount"] is None
    assert partner.properties["systemWithAccess"] == {
        "authorizationSystemType": "aws", "id": PARTNER, "displayName": PARTNER}  # fmt: skip
    assert partner.evidence["chainedRoles"] == [anyone, inner]  # partner-whole holds sts:AssumeRole
    assert systems["*"].properties["accessMethods"] == "direct"  # role "anyone" holds no sts:AssumeRole


def test_specific_principals_only() -> None:
    account = Account()
    account.identity(
        "role",
        "ci",
        trust=trust({"AWS": [f"arn:aws:iam::{PARTNER}:role/a", f"arn:aws:iam::{PARTNER}:user/b"]}),
    )
    account.identity("role", "same-account", trust=trust({"AWS": f"arn:aws:iam::{ACCOUNT}:role/x"}))
    findings = list(external_access.DETECTOR.detect(account.snapshot()))
    (system,) = [f for f in findings if f.finding_type == "awsExternalSystemAccessFinding"]
    assert system.properties["accessMethods"] == "direct"
    assert system.properties["trustsAllIdentities"] is False
    assert system.properties["trustedIdentityCount"] == 2
    assert {f.subject_name for f in findings if f.finding_type == "awsExternalSystemAccessRoleFinding"} == {
        "ci"
    }
