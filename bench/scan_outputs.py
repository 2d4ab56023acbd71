"""Whether two builds of permscope write the same `permscope scan` outputs, byte for byte, on the bench exports.

For each size (the generated exports of bench_scan.py: N = 1,000 and 5,000 by default) both builds scan the
same file four ways as a user would: `--format json`, `--format sarif` (N = 1,000 only), and the default table
with its HTML report. The analysis clock is fixed (2026-12-07 06:00 UTC: the findings that count days, and the
report's date, then agree), and what still differs from run to run is masked: the JSON's createdDateTime, the
table's "analyzed in N s", and the output path the table prints. Then each output of this checkout is compared
with the other build's. Exit status 1 when one differs. Use it to check that a change meant to be faster (or
otherwise invisible) leaves every answer as it was:

    git archive main src | tar -x -C /tmp/permscope-main
    .venv/bin/python bench/scan_outputs.py --other-pythonpath /tmp/permscope-main/src
"""

from __future__ import annotations

import argparse
import filecmp
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_scan import _export, size_of

SOURCES = Path(__file__).resolve().parents[1] / "src"
# runs the CLI with the analysis clock fixed (the `scan` command reads it through analysis_options)
FIXED_CLOCK = """
import sys
from datetime import UTC, datetime

import permscope.cli.analysis_options as options


class _Fixed(datetime):
    @classmethod
    def now(cls, tz=None):
        return datetime(2026, 12, 7, 6, 0, tzinfo=UTC)


options.datetime = _Fixed
from permscope.cli.entry import run

sys.argv[0] = "permscope"
run()
"""
MASKS = (
    (re.compile(r'"createdDateTime": "[^"]+"'), '"createdDateTime": "T"'),
    (re.compile(r"analyzed in [0-9.]+ s"), "analyzed in X s"),
)


def _outputs(pythonpath: str, export: Path, folder: Path, with_sarif: bool) -> list[Path]:
    """Scan `export` with the build at `pythonpath`: the JSON, the SARIF, the HTML report and the table."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env["PYTHONPATH"] = pythonpath
    written = []
    for fmt in ("json", "sarif", "table"):
        if fmt == "sarif" and not with_sarif:
            continue
        target = folder / ("report.html" if fmt == "table" else f"scan.{fmt}")
        run = subprocess.run(
            [sys.executable, "-c", FIXED_CLOCK, "scan", str(export), "--format", fmt, "-o", str(target)],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if run.returncode not in (0, 1):
            raise SystemExit(f"scan --format {fmt} failed ({run.returncode}): {run.stderr[-2000:]}")
        written.append(target)
        if fmt == "table":
            table = folder / "table.txt"
            table.write_text(run.stdout.replace(str(target), "REPORT"))
            written.append(table)
    for path in written:
        text = path.read_text()
        for pattern, replacement in MASKS:
            text = pattern.sub(replacement, text)
        path.write_text(text)
    return written


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--other-pythonpath", required=True, help="the other build's sources (its src folder)"
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 5_000], metavar="N")
    args = parser.parse_args()
    differ = 0
    with tempfile.TemporaryDirectory(prefix="permscope-outputs-") as scratch:
        for n in args.sizes:
            export = _export(size_of(n), regenerate=False)
            mine, theirs = Path(scratch) / f"this-{n}", Path(scratch) / f"other-{n}"
            mine.mkdir()
            theirs.mkdir()
            ours = _outputs(str(SOURCES), export, mine, with_sarif=n == 1_000)
            _outputs(args.other_pythonpath, export, theirs, with_sarif=n == 1_000)
            for path in ours:
                same = filecmp.cmp(path, theirs / path.name, shallow=False)
                differ += not same
                print(
                    f"N = {n:,} {path.name}: {'identical' if same else 'DIFFERENT'} ({path.stat().st_size:,} bytes)"
                )
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
