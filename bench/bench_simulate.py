"""Decisions per second of `permscope simulate aws --batch` over the shared conformance cases, on one core.

The `core` and `simulation` cases of ../shared/data/conformance/aws_eval_cases.jsonl (iam-simulate fixtures,
AGPL-3.0: read as benchmark input, never copied) are repeated until the batch holds about two seconds of
work, then simulated three ways:

1. in process, through the same workflow the CLI uses (JSON lines in, JSON lines out), with the parsed-policy
   cache warm: the steady state of a long batch that reuses policies;
2. in process, the first pass with that cache cleared (every policy parsed once);
3. the real command, `permscope simulate aws FILE --batch`, in a subprocess, output to /dev/null: with its
   start-up (Python and imports) included, and without it (the difference with a one-pass run).

Everything runs pinned to one CPU. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess  # the command runs as a user would run it
import sys
import tempfile
import time
from pathlib import Path

from permscope.clouds.aws.engine import simulate as aws_simulate
from permscope.workflows.simulation import simulate_lines_json

CASES = Path(__file__).resolve().parents[2] / "shared" / "data" / "conformance" / "aws_eval_cases.jsonl"
PERMSCOPE = Path(sys.executable).with_name("permscope")
TARGET_SECONDS = 2.0


def _pin_to_one_core() -> int | None:
    """Pin this process (and its children) to one CPU; the CPU, or None where affinity is unsupported."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return cpu


def _cases() -> list[bytes]:
    lines = []
    with CASES.open("rb") as handle:
        for line in handle:
            if line.strip() and json.loads(line)["suite"] in ("core", "simulation"):
                lines.append(line.rstrip(b"\n"))
    return lines


def _simulate(lines: list[bytes]) -> tuple[float, float]:
    """(wall, CPU) seconds to simulate `lines` through the workflow, writing the answers to memory."""
    out = io.BytesIO()
    wall, cpu = time.perf_counter(), time.process_time()
    for answer in simulate_lines_json(lines, "bench"):
        out.write(answer)
        out.write(b"\n")
    return time.perf_counter() - wall, time.process_time() - cpu


def _command(path: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of `permscope simulate aws PATH --batch` in a subprocess (CPU from wait4)."""
    started = time.perf_counter()
    with open(os.devnull, "wb") as sink:
        child = subprocess.Popen([str(PERMSCOPE), "simulate", "aws", str(path), "--batch"], stdout=sink)
        _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"permscope simulate failed with status {status}")
    return wall, usage.ru_utime + usage.ru_stime


def _rate(count: int, seconds: float) -> str:
    return f"{count / seconds:,.0f}/s"


def main() -> None:
    """Run the benchmark and print decisions per second (per second of wall time and of CPU time)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=TARGET_SECONDS, help="work per measurement (about)")
    parser.add_argument("--no-cli", action="store_true", help="skip the subprocess runs of the real command")
    args = parser.parse_args()
    if not CASES.is_file():
        print(f"skipped: the conformance cases are not at {CASES} (clone the project next to shared/)")
        return
    cpu = _pin_to_one_core()
    cases = _cases()
    print(
        f"{len(cases)} cases (core + simulation suites); pinned to CPU {cpu}; Python {sys.version.split()[0]}"
    )
    print("decisions per second of wall time / of CPU time (they differ when other work shares the core)")

    aws_simulate.clear_caches()
    wall, used = _simulate(cases)
    print(
        f"  first pass, empty policy caches:   {_rate(len(cases), wall)} wall, {_rate(len(cases), used)} CPU"
    )

    repeats = max(1, round(args.seconds / _simulate(cases)[1]))
    batch = cases * repeats
    wall, used = min(_simulate(batch) for _ in range(3))
    print(
        f"  workflow, {len(batch):,} decisions (best of 3): {_rate(len(batch), wall)} wall, {_rate(len(batch), used)} CPU"
    )

    if args.no_cli or not PERMSCOPE.is_file():
        return
    with tempfile.TemporaryDirectory() as scratch:
        small, large = Path(scratch) / "small.jsonl", Path(scratch) / "large.jsonl"
        small.write_bytes(b"\n".join(cases) + b"\n")
        large.write_bytes(b"\n".join(batch) + b"\n")
        small_wall, small_cpu = min(_command(small) for _ in range(2))
        large_wall, large_cpu = min(_command(large) for _ in range(2))
    extra = len(batch) - len(cases)
    print(
        f"  permscope simulate aws --batch, {len(batch):,} decisions: {large_wall:.2f} s wall, {large_cpu:.2f} s CPU"
        f" (start-up included) -> {_rate(len(batch), large_wall)} wall, {_rate(len(batch), large_cpu)} CPU"
    )
    print(
        f"  the same, start-up excluded (minus a run of {len(cases)} decisions): "
        f"{_rate(extra, large_wall - small_wall)} wall, {_rate(extra, large_cpu - small_cpu)} CPU"
    )


if __name__ == "__main__":
    main()
