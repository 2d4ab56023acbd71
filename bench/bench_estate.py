"""Azure tenant / GCP organization at the issues' sizes: import + effective permissions + analysis, as a user runs it.

Generates (once, kept in bench/out/) the export folder of the issue's estate with `permscope.estates` — Azure:
20,000 users, 5,000 nested groups, 10,000 service principals and managed identities, 100 subscriptions under 3
levels of management groups, 100,000 role assignments; GCP: 500 projects under 4 levels of folders, 20,000 users,
3,000 nested groups, 10,000 service accounts, 150,000 bindings — then runs `permscope import <cloud> DIR` (which
imports, computes every identity's effective permissions and analyzes) in a child process on a fresh SQLite
database, and reports the child's wall time, CPU time and peak RSS against the issue's budget (60 s, 2 GB).
`--quick` runs a tenth of the size, `--scale F` any fraction (every count times F, the hierarchy's levels kept:
two fractions show how the cost grows with the estate). Asserts nothing.

    .venv/bin/python bench/bench_estate.py azure [--quick | --scale 0.2]
    .venv/bin/python bench/bench_estate.py gcp [--quick | --scale 0.2]
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


def _folder(cloud: str, scale: float) -> Path:
    """The export folder of the estate at `scale` of the issue's size (generated on first use)."""
    from permscope.estates.folders import write_export_folder

    suffix = "" if scale == 1 else "-quick" if scale == 0.1 else f"-{scale:g}"
    folder = BENCH_DIR / "out" / f"{cloud}-estate{suffix}"
    if (folder / "users.json").exists() or (folder / "projects.json").exists():
        return folder
    if cloud == "azure":
        from permscope.estates.azure import BENCH_TENANT, generate_azure_tenant

        size = _scaled(BENCH_TENANT, scale)
        parts = generate_azure_tenant(tenant_id="5e1f6c2a-0000-4000-8000-00000000be9c", domain="bench.example",
                                      size=size)  # fmt: skip
    else:
        from permscope.estates.gcp import BENCH_ORGANIZATION, generate_gcp_organization

        size = _scaled(BENCH_ORGANIZATION, scale)
        parts = generate_gcp_organization(number="424242424242", domain="bench.example", size=size)
    write_export_folder(folder, parts)
    return folder


def _scaled(size: object, scale: float) -> object:
    """The same estate with every count times `scale` (levels of the hierarchy kept)."""
    if scale == 1:
        return size
    changes = {
        field.name: max(1, int(getattr(size, field.name) * scale))
        for field in dataclasses.fields(size)  # type: ignore[arg-type]
        if "levels" not in field.name and getattr(size, field.name)
    }
    return dataclasses.replace(size, **changes)  # type: ignore[type-var]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cloud", choices=("azure", "gcp"))
    parser.add_argument("--quick", action="store_true", help="a tenth of the size (= --scale 0.1)")
    parser.add_argument("--scale", type=float, default=1.0, help="every count times this fraction")
    options = parser.parse_args()
    scale = 0.1 if options.quick else options.scale
    folder = _folder(options.cloud, scale)
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
        f"{options.cloud} estate {f'(x{scale:g}) ' if scale != 1 else ''}{folder} ({size / 2**20:.0f} MiB of JSON)"
    )
    print(
        f"  import + effective permissions + analysis: wall {wall:.1f} s, CPU {cpu:.1f} s, peak RSS {peak:.0f} MiB"
    )
    if scale == 1:
        print(f"  budget {BUDGET_SECONDS:.0f} s and {BUDGET_MIB} MiB: wall x{wall / BUDGET_SECONDS:.2f}, "
              f"memory x{peak / BUDGET_MIB:.2f} of it")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
