"""What the `simulate` benchmarks share: one pinned core, the workflow timed in process, the command timed in a child."""

from __future__ import annotations

import io
import os
import subprocess  # the command runs as a user would run it
import sys
import time
from pathlib import Path

from permscope.core.ids import Cloud
from permscope.workflows.simulation import simulate_lines_json

PERMSCOPE = Path(sys.executable).with_name("permscope")


def pin_to_one_core() -> int | None:
    """Pin this process (and its children) to one CPU; the CPU, or None where affinity is unsupported."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return cpu


def workflow_seconds(cloud: Cloud, lines: list[bytes]) -> tuple[float, float]:
    """(wall, CPU) seconds to simulate `lines` through the workflow the CLI uses, the answers written to memory."""
    out = io.BytesIO()
    wall, cpu = time.perf_counter(), time.process_time()
    for answer in simulate_lines_json(lines, "bench", cloud):
        out.write(answer)
        out.write(b"\n")
    return time.perf_counter() - wall, time.process_time() - cpu


def command_seconds(cloud: Cloud, path: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of `permscope simulate CLOUD PATH --batch` in a subprocess (CPU from wait4)."""
    started = time.perf_counter()
    with open(os.devnull, "wb") as sink:
        child = subprocess.Popen([str(PERMSCOPE), "simulate", cloud.value, str(path), "--batch"], stdout=sink)
        _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"permscope simulate {cloud.value} failed with status {status}")
    return wall, usage.ru_utime + usage.ru_stime


def rate(count: int, seconds: float) -> str:
    """Decisions per second, for people."""
    return f"{count / seconds:,.0f}/s"
