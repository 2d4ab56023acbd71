"""Hostile CloudTrail files: each one a failure naming the file and the problem, never a hang or a misleading
message. (Their values no store could keep are checked on both databases in tests/workflows/test_hostile_imports.py.)
"""

from __future__ import annotations

import gzip
import json
import os
import threading
import time
from pathlib import Path

from clouds.aws.cloudtrail_records import records
from permscope.clouds.aws.activity import sources
from permscope.core.errors import InputError


def aggregate_within(path: Path, seconds: float) -> sources.FileResult:
    """aggregate_file of the path, which must end within `seconds`."""
    stat = path.stat()
    file = sources.LocalFile(str(path), stat.st_size, stat.st_mtime_ns)
    results: list[sources.FileResult] = []
    reader = threading.Thread(target=lambda: results.append(sources.aggregate_file(file)), daemon=True)
    reader.start()
    reader.join(seconds)
    assert not reader.is_alive(), f"reading {path} still runs after {seconds} s"
    return results[0]


def test_a_fifo_is_named_for_what_it_is(tmp_path: Path) -> None:
    fifo = tmp_path / "trail.json"
    os.mkfifo(fifo)
    try:
        sources.find_log_files([fifo])
    except InputError as exc:
        assert exc.source == str(fifo)
        assert exc.problem == "cannot read the file: it is a FIFO (named pipe), not a regular file"
    else:
        raise AssertionError("a FIFO was taken for a log file")
    result = aggregate_within(fifo, 10)  # one swapped in after the files were listed
    assert result.error == "cannot read the file: it is a FIFO (named pipe), not a regular file"


def test_a_gzip_bomb_of_whitespace_is_refused_after_a_few_megabytes(tmp_path: Path) -> None:
    """Before, 3 GB of spaces were inflated and skipped one byte at a time (minutes); now the expansion gives it
    away after the first 16 MiB."""
    bomb = tmp_path / "trail.json.gz"
    member = gzip.compress(b" " * (64 << 20), compresslevel=9)
    with bomb.open("wb") as handle:
        handle.write(gzip.compress(b'{"Records": ['))
        for _ in range(48):
            handle.write(member)
    started = time.monotonic()
    result = aggregate_within(bomb, 60)
    assert result.error is not None and "expands more than 200 times (a gzip bomb?)" in result.error
    assert time.monotonic() - started < 30


def test_a_real_gzip_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "trail.json.gz"
    path.write_bytes(gzip.compress(json.dumps({"Records": records(2_000)}, indent=4).encode()))
    result = aggregate_within(path, 60)
    assert result.error is None and result.aggregate is not None
    assert result.aggregate.stats.events == 2_000


def test_a_record_that_is_not_json_says_why(tmp_path: Path) -> None:
    """A lone surrogate or a number beyond a double in a record: before, 'the JSON ends inside a record'."""
    good = json.dumps({"Records": records(3)})
    for name, broken, reason in (
        ("surrogate", good.replace('"alice"', '"al\\ud800ice"', 1), "no low surrogate in string"),
        ("number", good.replace('"i-2"', "9" * 500, 1), "number is infinity when parsed as double"),
    ):
        path = tmp_path / f"{name}.json"
        path.write_text(broken)
        result = aggregate_within(path, 30)
        assert result.error is not None
        assert result.error.endswith(f"is not valid JSON ({reason})"), result.error
