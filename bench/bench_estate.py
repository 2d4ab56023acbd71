"""Azure tenant / GCP organization at the issues' sizes: import + effective permissions + analysis, as a user runs it.

Generates (once, kept in bench/out/) the export folder of the issue's estate with `permscope.estates` — Azure:
20,000 users, 5,000 nested groups, 10,000 service principals and managed identities, 100 subscriptions under 3
levels of management groups, 100,000 role assignments; GCP: 500 projects under 4 levels of folders, 20,000 users,
3,000 nested groups, 10,000 service accounts, 150,000 bindings — then runs `permscope import <cloud> DIR` (which
imports, computes every identity's effective permissions and analyzes) in a child process on a fresh SQLite
database, and reports the child's wall time, CPU time and peak RSS against the issue's budget (60 s, 2 GB).
`--quick` runs a tenth of the size. Asserts nothing.

    .venv/bin/python bench/bench_estate.py azure [--quick]
    .venv/bin/python bench/bench_estate.py gcp [--quick]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import subprocess  # the child runs as a user would run it
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
PERMSCOPE = Path(sys.executable).with_name("permscope")
BUDGET_SECONDS, BUDGET_MIB = 60.0, 2_048


def _folder(cloud: str, quick: bool) -> Path:
    """The export folder of the estate (generated on first use)."""
    from permscope.estates.folders import write_export_folder

    folder = BENCH_DIR / "out" / f"{cloud}-estate{'-quick' if quick else ''}"
    if (folder / "users.json").exists() or (folder / "projects.json").exists():
        return folder
    if cloud == "azure":
        from permscope.estates.azure import BENCH_TENANT, generate_azure_tenant

        size = BENCH_TENANT if not quick else _tenth(BENCH_TENANT)
        parts = generate_azure_tenant(tenant_id="5e1f6c2a-0000-4000-8000-00000000be9c", domain="bench.example",
                                      size=size)  # fmt: skip
    else:
        from permscope.estates.gcp import BENCH_ORGANIZATION, generate_gcp_organization

        size = BENCH_ORGANIZATION if not quick else _tenth(BENCH_ORGANIZATION)
        parts = generate_gcp_organization(number="424242424242", domain="bench.example", size=size)
    write_export_folder(folder, parts)
    return folder


def _tenth(size: object) -> object:
    """The same estate at a tenth of every count (levels of the hierarchy kept)."""
    changes = {
        field.name: max(1, getattr(size, field.name) // 10)
        for field in dataclasses.fields(size)  # type: ignore[arg-type]
        if "levels" not in field.name and getattr(size, field.name)
    }
    return dataclasses.replace(size, **changes)  # type: ignore[type-var]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cloud", choices=("azure", "gcp"))
    parser.add_argument("--quick", action="store_true", help="a tenth of the size")
    options = parser.parse_args()
    folder = _folder(options.cloud, options.quick)
    files = sorted(
        str(path)
        for path in folder.glob("*.json")
        if not path.name.startswith(("activity", "sign-in", "audit"))
    )
    size = sum(Path(path).stat().st_size for path in files)
    with tempfile.TemporaryDirectory(prefix="permscope-bench-") as work:
        environment = {**os.environ, "PERMSCOPE_DATABASE_URL": f"sqlite:///{work}/bench.sqlite3"}
        command = [str(PERMSCOPE), "import", options.cloud, str(folder), "--format", "json"]
        started = time.perf_counter()
        child = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _pid, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        error = child.stderr.read().decode() if child.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        print(f"permscope import {options.cloud} failed:\n{error[-4000:]}", file=sys.stderr)
        return 1
    cpu = usage.ru_utime + usage.ru_stime
    peak = usage.ru_maxrss / 1024
    print(
        f"{options.cloud} estate {'(quick) ' if options.quick else ''}{folder} ({size / 2**20:.0f} MiB of JSON)"
    )
    print(
        f"  import + effective permissions + analysis: wall {wall:.1f} s, CPU {cpu:.1f} s, peak RSS {peak:.0f} MiB"
    )
    if not options.quick:
        print(f"  budget {BUDGET_SECONDS:.0f} s and {BUDGET_MIB} MiB: wall x{wall / BUDGET_SECONDS:.2f}, "
              f"memory x{peak / BUDGET_MIB:.2f} of it")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
