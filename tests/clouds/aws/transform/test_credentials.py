"""Credential report (and ListAccessKeys) onto users: facts, last activity, root user, access-key identities."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from permscope.clouds.aws.transform.credentials import (
    apply_credential_report,
    apply_listed_access_keys,
    decode_report_content,
    parse_credential_report,
)
from permscope.core.errors import InputError
from permscope.core.ids import Cloud
from permscope.core.inventory import AuthorizationSystem, Identity, IdentityKind, InventoryBatch

ACCOUNT = "111122223333"
HEADER = (
    "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,"
    "mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,"
    "access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,"
    "access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,"
    "cert_1_last_rotated,cert_2_active,cert_2_last_rotated"
)
# as AWS writes it: the root line first, not_supported for root's password, N/A for absent values
ROOT = (
    f"<root_account>,arn:aws:iam::{ACCOUNT}:root,2019-01-01T00:00:00+00:00,not_supported,2024-03-01T10:00:00+00:00,"
    "not_supported,not_supported,false,true,2019-06-01T00:00:00+00:00,2024-02-01T00:00:00+00:00,us-east-1,s3,"
    "false,N/A,N/A,N/A,N/A,false,N/A,false,N/A"
)
ALICE = (
    f"alice,arn:aws:iam::{ACCOUNT}:user/alice,2020-01-01T00:00:00+00:00,true,2024-01-05T08:00:00+00:00,"
    "2023-12-01T00:00:00+00:00,N/A,true,"
    "true,2023-01-01T00:00:00+00:00,2024-04-01T12:00:00+00:00,eu-west-1,ec2,"
    "false,2021-06-01T00:00:00+00:00,no_information,N/A,N/A,false,N/A,false,N/A"
)
GHOST = (
    f"ghost,arn:aws:iam::{ACCOUNT}:user/ghost,2020-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,false,N/A,N/A,N/A,"
    "N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A"
)
REPORT = "\n".join([HEADER, ROOT, ALICE, GHOST]) + "\n"


def batch() -> InventoryBatch:
    alice = Identity(
        external_id=f"arn:aws:iam::{ACCOUNT}:user/alice",
        kind=IdentityKind.USER,
        display_name="alice",
        source="aws",
        last_active_at=datetime(2023, 1, 1, tzinfo=UTC),
        attributes={"path": "/"},
    )
    system = AuthorizationSystem(cloud=Cloud.AWS, system_id=ACCOUNT, name="prod")
    return InventoryBatch(system=system, source="test", identities=[alice])


def test_report_facts_land_on_users_and_the_root_user() -> None:
    target = batch()
    warnings: list[str] = []
    keys = {
        "alice": [  # listed newest first: matched to slots by creation time, not by order
            {
                "UserName": "alice",
                "AccessKeyId": "AKIAOLDEROLDEROLDER2",
                "Status": "Inactive",
                "CreateDate": "2021-06-01T00:00:00Z",
            },
            {
                "UserName": "alice",
                "AccessKeyId": "AKIANEWERNEWERNEWER1",
                "Status": "Active",
                "CreateDate": "2023-01-01T00:00:00+00:00",
            },
        ]
    }
    apply_credential_report(target, parse_credential_report(REPORT, "report"), keys, warnings)
    identities = {i.external_id: i for i in target.identities}
    alice = identities[f"arn:aws:iam::{ACCOUNT}:user/alice"]
    facts = alice.attributes["credentialReport"]
    assert facts["mfaActive"] is True and facts["passwordEnabled"] is True
    assert facts["passwordLastUsed"] == "2024-01-05T08:00:00+00:00"
    assert [(k["slot"], k["accessKeyId"], k["active"]) for k in facts["accessKeys"]] == [
        (1, "AKIANEWERNEWERNEWER1", True),
        (2, "AKIAOLDEROLDEROLDER2", False),
    ]
    assert (
        facts["accessKeys"][0]["lastUsedService"] == "ec2" and facts["accessKeys"][1]["lastUsedDate"] is None
    )
    assert alice.last_active_at == datetime(
        2024, 4, 1, 12, tzinfo=UTC
    )  # the key's use, later than the password's
    newer = identities["AKIANEWERNEWERNEWER1"]
    assert newer.kind is IdentityKind.ACCESS_KEY and newer.attributes["owner"] == alice.external_id
    assert (
        newer.last_active_at == datetime(2024, 4, 1, 12, tzinfo=UTC)
        and newer.attributes["status"] == "Active"
    )
    root = identities[f"arn:aws:iam::{ACCOUNT}:root"]
    assert root.attributes["rootUser"] is True and root.display_name == "root"
    assert root.attributes["credentialReport"]["passwordEnabled"] is None  # not_supported
    assert root.attributes["credentialReport"]["accessKeys"][0]["active"] is True
    assert root.last_active_at == datetime(2024, 3, 1, 10, tzinfo=UTC)
    assert warnings == [
        f"the credential report names arn:aws:iam::{ACCOUNT}:user/ghost, which the authorization details lack"
    ]


def test_without_key_listings_the_facts_stay_on_the_user_only() -> None:
    target = batch()
    apply_credential_report(target, parse_credential_report(REPORT, "report"), None, [])
    assert not [i for i in target.identities if i.kind is IdentityKind.ACCESS_KEY]
    alice = target.identities[0]
    assert [k["accessKeyId"] for k in alice.attributes["credentialReport"]["accessKeys"]] == [None, None]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("user,arn\nalice,arn:aws:iam::1:user/alice\n", "missing columns"),
        (
            HEADER + "\n" + ALICE.replace("2024-01-05T08:00:00+00:00", "yesterday") + "\n",
            "password_last_used is not a date",
        ),
        (HEADER + "\n,,,,,,,,,,,,,,,,,,,,,\n", "line 2: no user or arn"),
    ],
)
def test_a_malformed_report_names_the_problem(text: str, problem: str) -> None:
    with pytest.raises(InputError, match=problem) as info:
        parse_credential_report(text, "report.csv")
    assert info.value.source == "report.csv"


def test_keys_listed_without_the_report_become_identities_with_unknown_use() -> None:
    target = batch()
    warnings: list[str] = []
    listed = {
        "alice": [{"AccessKeyId": "AKIAALICE", "Status": "Active", "CreateDate": "2023-01-01T00:00:00Z"}],
        "nobody": [{"AccessKeyId": "AKIANOBODY", "Status": "Active"}],
    }
    apply_listed_access_keys(target, listed, warnings)
    keys = [i for i in target.identities if i.kind is IdentityKind.ACCESS_KEY]
    assert [(k.external_id, k.created_at, k.last_active_at) for k in keys] == [
        ("AKIAALICE", datetime(2023, 1, 1, tzinfo=UTC), None)
    ]
    assert keys[0].attributes == {
        "owner": f"arn:aws:iam::{ACCOUNT}:user/alice",
        "ownerName": "alice",
        "status": "Active",
        "lastUsedKnown": False,
    }
    assert any("nobody" in w for w in warnings) and any("last use is not" in w for w in warnings)


def test_report_content_from_boto3_bytes_or_cli_base64() -> None:
    import base64

    assert decode_report_content(REPORT.encode()) == REPORT
    assert decode_report_content(base64.b64encode(REPORT.encode()).decode()) == REPORT
    with pytest.raises(ValueError, match="neither CSV nor base64"):
        decode_report_content("%%%")
