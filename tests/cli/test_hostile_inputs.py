"""Hostile files given to the command line, run as a user would (a subprocess): exit 2 with one line naming the
file and the problem, never a traceback, never a hang; bombs refused in bounded memory (the child's peak RSS).

Before: a Condition nested 990 levels, a lone surrogate in a name and a 5,000-digit integer ended in tracebacks;
a FIFO given as the export blocked forever; a 3 MB gzip bomb cost 2.1 GB and a sparse 2 GiB file 4.2 GB before
they were refused; `simulate` called a FIFO or a device "no such file", `requests create --file` waited on a
FIFO forever and tracebacked on deep or huge-number JSON.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ACCOUNT = "111122223333"
# Runs permscope in a child with its address space capped (a runaway reader fails, it cannot take the machine),
# and prints the child's exit code, peak RSS in KB and standard error as JSON.
RUNNER = textwrap.dedent(
    """
    import json, resource, subprocess, sys
    cap, timeout = int(sys.argv[1]), float(sys.argv[2])
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    done = subprocess.run(sys.argv[3:], capture_output=True, text=True, preexec_fn=limit, timeout=timeout)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({"code": done.returncode, "peak_kb": peak, "stderr": done.stderr}))
    """
)
PERMSCOPE = [str(Path(sys.executable).with_name("permscope"))]
MEMORY_CAP = 3 * 1024**3


def permscope(
    tmp_path: Path, *args: str, timeout: float = 120, env: dict[str, str] | None = None
) -> tuple[int, int, str]:
    """(exit code, peak RSS in MB, standard error) of `permscope --database-url <tmp> args`; a child still
    running after `timeout` seconds fails the test (it hangs)."""
    database = f"sqlite:///{tmp_path / 'permscope.sqlite3'}"
    command = [*PERMSCOPE, "--database-url", database, *args]
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, str(MEMORY_CAP), str(timeout), *command],
        capture_output=True,
        text=True,
        timeout=timeout + 30,
        check=False,
        env={**os.environ, **(env or {})},
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    return int(result["code"]), int(result["peak_kb"]) // 1024, str(result["stderr"])


def refused(
    tmp_path: Path, *args: str, timeout: float = 120, env: dict[str, str] | None = None
) -> tuple[str, int]:
    """The one error line of a refused command (exit 2, no traceback) and the child's peak RSS in MB."""
    code, peak, stderr = permscope(tmp_path, *args, timeout=timeout, env=env)
    assert "Traceback" not in stderr, stderr[-3000:]
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert code == 2, stderr[-3000:]
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr[-3000:]
    return lines[0], peak


def export_text(**user: object) -> str:
    item = {"UserName": "alice", "Arn": f"arn:aws:iam::{ACCOUNT}:user/alice", "GroupList": [], **user}
    return json.dumps({"UserDetailList": [item], "GroupDetailList": [], "RoleDetailList": [], "Policies": []})


@pytest.mark.parametrize(
    ("name", "text", "problem"),
    [
        (
            "deep-condition",
            export_text(UserPolicyList=[{"PolicyName": "p", "PolicyDocument": "DEEP"}]).replace(
                '"DEEP"',
                '{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": '
                + '{"k": ' * 990
                + "{}"
                + "}" * 990
                + "}]}",
            ),
            "nested more than 254 levels deep",
        ),
        ("surrogate-name", export_text().replace('"alice"', '"al\\ud800ice"', 1), "lone surrogate"),
        (
            "5000-digit-integer",
            export_text(MaxSessionDuration=0).replace('": 0', '": ' + "9" * 5000) + "\n" + export_text(),
            "integer beyond 64 bits",
        ),
    ],
)
def test_crashing_exports_are_one_error_line(tmp_path: Path, name: str, text: str, problem: str) -> None:
    path = tmp_path / f"{name}.json"
    path.write_text(text)
    line, _peak = refused(tmp_path, "import", "aws", str(path))
    assert line.startswith(f"error: {path}: ")
    assert problem in line


def test_a_fifo_given_as_the_export_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "export.json"
    os.mkfifo(fifo)
    line, _peak = refused(tmp_path, "import", "aws", str(fifo), timeout=60)
    assert line == f"error: {fifo}: cannot read the file: it is a FIFO (named pipe), not a regular file"


def test_a_gzip_bomb_is_refused_early_in_bounded_memory(tmp_path: Path) -> None:
    """3 GiB of JSON whitespace in 3 MB of gzip (members of 64 MiB of spaces, as gzip allows concatenated)."""
    bomb = tmp_path / "bomb.json.gz"
    member = gzip.compress(b" " * (64 << 20), compresslevel=9)
    with bomb.open("wb") as handle:
        handle.write(gzip.compress(b'{"UserDetailList": ['))
        for _ in range(48):
            handle.write(member)
    assert bomb.stat().st_size < 4 << 20
    line, peak = refused(tmp_path, "import", "aws", str(bomb))
    assert "the gzip data expands more than 200 times (a gzip bomb?)" in line
    assert peak < 400, f"peak RSS {peak} MB (2.1 GB before)"


def test_a_bomb_under_the_ratio_stops_at_the_size_limit(tmp_path: Path) -> None:
    """Set lower, PERMSCOPE_MAX_FILE_BYTES stops a file that inflates plausibly but too far."""
    big = tmp_path / "big.json.gz"
    big.write_bytes(gzip.compress(export_text().encode() + b" " * (8 << 20)))
    line, _peak = refused(tmp_path, "import", "aws", str(big), env={"PERMSCOPE_MAX_FILE_BYTES": str(4 << 20)})
    assert line.endswith(
        "the file holds more than 4,194,304 bytes once decompressed (the limit is PERMSCOPE_MAX_FILE_BYTES)"
    )


@pytest.mark.parametrize("size", [2 * 1024**3, 256 * 1024**2], ids=["2-gib", "256-mib"])
def test_a_sparse_file_is_refused_in_bounded_memory(tmp_path: Path, size: int) -> None:
    sparse = tmp_path / "sparse.json"
    with sparse.open("wb") as handle:
        handle.truncate(size)
    line, peak = refused(tmp_path, "import", "aws", str(sparse))
    assert "the file holds more than" in line or "holds a NUL byte (at byte 0)" in line
    assert peak < 300, f"peak RSS {peak} MB (4.2 GB before for 2 GiB)"


def test_simulate_names_a_fifo_and_a_device_for_what_they_are(tmp_path: Path) -> None:
    fifo = tmp_path / "cases.jsonl"
    os.mkfifo(fifo)
    line, _peak = refused(tmp_path, "simulate", "aws", "--batch", str(fifo), timeout=60)
    assert line.endswith("cannot read the file: it is a FIFO (named pipe), not a regular file")
    if Path("/dev/zero").exists():
        line, _peak = refused(tmp_path, "simulate", "aws", "--batch", "/dev/zero", timeout=60)
        assert line.endswith("cannot read the file: it is a character device, not a regular file")


def test_simulate_refuses_a_case_nested_deeper_than_json_can_keep(tmp_path: Path) -> None:
    case = {
        "request": {"principal": f"arn:aws:iam::{ACCOUNT}:user/a", "action": "s3:GetObject", "context": "X"}
    }
    path = tmp_path / "deep.jsonl"
    path.write_text(json.dumps(case).replace('"X"', '{"k": ' * 1000 + "{}" + "}" * 1000) + "\n")
    line, _peak = refused(tmp_path, "simulate", "aws", "--batch", str(path))
    assert line == f"error: {path}:1: the case is nested more than 254 levels deep"


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("deep", "[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ("huge-number", '{"justification": 1, "n": ' + "9" * 5000 + "}", "integer beyond 64 bits"),
        (
            "two-bodies",
            '{"justification": "a"}\n{"justification": "b"}',
            "holds 2 JSON values; one is expected",
        ),
        ("two-megabytes", '{"justification": "' + "x" * (2 << 20) + '"}', "holds more than 1,048,576 bytes"),
    ],
)
def test_requests_create_refuses_a_hostile_body_file(
    tmp_path: Path, name: str, content: str, problem: str
) -> None:
    path = tmp_path / f"{name}.json"
    path.write_text(content)
    line, _peak = refused(tmp_path, "requests", "create", "--file", str(path))
    assert line.startswith(f"error: {path}: ")
    assert problem in line


def test_requests_create_refuses_a_fifo_and_a_device(tmp_path: Path) -> None:
    fifo = tmp_path / "body.json"
    os.mkfifo(fifo)
    line, _peak = refused(tmp_path, "requests", "create", "--file", str(fifo), timeout=60)
    assert line.endswith("cannot read the file: it is a FIFO (named pipe), not a regular file")
    if Path("/dev/zero").exists():
        line, _peak = refused(tmp_path, "requests", "create", "--file", "/dev/zero", timeout=60)
        assert line.endswith("cannot read the file: it is a character device, not a regular file")


def test_a_file_name_with_an_undecodable_byte_is_printed_and_stored_escaped(tmp_path: Path) -> None:
    """Before: UnicodeEncodeError tracebacks, recording the run's source and printing the error."""
    good = Path(os.fsdecode(bytes(tmp_path) + b"/export\xff.json"))
    good.write_text(export_text())
    code, _peak, stderr = permscope(tmp_path, "import", "aws", str(good))
    assert code == 0, stderr[-3000:]
    bad = Path(os.fsdecode(bytes(tmp_path) + b"/broken\xfe.json"))
    bad.write_text("{")
    line, _peak = refused(tmp_path, "import", "aws", str(bad))
    assert line.startswith(f"error: {tmp_path}/broken\\udcfe.json: truncated or invalid JSON")


def test_an_argument_that_is_not_utf8_is_exit_2_not_a_traceback(tmp_path: Path) -> None:
    # `apikey create --name $'bad\xff'`: Python keeps the byte as a lone surrogate, which the database's
    # encoder refused with a UnicodeEncodeError traceback (exit 1)
    database = f"sqlite:///{tmp_path / 'permscope.sqlite3'}"
    argv = [*PERMSCOPE, "--database-url", database, "apikey", "create", "--role", "viewer", "--name"]
    done = subprocess.run(
        [os.fsencode(part) for part in argv] + [b"bad\xff"], capture_output=True, timeout=120, check=False
    )
    err = done.stderr.decode("utf-8", "replace")
    assert done.returncode == 2, err
    assert err.startswith("error: name: the value given is not valid UTF-8"), err
    assert "Traceback" not in err
