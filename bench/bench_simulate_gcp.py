"""Decisions per second of `permscope simulate gcp --batch` over the shared GCP IAM conformance cases, on one core.

The cases of ../shared/data/conformance/gcp_iam_cases.jsonl (read as benchmark input, never copied) are repeated
until the batch holds about two seconds of work, then simulated three ways:

1. in process, the first pass over the distinct cases with every cache empty (each condition compiled, each
   role's permission list read, each CEL context built once);
2. in process, through the same workflow the CLI uses (JSON lines in, JSON lines out), the visible cases
   repeated: the steady state of a long batch whose roles, conditions and resources recur;
3. the real command, `permscope simulate gcp FILE --batch`, in a subprocess, output to /dev/null: with its
   start-up (Python and imports) included, and without it (the difference with a one-pass run).

`--distinct` makes every line unique instead, so that no cache ever hits: each copy of a case adds to every
role a permission of a service that does not exist, moves the request time by `copy` microseconds and adds a
clause naming the copy to every condition (`(...) && "copy-N" != ""`). The bench checks that every decision and
its summary stay what they were.

Everything runs pinned to one CPU. Prints figures; asserts nothing but the unchanged answers.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from permscope.clouds.gcp.engine import simulate as gcp_simulate
from permscope.core.ids import Cloud
from permscope.workflows.simulation import simulate_lines_json

sys.path.insert(0, str(Path(__file__).resolve().parent))
from simulate_runs import PERMSCOPE, command_seconds, pin_to_one_core, rate, workflow_seconds

CASES = Path(__file__).resolve().parents[2] / "shared" / "data" / "conformance" / "gcp_iam_cases.jsonl"
TARGET_SECONDS = 2.0


def _cases() -> list[bytes]:
    with CASES.open("rb") as handle:
        return [line.rstrip(b"\n") for line in handle if line.strip()]


def _clause(copy: int) -> str:
    return f' && "copy-{copy}" != ""'


def _distinct(line: bytes, copy: int) -> bytes:
    """`line` made unique to copy number `copy`, every decision unchanged."""
    case: dict[str, Any] = orjson.loads(line)
    estate = case["estate"]
    estate["roles"] = {
        role: [*perms, f"permscopebench.copies.c{copy}"] for role, perms in estate["roles"].items()
    }
    for policy in estate.get("allow_policies", {}).values():
        for binding in policy.get("bindings", []):
            if "condition" in binding:
                binding["condition"]["expression"] = f"({binding['condition']['expression']}){_clause(copy)}"
    for policies in estate.get("deny_policies", {}).values():
        for policy in policies:
            for rule in policy.get("rules", []):
                condition = rule["denyRule"].get("denialCondition")
                if condition is not None:
                    condition["expression"] = f"({condition['expression']}){_clause(copy)}"
    moment = datetime.fromisoformat(case["request"]["time"]) + timedelta(microseconds=copy)
    case["request"]["time"] = moment.isoformat()
    return orjson.dumps(case)


def _gist(answer: bytes) -> tuple[object, ...]:
    """What must not change when a line is made distinct: the decision and the summary of why."""
    parsed = orjson.loads(answer)
    return parsed["id"], parsed["decision"], parsed["explanation"]["summary"]


def _answers(lines: list[bytes]) -> list[bytes]:
    return list(simulate_lines_json(lines, "bench", Cloud.GCP))


def main() -> None:
    """Run the benchmark and print decisions per second (per second of wall time and of CPU time)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=TARGET_SECONDS, help="work per measurement (about)")
    parser.add_argument("--no-cli", action="store_true", help="skip the subprocess runs of the real command")
    parser.add_argument("--distinct", action="store_true", help="make every line unique (no cache ever hits)")
    args = parser.parse_args()
    if not CASES.is_file():
        print(f"skipped: the conformance cases are not at {CASES} (clone the project next to shared/)")
        return
    cpu = pin_to_one_core()
    cases = _cases()
    print(f"{len(cases)} GCP IAM cases; pinned to CPU {cpu}; Python {sys.version.split()[0]}")
    print("decisions per second of wall time / of CPU time (they differ when other work shares the core)")
    if args.distinct:
        _distinct_run(cases, args.seconds)
        return
    gcp_simulate.clear_caches()
    wall, used = workflow_seconds(Cloud.GCP, cases)
    print(f"  first pass, empty caches:   {rate(len(cases), wall)} wall, {rate(len(cases), used)} CPU")
    repeats = max(1, round(args.seconds / workflow_seconds(Cloud.GCP, cases)[1]))
    batch = cases * repeats
    wall, used = min(workflow_seconds(Cloud.GCP, batch) for _ in range(3))
    print(
        f"  workflow, {len(batch):,} decisions (best of 3): {rate(len(batch), wall)} wall,"
        f" {rate(len(batch), used)} CPU"
    )
    if args.no_cli or not PERMSCOPE.is_file():
        return
    with tempfile.TemporaryDirectory() as scratch:
        small, large = Path(scratch) / "small.jsonl", Path(scratch) / "large.jsonl"
        small.write_bytes(b"\n".join(cases) + b"\n")
        large.write_bytes(b"\n".join(batch) + b"\n")
        small_wall, small_cpu = min(command_seconds(Cloud.GCP, small) for _ in range(2))
        large_wall, large_cpu = min(command_seconds(Cloud.GCP, large) for _ in range(2))
    extra = len(batch) - len(cases)
    print(
        f"  permscope simulate gcp --batch, {len(batch):,} decisions: {large_wall:.2f} s wall, {large_cpu:.2f} s CPU"
        f" (start-up included) -> {rate(len(batch), large_wall)} wall, {rate(len(batch), large_cpu)} CPU"
    )
    print(
        f"  the same, start-up excluded (minus a run of {len(cases)} decisions): "
        f"{rate(extra, large_wall - small_wall)} wall, {rate(extra, large_cpu - small_cpu)} CPU"
    )


def _distinct_run(cases: list[bytes], seconds: float) -> None:
    """Every line unique: the workflow in process, every cache empty at the start (decisions per CPU-second)."""
    gcp_simulate.clear_caches()
    repeats = max(1, round(seconds / workflow_seconds(Cloud.GCP, [_distinct(line, 0) for line in cases])[1]))
    copies = [[_distinct(line, copy) for line in cases] for copy in range(1, repeats + 1)]
    expected = _answers(cases)
    gcp_simulate.clear_caches()
    for copy, lines in enumerate(copies, start=1):
        if [_gist(answer) for answer in _answers(lines)] != [_gist(answer) for answer in expected]:
            raise SystemExit(f"an answer changed when the lines were made distinct (copy {copy})")
    print(f"  every line unique ({repeats} copies of each case, every answer unchanged)")
    batch = [line for lines in copies for line in lines]
    gcp_simulate.clear_caches()
    wall, used = workflow_seconds(Cloud.GCP, batch)
    print(
        f"  workflow, {len(batch):,} decisions: {rate(len(batch), wall)} wall, {rate(len(batch), used)} CPU"
    )


if __name__ == "__main__":
    main()
