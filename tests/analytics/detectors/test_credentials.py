"""Unenforced MFA and access-key age / usage, from the credential report and access-key identities."""

from __future__ import annotations

from permscope.analytics.detectors import access_keys, mfa
from permscope.core.findings import FindingSubject
from permscope.core.inventory import Identity, IdentityKind

from ..builders import ACCOUNT, Account, allow, days_ago


def _report(
    mfa_active: bool, password: bool | None, keys: list[dict[str, object]] | None = None
) -> dict[str, object]:
    return {
        "credentialReport": {"mfaActive": mfa_active, "passwordEnabled": password, "accessKeys": keys or []}
    }


def test_console_users_and_root_without_mfa() -> None:
    account = Account()
    account.identity("user", "console", allow("s3:GetObject"), attributes=_report(False, True))
    account.identity("user", "with-mfa", attributes=_report(True, True))
    account.identity("user", "api-only", attributes=_report(False, False))
    account.identity("user", "unknown", attributes=_report(False, None))
    account.identities.append(
        Identity(
            external_id=f"arn:aws:iam::{ACCOUNT}:root",
            kind=IdentityKind.USER,
            display_name="root",
            source="aws",
            attributes={"rootUser": True, **_report(False, None)},
        )
    )
    findings = {f.subject_name: f for f in mfa.DETECTOR.detect(account.snapshot())}
    assert set(findings) == {"console", "root"}
    assert findings["root"].evidence["rootUser"] is True
    assert findings["root"].action_summary is not None
    assert findings["root"].action_summary.assigned == findings["root"].action_summary.available
    assert findings["console"].action_summary is not None and findings["console"].action_summary.assigned == 1


def _key(
    account: Account, key_id: str, owner: str, status: str, created_days: int, used_days: int | None
) -> None:
    account.identities.append(
        Identity(
            external_id=key_id,
            kind=IdentityKind.ACCESS_KEY,
            display_name=key_id,
            source="aws",
            created_at=days_ago(created_days),
            last_active_at=None if used_days is None else days_ago(used_days),
            attributes={"owner": owner, "ownerName": owner.rsplit("/", 1)[-1], "status": status},
        )
    )


def test_key_age_and_usage() -> None:
    account = Account()
    owner = account.identity("user", "deployer", allow("s3:GetObject"))
    _key(account, "AKIAOLDBUTUSED", owner, "Active", 200, 1)
    _key(account, "AKIAOLDUNUSED", owner, "Active", 200, 120)
    _key(account, "AKIANEVERUSED", owner, "Active", 100, None)
    _key(account, "AKIAFRESH", owner, "Active", 10, None)
    _key(account, "AKIAINACTIVE", owner, "Inactive", 300, None)
    findings = list(access_keys.DETECTOR.detect(account.snapshot()))
    found = {(f.finding_type, f.subject_id) for f in findings}
    assert found == {
        ("awsIdentityAccessManagementKeyAgeFinding", "AKIAOLDBUTUSED"),
        ("awsIdentityAccessManagementKeyAgeFinding", "AKIAOLDUNUSED"),
        ("awsIdentityAccessManagementKeyAgeFinding", "AKIANEVERUSED"),
        ("awsIdentityAccessManagementKeyUsageFinding", "AKIAOLDUNUSED"),
        ("awsIdentityAccessManagementKeyUsageFinding", "AKIANEVERUSED"),
    }
    sample = next(f for f in findings if f.subject_id == "AKIAOLDUNUSED")
    assert sample.subject is FindingSubject.ACCESS_KEY
    assert sample.properties["status"] == "active"
    assert sample.properties["awsAccessKeyDetails"] == {
        "createdDateTime": days_ago(200).isoformat()[:-6] + "Z",
        "lastUsedDateTime": days_ago(120).isoformat()[:-6] + "Z",
    }
    assert sample.action_summary is not None and sample.action_summary.assigned == 1
    assert {f.subject_id for f in access_keys.DETECTOR.detect(account.snapshot(key_max_age_days=250))} == {
        "AKIAOLDUNUSED",
        "AKIANEVERUSED",
    }


def test_keys_known_only_from_the_credential_report() -> None:
    account = Account()
    slot = {"slot": 1, "accessKeyId": None, "active": True, "lastRotated": days_ago(150).isoformat(),
            "lastUsedDate": None}  # fmt: skip
    owner = account.identity("user", "legacy", attributes=_report(True, False, [slot]))
    types = sorted(f.finding_type for f in access_keys.DETECTOR.detect(account.snapshot()))
    assert types == ["awsIdentityAccessManagementKeyAgeFinding", "awsIdentityAccessManagementKeyUsageFinding"]
    assert {f.subject_id for f in access_keys.DETECTOR.detect(account.snapshot())} == {f"{owner}#accessKey1"}


def test_a_key_listed_without_the_credential_report_is_judged_by_age_only() -> None:
    account = Account()
    owner = account.identity("user", "deployer", allow("s3:GetObject"))
    _key(account, "AKIALISTEDONLY", owner, "Active", 200, None)
    account.identities[-1].attributes["lastUsedKnown"] = False  # ListAccessKeys says nothing of use
    found = {(f.finding_type, f.subject_id) for f in access_keys.DETECTOR.detect(account.snapshot())}
    assert found == {("awsIdentityAccessManagementKeyAgeFinding", "AKIALISTEDONLY")}
