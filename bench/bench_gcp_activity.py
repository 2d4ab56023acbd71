"""GCP audit logs -> usage: aggregation throughput and peak memory on a generated 1,000,000-entry file.

Reads one generated file (JSON lines of a log sink, gzip; and the `gcloud logging read --format=json` array) in
a fresh interpreter and reports entries per CPU second, wall time and that process's peak resident memory,
which must not grow with the entries (the aggregate grows with distinct member x permission x resource keys).
Reports figures; asserts nothing. The load average is printed first: other work lowers every figure.

    .venv/bin/python bench/bench_gcp_activity.py [--entries N] [--array] [--plain]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate_gcp_audit_logs import write_entries

BENCH_DIR = Path(__file__).resolve().parent


def aggregate_only(path: str) -> dict[str, float]:
    """Aggregate one file as `import gcp-activity` does before writing (in this process); figures."""
    import resource

    from permscope.clouds.gcp.activity.sources import aggregate_file, find_log_files

    (file,) = find_log_files([path])
    started, cpu = time.perf_counter(), time.process_time()
    result = aggregate_file(file)
    assert result.aggregate is not None, result.error
    return {
        "entries": result.aggregate.stats.events,
        "usage_keys": len(result.aggregate.usage),
        "actors": len(result.aggregate.activity),
        "wall_s": time.perf_counter() - started,
        "cpu_s": time.process_time() - cpu,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "usage_events": result.aggregate.stats.usage,
    }


def _in_child(path: Path) -> dict[str, float]:
    code = f"import json, sys\nfrom bench_gcp_activity import aggregate_only\nprint(json.dumps(aggregate_only({str(path)!r})))\n"
    output = subprocess.run(
        [sys.executable, "-c", code], cwd=BENCH_DIR, capture_output=True, text=True, check=True
    )
    return dict(json.loads(output.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument(
        "--array", action="store_true", help="the gcloud JSON array shape instead of JSON lines"
    )
    parser.add_argument("--plain", action="store_true", help="not gzip")
    parser.add_argument(
        "--names", type=int, default=200, help="resources per kind (distinct keys grow with it)"
    )
    parser.add_argument("--users", type=int, default=2000, help="users (service accounts: a quarter of that)")
    parser.add_argument("--regenerate", action="store_true")
    args = parser.parse_args()
    print(f"load average: {os.getloadavg()}")
    shape = "array" if args.array else "lines"
    path = (
        BENCH_DIR
        / "out"
        / f"gcp-audit-{shape}-{args.entries}-n{args.names}-u{args.users}.json{'' if args.plain else '.gz'}"
    )
    if args.regenerate or not path.is_file():
        started = time.perf_counter()
        size = write_entries(
            path, args.entries, array=args.array, compress=not args.plain, names=args.names, users=args.users
        )
        print(
            f"generated {args.entries:,} entries ({size / 1e6:.0f} MB on disk) in {time.perf_counter() - started:.0f} s"
        )
    figures = _in_child(path)
    rate = figures["entries"] / figures["cpu_s"]
    print(
        f"{shape}{'' if args.plain else ' gzip'}: {figures['entries']:,.0f} entries in {figures['cpu_s']:.1f} CPU s "
        f"({rate:,.0f} entries per CPU second; wall {figures['wall_s']:.1f} s); peak RSS "
        f"{figures['peak_rss_mb']:.0f} MB; {figures['usage_keys']:,.0f} usage keys, {figures['actors']:,.0f} actors"
    )


if __name__ == "__main__":
    main()
