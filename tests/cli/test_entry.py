"""The `permscope` executable: the simulator starts without the database and API layers; the rest is the full app."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

CASE = {
    "id": "one",
    "request": {
        "principal": "arn:aws:iam::111122223333:user/alice",
        "action": "s3:GetObject",
        "resource": "arn:aws:s3:::logs/a.txt",
        "resource_account": "111122223333",
        "context": {},
    },
    "policies": {
        "identity": [
            {
                "name": "read",
                "document": {"Statement": [{"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}]},
            }
        ]
    },
}

# What neither `simulate` nor `scan` needs: the database, the API, the AWS SDK, and pydantic (Typer coerces
# through it unless permscope.cli.coercion can; the settings load it unless a PERMSCOPE_ variable is set)
HEAVY = (
    "sqlalchemy",
    "alembic",
    "fastapi",
    "psycopg",
    "boto3",
    "botocore",
    "uvicorn",
    "pydantic",
    "pydantic_settings",
)
HEAVY_LINE = f"HEAVY = {HEAVY!r}\n"


def _without_settings() -> dict[str, str]:
    """This environment without PERMSCOPE_ variables (with one, the settings are read, through pydantic)."""
    return {name: value for name, value in os.environ.items() if not name.upper().startswith("PERMSCOPE_")}


PROBE = (
    HEAVY_LINE
    + """
import os, sys
os._exit = lambda code: sys.exit(code)  # the command ends the process without a teardown; keep ours
sys.argv = ["permscope", "simulate", "aws", sys.argv[1]]
from permscope.cli.entry import run
try:
    run()
except SystemExit as exit:
    assert not exit.code, exit.code
heavy = sorted(name for name in (*HEAVY, "rich") if name in sys.modules)  # JSON out: no Rich either
print("loaded:" + ",".join(heavy), file=sys.stderr)
"""
)


def test_simulate_runs_without_loading_the_database_or_the_api(tmp_path: Path) -> None:
    case = tmp_path / "case.json"
    case.write_text(json.dumps(CASE))
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(case)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=_without_settings(),
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["decision"] == "Allowed"
    assert "loaded:\n" in done.stderr or done.stderr.rstrip().endswith("loaded:")


LOADED_PROBE = (
    HEAVY_LINE
    + """
import sys
sys.argv = ["permscope", *sys.argv[1:]]
from permscope.cli.entry import run
try:
    run()
except SystemExit as exit:
    assert not exit.code, exit.code
heavy = sorted(name for name in (*HEAVY, "typer", "rich", "permscope.store") if name in sys.modules)
print("loaded:" + ",".join(heavy), file=sys.stderr)
"""
)


def _loaded(*args: str) -> tuple[str, list[str]]:
    """Run `permscope ARGS` in a child: its standard output, and which of the heavy modules it loaded."""
    done = subprocess.run(
        [sys.executable, "-c", LOADED_PROBE, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=_without_settings(),
    )
    assert done.returncode == 0, done.stderr
    loaded = done.stderr.rstrip().rpartition("loaded:")[2]
    return done.stdout, [name for name in loaded.split(",") if name]


def test_other_commands_get_the_full_app() -> None:
    out, loaded = _loaded("--help")
    assert "import" in out and "identities" in out and "simulate" in out
    # each command loads the database, the API or the settings when it runs, not to be listed
    assert loaded == ["rich", "typer"]


def test_version_loads_no_command() -> None:
    out, loaded = _loaded("--version")
    assert out == f"permscope {version('permscope')}\n"
    assert loaded == []


SCAN_PROBE = (
    HEAVY_LINE
    + """
import os, sys
os._exit = lambda code: sys.exit(code)  # the scan command ends the process without a teardown; keep ours
sys.argv = ["permscope", "scan", sys.argv[1], "--output", sys.argv[2]]
from permscope.cli.entry import run
try:
    run()
except SystemExit as exit:
    assert exit.code in (0, 1, None), exit.code
heavy = sorted(name for name in HEAVY if name in sys.modules)
print("loaded:" + ",".join(heavy), file=sys.stderr)
"""
)


def test_scan_runs_without_loading_the_database_or_the_api(tmp_path: Path) -> None:
    from scan_support import write_export

    done = _scan_in_child(SCAN_PROBE, tmp_path, write_export(tmp_path))
    assert done.stderr.rstrip().endswith("loaded:"), done.stderr[-2000:]


def _scan_in_child(probe: str, tmp_path: Path, export: Path) -> subprocess.CompletedProcess[str]:
    """Run a probe scanning `export` into tmp_path/report.html in a child; it must succeed and write the report."""
    done = subprocess.run(
        [sys.executable, "-c", probe, str(export), str(tmp_path / "report.html")],
        capture_output=True,
        text=True,
        env=_without_settings(),
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "report.html").is_file()
    return done


EXIT_PROBE = """
import gc, os, sys
leave = os._exit
def report_and_leave(code):
    print("collector " + ("on" if gc.isenabled() else "off"), file=sys.stderr, flush=True)
    leave(code)
os._exit = report_and_leave
sys.argv = ["permscope", "scan", sys.argv[1], "--output", sys.argv[2]]
from permscope.cli.entry import run
run()
"""


def test_simulate_leaves_with_the_collector_still_paused(tmp_path: Path) -> None:
    case = tmp_path / "case.json"
    case.write_text(json.dumps(CASE))
    probe = EXIT_PROBE.replace(
        '["permscope", "scan", sys.argv[1], "--output", sys.argv[2]]',
        '["permscope", "simulate", "aws", sys.argv[1], "--batch"]',
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(case)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["decision"] == "Allowed"
    assert done.stderr.rstrip().endswith("collector off"), done.stderr[-2000:]


def test_scan_leaves_with_the_collector_still_paused(tmp_path: Path) -> None:
    # Turning the collector back on before os._exit made it sweep the whole heap of the scan for nothing.
    from scan_support import write_export

    done = _scan_in_child(EXIT_PROBE, tmp_path, write_export(tmp_path))
    assert done.stderr.rstrip().endswith("collector off"), done.stderr[-2000:]
