"""`permscope simulate aws`: one case or JSON lines, JSON or a table, and bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from permscope.cli.main import app

ACCOUNT = "111111111111"


def case(case_id: str = "read", *, secure: bool = True) -> dict[str, Any]:
    """alice reads a report; her policy requires TLS and an SCP level lets s3 through."""
    return {
        "id": case_id,
        "name": "alice reads a report",
        "request": {
            "principal": f"arn:aws:iam::{ACCOUNT}:user/alice",
            "action": "s3:GetObject",
            "resource": "arn:aws:s3:::reports/q1.csv",
            "resource_account": ACCOUNT,
            "context": {"aws:SecureTransport": secure},
        },
        "policies": {
            "identity": [
                {
                    "name": "ReadReports",
                    "document": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Sid": "TlsOnly",
                                "Effect": "Allow",
                                "Action": "s3:GetObject",
                                "Resource": "arn:aws:s3:::reports/*",
                                "Condition": {"Bool": {"aws:SecureTransport": "true"}},
                            }
                        ],
                    },
                }
            ],
            "scp_levels": [
                {
                    "org_id": "ou-data",
                    "policies": [
                        {
                            "name": "S3Only",
                            "document": {
                                "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]
                            },
                        }
                    ],
                }
            ],
        },
    }


def invoke(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["simulate", "aws", *args], input=stdin, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_one_case_as_json(tmp_path: Path) -> None:
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case(), indent=2))
    code, out, _ = invoke(str(path))
    assert code == 0
    [line] = out.splitlines()
    answer = json.loads(line)
    assert answer["id"] == "read" and answer["decision"] == "Allowed"
    assert answer["explanation"]["allowed_by"] == ["identity", "scp"]
    assert answer["explanation"]["matches"][0]["condition_keys"] == ["aws:SecureTransport"]


def test_batch_from_stdin_one_object_per_line() -> None:
    lines = "\n".join([json.dumps(case("a")), "", json.dumps(case("b", secure=False))]) + "\n"
    code, out, _ = invoke("-", "--batch", stdin=lines)
    assert code == 0
    answers = [json.loads(line) for line in out.splitlines()]
    assert [(a["id"], a["decision"]) for a in answers] == [("a", "Allowed"), ("b", "ImplicitlyDenied")]
    assert answers[1]["explanation"]["not_allowed_by"] == ["identity"]


def test_table_says_why(tmp_path: Path) -> None:
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case()))
    code, out, _ = invoke(str(path), "--format", "table")
    assert code == 0
    for text in (
        "read - alice reads a report",  # the panel's title: the case's id and name
        "Decision: Allowed",
        "arn:aws:iam::111111111111:user/alice",
        "Identity-based policies",
        "Service control policies (SCPs)",
        "ReadReports",
        "statement 1 (Sid 'TlsOnly')",
        "aws:SecureTransport",
        "SCP level 1 of 1 (ou-data)",
        "identity-based policies allow the request",
    ):
        assert text in out, text


def test_table_for_a_denied_batch(tmp_path: Path) -> None:
    path = tmp_path / "cases.jsonl"
    path.write_text(json.dumps(case("b", secure=False)) + "\n")
    code, out, _ = invoke(str(path), "--batch", "--format", "table")
    assert code == 0
    assert "Decision: ImplicitlyDenied" in out and "does not allow (and must)" in out
    assert "no identity-based policy allows the request" in out


def test_table_for_a_resource_match_case() -> None:
    component = {
        "id": "rm-1",
        "suite": "resource_match",
        "element": "NotResource",
        "statement_values": ["arn:aws:s3:::reports/*", "arn:aws:s3:::logs/*"],
        "request": {"resource": "arn:aws:s3:::reports/q1.csv"},
    }
    code, out, _ = invoke("-", "--format", "table", stdin=json.dumps(component))
    assert code == 0
    assert "rm-1" in out and "Matches: no" in out and "Test:    NotResource" in out
    rows = [line for line in out.splitlines() if "arn:aws:s3:::" in line and "Request" not in line]
    assert len(rows) == 2
    assert "reports/*" in rows[0] and rows[0].rstrip(" │|").endswith("no")
    assert "logs/*" in rows[1] and rows[1].rstrip(" │|").endswith("yes")


def test_bad_line_exits_2_naming_file_and_line(tmp_path: Path) -> None:
    bad = case("b")
    bad["policies"]["identity"][0]["document"]["Statement"][0]["Effect"] = "Permit"
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join([json.dumps(case("a")), json.dumps(bad)]) + "\n")
    code, out, err = invoke(str(path), "--batch")
    assert code == 2
    assert json.loads(out.splitlines()[0])["id"] == "a"  # the good line before it was answered
    assert f"{path}:2: policies.identity[0].document (ReadReports): statement 1" in err
    assert "Effect must be Allow or Deny" in err


def test_invalid_json_and_missing_file_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "case.json"
    path.write_text('{"id": "x",\n "request": oops}')
    code, _, err = invoke(str(path))
    assert code == 2 and f"{path}:2: not valid JSON" in err
    code, _, err = invoke(str(tmp_path / "absent.json"))
    assert code == 2 and "absent.json: no such file" in err
    code, _, err = invoke("-", stdin="")
    assert code == 2 and "<stdin>:1: no case: the input is empty" in err


def test_conformance_cases_through_the_cli(shared_dir: Path, tmp_path: Path) -> None:
    # The shared cases (iam-simulate fixtures, AGPL-3.0, test input only) in one batch, end to end.
    source = shared_dir / "data" / "conformance" / "aws_eval_cases.jsonl"
    wanted = [
        line
        for line in source.read_text().splitlines()
        if json.loads(line)["suite"] in ("core", "simulation")
    ]
    batch = tmp_path / "cases.jsonl"
    batch.write_text("\n".join(wanted) + "\n")
    code, out, _ = invoke(str(batch), "--batch")
    assert code == 0
    answers = [json.loads(line) for line in out.splitlines()]
    expected = {json.loads(line)["id"]: json.loads(line)["expected"]["decision"] for line in wanted}
    assert len(answers) == len(wanted)
    differing = {a["id"] for a in answers if a["decision"] != expected[a["id"]]}
    # The one case that disagrees with the AWS documentation (see tests/clouds/aws/engine/test_conformance_evaluate.py).
    assert differing == {"iam-simulate/core/sessionPolicies.json#7"}


def test_a_json_batch_runs_with_the_collector_paused_and_gives_it_back(monkeypatch: Any) -> None:
    import gc

    from permscope.cli import simulate as command

    seen: list[bool] = []
    answer = command.simulate_lines_json

    def recording(lines: Any, source: str, cloud: Any) -> Any:
        for line in answer(lines, source, cloud):
            seen.append(gc.isenabled())
            yield line

    monkeypatch.setattr(command, "simulate_lines_json", recording)
    assert gc.isenabled()
    code, out, _ = invoke("-", "--batch", stdin=json.dumps(case("a")) + "\n" + json.dumps(case("b")) + "\n")
    assert code == 0 and len(out.splitlines()) == 2
    assert seen == [False, False]
    assert gc.isenabled()
