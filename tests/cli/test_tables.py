"""Tables read in a 100-column terminal: short names by default, never an ARN broken inside, --wide for ARNs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from permscope.cli.main import app
from scan_support import ADMIN, write_export

ACCOUNT = "111122223333"
# an Identity Center role: a long path and a long name, as real estates have them
SSO_NAME = "AWSReservedSSO_AdministratorAccess_dc6414f7f2ab04fc"
SSO_ROLE = f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/eu-west-1/{SSO_NAME}"
DEV = f"arn:aws:iam::{ACCOUNT}:user/engineering/platform/developer-with-a-long-name"
TRUST_LAMBDA = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}  # fmt: skip
# the user can write its own policies (iam-007): a critical escalation finding about it
WRITE_OWN_POLICY = {"Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "iam:PutUserPolicy", "Resource": "*"}]}  # fmt: skip
ARN = re.compile(r"arn:aws:[a-z0-9-]*:[a-z0-9-]*:\d*:[^\s│┃]+")


def _export() -> dict[str, object]:
    return {
        "UserDetailList": [
            {"UserName": "developer-with-a-long-name", "Arn": DEV, "Path": "/engineering/platform/",
             "CreateDate": "2020-01-01T00:00:00Z", "GroupList": [], "AttachedManagedPolicies": [],
             "UserPolicyList": [{"PolicyName": "self-admin", "PolicyDocument": WRITE_OWN_POLICY}]},
        ],
        "GroupDetailList": [],
        "RoleDetailList": [
            {"RoleName": SSO_NAME, "Arn": SSO_ROLE, "Path": "/aws-reserved/sso.amazonaws.com/eu-west-1/",
             "CreateDate": "2020-01-01T00:00:00Z", "AssumeRolePolicyDocument": TRUST_LAMBDA,
             "RolePolicyList": [{"PolicyName": "all", "PolicyDocument": ADMIN}], "AttachedManagedPolicies": [],
             "InstanceProfileList": []},
        ],
        "Policies": [],
    }  # fmt: skip


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'tables.sqlite3'}"
    export = write_export(tmp_path, _export())
    result = CliRunner().invoke(app, ["--database-url", url, "import", "aws", str(export)])
    assert result.exit_code == 0, result.output
    assert CliRunner().invoke(app, ["--database-url", url, "analyze"]).exit_code == 0
    return url


def _run(db_url: str, columns: int, *args: str) -> str:
    result = CliRunner().invoke(app, ["--database-url", db_url, *args], env={"COLUMNS": str(columns)})
    assert result.exit_code == 0, result.output
    return result.stdout


def _check_fits(text: str, width: int) -> None:
    lines = text.splitlines()
    assert lines and max(len(line) for line in lines) <= width, "\n".join(lines)


@pytest.mark.parametrize(
    "args",
    [("findings", "list"), ("identities", "list", "--system", ACCOUNT)],
    ids=["findings", "identities"],
)
def test_short_names_in_100_columns(db_url: str, args: tuple[str, ...]) -> None:
    out = _run(db_url, 100, *args)
    _check_fits(out, 100)
    assert "arn:aws" not in out  # short names by default
    # each name whole on one line: the type and the name, the path left out
    for short in (f"role/{SSO_NAME}", "user/developer-with-a-long-name"):
        assert any(short in line for line in out.splitlines()), (short, out)


def test_findings_rows_stay_short(db_url: str) -> None:
    out = _run(db_url, 100, "findings", "list")
    rows = [line for line in out.splitlines() if line.startswith("│")]
    findings = [line for line in rows if line.split("│")[1].strip()]  # a row's first line has its severity
    assert findings and len(rows) <= 6 * len(findings), out


@pytest.mark.parametrize(
    "args",
    [("findings", "list", "--wide"), ("identities", "list", "--system", ACCOUNT, "--wide")],
    ids=["findings", "identities"],
)
def test_wide_shows_whole_arns(db_url: str, args: tuple[str, ...]) -> None:
    out = _run(db_url, 250, *args)
    _check_fits(out, 250)
    shown = set(ARN.findall(out))
    assert {SSO_ROLE, DEV} <= shown, shown  # never broken across lines


def test_scan_summary_in_100_columns(tmp_path: Path) -> None:
    export = write_export(tmp_path, _export())
    result = CliRunner().invoke(
        app, ["scan", str(export), "-o", str(tmp_path / "r.html")], env={"COLUMNS": "100"}
    )
    assert result.exit_code == 0, result.output
    body = result.stdout.split("not checked")[0]  # the tables (the notes after them are prose)
    _check_fits(body, 100)
    assert f"role/{SSO_NAME}" in body and "arn:aws" not in body


def test_csv_and_json_keep_full_arns(db_url: str) -> None:
    csv_text = _run(db_url, 100, "findings", "list", "--format", "csv")
    assert SSO_ROLE in csv_text
    document = json.loads(_run(db_url, 100, "findings", "list", "--format", "json"))
    assert SSO_ROLE in {f["permscope"]["subjectId"] for f in document["findings"]}
