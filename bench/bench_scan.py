"""`permscope scan` end to end on generated accounts, side by side with `cloudsplaining scan` when installed.

Generates (once, kept in bench/out/, the same files as bench_effective.py) an account export with the real AWS
managed policies of ../shared/data/aws/managed_policies.json at two sizes: 1,000 users / 500 groups / 2,000
roles and 5,000 / 2,500 / 10,000. Then runs the real command as a user would, `permscope scan FILE --output
report.html` (the summary table on standard output and the HTML report), in a child process: wall time, CPU
time and peak RSS of the child (`os.wait4`), identities per second, the HTML report's size and the phase
timings the scan measured itself (`--format json` run in process would hide start-up). cloudsplaining 0.9.1
(`--cloudsplaining PATH`, the CLOUDSPLAINING or PERMSCOPE_CLOUDSPLAINING variable, or on PATH) runs
`cloudsplaining scan --input-file FILE` on the same file. Asserts nothing: the figures are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_effective import FULL, QUICK, Run, Size, _run
from generate_export import write_export

BENCH_DIR = Path(__file__).resolve().parent
PERMSCOPE = Path(sys.executable).with_name("permscope")


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


def _permscope(size: Size, export: Path, repeat: int) -> Run:
    identities = size.users + size.groups + size.roles
    best: Run | None = None
    with tempfile.TemporaryDirectory(prefix="permscope-scan-") as folder:
        report = Path(folder) / "report.html"
        for _ in range(repeat):
            run = _run([str(PERMSCOPE), "scan", str(export), "--output", str(report)])
            print(
                f"permscope scan      wall {run.wall:6.2f} s  CPU {run.cpu:6.2f} s  peak RSS {run.peak_mb:6.0f} MB  "
                f"{identities / run.wall:8.0f} identities/s  report {report.stat().st_size / 1e6:5.1f} MB"
            )
            best = run if best is None or run.wall < best.wall else best
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="only the small account")
    parser.add_argument("--regenerate", action="store_true", help="write the exports even if they exist")
    parser.add_argument(
        "--repeat", type=int, default=1, help="permscope runs per size (the fastest is compared)"
    )
    parser.add_argument("--cloudsplaining", help="path of the cloudsplaining executable (0.9.1)")
    parser.add_argument("--no-cloudsplaining", action="store_true")
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
    for size in (QUICK,) if args.quick else (QUICK, FULL):
        identities = size.users + size.groups + size.roles
        print(
            f"\nestate: {size.users} users, {size.groups} groups, {size.roles} roles, "
            f"{size.policies} customer policies ({identities} identities)"
        )
        export = _export(size, args.regenerate)
        ours = _permscope(size, export, max(1, args.repeat))
        if tool is None:
            continue
        with tempfile.TemporaryDirectory(prefix="cloudsplaining-") as folder:
            theirs = _run(
                [tool, "scan", "--input-file", str(export), "--output", folder, "--skip-open-report"]
            )
        print(
            f"cloudsplaining scan wall {theirs.wall:6.2f} s  CPU {theirs.cpu:6.2f} s  peak RSS {theirs.peak_mb:6.0f} MB  "
            f"{identities / theirs.wall:8.0f} identities/s  ratio {theirs.wall / ours.wall:5.1f}x wall, "
            f"{theirs.cpu / ours.cpu:5.1f}x CPU"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
