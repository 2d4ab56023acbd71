"""`permscope identities show ARN`: effective permissions by service, with scope and why, in every format."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from permscope.cli.main import app

ACCOUNT = "123456789012"
USER = f"arn:aws:iam::{ACCOUNT}:user/dana"


def export() -> dict[str, Any]:
    """One user with an inline policy: every s3 read on one bucket, and iam:PassRole only from one IP range."""
    inline = {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Logs", "Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::logs/*"},
            {
                "Sid": "Pass",
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": "*",
                "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
            },
        ],
    }
    return {
        "UserDetailList": [
            {
                "Path": "/",
                "UserName": "dana",
                "UserId": "AIDAEXAMPLEDANA",
                "Arn": USER,
                "CreateDate": "2024-01-01T00:00:00Z",
                "UserPolicyList": [{"PolicyName": "dana-inline", "PolicyDocument": inline}],
                "GroupList": [],
                "AttachedManagedPolicies": [],
                "Tags": [],
            }
        ],
        "GroupDetailList": [],
        "RoleDetailList": [],
        "Policies": [],
    }


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    path = tmp_path / "export.json"
    path.write_text(json.dumps(export()))
    result = CliRunner().invoke(
        app, ["--database-url", url, "import", "aws", str(path)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.stdout + result.stderr
    return url


def run(db_url: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        app, ["--database-url", db_url, "identities", "show", *args], catch_exceptions=False
    )
    return result.exit_code, result.stdout, result.stderr


def test_json_lists_services_actions_scope_and_reasons(db_url: str) -> None:
    code, out, err = run(db_url, USER, "--format", "json")
    assert code == 0, err
    body = json.loads(out)
    services = {service["service"]: service for service in body["services"]}
    assert set(services) == {"s3", "iam"}
    get_object = next(a for a in services["s3"]["actions"] if a["action"] == "s3:GetObject")
    assert get_object["status"] == "specificResources"
    assert get_object["resources"] == ["arn:aws:s3:::logs/*"]
    assert get_object["reasons"][0]["policyName"] == "dana-inline"
    [pass_role] = services["iam"]["actions"]
    assert pass_role["status"] == "conditional"
    assert pass_role["conditionKeys"] == ["aws:SourceIp"]
    counts = body["counts"]
    assert counts["conditional"] == 1
    assert counts["granted"] == counts["specificResources"] + 1 == services["s3"]["granted"] + 1
    assert counts["allResources"] == 0


def test_table_summarises_and_explains_on_request(db_url: str) -> None:
    code, out, _ = run(db_url, USER)
    assert code == 0
    assert "dana" in out and "only under conditions" in out and "s3" in out
    assert "s3:GetObject" not in out  # the per-action list needs --actions or --service
    code, out, _ = run(db_url, USER, "--service", "iam")
    assert code == 0
    assert "iam:PassRole" in out and "aws:SourceIp" in out and "s3:GetObject" not in out


def test_csv_has_one_row_per_action(db_url: str) -> None:
    code, out, _ = run(db_url, USER, "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    by_action = {row["action"]: row for row in rows}
    assert by_action["iam:PassRole"]["status"] == "conditional"
    assert "dana-inline" in by_action["s3:GetObject"]["why"]
    assert all(row["service"] in {"s3", "iam"} for row in rows)


def test_unknown_identity_and_unqualified_name_fail_clearly(db_url: str) -> None:
    code, _, err = run(db_url, f"arn:aws:iam::{ACCOUNT}:user/nobody")
    assert code == 1 and "nobody" in err
    code, _, err = run(db_url, "dana")
    assert code == 1 and "--system" in err


def test_identities_list_shows_every_principals_granted_count(db_url: str) -> None:
    result = CliRunner().invoke(
        app,
        ["--database-url", db_url, "identities", "list", "--system", ACCOUNT, "--format", "json"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.stderr
    [dana] = json.loads(result.stdout)
    code, out, _ = run(db_url, USER, "--format", "json")
    assert code == 0
    counts = json.loads(out)["counts"]
    assert dana["granted"] == counts["granted"] > 0
    assert dana["high_severity"] == counts["highSeverity"]
