"""`permscope import aws-activity` and `permscope usage list`, and the shared CloudTrail samples seen end to end
(inventory import, activity import, CLI and API)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from moto import mock_aws
from typer.testing import CliRunner

from permscope.api.app import create_app
from permscope.cli.main import app
from permscope.clouds.aws.transform.identity_center import apply_identity_center
from permscope.core.ids import Cloud
from permscope.core.inventory import AuthorizationSystem, Identity, IdentityKind, InventoryBatch
from permscope.settings import Settings, get_settings
from permscope.store.engine import open_database
from permscope.store.ingest import ingest
from permscope.workflows.apikeys import ApiRole, create_api_key

ACCOUNT = "123456789123"
PEDRO = f"arn:aws:iam::{ACCOUNT}:user/pedro"
WAF_ROLE = f"arn:aws:iam::{ACCOUNT}:role/MordorNginxStack-BankingWAFRole-9S3E0UAE1MM0"


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.sqlite3'}"


def run(db_url: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["--database-url", db_url, *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def otrf_log(shared_dir: Path) -> Path:
    return shared_dir / "data" / "logs" / "aws_cloudtrail_otrf_ec2_proxy_s3_exfiltration.jsonl"


def export_of_the_otrf_account(tmp_path: Path) -> Path:
    """An authorization-details export of the account in the OTRF sample: pedro and the WAF role."""
    export: dict[str, Any] = {
        "UserDetailList": [
            {
                "Path": "/",
                "UserName": "pedro",
                "UserId": "AIDAICAK2CN5MGHIIDIHA",
                "Arn": PEDRO,
                "CreateDate": "2020-01-01T00:00:00Z",
                "GroupList": [],
                "AttachedManagedPolicies": [],
                "UserPolicyList": [],
            }
        ],
        "GroupDetailList": [],
        "RoleDetailList": [
            {
                "Path": "/",
                "RoleName": "MordorNginxStack-BankingWAFRole-9S3E0UAE1MM0",
                "RoleId": "AROAEXAMPLEWAFROLE",
                "Arn": WAF_ROLE,
                "CreateDate": "2020-01-01T00:00:00Z",
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "ec2.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                },
                "InstanceProfileList": [],
                "RolePolicyList": [],
                "AttachedManagedPolicies": [],
                "Tags": [],
                "RoleLastUsed": {},
            }
        ],
        "Policies": [],
    }
    path = tmp_path / "export.json"
    path.write_text(json.dumps(export))
    return path


def test_shared_sample_usage_is_visible_in_the_cli_and_the_api(
    db_url: str, tmp_path: Path, shared_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = run(db_url, "import", "aws", str(export_of_the_otrf_account(tmp_path)))
    assert code == 0, out + err
    code, out, err = run(db_url, "import", "aws-activity", str(otrf_log(shared_dir)), "--format", "json")
    assert code == 0, out + err
    report = json.loads(out)
    assert report["sources"] == {"found": 1, "read": 1, "skipped_already_counted": 0, "failed": 0}
    assert report["events"]["events"] == 103 and report["events"]["aws_service"] == 5
    assert report["systems"] == [ACCOUNT] and report["systems_created"] == []
    assert report["not_in_inventory"] == 0 and report["last_active_raised"] == 2

    records = [json.loads(line) for line in otrf_log(shared_dir).read_text().splitlines()]
    pedro_times = [item["@timestamp"] for item in records if item["userIdentity"].get("arn") == PEDRO]
    last = max(pedro_times)[:19] + "Z"  # 2020-09-14T..., to the second
    pedro_actions = {
        f"{item['eventSource'].split('.')[0]}:{item['eventName']}"
        for item in records
        if item["userIdentity"].get("arn") == PEDRO
    }

    monkeypatch.setenv("PERMSCOPE_USAGE_AS_OF", "2020-10-01T00:00:00Z")  # the sample is from September 2020
    get_settings.cache_clear()
    try:
        code, out, _err = run(db_url, "usage", "list", "--identity", PEDRO, "--format", "json")
    finally:
        monkeypatch.delenv("PERMSCOPE_USAGE_AS_OF")
        get_settings.cache_clear()
    assert code == 0
    view = json.loads(out)
    assert view["last_active"] == last.replace("Z", "+00:00")
    assert view["exercised_in_window"] == len(pedro_actions) == len({row["action"] for row in view["usage"]})
    assert {row["access_level"] for row in view["usage"]} <= {
        "read",
        "list",
        "write",
        "tagging",
        "permissionsManagement",
    }

    code, out, _err = run(db_url, "identities", "list", "--system", ACCOUNT, "--format", "json")
    assert code == 0
    identities = {item["external_id"]: item for item in json.loads(out)}
    assert identities[PEDRO]["last_active_at"] == last.replace("Z", "+00:00")

    engine = open_database(db_url)
    token = create_api_key(engine, ApiRole.VIEWER, "tests").token
    settings = Settings(database_url=db_url, usage_as_of=datetime(2020, 10, 1, tzinfo=UTC))
    with TestClient(create_app(engine, settings), headers={"Authorization": f"Bearer {token}"}) as client:
        response = client.get(
            f"/external/authorizationSystems/{ACCOUNT}/microsoft.graph.awsAuthorizationSystem/"
            "associatedIdentities/users?$select=displayName,identityDetails,actionSummary"
        )
    assert response.status_code == 200, response.text
    [pedro] = response.json()["value"]
    assert pedro["identityDetails"]["lastActiveDateTime"] == last
    summary = pedro["actionSummary"]
    assert summary["exercised"] == len(pedro_actions)
    assert isinstance(summary["assigned"], int) and summary["available"] > summary["assigned"]

    code, out, _err = run(db_url, "import", "aws-activity", str(otrf_log(shared_dir)), "--format", "json")
    assert code == 0 and json.loads(out)["sources"]["skipped_already_counted"] == 1


def test_table_output_and_failures(db_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json.gz"
    bad.write_bytes(b"\x1f\x8b not really gzip")
    good = tmp_path / "good.jsonl"
    good.write_text(
        json.dumps(
            {
                "eventTime": "2024-05-01T10:00:00Z",
                "eventSource": "iam.amazonaws.com",
                "eventName": "ListUsers",
                "userIdentity": {"type": "Root", "accountId": "111122223333"},
            }
        )
        + "\n"
    )
    code, out, err = run(db_url, "import", "aws-activity", str(bad), str(good))
    assert code == 2
    assert "actions exercised (usage)" in out
    assert re.search(r"day profiles merged \(identity x day\)\s*\S*\s*1\b", out), out
    assert "failed" in err and "bad.json.gz" in err and "gzip" in err
    code, out, _err = run(db_url, "usage", "list", "--identity", "arn:aws:iam::111122223333:root")
    assert code == 0 and "iam:ListUsers" in out and "last active 2024-05-01T10:00:00+00:00" in out


def test_exactly_one_input_mode(db_url: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["--database-url", db_url, "import", "aws-activity"])
    assert result.exit_code == 2 and "one of them" in result.output
    result = CliRunner().invoke(
        app, ["--database-url", db_url, "import", "aws-activity", str(tmp_path), "--lookup-events"]
    )
    assert result.exit_code == 2
    code, _out, err = run(db_url, "import", "aws-activity", str(tmp_path / "missing.json"))
    assert code == 2 and "no such file" in err


def test_identity_center_users_usage_in_the_cli_and_the_api(db_url: str, tmp_path: Path) -> None:
    account, role_name = "111122223333", "AWSReservedSSO_Admin_0123456789abcdef"
    role = f"arn:aws:iam::{account}:role/aws-reserved/sso.amazonaws.com/{role_name}"
    alice = "arn:aws:identitystore:::user/u-alice"
    permission_set = "arn:aws:sso:::permissionSet/ssoins-1/ps-admin"
    batch = InventoryBatch(
        system=AuthorizationSystem(cloud=Cloud.AWS, system_id=account, name="prod"),
        source="test",
        identities=[
            Identity(
                external_id=role,
                kind=IdentityKind.ROLE,
                display_name=role_name,
                source="aws",
                attributes={"path": "/aws-reserved/sso.amazonaws.com/"},
            )
        ],
    )
    identity_center = {
        "PermissionSets": {permission_set: {"Name": "Admin"}},
        "AccountAssignments": [
            {
                "AccountId": account,
                "PermissionSetArn": permission_set,
                "PrincipalType": "USER",
                "PrincipalId": "u-alice",
            }
        ],
        "Users": [
            {"UserId": "u-alice", "UserName": "alice@example.com", "Emails": [{"Value": "alice@example.com"}]}
        ],
    }
    apply_identity_center(batch, identity_center, [])
    engine = open_database(db_url)
    ingest(engine, batch)

    def session_event(when: str, session: str, name: str, **extra: Any) -> dict[str, Any]:
        return {
            "eventTime": when,
            "eventSource": "ec2.amazonaws.com",
            "eventName": name,
            "eventType": "AwsApiCall",
            "userIdentity": {
                "type": "AssumedRole",
                "principalId": f"AROAEXAMPLESSOROLE:{session}",
                "arn": f"arn:aws:sts::{account}:assumed-role/{role_name}/{session}",
                "accountId": account,
                "sessionContext": {"sessionIssuer": {"type": "Role", "arn": role, "accountId": account}},
            },
            **extra,
        }

    log = tmp_path / "sso.jsonl"
    events = [
        session_event("2024-05-01T10:00:00Z", "alice@example.com", "DescribeInstances"),
        session_event("2024-05-02T10:00:00Z", "alice@example.com", "NotAnAction"),
        session_event("2024-05-03T10:00:00Z", "alice@example.com", "RunInstances", errorCode="AccessDenied"),
        session_event("2024-05-04T10:00:00Z", "mallory", "DescribeInstances"),
    ]
    log.write_text("\n".join(json.dumps(item) for item in events) + "\n")
    code, out, err = run(db_url, "import", "aws-activity", str(log))
    assert code == 0, out + err
    # the table names what is not usage: unknown actions, error codes, sessions of nobody stored
    assert "Identity Center sessions (role + person)" in out
    assert "unknown actions: ec2:NotAnAction (1)" in err
    assert "error codes: AccessDenied (1)" in err
    assert f"no stored user (collect Identity Center to attribute them): {account}/mallory" in err

    code, out, _err = run(db_url, "usage", "list", "--identity", alice, "--format", "json")
    assert code == 0
    view = json.loads(out)
    assert view["last_active"] == "2024-05-02T10:00:00+00:00" and view["events"] == 2
    assert [row["action"] for row in view["usage"]] == ["ec2:DescribeInstances"]

    token = create_api_key(engine, ApiRole.VIEWER, "tests").token
    settings = Settings(database_url=db_url, usage_as_of=datetime(2024, 6, 1, tzinfo=UTC))
    with TestClient(create_app(engine, settings), headers={"Authorization": f"Bearer {token}"}) as client:
        response = client.get(
            f"/external/authorizationSystems/{account}/microsoft.graph.awsAuthorizationSystem/"
            "associatedIdentities/users?$select=externalId,identityDetails,actionSummary"
        )
    assert response.status_code == 200, response.text
    by_id = {item["externalId"]: item for item in response.json()["value"]}
    assert by_id[alice]["identityDetails"]["lastActiveDateTime"] == "2024-05-02T10:00:00Z"
    assert by_id[alice]["actionSummary"]["exercised"] == 1


@mock_aws
def test_an_aws_error_that_stops_an_import_is_one_line(db_url: str) -> None:
    code, _out, err = run(db_url, "import", "aws-activity", "--from-s3", "s3://no-such-trail-bucket/logs/")
    assert code == 1
    assert err.startswith("error: s3://no-such-trail-bucket/logs/: NoSuchBucket (ListObjectsV2)")
    assert "Traceback" not in err
