"""`permscope simulate azure`: one case or JSON lines, JSON or a table, bad input named by line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from permscope.cli.main import app

SUBSCRIPTION = "/subscriptions/11111111-1111-1111-1111-111111111111"
ACCOUNT = f"{SUBSCRIPTION}/resourceGroups/data-rg/providers/Microsoft.Storage/storageAccounts/store1"
CONTAINER = f"{ACCOUNT}/blobServices/default/containers/"
ALICE = "aaaaaaaa-0000-0000-0000-000000000001"
TEAM = "cccccccc-0000-0000-0000-000000000003"
BLOB_READ = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"
CONDITION = (
    "((!(ActionMatches{'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'})) OR "
    "(@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringEquals 'docs'))"
)


def case(case_id: str, container: str, *, denied: bool = False) -> dict[str, Any]:
    """alice's team reads blobs of the docs container only; a deny assignment may block everyone."""
    return {
        "id": case_id,
        "name": f"read a blob in {container}",
        "estate": {
            "role_definitions": [
                {
                    "name": "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
                    "roleName": "Storage Blob Data Reader",
                    "roleType": "BuiltInRole",
                    "permissions": [
                        {"actions": [], "notActions": [], "dataActions": [BLOB_READ], "notDataActions": []}
                    ],
                }
            ],
            "role_assignments": [
                {
                    "id": f"{ACCOUNT}/providers/Microsoft.Authorization/roleAssignments/r1",
                    "principalId": TEAM,
                    "roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
                    "scope": ACCOUNT,
                    "condition": CONDITION,
                    "conditionVersion": "2.0",
                }
            ],
            "deny_assignments": [
                {
                    "id": f"{SUBSCRIPTION}/providers/Microsoft.Authorization/denyAssignments/d1",
                    "name": "d1",
                    "properties": {
                        "denyAssignmentName": "no blob reads",
                        "scope": SUBSCRIPTION,
                        "doNotApplyToChildScopes": False,
                        "permissions": [
                            {"actions": [], "notActions": [], "dataActions": ["*/read"], "notDataActions": []}
                        ],
                        "principals": [
                            {"id": "00000000-0000-0000-0000-000000000000", "type": "SystemDefined"}
                        ],
                        "excludePrincipals": [],
                    },
                }
            ]
            if denied
            else [],
            "group_members": {TEAM: [ALICE]},
            "scope_ancestry": {},
        },
        "request": {
            "principal_id": ALICE,
            "action": BLOB_READ,
            "data_action": True,
            "scope": CONTAINER + container,
            "attributes": {
                "Resource": {"Microsoft.Storage/storageAccounts/blobServices/containers:name": container}
            },
        },
    }


def invoke(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["simulate", "azure", *args], input=stdin, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_a_batch_from_a_file_one_answer_per_line(tmp_path: Path) -> None:
    path = tmp_path / "cases.jsonl"
    lines = [case("docs", "docs"), case("other", "other"), case("blocked", "docs", denied=True)]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n\n")
    code, out, _ = invoke(str(path), "--batch")
    assert code == 0
    answers = [json.loads(line) for line in out.splitlines()]
    assert [(a["id"], a["decision"]) for a in answers] == [
        ("docs", "Allowed"),
        ("other", "NotAllowed"),
        ("blocked", "Denied"),
    ]
    assert set(answers[0]) == {"id", "decision", "explanation"}
    assert answers[0]["explanation"]["role_assignments"][0]["via"] == f"group {TEAM}"
    assert answers[1]["explanation"]["role_assignments"][0]["verdict"] == "condition_false"
    assert answers[2]["explanation"]["deny_assignments"][0]["verdict"] == "applies"


def test_one_case_from_stdin() -> None:
    code, out, _ = invoke(stdin=json.dumps(case("one", "docs"), indent=2))
    assert code == 0
    assert json.loads(out)["decision"] == "Allowed"


def test_the_table_shows_the_assignments_the_deny_and_the_condition(tmp_path: Path) -> None:
    path = tmp_path / "cases.jsonl"
    path.write_text(
        json.dumps(case("other", "other")) + "\n" + json.dumps(case("blocked", "docs", denied=True))
    )
    result = CliRunner().invoke(
        app, ["simulate", "azure", str(path), "--batch", "--format", "table"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0
    out = result.stdout
    for text in (
        "other - read a blob in other",
        "Decision:  NotAllowed",
        "(data plane)",
        "Storage Blob Data Reader",
        f"group {TEAM}",
        "condition false",
        "Condition of Storage Blob Data Reader",
        "false @Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringEquals 'docs'",
        "Decision:  Denied",
        "no blob reads",
        "denies",
    ):
        assert text in out, text


def test_bad_lines_are_named_and_stop_the_batch(tmp_path: Path) -> None:
    path = tmp_path / "cases.jsonl"
    broken = case("broken", "docs")
    broken["request"]["data_action"] = "yes"
    path.write_text(json.dumps(case("fine", "docs")) + "\n" + json.dumps(broken) + "\n")
    code, out, err = invoke(str(path), "--batch")
    assert code == 2
    assert [json.loads(line)["id"] for line in out.splitlines()] == ["fine"]
    assert f"{path}:2: request.data_action must be true or false" in err
    path.write_text("{not json\n")
    code, _, err = invoke(str(path), "--batch")
    assert code == 2 and f"{path}:1: not valid JSON" in err
    code, _, err = invoke("-", stdin="")
    assert code == 2 and "<stdin>:1: no case: the input is empty" in err


PROBE = """
import os, sys
os._exit = lambda code: sys.exit(code)  # the command ends the process without a teardown; keep ours
sys.argv = ["permscope", "simulate", "azure", sys.argv[1], "--batch"]
from permscope.cli.entry import run
try:
    run()
except SystemExit as exit:
    assert not exit.code, exit.code
heavy = sorted(name for name in ("sqlalchemy", "alembic", "fastapi", "boto3") if name in sys.modules)
print("loaded:" + ",".join(heavy), file=sys.stderr)
"""


def test_the_command_starts_without_the_database_or_the_api(tmp_path: Path) -> None:
    path = tmp_path / "cases.jsonl"
    path.write_text(json.dumps(case("docs", "docs")) + "\n")
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["decision"] == "Allowed"
    assert done.stderr.rstrip().endswith("loaded:")
