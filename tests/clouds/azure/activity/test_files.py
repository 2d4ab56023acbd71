"""Azure log files and folders into a sink: which files, incremental re-reads, failures, the shared samples."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from clouds.azure.activity.samples import ALICE_OID, SUB, export_event, graph_sign_in, rest_event
from permscope.clouds.azure.activity.readers import AZURE_ACTIVITY
from permscope.core.activity import ActivityReport, ActivitySource, UsageAggregate
from permscope.core.errors import ConfigurationError, InputError


class RecordingSink:
    """An ActivitySink that keeps what it is given (the workflow's importer writes the store instead)."""

    def __init__(self, counted: set[str] | None = None) -> None:
        self.report = ActivityReport()
        self.added: list[tuple[UsageAggregate, ActivitySource]] = []
        self.already = counted or set()
        self.recorded: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.commits = 0

    def counted(self, kind: str, keys: Any) -> set[str]:
        return {key for key in keys if key in self.already}

    def windows(self, kind: str, location: str) -> list[dict[str, Any]]:
        return self.recorded.get((kind, location), [])

    def add(self, aggregate: UsageAggregate, source: ActivitySource) -> None:
        self.added.append((aggregate, source))
        self.report.sources_read += 1
        self.recorded.setdefault((source.kind, source.location), []).append(source.details)

    def commit(self) -> None:
        self.commits += 1

    def finish(self) -> ActivityReport:
        return self.report

    def store_failed(self, error: BaseException) -> bool:
        return False


def write_lines(path: Path, items: list[Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(item) + "\n" for item in items))
    return path


def test_an_export_folder_reads_its_logs_and_leaves_its_inventory(tmp_path: Path) -> None:
    write_lines(tmp_path / "activity-log.json", [rest_event()])
    write_lines(tmp_path / "sign-ins.json", [graph_sign_in()])
    blob = "insights-activity-logs/resourceId=/SUBSCRIPTIONS/X/y=2024/m=05/d=02/h=11/m=00/PT1H.json"
    write_lines(tmp_path / blob, [export_event()])
    (tmp_path / "users.json").write_text(json.dumps({"value": [{"id": ALICE_OID}]}))
    (tmp_path / "role-assignments.json.gz").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("not a log")
    sink = RecordingSink()
    AZURE_ACTIVITY.import_files(sink, [tmp_path], workers=1, progress=None)
    read = sorted(Path(source.location).name for _aggregate, source in sink.added)
    assert read == ["PT1H.json", "activity-log.json", "sign-ins.json"]
    assert sink.report.sources_found == 3 and not sink.report.failures
    events = sum(aggregate.stats.events for aggregate, _source in sink.added)
    assert events == 3


def test_a_file_counted_before_is_skipped_and_a_changed_one_is_read(tmp_path: Path) -> None:
    log = write_lines(tmp_path / "a.jsonl", [rest_event()])
    first = RecordingSink()
    AZURE_ACTIVITY.import_files(first, [log], workers=1, progress=None)
    key = first.added[0][1].key
    again = RecordingSink(counted={key})
    AZURE_ACTIVITY.import_files(again, [log, tmp_path], workers=1, progress=None)
    assert again.added == [] and again.report.sources_skipped == 1
    write_lines(log, [rest_event(), rest_event(status="Started")])
    os.utime(log, ns=(1, 1))
    changed = RecordingSink(counted={key})
    AZURE_ACTIVITY.import_files(changed, [log], workers=1, progress=None)
    assert len(changed.added) == 1


def test_a_bad_file_is_a_failure_naming_it_and_the_others_are_read(tmp_path: Path) -> None:
    good = write_lines(tmp_path / "good.json", [rest_event()])
    bad = tmp_path / "bad.json"
    bad.write_text('{"time": "2024-05-01T00:00:00Z"}\n{oops\n')
    sink = RecordingSink()
    done: list[tuple[int, int]] = []
    AZURE_ACTIVITY.import_files(sink, [bad, good], workers=1, progress=lambda a, b: done.append((a, b)))
    assert [Path(source.location).name for _a, source in sink.added] == ["good.json"]
    ((where, problem),) = sink.report.failures
    assert where.endswith("bad.json") and problem.startswith("line 2 is not JSON")
    assert done == [(1, 2), (2, 2)]


def test_missing_paths_and_special_files_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file or folder"):
        AZURE_ACTIVITY.import_files(RecordingSink(), [tmp_path / "nope.json"], workers=1, progress=None)
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match=r"FIFO|not a regular file"):
        AZURE_ACTIVITY.import_files(RecordingSink(), [fifo], workers=1, progress=None)


def test_files_read_in_worker_processes_give_what_one_process_gives(tmp_path: Path) -> None:
    for n in range(4):
        write_lines(tmp_path / f"log{n}.json", [rest_event(when=f"2024-05-0{n + 1}T00:00:00Z")])
    one, many = RecordingSink(), RecordingSink()
    AZURE_ACTIVITY.import_files(one, [tmp_path], workers=1, progress=None)
    AZURE_ACTIVITY.import_files(many, [tmp_path], workers=2, progress=None)
    assert [(a.usage, a.activity, s.key) for a, s in one.added] == [
        (a.usage, a.activity, s.key) for a, s in many.added
    ]


def test_reading_a_bucket_is_not_supported_for_azure() -> None:
    with pytest.raises(ConfigurationError, match="not supported for Azure"):
        AZURE_ACTIVITY.import_bucket(
            RecordingSink(), "https://acct.blob.core.windows.net/insights-activity-logs"
        )


def test_the_shared_samples(shared_dir: Path) -> None:
    logs = shared_dir / "data" / "logs"
    sink = RecordingSink()
    paths = [
        logs / "azure_activity_log_panther_rule_tests.jsonl",
        logs / "azure_signin_log_panther_rule_tests.jsonl",
    ]
    AZURE_ACTIVITY.import_files(sink, paths, workers=1, progress=None)
    assert not sink.report.failures
    activity_log, sign_ins = (aggregate for aggregate, _source in sink.added)
    assert activity_log.stats.events == 214 and sign_ins.stats.events == 47
    assert activity_log.stats.malformed == 0 and sign_ins.stats.malformed == 0
    # usage: succeeded Administrative operations with a caller, each in the subscription of its resource
    assert activity_log.stats.usage == 13 and activity_log.stats.denied == 5
    assert f"{SUB}/upn/denethor@lotr.com" not in activity_log.activity  # another subscription in the samples
    assert "12345678-1234-1234-1234-123456789abc/upn/denethor@lotr.com" in activity_log.activity
    assert all(actor.count("/") >= 2 for actor in activity_log.activity)
    # sign-ins: successful ones are activity of who signed in (never the client application)
    assert sign_ins.stats.sign_in == 15 and sign_ins.stats.failed == 11
    assert "*/oid/8105c513-d24b-4b8d-9035-f8d48854d703" in sign_ins.activity  # eve@lexcorp.com
    assert not any(actor.endswith("975c4feb-8c6b-4ed8-82e2-f0952ecc64d4") for actor in sign_ins.activity)
