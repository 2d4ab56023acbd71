"""Decisions per second of `permscope simulate azure --batch` over the shared Azure RBAC conformance cases.

The 467 cases of ../shared/data/conformance/azure_rbac_cases.jsonl (written for permscope from Microsoft's
documented rules; built-in roles from iann0036/iam-dataset, MIT; read as input, never copied) are repeated
until the batch holds about two seconds of work, then simulated, pinned to one CPU:

1. in process, through the workflow the CLI uses (JSON lines in, JSON lines out), the first pass with every
   cache empty (each role definition, estate and condition compiled once);
2. in process, the batch of repeated cases (best of 3): each estate is compiled on its first line and found
   again on the next lines that carry the same estate, as when a batch asks many questions of one tenant;
3. with `--distinct`, every line's estate made unique (each copy of a case gets one more role assignment, of a
   principal that asks nothing, numbered by the copy): every estate is compiled from scratch, only role
   definitions and conditions are reused (they are the same built-in roles and texts), and every answer must
   stay what it was (the bench checks it);
4. the real command, `permscope simulate azure FILE --batch`, in a subprocess, output to /dev/null, CPU time
   from wait4: with its start-up, and without it (minus a one-pass run).

Prints decisions per second of CPU time (and of wall time, which moves with other work on the machine).
The collector is paused as the command pauses it. Asserts nothing but the unchanged answers of --distinct.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
from pathlib import Path

import orjson

from permscope.clouds.azure.engine import simulate as azure_simulate
from permscope.core.ids import Cloud
from permscope.workflows.simulation import simulate_lines_json

sys.path.insert(0, str(Path(__file__).resolve().parent))
from simulate_runs import PERMSCOPE, command_seconds, pin_to_one_core, rate

CASES = Path(__file__).resolve().parents[2] / "shared" / "data" / "conformance" / "azure_rbac_cases.jsonl"
TARGET_SECONDS = 2.0


def _distinct(line: bytes, copy: int) -> bytes:
    """`line` with a role assignment of its own (of a principal that asks nothing): the answer is unchanged."""
    case = orjson.loads(line)
    assignments = case["estate"]["role_assignments"]
    guid = f"{copy:08d}-0000-4000-8000-000000bench"
    assignments.append(
        {
            "id": f"/providers/Microsoft.Authorization/roleAssignments/{guid}",
            "name": guid,
            "principalId": f"{copy:08d}-0000-4000-8000-00000000beef",
            "principalType": "User",
            "roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7",
            "scope": "/",
            "condition": None,
            "conditionVersion": None,
        }
    )
    return orjson.dumps(case)


def _simulate(lines: list[bytes]) -> tuple[float, float, list[bytes]]:
    """(wall, CPU) seconds to simulate `lines` through the workflow, and the answers."""
    answers: list[bytes] = []
    wall, cpu = time.perf_counter(), time.process_time()
    answers.extend(simulate_lines_json(lines, "bench", cloud=Cloud.AZURE))
    return time.perf_counter() - wall, time.process_time() - cpu, answers


def _report(label: str, count: int, wall: float, cpu: float) -> None:
    print(f"  {label}: {rate(count, cpu)} CPU, {rate(count, wall)} wall")


def main() -> None:
    """Run the benchmark and print decisions per second."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=TARGET_SECONDS, help="work per measurement (about)")
    parser.add_argument("--no-cli", action="store_true", help="skip the subprocess runs of the real command")
    parser.add_argument("--distinct", action="store_true", help="also run with every line's estate unique")
    args = parser.parse_args()
    if not CASES.is_file():
        print(f"skipped: the conformance cases are not at {CASES} (clone the project next to shared/)")
        return
    cpu = pin_to_one_core()
    cases = [line for line in CASES.read_bytes().splitlines() if line.strip()]
    print(
        f"{len(cases)} Azure RBAC cases; pinned to CPU {cpu}; Python {sys.version.split()[0]}; load {os.getloadavg()[0]:.1f}"
    )
    gc.disable()  # as `permscope simulate azure --batch` runs (core/gc_pause.py)

    azure_simulate.clear_caches()
    wall, used, plain = _simulate(cases)
    _report(f"first pass, empty caches ({len(cases)} decisions)", len(cases), wall, used)

    repeats = max(1, round(args.seconds / _simulate(cases)[1]))
    batch = cases * repeats
    wall, used, _ = min((_simulate(batch) for _ in range(3)), key=lambda run: run[1])
    _report(f"workflow, {len(batch):,} decisions, best of 3", len(batch), wall, used)

    if args.distinct:
        distinct = [_distinct(line, copy) for copy in range(1, repeats + 1) for line in cases]
        runs = []
        for _ in range(3):
            azure_simulate.clear_caches()
            runs.append(_simulate(distinct))
        wall, used, answers = min(runs, key=lambda run: run[1])
        if answers != plain * repeats:
            raise SystemExit("an answer changed when the estates were made distinct")
        _report(
            f"workflow, every estate distinct, {len(distinct):,} decisions, best of 3",
            len(distinct),
            wall,
            used,
        )

    if args.no_cli or not PERMSCOPE.is_file():
        return
    with tempfile.TemporaryDirectory() as scratch:
        small, large = Path(scratch) / "small.jsonl", Path(scratch) / "large.jsonl"
        small.write_bytes(b"\n".join(cases) + b"\n")
        large.write_bytes(b"\n".join(batch) + b"\n")
        small_wall, small_cpu = min(
            (command_seconds(Cloud.AZURE, small) for _ in range(2)), key=lambda run: run[1]
        )
        large_wall, large_cpu = min(
            (command_seconds(Cloud.AZURE, large) for _ in range(2)), key=lambda run: run[1]
        )
    extra = len(batch) - len(cases)
    _report(
        f"permscope simulate azure --batch, {len(batch):,} decisions, start-up included",
        len(batch),
        large_wall,
        large_cpu,
    )
    _report(
        f"the same, start-up excluded (minus a run of {len(cases)})",
        extra,
        large_wall - small_wall,
        large_cpu - small_cpu,
    )


if __name__ == "__main__":
    main()
