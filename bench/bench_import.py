"""Time `permscope import aws` on generated exports: wall time, the child's peak RSS, identities per second.

Runs the real command in a subprocess on a fresh SQLite file (and on PostgreSQL when
PERMSCOPE_BENCH_POSTGRES_URL or PERMSCOPE_TEST_POSTGRES_URL is set), then once more to time an idempotent
re-import. Reports figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess  # the command runs as the user would run it
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate_export import write_export

BENCH_DIR = Path(__file__).resolve().parent
PERMSCOPE = Path(sys.executable).with_name("permscope")


@dataclass(frozen=True, slots=True)
class Size:
    """How big an estate to generate."""

    users: int
    roles: int
    groups: int
    policies: int

    @property
    def identities(self) -> int:
        return self.users + self.roles + self.groups

    @property
    def file_name(self) -> str:
        return f"export-u{self.users}-r{self.roles}-g{self.groups}-p{self.policies}-cli.json"


FULL = Size(users=20_000, roles=40_000, groups=1_000, policies=3_000)
QUICK = Size(users=2_000, roles=4_000, groups=100, policies=300)


def _export(size: Size, regenerate: bool) -> Path:
    path = BENCH_DIR / "out" / size.file_name
    if regenerate or not path.is_file():
        started = time.perf_counter()
        write_export(path, users=size.users, roles=size.roles, groups=size.groups, policies=size.policies)
        print(
            f"generated {path.name} ({path.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - started:.1f} s"
        )
    return path


def _run_import(database_url: str, export: Path) -> tuple[float, float, str]:
    """(wall seconds, peak RSS of this child in MB, its JSON output) of one `permscope import aws`."""
    command = [
        str(PERMSCOPE),
        "--database-url",
        database_url,
        "import",
        "aws",
        str(export),
        "--format",
        "json",
    ]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        child = subprocess.Popen(command, stdout=out, stderr=err)
        _pid, status, usage = os.wait4(child.pid, 0)  # this child's own rusage (ru_maxrss in KiB on Linux)
        wall = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if child.returncode != 0:
            raise SystemExit(f"import failed ({child.returncode}):\n{err.read().decode()[-4000:]}")
        return wall, usage.ru_maxrss / 1024, out.read().decode()


def _report(label: str, size: Size, export: Path, wall: float, peak_mb: float, output: str) -> None:
    reports = json.loads(output)
    changed = ",".join("changed" if r["changed"] else "unchanged" for r in reports)
    print(
        f"{label:<33} {wall:8.1f} s  peak RSS {peak_mb:7.0f} MB  file {export.stat().st_size / 1e6:6.1f} MB  "
        f"{size.identities / wall:8.0f} identities/s  ({changed})"
    )


def _bench(backend: str, database_url: str, size: Size, export: Path) -> None:
    for label in ("import", "re-import (idempotent)"):
        wall, peak, output = _run_import(database_url, export)
        _report(f"{backend} {label}", size, export, wall, peak, output)


def _postgres_url() -> str | None:
    return os.environ.get("PERMSCOPE_BENCH_POSTGRES_URL") or os.environ.get("PERMSCOPE_TEST_POSTGRES_URL")


def _fresh_postgres_database(url: str) -> tuple[str, str]:
    """A new empty database on the server of `url`: (its URL, its name)."""
    name = f"permscope_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(
        url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.rsplit("/", 1)[0] + "/" + name, name


def _drop_postgres_database(url: str, name: str) -> None:
    admin = create_engine(
        url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help=f"a small estate ({QUICK.users} users, {QUICK.roles} roles)"
    )
    parser.add_argument("--users", type=int)
    parser.add_argument("--roles", type=int)
    parser.add_argument("--groups", type=int)
    parser.add_argument("--policies", type=int)
    parser.add_argument("--regenerate", action="store_true", help="write the export even if it exists")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args(argv)
    base = QUICK if args.quick else FULL
    size = Size(
        users=args.users if args.users is not None else base.users,
        roles=args.roles if args.roles is not None else base.roles,
        groups=args.groups if args.groups is not None else base.groups,
        policies=args.policies if args.policies is not None else base.policies,
    )
    print(
        f"estate: {size.users} users, {size.roles} roles, {size.groups} groups, {size.policies} customer policies"
    )
    export = _export(size, args.regenerate)
    with tempfile.TemporaryDirectory(prefix="permscope-bench-") as folder:
        _bench("sqlite", f"sqlite:///{Path(folder) / 'bench.sqlite3'}", size, export)
    postgres = None if args.no_postgres else _postgres_url()
    if postgres:
        url, name = _fresh_postgres_database(postgres)
        try:
            _bench("postgresql", url, size, export)
        finally:
            _drop_postgres_database(postgres, name)
    else:
        print("postgresql: skipped (set PERMSCOPE_BENCH_POSTGRES_URL or PERMSCOPE_TEST_POSTGRES_URL)")
    largest = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"peak RSS per run is that child's own (os.wait4); largest child (RUSAGE_CHILDREN): {largest:.0f} MB"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
