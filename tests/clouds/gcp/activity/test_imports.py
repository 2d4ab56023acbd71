"""GCP activity files into a sink: folders, gzip, incremental skipping, failures naming file and line."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from clouds.gcp.activity.helpers import MemorySink, audit_entry
from permscope.clouds.gcp.activity.imports import import_files, uncovered
from permscope.clouds.gcp.activity.readers import GCP_ACTIVITY
from permscope.core.errors import InputError


def _write(folder: Path) -> None:
    (folder / "cloudaudit.googleapis.com/activity/2024/05/01").mkdir(parents=True)
    lines = b"\n".join(json.dumps(audit_entry(granted=["storage.buckets.get"])).encode() for _ in range(3))
    (folder / "cloudaudit.googleapis.com/activity/2024/05/01/00:00:00_00:59:59_S0.json").write_bytes(lines)
    array = json.dumps([audit_entry(email="bob@example.com", granted=["storage.buckets.list"])], indent=2)
    (folder / "gcloud.json.gz").write_bytes(gzip.compress(array.encode()))
    (folder / "notes.txt").write_text("not a log")
    (folder / "projects.json").write_text(
        '[{"projectId": "my-project"}]'
    )  # an export folder's inventory part


@pytest.mark.parametrize("workers", [1, 2])
def test_folder_import_and_skip_counted(tmp_path: Path, workers: int) -> None:
    _write(tmp_path)
    sink = MemorySink()
    GCP_ACTIVITY.import_files(sink, [tmp_path], workers=workers, progress=None)
    assert (sink.report.sources_found, sink.report.sources_read, sink.report.failures) == (2, 2, [])
    assert {key[:2] for key in sink.usage()} == {
        ("my-project/user:alice@example.com", "storage.buckets.get"),
        ("my-project/user:bob@example.com", "storage.buckets.list"),
    }
    assert (
        sink.usage()[
            (
                "my-project/user:alice@example.com",
                "storage.buckets.get",
                "//storage.googleapis.com/projects/_/buckets/b1",
            )
        ][2]
        == 3
    )
    again = MemorySink(counted_keys=sink.counted_keys)
    import_files(again, [tmp_path], workers=workers)
    assert (again.report.sources_skipped, again.report.sources_read) == (2, 0)


def test_bad_file_is_a_failure_naming_file_and_line(tmp_path: Path) -> None:
    good = tmp_path / "good.jsonl"
    good.write_text(json.dumps(audit_entry(granted=["storage.buckets.get"])) + "\n")
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(audit_entry()) + "\n{broken\n")
    sink = MemorySink()
    import_files(sink, [good, bad], workers=1)
    assert sink.report.sources_read == 1
    ((where, problem),) = sink.report.failures
    assert where.endswith("bad.jsonl") and problem.startswith("line 2 is not JSON")


def test_missing_path_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file or folder"):
        import_files(MemorySink(), [tmp_path / "absent"], workers=1)


def test_uncovered_windows() -> None:
    def t(hour: int) -> datetime:
        return datetime(2024, 5, 1, hour, tzinfo=UTC)

    assert uncovered(t(0), t(10), []) == [(t(0), t(10))]
    assert uncovered(t(0), t(10), [(t(2), t(4)), (t(3), t(6))]) == [(t(0), t(2)), (t(6), t(10))]
    assert uncovered(t(0), t(10), [(t(0), t(10))]) == []
    assert uncovered(t(5), t(10), [(t(0), t(7)), (t(9), t(12))]) == [(t(7), t(9))]
    assert uncovered(t(0), t(3), [(t(5), t(7))]) == [(t(0), t(3))]
