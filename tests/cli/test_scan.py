"""`permscope scan`: the summary table, the HTML report file, JSON on standard output, exit 2 on a bad file."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from permscope.cli.main import app
from scan_support import HOSTILE, HOSTILE_USER, hostile_export, write_export


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)  # the default report is written in the working directory
    monkeypatch.delenv("PERMSCOPE_DATABASE_URL", raising=False)
    return CliRunner()


def test_table_lists_counts_and_writes_the_report(runner: CliRunner, tmp_path: Path) -> None:
    export = write_export(tmp_path)
    result = runner.invoke(app, ["scan", str(export)], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    super_user = next(line for line in lines if "superUserFinding" in line)
    assert super_user.split("│")[-2].strip() == "1"  # total column
    assert any("superAwsRoleFinding" in line for line in lines)
    assert "Riskiest identities" in result.stdout and "deployer" in result.stdout
    assert "not checked" in result.stdout and "inactiveUserFinding" in result.stdout
    report = tmp_path / "permscope-report.html"
    assert str(report) in result.stdout.replace("\n", "")
    page = report.read_text()
    assert "deployer" in page and HOSTILE not in page
    assert not list(tmp_path.glob("*.sqlite3")) and not list(tmp_path.glob("*.db"))


def test_an_aws_managed_policy_missing_from_the_export_is_filled_in_and_said(
    runner: CliRunner, tmp_path: Path
) -> None:
    export = hostile_export()  # as `--filter LocalManagedPolicy` gives it: attached, not listed
    export["UserDetailList"][1]["AttachedManagedPolicies"] = [
        {"PolicyName": "AdministratorAccess", "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}
    ]
    result = runner.invoke(app, ["scan", str(write_export(tmp_path, export))], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    assert (
        "warning: AWS managed policy arn:aws:iam::aws:policy/AdministratorAccess is not in the export: filled"
        in (" ".join(result.stdout.split()))
    )
    supers = next(line for line in result.stdout.splitlines() if "superUserFinding" in line)
    assert supers.replace("│", " ").split()[-1] == "2"  # the reader holds AdministratorAccess now


def test_json_on_stdout_in_the_contract_shape(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["scan", str(write_export(tmp_path)), "--format", "json"])
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    types = {f["@odata.type"].removeprefix("#microsoft.graph.") for f in document["findings"]}
    assert {"superAwsRoleFinding", "superUserFinding", "privilegeEscalationUserFinding"} <= types
    escalation = next(f for f in document["findings"] if "privilegeEscalation" in f["@odata.type"])
    assert escalation["identity"]["displayName"] == "dev"
    [path] = escalation["privilegeEscalationDetails"]
    assert path["target"].endswith(":role/deployer")
    assert any(s["techniqueId"].startswith("lambda-") for s in path["steps"])
    user = next(f for f in document["findings"] if f["@odata.type"].endswith("superUserFinding"))
    assert user["identity"]["displayName"] == HOSTILE_USER
    assert isinstance(user["permissionsCreepIndex"]["score"], int)
    assert not (tmp_path / "permscope-report.html").exists()
    times = list(_date_times(document))
    assert times and all(text.endswith("Z") for text in times), times  # as the API writes them


def _date_times(value: object) -> Iterator[str]:
    """Every non-null `...DateTime` value of a JSON document."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key.endswith("DateTime") and isinstance(item, str):
                yield item
            else:
                yield from _date_times(item)
    elif isinstance(value, list):
        for item in value:
            yield from _date_times(item)


def test_html_to_a_chosen_path(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "reports" / "scan.html"
    result = runner.invoke(app, ["scan", str(write_export(tmp_path)), "-f", "html", "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert out.read_text().startswith("<!DOCTYPE html>")


def test_malformed_file_exits_2_naming_the_file(runner: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "truncated-export.json"
    bad.write_text('{"UserDetailList": [{"UserName": ')
    result = runner.invoke(app, ["scan", str(bad)])
    assert result.exit_code == 2
    assert "truncated-export.json" in result.stderr
    assert not (tmp_path / "permscope-report.html").exists()


def _entry(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The real executable's entry point in a child process (it leaves with os._exit after a scan)."""
    code = "from permscope.cli.entry import run; run()"
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def test_entry_point_flushes_output_and_keeps_exit_codes(tmp_path: Path) -> None:
    done = _entry("scan", str(write_export(tmp_path)), "--format", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert {f["@odata.type"] for f in json.loads(done.stdout)["findings"]} >= {
        "#microsoft.graph.superUserFinding"
    }
    bad = tmp_path / "cut.json"
    bad.write_text("[")
    failed = _entry("scan", str(bad), cwd=tmp_path)
    assert failed.returncode == 2 and "cut.json" in failed.stderr
    assert _entry("scan", cwd=tmp_path).returncode == 2  # usage error: no file
    export = str(write_export(tmp_path))
    assert _entry("scan", export, "-f", "sarif", "-o", "-", "--fail-on", "high", cwd=tmp_path).returncode == 3


def test_fail_on_exits_3_at_or_above_the_severity(runner: CliRunner, tmp_path: Path) -> None:
    """The whole export has a critical escalation; the admin user alone is a high super identity only."""
    export = str(write_export(tmp_path))
    for least in ("critical", "HIGH", "low"):
        result = runner.invoke(app, ["scan", export, "-f", "json", "--fail-on", least])
        assert result.exit_code == 3, (least, result.stderr)
        assert "or worse" in result.stderr
        assert json.loads(result.stdout)["findings"]  # the output is written first
    whole = hostile_export()
    admin_only = write_export(tmp_path, {**whole, "UserDetailList": whole["UserDetailList"][:1],
                                         "RoleDetailList": []}, name="admin.json")  # fmt: skip
    found = json.loads(runner.invoke(app, ["scan", str(admin_only), "-f", "json"]).stdout)["findings"]
    assert {f["permscope"]["severity"] for f in found} == {"high"}
    assert runner.invoke(app, ["scan", str(admin_only), "-f", "json", "--fail-on", "critical"]).exit_code == 0
    assert runner.invoke(app, ["scan", str(admin_only), "-f", "json", "--fail-on", "high"]).exit_code == 3
    assert runner.invoke(app, ["scan", str(admin_only), "-f", "json"]).exit_code == 0
    assert runner.invoke(app, ["scan", export, "-f", "json", "--fail-on", "bogus"]).exit_code == 2


def test_json_says_what_was_not_checked_and_how_to_fix(runner: CliRunner, tmp_path: Path) -> None:
    document = json.loads(runner.invoke(app, ["scan", str(write_export(tmp_path)), "-f", "json"]).stdout)
    skipped = {entry["findingType"]: entry for entry in document["notChecked"]}
    assert "inactiveUserFinding" in skipped
    assert "activity" in skipped["inactiveUserFinding"]["reason"]
    assert skipped["inactiveUserFinding"]["authorizationSystemIds"]
    for finding in document["findings"]:
        assert finding["permscope"]["remediation"], finding["@odata.type"]


def test_output_dash_is_standard_output(runner: CliRunner, tmp_path: Path) -> None:
    export = str(write_export(tmp_path))
    result = runner.invoke(app, ["scan", export, "-f", "json", "-o", "-"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["findings"]
    result = runner.invoke(app, ["scan", export, "-f", "html", "-o", "-"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("<!DOCTYPE html>")
    assert not (tmp_path / "-").exists()
    refused = runner.invoke(app, ["scan", export, "-o", "-"])  # the table already writes on stdout
    assert refused.exit_code == 2 and "--format html" in refused.stderr


def test_sarif_for_code_scanning(runner: CliRunner, tmp_path: Path) -> None:
    export = write_export(tmp_path)
    result = runner.invoke(app, ["scan", str(export), "--format", "sarif"])
    assert result.exit_code == 0, result.stderr
    log = json.loads(result.stdout)
    assert log["version"] == "2.1.0" and "sarif" in log["$schema"]
    [run] = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "permscope" and driver["version"]
    rules = driver["rules"]
    ids = [rule["id"] for rule in rules]
    assert len(ids) == len(set(ids))
    for rule in rules:
        assert rule["shortDescription"]["text"] and rule["help"]["text"]
        assert rule["defaultConfiguration"]["level"] in ("error", "warning", "note")
        assert 0 < float(rule["properties"]["security-severity"]) <= 10
    json_findings = json.loads(runner.invoke(app, ["scan", str(export), "-f", "json"]).stdout)["findings"]
    assert len(run["results"]) == len(json_findings) > 0
    levels = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}
    for result_, finding in zip(run["results"], json_findings, strict=True):
        assert result_["ruleId"] == finding["permscope"]["findingType"]
        assert rules[result_["ruleIndex"]]["id"] == result_["ruleId"]
        assert result_["level"] == levels[finding["permscope"]["severity"]]
        assert result_["message"]["text"] == finding["permscope"]["summary"]
        [location] = result_["locations"]
        [logical] = location["logicalLocations"]
        assert logical["fullyQualifiedName"] == finding["permscope"]["subjectId"]
        assert location["physicalLocation"]["artifactLocation"]["uri"] == str(export)
        assert len(result_["partialFingerprints"]["permscopeFingerprint/v1"]) == 64
    escalation = next(r for r in run["results"] if r["ruleId"] == "privilegeEscalationUserFinding")
    assert escalation["locations"][0]["logicalLocations"][0]["fullyQualifiedName"].startswith("arn:aws:iam::")
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert any("inactiveUserFinding" in note["message"]["text"] for note in notes)
