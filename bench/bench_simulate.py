"""Decisions per second of `permscope simulate aws --batch` over the shared conformance cases, on one core.

The `core` and `simulation` cases of ../shared/data/conformance/aws_eval_cases.jsonl (iam-simulate fixtures,
AGPL-3.0: read as benchmark input, never copied) are repeated until the batch holds about two seconds of
work, then simulated three ways:

1. in process, through the same workflow the CLI uses (JSON lines in, JSON lines out), with the parsed-policy
   cache warm: the steady state of a long batch that reuses policies;
2. in process, the first pass with that cache cleared (every policy parsed once);
3. the real command, `permscope simulate aws FILE --batch`, in a subprocess, output to /dev/null: with its
   start-up (Python and imports) included, and without it (the difference with a one-pass run).

`--distinct` makes every line's policies unique instead (no parsed policy, policy set or compiled action or
resource list is ever reused): each copy of a case adds to every statement's Action / NotAction list an action
of a service that does not exist and to its Resource / NotResource list an ARN of a partition that does not
exist, both numbered by the copy. They match no request, so every answer stays what it was (the bench checks
that each answer, explanation included, equals the plain case's). It measures the same two ways (workflow in
process, the command in a subprocess) and reports decisions per CPU-second.

Everything runs pinned to one CPU. Prints figures; asserts nothing but the unchanged answers.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import orjson

from permscope.clouds.aws.engine import simulate as aws_simulate
from permscope.core.ids import Cloud
from permscope.workflows.simulation import simulate_lines_json

sys.path.insert(0, str(Path(__file__).resolve().parent))
from simulate_runs import PERMSCOPE, command_seconds, pin_to_one_core, rate, workflow_seconds

CASES = Path(__file__).resolve().parents[2] / "shared" / "data" / "conformance" / "aws_eval_cases.jsonl"
TARGET_SECONDS = 2.0


def _cases() -> list[bytes]:
    lines = []
    with CASES.open("rb") as handle:
        for line in handle:
            if line.strip() and json.loads(line)["suite"] in ("core", "simulation"):
                lines.append(line.rstrip(b"\n"))
    return lines


def _widened(document: object, copy: int) -> object:
    """A policy document unique to copy number `copy` that decides every request as before: each statement's
    action list gets an action of a service that does not exist, and its resource list an ARN of a partition
    that does not exist (they match no request, so Action / Resource and their Not- forms answer as before)."""
    if not isinstance(document, dict) or "Statement" not in document:
        return document
    body = document["Statement"]
    statements = body if isinstance(body, list) else [body]
    widened = []
    for statement in statements:
        if isinstance(statement, dict):
            statement = dict(statement)
            for element, extra in (
                ("Action", f"permscope-bench:Copy{copy}"),
                ("NotAction", f"permscope-bench:Copy{copy}"),
                ("Resource", f"arn:permscope-bench:bench:::copy-{copy}"),
                ("NotResource", f"arn:permscope-bench:bench:::copy-{copy}"),
            ):
                values = statement.get(element)
                if isinstance(values, str):
                    statement[element] = [values, extra]
                elif isinstance(values, list):
                    statement[element] = [*values, extra]
        widened.append(statement)
    return {**document, "Statement": widened if isinstance(body, list) else widened[0]}


def _named(items: object, copy: int) -> object:
    """A list of {"name", "document"} objects with widened documents."""
    if not isinstance(items, list):
        return items
    return [
        {**item, "document": _widened(item.get("document"), copy)} if isinstance(item, dict) else item
        for item in items
    ]


def _distinct(line: bytes, copy: int) -> bytes:
    """`line` with every policy document made unique to copy number `copy` (its answer is unchanged)."""
    case = orjson.loads(line)
    policies = case.get("policies")
    if not isinstance(policies, dict):
        return line
    changed = dict(policies)
    for key in ("identity", "permission_boundaries", "vpc_endpoint_policies"):
        changed[key] = _named(policies.get(key), copy)
    for key in ("scp_levels", "rcp_levels"):
        levels = policies.get(key)
        if isinstance(levels, list):
            changed[key] = [
                {**level, "policies": _named(level.get("policies"), copy)}
                if isinstance(level, dict)
                else level
                for level in levels
            ]
    for key in ("session_policy", "resource_policy"):
        value = policies.get(key)
        if isinstance(value, dict) and "document" in value and "Statement" not in value:
            changed[key] = {**value, "document": _widened(value["document"], copy)}
        else:
            changed[key] = _widened(value, copy)
    case["policies"] = {key: value for key, value in changed.items() if key in policies}
    return orjson.dumps(case)


def _answers(lines: list[bytes]) -> list[bytes]:
    """The workflow's answer to every line."""
    return list(simulate_lines_json(lines, "bench"))


def main() -> None:
    """Run the benchmark and print decisions per second (per second of wall time and of CPU time)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=TARGET_SECONDS, help="work per measurement (about)")
    parser.add_argument("--no-cli", action="store_true", help="skip the subprocess runs of the real command")
    parser.add_argument(
        "--distinct",
        action="store_true",
        help="make every line's policies unique (the parsed-policy caches never hit)",
    )
    args = parser.parse_args()
    if not CASES.is_file():
        print(f"skipped: the conformance cases are not at {CASES} (clone the project next to shared/)")
        return
    cpu = pin_to_one_core()
    cases = _cases()
    print(
        f"{len(cases)} cases (core + simulation suites); pinned to CPU {cpu}; Python {sys.version.split()[0]}"
    )
    print("decisions per second of wall time / of CPU time (they differ when other work shares the core)")

    if args.distinct:
        _distinct_run(cases, args.seconds, args.no_cli)
        return
    aws_simulate.clear_caches()
    wall, used = workflow_seconds(Cloud.AWS, cases)
    print(f"  first pass, empty policy caches:   {rate(len(cases), wall)} wall, {rate(len(cases), used)} CPU")

    repeats = max(1, round(args.seconds / workflow_seconds(Cloud.AWS, cases)[1]))
    batch = cases * repeats
    wall, used = min(workflow_seconds(Cloud.AWS, batch) for _ in range(3))
    print(
        f"  workflow, {len(batch):,} decisions (best of 3): {rate(len(batch), wall)} wall, {rate(len(batch), used)} CPU"
    )

    if args.no_cli or not PERMSCOPE.is_file():
        return
    with tempfile.TemporaryDirectory() as scratch:
        small, large = Path(scratch) / "small.jsonl", Path(scratch) / "large.jsonl"
        small.write_bytes(b"\n".join(cases) + b"\n")
        large.write_bytes(b"\n".join(batch) + b"\n")
        small_wall, small_cpu = min(command_seconds(Cloud.AWS, small) for _ in range(2))
        large_wall, large_cpu = min(command_seconds(Cloud.AWS, large) for _ in range(2))
    extra = len(batch) - len(cases)
    print(
        f"  permscope simulate aws --batch, {len(batch):,} decisions: {large_wall:.2f} s wall, {large_cpu:.2f} s CPU"
        f" (start-up included) -> {rate(len(batch), large_wall)} wall, {rate(len(batch), large_cpu)} CPU"
    )
    print(
        f"  the same, start-up excluded (minus a run of {len(cases)} decisions): "
        f"{rate(extra, large_wall - small_wall)} wall, {rate(extra, large_cpu - small_cpu)} CPU"
    )


def _distinct_run(cases: list[bytes], seconds: float, no_cli: bool) -> None:
    """Every line's policies unique: the workflow in process, then the command (decisions per CPU-second)."""
    aws_simulate.clear_caches()
    probe = [_distinct(line, 0) for line in cases]
    repeats = max(1, round(seconds / workflow_seconds(Cloud.AWS, probe)[1]))
    batch = [_distinct(line, copy) for copy in range(1, repeats + 1) for line in cases]
    aws_simulate.clear_caches()
    if _answers(batch) != _answers(cases) * repeats:
        raise SystemExit("an answer changed when the policies were made distinct")
    print(
        f"  distinct policies on every line ({repeats} widened copies of each case, every answer unchanged)"
    )
    runs = []
    for _ in range(3):
        aws_simulate.clear_caches()
        runs.append(workflow_seconds(Cloud.AWS, batch))
    wall, used = min(runs, key=lambda run: run[1])
    print(
        f"  workflow, {len(batch):,} decisions (best of 3 by CPU): {rate(len(batch), wall)} wall,"
        f" {rate(len(batch), used)} CPU"
    )
    if no_cli or not PERMSCOPE.is_file():
        return
    with tempfile.TemporaryDirectory() as scratch:
        small, large = Path(scratch) / "small.jsonl", Path(scratch) / "large.jsonl"
        small.write_bytes(b"\n".join(probe) + b"\n")
        large.write_bytes(b"\n".join(batch) + b"\n")
        small_cpu = min(command_seconds(Cloud.AWS, small)[1] for _ in range(2))
        large_wall, large_cpu = min(
            (command_seconds(Cloud.AWS, large) for _ in range(2)), key=lambda run: run[1]
        )
    extra = len(batch) - len(cases)
    print(
        f"  permscope simulate aws --batch, {len(batch):,} decisions (best of 2 by CPU): {large_wall:.2f} s wall,"
        f" {large_cpu:.2f} s CPU (start-up included) -> {rate(len(batch), large_cpu)} CPU"
    )
    print(
        f"  the same, start-up excluded (minus a run of {len(cases)} decisions): "
        f"{rate(extra, large_cpu - small_cpu)} CPU"
    )


if __name__ == "__main__":
    main()
