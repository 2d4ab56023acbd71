"""CloudTrail -> usage: aggregation throughput from local gzip files, its memory, and the whole import.

1. Aggregation (read, gunzip, split, decode, aggregate; no database) of generated gzip log files, with one and
   with two worker processes, at two sizes: events per second (wall clock and per CPU second) and the peak
   resident memory of the parent (which here keeps every distinct key of the run) and of the largest worker
   (which holds one file at a time: it must not grow with the number of events).
2. The real command, `permscope import aws-activity DIR --format json`, in a subprocess on a fresh SQLite
   file at both sizes (its memory is bounded by the keys merged per transaction, not by the events), and on
   PostgreSQL when PERMSCOPE_BENCH_POSTGRES_URL or PERMSCOPE_TEST_POSTGRES_URL is set; each run twice (the
   second finds every file counted and reads nothing).

Reports figures; asserts nothing. The machine's load average is printed first: other work on the same cores
lowers every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess  # the command runs as the user would run it
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate_cloudtrail import write_logs
from permscope.clouds.aws.activity.aggregate import ActivityAggregate
from permscope.clouds.aws.activity.imports import read_files
from permscope.clouds.aws.activity.sources import find_log_files
from permscope.core.gc_pause import collector_paused

BENCH_DIR = Path(__file__).resolve().parent
PERMSCOPE = Path(sys.executable).with_name("permscope")
EVENTS_PER_FILE = 5000
SMALL_BATCH = 20_000


def _logs(files: int, regenerate: bool) -> Path:
    folder = BENCH_DIR / "out" / f"cloudtrail-f{files}-e{EVENTS_PER_FILE}"
    if regenerate or not folder.is_dir():
        started = time.perf_counter()
        count = write_logs(folder, files=files, events_per_file=EVENTS_PER_FILE)
        size = sum(p.stat().st_size for p in folder.rglob("*.gz"))
        print(
            f"generated {count:,} events in {files} gzip files ({size / 1e6:.1f} MB) in {time.perf_counter() - started:.1f} s"
        )
    return folder


def _aggregate_in_child(folder: Path, workers: int) -> dict[str, float]:
    """Run the aggregation in a fresh interpreter so that its peak memory is its own."""
    code = (
        "import json, resource, sys, time\n"
        "sys.argv = ['bench']\n"
        "from bench_cloudtrail import aggregate_only\n"
        f"print(json.dumps(aggregate_only({str(folder)!r}, {workers})))\n"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], cwd=BENCH_DIR, capture_output=True, text=True, check=True
    ).stdout
    return dict(json.loads(output.strip().splitlines()[-1]))


def aggregate_only(folder: str, workers: int) -> dict[str, float]:
    """Aggregate every file of a folder (as `import aws-activity` does before writing); figures as a dict."""
    files = find_log_files([folder])
    total = ActivityAggregate()
    cpu_before = time.process_time()
    started = time.perf_counter()
    worker_cpu = 0.0
    worker_rss = 0
    with collector_paused():  # as `import aws-activity` does while it receives and merges aggregates
        for result in read_files(files, workers):
            assert result.aggregate is not None, result.error
            total.merge(result.aggregate)
            if workers > 1:  # in-process reading is in this process's own CPU time already
                worker_cpu += result.cpu_seconds
                worker_rss = max(worker_rss, result.peak_rss_kb)
    wall = time.perf_counter() - started
    own = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "events": total.stats.events,
        "keys": len(total.usage),
        "wall": wall,
        "cpu": time.process_time() - cpu_before + worker_cpu,
        "parent_rss_mb": own.ru_maxrss / 1024,
        "worker_rss_mb": worker_rss / 1024,
    }


def _run_import(database_url: str, folder: Path, *extra: str) -> tuple[float, float, dict[str, object]]:
    command = [
        str(PERMSCOPE),
        "--database-url",
        database_url,
        "import",
        "aws-activity",
        str(folder),
        "--format",
        "json",
        *extra,
    ]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        child = subprocess.Popen(command, stdout=out, stderr=err)
        # the command's own peak RSS (its workers, under a fork server, hold one file: see the figures above)
        _pid, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        if status != 0:
            raise SystemExit(f"{' '.join(command)} failed: {err.read().decode()[-2000:]}")
        return wall, usage.ru_maxrss / 1024, json.loads(out.read())


def _imports(label: str, database_url: str, folder: Path, *extra: str, again: bool = True) -> None:
    for run in ("import", "re-import (all counted)")[: 2 if again else 1]:
        wall, rss, report = _run_import(database_url, folder, *extra)
        events = int(report["events"]["events"])  # type: ignore[index]
        rate = f"{events / wall:,.0f} events/s" if events else "nothing read"
        rows = report["usage_rows_merged"]
        print(
            f"  {label:10} {run:24} {wall:6.1f} s  peak RSS {rss:5.0f} MB  {rate}  ({rows:,} usage rows merged)"
        )


def main() -> None:
    """Generate the logs (kept in bench/out/), then measure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--files", type=int, default=80, help=f"gzip files of {EVENTS_PER_FILE} events (80: 400,000)"
    )
    parser.add_argument("--quick", action="store_true", help="20 files (100,000 events)")
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--skip-import", action="store_true", help="only the aggregation figures")
    args = parser.parse_args()
    files = 20 if args.quick else args.files
    print(
        f"load average before: {', '.join(f'{value:.2f}' for value in os.getloadavg())} on {os.cpu_count()} CPUs"
    )
    sizes = sorted({max(1, files // 4), files})
    folders = {size: _logs(size, args.regenerate) for size in sizes}

    print("aggregation from local gzip files (no database):")
    for folder in folders.values():
        for workers in (1, 2):
            figures = _aggregate_in_child(folder, workers)
            events = figures["events"]
            print(
                f"  {events:9,.0f} events  {workers} worker(s)  {figures['wall']:5.2f} s  "
                f"{events / figures['wall']:9,.0f} events/s  ({events / figures['cpu']:7,.0f} per CPU second)  "
                f"peak RSS parent {figures['parent_rss_mb']:4.0f} MB, largest worker {figures['worker_rss_mb']:4.0f} MB  "
                f"({figures['keys']:,.0f} usage keys)"
            )
    if args.skip_import:
        return
    folder = folders[files]
    print(f"`permscope import aws-activity` of {files * EVENTS_PER_FILE:,} events:")
    with tempfile.TemporaryDirectory() as work:
        _imports("SQLite", f"sqlite:///{Path(work) / 'bench.sqlite3'}", folder)
    print(f"memory bound: `--batch-keys {SMALL_BATCH}` (keys held before each write), at both sizes:")
    for size, each in folders.items():
        with tempfile.TemporaryDirectory() as work:
            url = f"sqlite:///{Path(work) / 'bench.sqlite3'}"
            label = f"{size * EVENTS_PER_FILE // 1000}k events"
            _imports(label, url, each, "--batch-keys", str(SMALL_BATCH), again=False)
    postgres = os.environ.get("PERMSCOPE_BENCH_POSTGRES_URL") or os.environ.get("PERMSCOPE_TEST_POSTGRES_URL")
    if postgres:
        name = f"bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(
            postgres.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
        )
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            print(f"`permscope import aws-activity` of {files * EVENTS_PER_FILE:,} events:")
            _imports("PostgreSQL", postgres.rsplit("/", 1)[0] + f"/{name}", folder)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            admin.dispose()


if __name__ == "__main__":
    main()
