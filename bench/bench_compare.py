"""`permscope scan` of this checkout side by side with another build of permscope, in one run.

Runs `permscope scan FILE --output report.html` with this venv's `permscope` and with another one (`--other`,
e.g. the venv of a worktree of an older commit), alternately, `--repeat` times each, on the generated export of
`bench_scan.py` (1,000 users / 500 groups / 2,000 roles with `--quick`; 5,000 / 2,500 / 10,000 without). Each
run is a child process: wall time, CPU time and peak RSS from `os.wait4`. Prints the medians and the ratio
(this / other); asserts nothing.

    git worktree add ../permscope-old <commit> && (cd ../permscope-old && python3 -m venv .venv &&
        .venv/bin/pip install -e '.[aws]')
    .venv/bin/python bench/bench_compare.py --other ../permscope-old/.venv/bin/permscope --quick --repeat 7
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_effective import FULL, QUICK
from bench_scan import _export

THIS = Path(sys.executable).with_name("permscope")


def _one(permscope: Path, export: Path, folder: Path) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds, peak RSS MB) of one scan in a child process."""
    import time

    started = time.perf_counter()
    child = subprocess.Popen(
        [str(permscope), "scan", str(export), "--output", str(folder / "report.html")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _pid, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode not in (0, 1):  # 1: findings were reported
        raise SystemExit(
            f"{permscope} scan failed ({child.returncode}): {child.stderr.read().decode()[-2000:]}"
        )
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--other", type=Path, required=True, help="the other build's `permscope` executable")
    parser.add_argument("--quick", action="store_true", help="1,000 users / 500 groups / 2,000 roles")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--regenerate", action="store_true")
    args = parser.parse_args()
    size = QUICK if args.quick else FULL
    export = _export(size, args.regenerate)
    identities = size.users + size.groups + size.roles
    runs: dict[str, list[tuple[float, float, float]]] = {"this": [], "other": []}
    with tempfile.TemporaryDirectory() as folder:
        for build in (THIS, args.other):
            _one(build, export, Path(folder))  # warm the file cache and the builds' bytecode
        for _ in range(args.repeat):
            for name, build in (("this", THIS), ("other", args.other)):
                runs[name].append(_one(build, export, Path(folder)))
    print(f"permscope scan of {export.name} ({identities:,} identities), {args.repeat} runs each, alternated")
    medians = {}
    for name, found in runs.items():
        walls, cpus, rss = zip(*found, strict=True)
        medians[name] = (statistics.median(walls), statistics.median(cpus))
        print(
            f"  {name:5}: wall median {medians[name][0]:.2f} s (min {min(walls):.2f}, max {max(walls):.2f}), "
            f"CPU median {medians[name][1]:.2f} s, peak RSS {max(rss):.0f} MB, "
            f"{identities / medians[name][0]:,.0f} identities/s"
        )
    print(
        f"  ratio this / other: wall {medians['this'][0] / medians['other'][0]:.3f}, "
        f"CPU {medians['this'][1] / medians['other'][1]:.3f}"
    )


if __name__ == "__main__":
    main()
