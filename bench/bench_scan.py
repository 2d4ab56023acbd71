"""`permscope scan` end to end on generated accounts, side by side with `cloudsplaining scan` in the same run.

Sizes are N users / N/2 groups / 2N roles / 0.6N customer policies (with the real AWS managed policies of
../shared/data/aws/managed_policies.json): N = 1,000 and 5,000 by default, `--large` adds N = 20,000 (slow to
generate and to scan), `--sizes` names others. Each export is generated once and kept in bench/out/ (the
1,000 and 5,000 files are the ones bench_effective.py uses).

For each size the real command runs as a user would, `permscope scan FILE --output report.html` (the summary
table on standard output and the HTML report), in a child process: wall time, CPU time (user + system) and
peak RSS of that child (`os.wait4`), then the scan's own phase timings in a second child. cloudsplaining
0.9.1 (`--cloudsplaining PATH`, the CLOUDSPLAINING or PERMSCOPE_CLOUDSPLAINING variable, or on PATH) runs
`cloudsplaining scan --input-file FILE` on the same file, for every size up to `--cloudsplaining-max`
(5,000 by default: it needs about six minutes there and grows faster than linearly). The end prints one table:
each size's figures, the ratio cloudsplaining / permscope, the growth exponent of permscope's time between
consecutive sizes (log(t2 / t1) / log(N2 / N1); 1.0 is linear) and the issue's goals beside them. On a busy
machine read the CPU columns: wall time moves with the other jobs. The runs start from compiled bytecode as an
installed package does (PYTHONDONTWRITEBYTECODE is unset for them). Asserts nothing.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_effective import Run, Size, _run
from generate_export import write_export

BENCH_DIR = Path(__file__).resolve().parent
PERMSCOPE = Path(sys.executable).with_name("permscope")
DEFAULT_SIZES = (1_000, 5_000)
LARGE = 20_000
# The goals of issue 12 (section 2), per N: permscope wall seconds, peak MiB, ratio to cloudsplaining.
GOALS: dict[int, tuple[float, float | None, float | None]] = {
    1_000: (1.2, None, 35.0),
    5_000: (5.0, 800.0, 70.0),
    20_000: (25.0, 2_560.0, None),
}
GOAL_EXPONENT = 1.1


def size_of(n: int) -> Size:
    """N users, N/2 groups, 2N roles and 0.6N customer managed policies."""
    return Size(users=n, groups=n // 2, roles=2 * n, policies=n * 3 // 5)


@dataclass(frozen=True, slots=True)
class Measured:
    """The figures of one size."""

    n: int
    identities: int
    ours: Run
    theirs: Run | None


def _export(size: Size, regenerate: bool) -> Path:
    export = BENCH_DIR / "out" / size.file_name
    if regenerate or not export.is_file():
        started = time.perf_counter()
        write_export(export, users=size.users, roles=size.roles, groups=size.groups, policies=size.policies)
        print(
            f"generated {export.name} ({export.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - started:.1f} s"
        )
    return export


def phases(export: Path) -> dict[str, float]:
    """In the child: the scan's own phase timings (and the report's rendering), as JSON on standard output."""
    from permscope.presentation.report import render_html
    from permscope.workflows.scan import scan_files

    result = scan_files([export])
    started = time.perf_counter()
    page = render_html(result)
    timings = dict(result.timings)
    timings["render"] = time.perf_counter() - started
    timings["findings"] = len(result.findings)
    timings["flagged"] = len(result.identities)
    timings["reportMB"] = len(page.encode()) / 1e6
    return timings


def _load() -> str:
    return "load average " + " / ".join(f"{value:.1f}" for value in os.getloadavg())


def _figures(run: Run) -> str:
    return f"wall {run.wall:7.2f} s  CPU {run.cpu:7.2f} s  peak RSS {run.peak_mb:6.0f} MiB"


def _permscope(size: Size, export: Path, repeat: int, with_phases: bool) -> Run:
    """The run with the least CPU time of `repeat` runs of `permscope scan`."""
    identities = size.users + size.groups + size.roles
    best: Run | None = None
    with tempfile.TemporaryDirectory(prefix="permscope-scan-") as folder:
        report = Path(folder) / "report.html"
        for _ in range(repeat):
            run = _run([str(PERMSCOPE), "scan", str(export), "--output", str(report)])
            print(
                f"permscope scan       {_figures(run)}  {identities / run.cpu:7.0f} identities per CPU-second  "
                f"report {report.stat().st_size / 1e6:5.1f} MB  ({_load()})"
            )
            best = run if best is None or run.cpu < best.cpu else best
    if with_phases:
        detail = _run([sys.executable, __file__, "--phases", str(export)])
        figures = json.loads(detail.output)
        counts = {key: figures.pop(key) for key in ("findings", "flagged", "reportMB")}
        print(
            "  phases (in process): "
            + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in figures.items())
            + f"; {counts['findings']:.0f} findings, {counts['flagged']:.0f} flagged identities"
        )
    assert best is not None
    return best


def _cloudsplaining(path: str | None) -> str | None:
    return (
        path
        or os.environ.get("CLOUDSPLAINING")
        or os.environ.get("PERMSCOPE_CLOUDSPLAINING")
        or shutil.which("cloudsplaining")
    )


def _theirs(tool: str, export: Path) -> Run:
    with tempfile.TemporaryDirectory(prefix="cloudsplaining-") as folder:
        run = _run([tool, "scan", "--input-file", str(export), "--output", folder, "--skip-open-report"])
    print(f"cloudsplaining scan  {_figures(run)}  ({_load()})")
    return run


def exponent(small: tuple[int, float], large: tuple[int, float]) -> float:
    """How time grows between two sizes: t ~ N^exponent, from (N, seconds) at each."""
    (n1, t1), (n2, t2) = small, large
    return math.log(t2 / t1) / math.log(n2 / n1)


def _goal(n: int, ours: Run, ratio: float | None) -> str:
    wall, memory, least_ratio = GOALS.get(n, (None, None, None))
    parts = []
    if wall is not None:
        parts.append(f"< {wall:g} s ({'met' if ours.wall < wall else 'not met'} by wall)")
    if memory is not None:
        parts.append(f"< {memory:g} MiB ({'met' if ours.peak_mb < memory else 'not met'})")
    if least_ratio is not None:
        verdict = "no figure" if ratio is None else ("met" if ratio >= least_ratio else "not met")
        parts.append(f">= {least_ratio:g}x ({verdict})")
    return "; ".join(parts) or "-"


def _table(measured: list[Measured]) -> None:
    """The summary: every size's figures beside cloudsplaining's, the ratios, the growth and the goals."""
    print("\n| N | identities | permscope wall | CPU | peak RSS | cloudsplaining wall | CPU | peak RSS "
          "| ratio (wall / CPU) | goal (issue 12) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    for row in measured:
        ours, theirs = row.ours, row.theirs
        them = (
            f"{theirs.wall:.1f} s | {theirs.cpu:.1f} s | {theirs.peak_mb:.0f} MiB"
            if theirs is not None
            else "not run | | "
        )
        ratio = (
            f"{theirs.wall / ours.wall:.1f}x / {theirs.cpu / ours.cpu:.1f}x" if theirs is not None else "-"
        )
        wall_ratio = theirs.wall / ours.wall if theirs is not None else None
        print(
            f"| {row.n:,} | {row.identities:,} | {ours.wall:.2f} s | {ours.cpu:.2f} s | {ours.peak_mb:.0f} MiB "
            f"| {them} | {ratio} | {_goal(row.n, ours, wall_ratio)} |"
        )
    for small, large in itertools.pairwise(measured):
        by_wall = exponent((small.n, small.ours.wall), (large.n, large.ours.wall))
        by_cpu = exponent((small.n, small.ours.cpu), (large.n, large.ours.cpu))
        goal = (
            f" (goal: <= {GOAL_EXPONENT} from 5,000 to 20,000)"
            if (small.n, large.n) == (5_000, LARGE)
            else ""
        )
        print(
            f"growth of permscope's time from N={small.n:,} to N={large.n:,}: N^{by_wall:.2f} by wall, "
            f"N^{by_cpu:.2f} by CPU{goal}"
        )
        if small.theirs is not None and large.theirs is not None:
            theirs = exponent((small.n, small.theirs.cpu), (large.n, large.theirs.cpu))
            print(f"  cloudsplaining over the same sizes: N^{theirs:.2f} by CPU")


def _as_installed() -> str:
    """Let every child start from compiled bytecode, as an installed package does: PYTHONDONTWRITEBYTECODE is
    dropped for the children and permscope's sources compiled once (else each run compiles ~120 modules)."""
    import compileall

    import permscope

    dropped = os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    compileall.compile_dir(Path(permscope.__file__).parent, quiet=1)
    return "; PYTHONDONTWRITEBYTECODE unset for the runs" if dropped else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="only N = 1,000")
    parser.add_argument("--large", action="store_true", help=f"add N = {LARGE:,} (slow)")
    parser.add_argument("--sizes", type=int, nargs="+", metavar="N", help="the values of N to run instead")
    parser.add_argument("--regenerate", action="store_true", help="write the exports even if they exist")
    parser.add_argument(
        "--repeat", type=int, default=1, help="permscope runs per size (the one with the least CPU is kept)"
    )
    parser.add_argument("--no-phases", action="store_true", help="skip the phase timings (a second scan)")
    parser.add_argument("--cloudsplaining", help="path of the cloudsplaining executable (0.9.1)")
    parser.add_argument("--no-cloudsplaining", action="store_true")
    parser.add_argument(
        "--cloudsplaining-max",
        type=int,
        default=5_000,
        metavar="N",
        help="run cloudsplaining only up to this N (default 5,000; it took 369 s there)",
    )
    parser.add_argument("--phases", metavar="EXPORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.phases:
        print(json.dumps(phases(Path(args.phases))))
        return 0
    tool = None if args.no_cloudsplaining else _cloudsplaining(args.cloudsplaining)
    if tool is None and not args.no_cloudsplaining:
        print(
            "cloudsplaining: skipped (not installed; python3 -m venv /tmp/cloudsplaining-venv && "
            "/tmp/cloudsplaining-venv/bin/pip install cloudsplaining==0.9.1, then set "
            "CLOUDSPLAINING=/tmp/cloudsplaining-venv/bin/cloudsplaining)"
        )
    sizes = args.sizes or ((1_000,) if args.quick else DEFAULT_SIZES + ((LARGE,) if args.large else ()))
    bytecode = _as_installed()
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {_load()}{bytecode}")
    measured: list[Measured] = []
    for n in sorted(sizes):
        size = size_of(n)
        identities = size.users + size.groups + size.roles
        print(
            f"\nN = {n:,}: {size.users:,} users, {size.groups:,} groups, {size.roles:,} roles, "
            f"{size.policies:,} customer policies ({identities:,} identities)"
        )
        export = _export(size, args.regenerate)
        ours = _permscope(size, export, max(1, args.repeat), not args.no_phases)
        theirs = None
        if tool is not None and n <= args.cloudsplaining_max:
            theirs = _theirs(tool, export)
        elif tool is not None:
            print(
                f"cloudsplaining scan  skipped at N = {n:,} (--cloudsplaining-max {args.cloudsplaining_max:,})"
            )
        measured.append(Measured(n, identities, ours, theirs))
    _table(measured)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
