"""The command line of permissions on demand: keys with per-system roles, enabling modification, requests
create/list/show/approve/reject/cancel, auto-approve rules, `scheduler run` (also dry-run) and `serve` running
the scheduler in-process."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from permscope.cli.main import app
from permscope.store.engine import open_database
from request_support import ACCOUNT, POLICY, ROLE, mocked_aws, seed_account, statements_body


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto, with the test account."""
    yield from mocked_aws(monkeypatch)


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    seed_account(open_database(url), modification=False)
    return url


def run(db_url: str, *args: str, code: int = 0, input_text: str | None = None) -> str:
    result = CliRunner().invoke(
        app, ["--database-url", db_url, *args], input=input_text, catch_exceptions=False
    )
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result.stdout + result.stderr


CREATE = ["requests", "create", "--system", ACCOUNT, "--identity", ROLE, "--action", "s3:GetObject"]
CREATE += [
    "--resource",
    "arn:aws:s3:::reports/*",
    "--duration",
    "PT1H",
    "--justification",
    "INC1",
    "--format",
    "json",
]


def test_keys_get_per_system_roles_and_a_principal(db_url: str) -> None:
    out = run(
        db_url,
        "apikey",
        "create",
        "--name",
        "alice-ci",
        "--principal",
        "alice",
        "--grant",
        f"requestor:aws:{ACCOUNT}",
    )
    token = out.strip().splitlines()[0]
    assert token.startswith("psk_")
    listed = json.loads(run(db_url, "apikey", "list", "--format", "json"))
    [key] = listed
    assert (key["principal"], key["role"], key["system_roles"]) == (
        "alice",
        "scoped",
        f"requestor:aws:{ACCOUNT}",
    )
    assert "now has approver:aws:*" in run(db_url, "apikey", "add-role", key["key_id"], "approver:aws")
    assert "already had" in run(db_url, "apikey", "add-role", key["key_id"], "approver:aws:*")
    assert "no longer has" in run(db_url, "apikey", "remove-role", key["key_id"], "approver:aws:*")
    run(db_url, "apikey", "remove-role", key["key_id"], "approver:aws:*", code=1)
    assert "unknown role 'owner'" in run(db_url, "apikey", "add-role", key["key_id"], "owner:aws", code=2)
    assert "--role" in run(db_url, "apikey", "create", "--name", "x", code=2)
    assert "Created viewer key" in run(db_url, "apikey", "create", "--role", "viewer")


def test_request_approve_and_grant_from_the_command_line(db_url: str, aws: Any) -> None:
    refused = run(db_url, *CREATE, "--as", "alice", code=2)
    assert "enable-modification" in refused
    assert "enabled for 123456789012" in run(db_url, "systems", "enable-modification", ACCOUNT)
    request = json.loads(run(db_url, *CREATE, "--as", "alice"))
    request_id = request["id"]
    assert request["statusDetail"] == "submitted" and request["@permscope.createdBy"] == "alice"
    assert "nobody reviews their own request" in run(
        db_url, "requests", "approve", request_id, "--as", "alice", code=1
    )
    assert f"{request_id}: approved" in run(
        db_url, "requests", "approve", request_id, "--as", "bob", "-j", "ok"
    )

    dry = run(db_url, "scheduler", "run", "--dry-run")
    assert f"# grant request {request_id}" in dry and "aws iam put-role-policy --role-name ops" in dry
    assert aws.list_role_policies(RoleName="ops")["PolicyNames"] == []
    assert f"granted  {request_id}" in run(db_url, "scheduler", "run")
    assert aws.list_role_policies(RoleName="ops")["PolicyNames"] == [f"permscope-jit-{request_id}"]
    status = run(db_url, "scheduler", "status", "--format", "json")
    [job] = json.loads(status)
    assert (job["kind"], job["status"], job["request"], job["grant"]) == (
        "revoke",
        "pending",
        request_id,
        "granted",
    )

    shown = json.loads(run(db_url, "requests", "show", request_id, "--format", "json"))
    assert [c["@permscope.event"] for c in shown["changes"]] == [
        "submitted",
        "approved",
        "granting",
        "granted",
    ]
    assert [g["kind"] for g in shown["grants"]] == ["tag", "inlinePolicy"]
    table = run(db_url, "requests", "show", request_id)
    assert "granting" in table and "permscope-jit-" in table
    assert "Scheduler jobs" in table and "revoke" in table and "pending" in table
    assert f"{request_id}: canceled" in run(db_url, "requests", "cancel", request_id, "--as", "carol")
    assert f"revoked  {request_id}" in run(db_url, "scheduler", "run")
    assert aws.list_role_policies(RoleName="ops")["PolicyNames"] == []


def test_list_reject_and_cancel(db_url: str) -> None:
    run(db_url, "systems", "enable-modification", ACCOUNT)
    body_file = Path(db_url.removeprefix("sqlite:///")).parent / "body.json"
    body_file.write_text(json.dumps(statements_body()))
    first = json.loads(
        run(db_url, "requests", "create", "--file", str(body_file), "--as", "alice", "-f", "json")
    )["id"]
    second = json.loads(
        run(
            db_url,
            "requests",
            "create",
            "-s",
            ACCOUNT,
            "-i",
            ROLE,
            "-p",
            POLICY,
            "-j",
            "x",
            "--as",
            "alice",
            "-f",
            "json",
        )
    )["id"]
    assert f"{first}: rejected" in run(db_url, "requests", "reject", first, "--as", "bob", "-j", "no")
    assert "only by its requester" in run(db_url, "requests", "cancel", second, "--as", "bob", code=1)
    assert f"{second}: canceled" in run(db_url, "requests", "cancel", second, "--as", "alice")
    listed = json.loads(run(db_url, "requests", "list", "--format", "json"))
    assert [(r["id"], r["statusDetail"]) for r in listed] == [(second, "canceled"), (first, "rejected")]
    assert [
        r["id"] for r in json.loads(run(db_url, "requests", "list", "--status", "rejected", "-f", "json"))
    ] == [first]
    assert first[:8] in run(db_url, "requests", "list")
    assert "cannot read" in run(
        db_url, "requests", "create", "--file", str(body_file.with_name("missing.json")), code=2
    )
    body_file.write_text("{")
    assert "invalid JSON" in run(db_url, "requests", "create", "--file", str(body_file), code=2)
    assert "give either --action" in run(db_url, "requests", "create", "-s", ACCOUNT, "-i", ROLE, code=2)


def test_auto_approve_rules_from_the_command_line(db_url: str) -> None:
    run(db_url, "systems", "enable-modification", ACCOUNT)
    out = run(
        db_url, "requests", "rules", "add", "reads", "--max-duration", "PT2H", "-s", ACCOUNT, "-a", "s3:Get*"
    )
    assert "added rule 1 (reads)" in out
    [rule] = json.loads(run(db_url, "requests", "rules", "list", "-f", "json"))
    assert (rule["actions"], rule["max_seconds"], rule["resources"]) == ("s3:Get*", 7200, "*")
    request = json.loads(run(db_url, *CREATE, "--as", "alice"))
    assert request["statusDetail"] == "approved" and request["@permscope.decidedBy"] == "rule:1"
    assert "years and months" in run(
        db_url, "requests", "rules", "add", "x", "--max-duration", "P1Y", "-a", "s3:*", code=2
    )
    assert "removed rule 1" in run(db_url, "requests", "rules", "remove", "1")
    assert "no such rule" in run(db_url, "requests", "rules", "remove", "1", code=2)


def test_serve_runs_the_scheduler_in_process_unless_told_not_to(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[Any] = []

    def fake_uvicorn(api: Any, **_: Any) -> None:
        runner = getattr(api.state, "scheduler", None)
        seen.append(runner)
        if runner is not None:
            assert runner.pass_done.wait(10), "the scheduler did not run a pass"
            runner.pass_done.clear()
            runner.wake()
            assert runner.pass_done.wait(10), "wake() did not run a pass"

    monkeypatch.setattr("uvicorn.run", fake_uvicorn)  # `serve` imports uvicorn when it serves
    out = run(db_url, "serve", "--port", "8765")
    assert "scheduler: in-process" in out
    assert seen[0] is not None and seen[0].passes >= 2 and not seen[0]._thread.is_alive()
    run(db_url, "serve", "--no-scheduler")
    assert seen[1] is None
    monkeypatch.setenv("PERMSCOPE_SCHEDULER_ENABLED", "false")
    from permscope.settings import get_settings

    get_settings.cache_clear()
    try:
        run(db_url, "serve")
    finally:
        get_settings.cache_clear()
    assert seen[2] is None


def test_the_command_line_does_not_load_the_api_layer() -> None:
    """Every `permscope` command imports the command groups; none of them may pull in FastAPI (only `serve`
    imports the app, when it serves)."""
    code = (
        "import sys, permscope.cli.main\n"
        "print(sorted(m for m in sys.modules if m == 'fastapi' or m.startswith('permscope.api')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]", result.stdout


def test_errors_of_a_request_built_from_options_name_the_option(db_url: str) -> None:
    run(db_url, "systems", "enable-modification", ACCOUNT)
    base = ["requests", "create", "-s", ACCOUNT, "-i", ROLE, "-j", "x"]
    cases = [
        (["-a", "s3:GetObjekt"], "--action: 's3:GetObjekt' is not an AWS action"),
        (["-a", "s3:GetObject", "-r", "reports"], "--resource: 'reports' is neither '*' nor an ARN"),
        (["-p", f"arn:aws:iam::{ACCOUNT}:policy/nope"], "--policy: 'arn:aws:iam::123456789012:policy/nope'"),
        (["-a", "s3:GetObject", "-d", "1h"], "--duration: '1h' is not an ISO 8601 duration"),
        (["-a", "s3:GetObject", "-d", "PT30H"], "--duration: P1DT6H is longer than the P1D allowed"),
        (["-a", "s3:GetObject", "--start", "tomorrow"], "--start: 'tomorrow' is not an ISO 8601 date-time"),
        (["-a", "s3:GetObject", "--identity-type", "group"], "--identity-type: 'group' is not one of"),
    ]
    for extra, expected in cases:
        assert expected in run(db_url, *base, *extra, code=2)
    too_long = run(db_url, *base, "-a", "s3:GetObject", "--end", "2099-01-01T00:00:00Z", code=2)
    assert re.search(r"--end: P\d+DT[0-9HMS]+ is longer than the P1D allowed", too_long), too_long
    ghost = run(
        db_url,
        "requests",
        "create",
        "-s",
        ACCOUNT,
        "-i",
        f"arn:aws:iam::{ACCOUNT}:role/ghost",
        "-a",
        "s3:GetObject",
        "-j",
        "x",
        code=2,
    )
    assert "--identity: 'arn:aws:iam::123456789012:role/ghost' is not an identity" in ghost
    assert "--system: no aws authorization system '1234'" in run(
        db_url, "requests", "create", "-s", "1234", "-i", ROLE, "-a", "s3:GetObject", "-j", "x", code=2
    )
    body_file = Path(db_url.removeprefix("sqlite:///")).parent / "body.json"
    body_file.write_text(json.dumps(statements_body(actions=("s3:GetObjekt",))))
    from_file = run(db_url, "requests", "create", "--file", str(body_file), code=2)
    assert "request body: requestedPermissions/actionInfo/statements[0]/actions[0]" in from_file


def test_a_scheduler_run_with_nothing_due_says_what_is_next(db_url: str) -> None:
    run(db_url, "systems", "enable-modification", ACCOUNT)
    assert "nothing due; no pending jobs" in run(db_url, "scheduler", "run")
    start = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    created = run(db_url, *CREATE, "--start", start.isoformat(), "--as", "alice")
    request_id = json.loads(created)["id"]
    run(db_url, "requests", "approve", request_id, "--as", "bob")
    assert f"nothing due; next: grant of {request_id} at {start.isoformat()}" in run(
        db_url, "scheduler", "run"
    )


def test_durations_and_dates_out_of_range_are_clear_errors_with_exit_2(db_url: str) -> None:
    # each was an OverflowError traceback with exit 1
    run(db_url, "systems", "enable-modification", ACCOUNT)
    base = ["requests", "create", "-s", ACCOUNT, "-i", ROLE, "-a", "s3:GetObject", "-j", "x"]
    too_long = run(db_url, *base, "--duration", "P99999999999D", code=2)
    assert "error: --duration: 'P99999999999D' is longer than P36525D" in too_long
    late = run(db_url, *base, "--start", "9999-12-31T23:00:00Z", code=2)
    assert "startDateTime plus the duration ends after the year 9999" in late
    rule = run(db_url, "requests", "rules", "add", "r", "--max-duration", "P99999999999D", code=2)
    assert "error: --max-duration: 'P99999999999D' is longer than P36525D" in rule


def test_a_body_file_is_read_as_strict_json(db_url: str) -> None:
    run(db_url, "systems", "enable-modification", ACCOUNT)
    body_file = Path(db_url.removeprefix("sqlite:///")).parent / "body.json"
    text = json.dumps(statements_body())
    for bad, problem in (
        (text.replace('"INC1234567"', '"\\ud800"', 1), "surrogate"),  # no database stores a lone surrogate
        (text.replace('"statementId"', '"x": NaN, "statementId"', 1), "NaN"),
        (text.replace("reports", "r\xe9ports"), "not UTF-8"),  # Latin-1, not UTF-8
    ):
        body_file.write_bytes(bad.encode("latin-1"))
        assert problem in run(db_url, "requests", "create", "--file", str(body_file), code=2)
    body_file.write_text(text)
    created = run(db_url, "requests", "create", "--file", "-", "-f", "json", input_text=text)
    assert json.loads(created)["statusDetail"] == "submitted"
