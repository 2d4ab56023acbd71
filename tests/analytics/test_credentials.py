"""Credentials of every cloud from stored identities: AWS access keys (key identities first, the credential
report's slots for the rest), Azure client secrets and certificates, GCP user-managed keys; states at a time."""

from __future__ import annotations

from datetime import UTC, datetime

from permscope.analytics.credentials import (
    AWS_KEY,
    AZURE_CERTIFICATE,
    AZURE_SECRET,
    GCP_KEY,
    credentials,
)
from permscope.core.ids import Cloud
from permscope.core.inventory import Identity, IdentityKind

NOW = datetime(2026, 6, 1, tzinfo=UTC)
ALICE = "arn:aws:iam::111122223333:user/alice"
BOB = "arn:aws:iam::111122223333:user/bob"


def _aws() -> list[Identity]:
    listed = Identity(
        external_id="AKIAALICE0000000001",
        kind=IdentityKind.ACCESS_KEY,
        display_name="AKIAALICE0000000001",
        source="aws",
        created_at=datetime(2025, 1, 1, tzinfo=UTC),
        last_active_at=datetime(2026, 5, 30, tzinfo=UTC),
        attributes={"owner": ALICE, "ownerName": "alice", "status": "Active"},
    )
    report = {
        "accessKeys": [
            {
                "slot": 1,
                "accessKeyId": "AKIAALICE0000000001",
                "active": True,
                "lastRotated": "2024-01-01T00:00:00Z",
            },
            {"slot": 2, "active": False, "lastRotated": "2023-03-01T00:00:00Z", "lastUsedDate": None},
        ]
    }
    alice = Identity(
        external_id=ALICE, kind=IdentityKind.USER, display_name="alice", source="aws",
        attributes={"credentialReport": report},
    )  # fmt: skip
    bob = Identity(
        external_id=BOB, kind=IdentityKind.USER, display_name="bob", source="aws",
        attributes={"credentialReport": {"accessKeys": [
            {"slot": 1, "active": True, "lastRotated": "2026-02-01T00:00:00Z", "lastUsedDate": "2026-05-01T00:00:00Z"}
        ]}},
    )  # fmt: skip
    return [bob, listed, alice]


def test_aws_keys_from_key_identities_and_the_credential_report() -> None:
    found = credentials(Cloud.AWS, _aws(), NOW)
    assert [(c.owner_name, c.credential_id, c.status) for c in found] == [
        ("alice", "AKIAALICE0000000001", "active"),  # the key identity wins over its report slot
        ("alice", f"{ALICE}#accessKey2", "inactive"),
        ("bob", f"{BOB}#accessKey1", "active"),
    ]
    listed = found[0]
    assert listed.kind == AWS_KEY and listed.name == "AKIAALICE0000000001"
    assert listed.created == datetime(2025, 1, 1, tzinfo=UTC) and listed.age_days(NOW) == 516
    assert listed.idle_days(NOW) == 2
    assert found[1].name == "" and found[1].idle_days(NOW) == (NOW - datetime(2023, 3, 1, tzinfo=UTC)).days
    assert found[2].last_used == datetime(2026, 5, 1, tzinfo=UTC) and found[2].idle_days(NOW) == 31


def test_azure_secrets_and_certificates_expire() -> None:
    app = Identity(
        external_id="sp-1", kind=IdentityKind.SERVICE_PRINCIPAL, display_name="deployer", source="aad",
        attributes={"credentials": [
            {"credentialType": "password", "keyId": "k1", "displayName": "ci", "startDateTime": "2025-01-01T00:00:00Z",
             "endDateTime": "2026-01-01T00:00:00Z"},
            {"credentialType": "certificate", "keyId": "k2", "startDateTime": "2026-01-01T00:00:00Z",
             "endDateTime": "2027-01-01T00:00:00Z"},
            "not a credential",
        ]},
    )  # fmt: skip
    found = credentials(Cloud.AZURE, [app], NOW)
    assert [(c.kind, c.credential_id, c.name, c.status) for c in found] == [
        (AZURE_SECRET, "k1", "ci", "expired"),
        (AZURE_CERTIFICATE, "k2", "", "active"),
    ]
    assert all(not c.last_used_known and c.idle_days(NOW) is None for c in found)
    assert found[0].expires == datetime(2026, 1, 1, tzinfo=UTC)


def test_gcp_keys_of_accounts_at_home_only_and_disabled_or_never_expiring() -> None:
    def account(email: str, home: bool, keys: list[dict[str, object]]) -> Identity:
        return Identity(
            external_id=f"serviceAccount:{email}", kind=IdentityKind.SERVICE_ACCOUNT, display_name=email,
            source="gcp", attributes={"inProject": home, "keys": keys},
        )  # fmt: skip

    keys = [
        {"id": "a1", "validAfter": "2024-01-01T00:00:00Z", "validBefore": "9999-12-31T23:59:59Z", "disabled": False,
         "origin": "GOOGLE_PROVIDED"},
        {"id": "a2", "validAfter": "2024-01-01T00:00:00Z", "validBefore": "2025-01-01T00:00:00Z", "disabled": True},
    ]  # fmt: skip
    found = credentials(
        Cloud.GCP, [account("a@p.iam.gserviceaccount.com", True, keys), account("b@q.iam", False, keys)], NOW
    )
    assert [(c.kind, c.credential_id, c.status, c.expires) for c in found] == [
        (GCP_KEY, "a1", "active", None),
        (GCP_KEY, "a2", "disabled", datetime(2025, 1, 1, tzinfo=UTC)),
    ]
    assert (
        found[0].name == "GOOGLE_PROVIDED"
        and found[0].age_days(NOW) == (NOW - datetime(2024, 1, 1, tzinfo=UTC)).days
    )
