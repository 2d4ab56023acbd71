"""Effective permissions "from import to every identity's set": import, compute, total seconds and peak RSS.

Generates (once, kept in bench/out/) an account export with the real AWS managed policies of
../shared/data/aws/managed_policies.json, then runs, in a child process per backend, the import workflow
(`import_aws_files`, which stores the inventory and then computes and stores every user's, group's and role's
effective permissions). The child reports the compute time the workflow recorded; the parent measures the
child's wall time and peak RSS. When cloudsplaining is installed (`--cloudsplaining PATH`, the
PERMSCOPE_CLOUDSPLAINING variable, or `cloudsplaining` on PATH) it runs `cloudsplaining scan` on the same file
and the ratio of wall times is reported; otherwise that part is skipped with a message. Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess  # the child runs as a user would run it
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_import import _drop_postgres_database, _fresh_postgres_database, _postgres_url
from generate_export import write_export

BENCH_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True, slots=True)
class Size:
    """How big an estate to generate."""

    users: int
    groups: int
    roles: int
    policies: int

    @property
    def file_name(self) -> str:
        return f"effective-u{self.users}-r{self.roles}-g{self.groups}-p{self.policies}.json"


FULL = Size(users=5_000, groups=2_500, roles=10_000, policies=3_000)
QUICK = Size(users=1_000, groups=500, roles=2_000, policies=600)


@dataclass(frozen=True, slots=True)
class Run:
    """One measured child process."""

    wall: float
    cpu: float  # user + system seconds of the child (a figure that other load on the machine disturbs less)
    peak_mb: float
    output: str


def _run(command: list[str]) -> Run:
    """Run a command; its wall time and its own peak RSS (os.wait4), and its standard output."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        child = subprocess.Popen(command, stdout=out, stderr=err)
        _pid, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{command[0]} failed:\n{err.read().decode()[-4000:]}")
        return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out.read().decode())


def child(export: Path, database_url: str) -> int:
    """In the child: import the export (which computes effective permissions) and print the timings."""
    from sqlalchemy.orm import Session

    from permscope.store.effective import last_run
    from permscope.store.engine import open_database
    from permscope.store.systems import system_pk
    from permscope.workflows.collection import import_aws_files

    engine = open_database(database_url)
    started = time.perf_counter()
    reports = import_aws_files(engine, [export])
    total = time.perf_counter() - started
    compute = identities = 0.0
    with Session(engine) as session:
        for report in reports:
            pk = system_pk(session, report.system_id, "aws")
            run = last_run(session, pk)
            if run is not None:
                compute += run.seconds
                identities += run.identities
    print(json.dumps({"total": total, "compute": compute, "identities": identities}))
    return 0


def _permscope(backend: str, database_urls: list[str], export: Path) -> Run:
    """Import into each fresh database in turn; print every run and, with several, the fastest."""
    runs: list[tuple[Run, dict[str, float]]] = []
    for database_url in database_urls:
        run = _run([sys.executable, __file__, "--child", str(export), database_url])
        figures = json.loads(run.output)
        runs.append((run, figures))
        _print(backend, run, figures)
    if len(runs) > 1:
        _print(f"{backend} best", *min(runs, key=lambda pair: pair[1]["total"]))
    return min(runs, key=lambda pair: pair[1]["total"])[0]


def _print(label: str, run: Run, figures: dict[str, float]) -> None:
    total, compute = figures["total"], figures["compute"]
    print(
        f"permscope {label:<16} import {total - compute:6.2f} s  compute {compute:6.2f} s  total {total:6.2f} s  "
        f"(process wall {run.wall:6.2f} s, CPU {run.cpu:6.2f} s)  peak RSS {run.peak_mb:6.0f} MB  "
        f"{figures['identities']:.0f} identities"
    )


def _cloudsplaining(path: str | None) -> str | None:
    return path or os.environ.get("PERMSCOPE_CLOUDSPLAINING") or shutil.which("cloudsplaining")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help=f"{QUICK.users} users, {QUICK.roles} roles")
    parser.add_argument("--regenerate", action="store_true", help="write the export even if it exists")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--cloudsplaining", help="path of the cloudsplaining executable (0.9.1)")
    parser.add_argument("--no-cloudsplaining", action="store_true")
    parser.add_argument("--repeat", type=int, default=1, help="runs per backend, each on a fresh database")
    parser.add_argument("--child", nargs=2, metavar=("EXPORT", "DATABASE_URL"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(Path(args.child[0]), args.child[1])
    size = QUICK if args.quick else FULL
    print(
        f"estate: {size.users} users, {size.groups} groups, {size.roles} roles, {size.policies} customer policies"
    )
    export = BENCH_DIR / "out" / size.file_name
    if args.regenerate or not export.is_file():
        started = time.perf_counter()
        write_export(export, users=size.users, roles=size.roles, groups=size.groups, policies=size.policies)
        print(
            f"generated {export.name} ({export.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - started:.1f} s"
        )
    repeat = max(1, args.repeat)
    with tempfile.TemporaryDirectory(prefix="permscope-bench-") as folder:
        urls = [f"sqlite:///{Path(folder) / f'bench-{n}.sqlite3'}" for n in range(repeat)]
        ours = _permscope("sqlite", urls, export)
    postgres = None if args.no_postgres else _postgres_url()
    if postgres:
        databases = [_fresh_postgres_database(postgres) for _ in range(repeat)]
        try:
            _permscope("postgresql", [url for url, _name in databases], export)
        finally:
            for _url, name in databases:
                _drop_postgres_database(postgres, name)
    else:
        print("postgresql: skipped (set PERMSCOPE_BENCH_POSTGRES_URL or PERMSCOPE_TEST_POSTGRES_URL)")
    if args.no_cloudsplaining:
        print("cloudsplaining: skipped (--no-cloudsplaining)")
        return 0
    tool = _cloudsplaining(args.cloudsplaining)
    if tool is None:
        print(
            "cloudsplaining: skipped (not installed; install 0.9.1 in its own venv, e.g. "
            "python3 -m venv /tmp/cs && /tmp/cs/bin/pip install cloudsplaining==0.9.1, then pass "
            "--cloudsplaining /tmp/cs/bin/cloudsplaining)"
        )
        return 0
    with tempfile.TemporaryDirectory(prefix="cloudsplaining-") as folder:
        theirs = _run([tool, "scan", "--input-file", str(export), "--output", folder, "--skip-open-report"])
    print(
        f"cloudsplaining scan   wall {theirs.wall:6.1f} s  CPU {theirs.cpu:6.1f} s  peak RSS {theirs.peak_mb:6.0f} MB  "
        f"(it judges each policy alone)  ratio {theirs.wall / ours.wall:5.1f}x wall, "
        f"{theirs.cpu / ours.cpu:5.1f}x CPU of the permscope process (SQLite)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
