"""Files the AWS CLI writes -> bundles: kinds recognised by content, files assigned to accounts, clear errors."""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from permscope.clouds.aws.files.bundle import file_kind, path_account, read_aws_files
from permscope.core.errors import InputError

A, B = "111122223333", "444455556666"
REPORT = (
    "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,"
    "mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,"
    "access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,"
    "access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,"
    "cert_1_last_rotated,cert_2_active,cert_2_last_rotated\n"
    "alice,arn:aws:iam::{account}:user/alice,2020-01-01T00:00:00+00:00,true,N/A,N/A,N/A,true,true,"
    "2023-01-01T00:00:00+00:00,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n"
)


def details(account: str) -> dict[str, Any]:
    return {
        "UserDetailList": [
            {"UserName": "alice", "Arn": f"arn:aws:iam::{account}:user/alice", "GroupList": []}
        ],
        "GroupDetailList": [],
        "RoleDetailList": [],
        "Policies": [],
    }


def write(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


@pytest.mark.parametrize(
    ("document", "kind"),
    [
        (details(A), "authorization-details"),
        ({"AccessKeyMetadata": []}, "access-keys"),
        ({"Content": "eA==", "ReportFormat": "text/csv"}, "credential-report"),
        ({"JobStatus": "COMPLETED", "ServicesLastAccessed": []}, "access-advisor"),
        ({"Organization": {"Id": "o-1"}}, "organization"),
        ({"Policies": [{"Id": "p-1", "Type": "SERVICE_CONTROL_POLICY"}]}, "org-policies"),
        ({"Policy": {"PolicySummary": {"Id": "p-1"}, "Content": "{}"}}, "org-policy"),
        ({"Accounts": [{"Id": A, "Arn": f"arn:aws:organizations::1:account/o-1/{A}"}]}, "org-accounts"),
        ({"Users": [{"UserId": "u", "IdentityStoreId": "d-1"}]}, "identitystore-users"),
        ({"AccountAssignments": [{"AccountId": A, "PrincipalId": "u"}]}, "sso-account-assignments"),
        ({"Policy": '{"Statement": []}'}, "unknown"),  # a bucket policy: a resource output
        ({"Users": [{"UserName": "alice", "Arn": "arn:aws:iam::1:user/alice"}]}, "unknown"),  # iam list-users
    ],
)
def test_kinds_are_recognised_by_content(document: dict[str, Any], kind: str) -> None:
    assert file_kind(document) == kind


def test_account_from_the_path() -> None:
    assert path_account(Path(f"/exports/{A}/iam/list-access-keys.json")) == A
    assert path_account(Path(f"/exports/{A}/{B}/x.json")) == B
    assert path_account(Path(f"/exports/keys-{A}.json")) == A
    assert path_account(Path("/exports/1234/x.json")) is None


def test_one_account_takes_every_file_that_names_none(tmp_path: Path) -> None:
    paths = [
        write(tmp_path / "authz.json.gz", ""),
        write(tmp_path / "report.csv", REPORT.format(account=A)),
        write(
            tmp_path / "keys.json",
            {
                "AccessKeyMetadata": [
                    {
                        "UserName": "alice",
                        "AccessKeyId": "AKIA1",
                        "Status": "Active",
                        "CreateDate": "2023-01-01T00:00:00Z",
                    }
                ]
            },
        ),
    ]
    paths[0].write_bytes(gzip.compress(json.dumps(details(A)).encode()))
    found = read_aws_files(paths)
    (bundle,) = found.bundles
    assert bundle["account_id"] == A and bundle["credential_report"] == REPORT.format(account=A)
    assert bundle["access_keys"] == {
        "alice": [
            {
                "UserName": "alice",
                "AccessKeyId": "AKIA1",
                "Status": "Active",
                "CreateDate": "2023-01-01T00:00:00Z",
            }
        ]
    }
    assert bundle["organization"] is None and bundle["resources"] is None


def test_several_accounts_need_folders_for_files_that_name_none(tmp_path: Path) -> None:
    authz = write(tmp_path / "authz.json", {k: details(A)[k] + details(B)[k] for k in details(A)})
    report_b = write(
        tmp_path / "b.json",
        {"Content": base64.b64encode(REPORT.format(account=B).encode()).decode(), "ReportFormat": "text/csv"},
    )
    keys = write(tmp_path / "keys.json", {"AccessKeyMetadata": []})
    with pytest.raises(InputError, match="cannot tell which account") as info:
        read_aws_files([authz, report_b, keys])
    assert info.value.source == str(keys)
    placed = write(tmp_path / A / "keys.json", {"AccessKeyMetadata": []})
    found = {b["account_id"]: b for b in read_aws_files([authz, report_b, placed]).bundles}
    assert found[B]["credential_report"] == REPORT.format(account=B) and found[A]["credential_report"] is None
    assert found[A]["access_keys"] == {} and found[B]["access_keys"] is None


def test_files_of_an_account_without_its_export_are_refused(tmp_path: Path) -> None:
    authz = write(tmp_path / "authz.json", details(A))
    stray = write(tmp_path / "report.csv", REPORT.format(account=B))
    with pytest.raises(InputError, match=f"belongs to account {B}, but no get-account-authorization-details"):
        read_aws_files([authz, stray])
    with pytest.raises(InputError, match="no `aws iam get-account-authorization-details` export"):
        read_aws_files([stray])


def test_an_empty_account_is_named_by_its_folder(tmp_path: Path) -> None:
    empty = write(
        tmp_path / B / "authz.json",
        {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": [], "Policies": []},
    )
    found = read_aws_files([write(tmp_path / "a.json", details(A)), empty])
    assert sorted(b["account_id"] for b in found.bundles) == [A, B]


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ({"OrganizationalUnits": []}, "ParentId: '<id>'"),
        ({"Targets": []}, "PolicyId: '<id>'"),
        ({"Parents": [{"Id": "r-1"}]}, "ChildId: '<id>'"),
        ({"JobStatus": "COMPLETED", "ServicesLastAccessed": []}, "Arn: '<ARN>'"),
        ({"Url": "x", "ClientIDList": []}, "Arn: '<ARN>'"),
        ({"Whatever": 1}, "not an AWS CLI output permscope reads"),
        ({"Roots": []}, "without `aws organizations describe-organization` output"),
    ],
)
def test_outputs_missing_their_subject_name_the_file_and_the_fix(
    tmp_path: Path, document: Any, problem: str
) -> None:
    authz = write(tmp_path / "authz.json", details(A))
    bad = write(tmp_path / "bad.json", document)
    with pytest.raises(InputError, match=problem.replace("(", r"\(").replace("*", r"\*")) as info:
        read_aws_files([authz, bad])
    assert str(bad) in info.value.source


def test_a_file_mixing_two_commands_is_refused(tmp_path: Path) -> None:
    mixed = write(
        tmp_path / "mixed.json", json.dumps(details(A)) + "\n" + json.dumps({"AccessKeyMetadata": []})
    )
    with pytest.raises(InputError, match="mixes outputs of several commands"):
        read_aws_files([mixed])


def test_a_folder_without_an_export_says_to_name_the_files(tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    with pytest.raises(InputError) as raised:
        read_aws_files([folder])
    assert str(folder) in str(raised.value)
    assert "get-account-authorization-details" in str(raised.value)
    assert "name the export files themselves" in str(raised.value)
