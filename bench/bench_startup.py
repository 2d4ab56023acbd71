"""What the `permscope` command costs before it does any work: CPU time of short commands, start-up included.

Each command runs `--repeat` times as a child process (CPU = user + system time from `os.wait4`); the least
is printed, as the figure least disturbed by other jobs on the machine. The commands: `permscope --version`,
`permscope --help`, `permscope simulate aws CASE --batch` on one conformance case (../shared), and
`permscope scan` of the smallest generated export of bench_scan.py (N = 200: 200 users, 100 groups, 400 roles,
generated into bench/out/ on first use) with `--format json`. `--other PATH` runs another build's `permscope`
executable alternately with this one (e.g. main's, or this checkout's with `PYTHONPATH` pointing at other
sources: `--other-pythonpath`), and prints both. Asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_scan import _export, size_of

THIS = Path(sys.executable).with_name("permscope")
CASES = Path(__file__).resolve().parents[2] / "shared" / "data" / "conformance" / "aws_eval_cases.jsonl"


def _cpu(command: list[str], env: dict[str, str]) -> float:
    """CPU seconds (user + system) of one run of `command`, its output discarded."""
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _pid, status, usage = os.wait4(child.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        assert child.stderr is not None
        raise SystemExit(f"{' '.join(command)} failed ({code}): {child.stderr.read().decode()[-2000:]}")
    return usage.ru_utime + usage.ru_stime


def _commands(folder: Path) -> dict[str, list[str]]:
    commands = {"--version": ["--version"], "--help": ["--help"]}
    if CASES.is_file():
        case = folder / "one.jsonl"
        with CASES.open("rb") as cases:
            case.write_bytes(cases.readline())
        commands["simulate aws, one case"] = ["simulate", "aws", str(case), "--batch"]
    export = _export(size_of(200), regenerate=False)
    commands["scan N=200 (json)"] = ["scan", str(export), "--format", "json", "-o", str(folder / "out.json")]
    return commands


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--other", type=Path, help="another build's `permscope` executable, run alternately")
    parser.add_argument(
        "--other-pythonpath", help="PYTHONPATH for the other build (e.g. another checkout's src)"
    )
    args = parser.parse_args()
    env = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}
    builds = {"this": (THIS, env)}
    if args.other is not None:
        other_env = dict(env)
        if args.other_pythonpath:
            other_env["PYTHONPATH"] = args.other_pythonpath
        builds["other"] = (args.other, other_env)
    print(f"least CPU seconds of {args.repeat} runs; load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="permscope-startup-") as scratch:
        for label, arguments in _commands(Path(scratch)).items():
            best: dict[str, float] = {}
            for _ in range(args.repeat):
                for build, (executable, build_env) in builds.items():
                    seconds = _cpu([str(executable), *arguments], build_env)
                    best[build] = min(best.get(build, seconds), seconds)
            figures = "  ".join(f"{build} {seconds:6.3f} s" for build, seconds in best.items())
            ratio = f"  (other / this {best['other'] / best['this']:.1f}x)" if "other" in best else ""
            print(f"{label:24s} {figures}{ratio}")
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
