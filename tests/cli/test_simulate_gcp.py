"""`permscope simulate gcp`: JSON lines or a table, from a file or standard input, and bad lines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from clouds.gcp.engine.estate import BUCKET, OBJECT, PROJECT, binding, case, deny_rule
from permscope.cli.main import app

ALICE = "user:alice@example.com"


def invoke(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["simulate", "gcp", *args], input=stdin, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def cases() -> list[dict[str, Any]]:
    allowed = case(
        ALICE, "storage.objects.get", OBJECT, allow={PROJECT: [binding("roles/storage.objectViewer", ALICE)]}
    )
    allowed["id"] = "read"
    denied = case(
        ALICE,
        "storage.objects.delete",
        OBJECT,
        allow={BUCKET: [binding("roles/storage.objectAdmin", ALICE)]},
        deny={
            PROJECT: [
                deny_rule(["principalSet://goog/public:all"], ["storage.googleapis.com/objects.delete"])
            ]
        },
    )
    denied["id"] = "delete"
    other = case(
        "user:bob@example.com",
        "storage.objects.get",
        OBJECT,
        allow={PROJECT: [binding("roles/storage.objectViewer", ALICE)]},
    )
    other["id"] = "bob"
    return [allowed, denied, other]


def test_a_batch_from_a_file_gives_one_compact_line_per_case(tmp_path: Path) -> None:
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join(json.dumps(item) for item in cases()) + "\n\n")
    code, out, _ = invoke(str(path), "--batch")
    assert code == 0
    answers = [json.loads(line) for line in out.splitlines()]
    assert [(a["id"], a["decision"]) for a in answers] == [
        ("read", "Allowed"),
        ("delete", "Denied"),
        ("bob", "NotAllowed"),
    ]
    assert all(set(a) == {"id", "decision", "explanation"} for a in answers)
    assert all(" " not in line.split('"explanation"')[0] for line in out.splitlines())


def test_a_batch_from_standard_input_and_one_case() -> None:
    code, out, _ = invoke("--batch", stdin="\n".join(json.dumps(item) for item in cases()))
    assert code == 0 and len(out.splitlines()) == 3
    code, out, _ = invoke("-", stdin=json.dumps(cases()[1], indent=2))
    assert code == 0 and json.loads(out)["decision"] == "Denied"


def test_the_table_shows_the_decision_and_why(tmp_path: Path) -> None:
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join(json.dumps(item) for item in cases()))
    code, out, _ = invoke(str(path), "--batch", "--format", "table")
    assert code == 0
    assert "Decision:   Allowed" in out and "Decision:   Denied" in out and "Decision:   NotAllowed" in out
    assert "roles/storage.objectViewer" in out and "Bindings that grant" in out
    assert "Deny rules that apply" in out and "principalSet://goog/public:all" in out


def test_a_bad_line_exits_2_naming_the_file_and_line_after_the_good_ones(tmp_path: Path) -> None:
    bad = cases()[0]
    bad["request"]["principal"] = "domain:example.com"
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join([json.dumps(cases()[0]), json.dumps(bad)]) + "\n")
    code, out, err = invoke(str(path), "--batch")
    assert code == 2
    assert json.loads(out.splitlines()[0])["id"] == "read"
    assert f"{path}:2: request.principal" in err
    code, _, err = invoke("--batch", stdin='{"id": 1,\n')
    assert code == 2 and "<stdin>:1: not valid JSON" in err


def test_the_visible_conformance_cases_through_the_cli(shared_dir: Path) -> None:
    source = shared_dir / "data" / "conformance" / "gcp_iam_cases.jsonl"
    code, out, _ = invoke(str(source), "--batch")
    assert code == 0
    expected = [json.loads(line)["expected"]["decision"] for line in source.read_text().splitlines()]
    assert [json.loads(line)["decision"] for line in out.splitlines()] == expected


def test_lines_of_a_mapped_file_a_pipe_and_an_overlong_line(tmp_path: Path) -> None:
    import os
    import threading

    from permscope.cli import simulate as command
    from permscope.workflows.simulation import MAX_CASE_BYTES

    path = tmp_path / "lines.jsonl"
    path.write_bytes(b"first\nsecond\n\nlast")
    with path.open("rb") as handle:
        assert list(command._lines(handle)) == [b"first\n", b"second\n", b"\n", b"last"]
    with path.open("rb") as handle:
        os.lseek(handle.fileno(), len(b"first\n"), os.SEEK_SET)  # from the current position on
        assert list(command._lines(handle)) == [b"second\n", b"\n", b"last"]
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    with empty.open("rb") as handle:
        assert list(command._lines(handle)) == []
    read_end, write_end = os.pipe()

    def feed() -> None:
        with os.fdopen(write_end, "wb") as writer:
            writer.write(b"a\nb\n")

    feeder = threading.Thread(target=feed)
    feeder.start()
    with os.fdopen(read_end, "rb") as reader:
        assert list(command._lines(reader)) == [b"a\n", b"b\n"]
    feeder.join()
    long = tmp_path / "long.jsonl"
    with long.open("wb") as handle:
        handle.truncate(MAX_CASE_BYTES + 10)  # a sparse file: one line longer than a case may be
    with long.open("rb") as handle:
        [line] = list(command._lines(handle))
    assert len(line) == MAX_CASE_BYTES + 1  # cut there, and then refused whole by the workflow


def test_without_the_gcp_extra_the_error_names_what_to_install(tmp_path: Path) -> None:
    """A process without the CEL library (the gcp extra) is told what to install, not given a traceback."""
    import subprocess
    import sys

    cases_file = tmp_path / "cases.jsonl"
    cases_file.write_text(json.dumps(cases()[0]) + "\n")
    code = (
        "import sys; sys.modules['cel'] = None; "
        f"sys.argv = ['permscope', 'simulate', 'gcp', '--batch', {str(cases_file)!r}]; "
        "from permscope.cli.entry import run; run()"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "pip install 'permscope[gcp]'" in done.stderr
    assert "Traceback" not in done.stderr
