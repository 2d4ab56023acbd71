"""Over-provisioned identities, secret-information access and security-tool administrators."""

from __future__ import annotations

from permscope.analytics.detectors import overprovisioned, secret_access, security_tools

from ..builders import ADMIN, Account, allow, types_of


def test_overprovisioned_threshold_minimum_and_super_excluded() -> None:
    account = Account()
    wide = account.identity("role", "wide", allow("s3:*"))
    account.used(wide, "s3:GetObject")
    fair = account.identity("role", "fair", allow("s3:GetObject", "s3:PutObject", "s3:ListBucket"))
    account.used(fair, "s3:GetObject")  # uses 1 of 3: under 10%? no; and fewer than 10 unused
    admin = account.identity("user", "admin", ADMIN)
    account.used(admin, "s3:GetObject")
    account.identity("user", "idle", allow("s3:*"))
    found = list(overprovisioned.DETECTOR.detect(account.snapshot()))
    assert types_of(found) == {"wide": "overprovisionedAwsRoleFinding"}
    assert found[0].evidence["usedActions"] == ["s3:GetObject"]
    assert found[0].action_summary is not None and found[0].action_summary.exercised == 1
    assert (
        types_of(overprovisioned.DETECTOR.detect(account.snapshot(overprovisioned_max_used_ratio=0.001)))
        == {}
    )


def test_secret_access_flags_in_contract_order() -> None:
    account = Account()
    account.identity("user", "reader", allow("acm:ExportCertificate", "secretsmanager:GetSecretValue"))
    account.identity(
        "role",
        "scoped",
        allow(
            "secretsmanager:GetSecretValue",
            resource="arn:aws:secretsmanager:us-east-1:111111111111:secret:db*",
        ),
    )
    account.identity("role", "denied", allow("secretsmanager:*"), allow("secretsmanager:*", effect="Deny"))
    account.identity("role", "lister", allow("secretsmanager:ListSecrets", "acm:ListCertificates"))
    findings = {f.subject_name: f for f in secret_access.DETECTOR.detect(account.snapshot())}
    assert set(findings) == {"reader", "scoped"}
    assert (
        findings["reader"].properties["secretInformationWebServices"] == "secretsManager,certificateManager"
    )
    assert findings["reader"].finding_type == "secretInformationAccessAwsUserFinding"
    assert findings["scoped"].evidence["actions"] == {
        "secretsManager": {"secretsmanager:GetSecretValue": "specificResources"}
    }


def test_security_tool_administrators() -> None:
    account = Account()
    account.identity("role", "trail-off", allow("cloudtrail:StopLogging", "guardduty:DeleteDetector"))
    account.identity("role", "viewer", allow("cloudtrail:Describe*", "guardduty:Get*", "securityhub:Get*"))
    account.identity("role", "secrets", allow("secretsmanager:GetSecretValue"))
    account.identity("user", "admin", ADMIN)
    snapshot = account.snapshot()
    list(secret_access.DETECTOR.detect(snapshot))  # another flag table computed first must not bleed in
    findings = {f.subject_name: f for f in security_tools.DETECTOR.detect(snapshot)}
    assert set(findings) == {"trail-off", "admin"}
    assert findings["trail-off"].properties["securityTools"] == "cloudTrail,guardDuty"
    assert findings["admin"].properties["securityTools"] == (
        "macie,wafShield,cloudTrail,inspector,securityHub,detective,guardDuty"
    )
    assert findings["trail-off"].evidence["actions"]["cloudTrail"] == {
        "cloudtrail:StopLogging": "allResources"
    }
