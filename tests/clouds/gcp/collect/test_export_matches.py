"""The recorded organization collected live and the export folder `docs/gcp-export.sh` writes for the same
organization give the same raw bundle (the files reader is `clouds.gcp.files`; this test runs once it is merged)."""

from __future__ import annotations

import json
from typing import Any

from clouds.gcp.collect.conftest import EXPORT, Record, example_org
from permscope.clouds.gcp import raw
from permscope.clouds.gcp.collect.bundle import collect_bundle
from permscope.userfiles import DEFAULT_LIMITS


def _canonical(part: Any) -> Any:
    """A part compared regardless of order (live reads projects breadth-first, the script as gcloud lists)."""
    if isinstance(part, list):
        return sorted(json.dumps(item, sort_keys=True) for item in part)
    return part


def test_every_part_file_of_the_export_folder_is_there() -> None:
    names = {path.name for path in EXPORT.iterdir()}
    assert names == {f"{name}.json" for name in raw.PART_FILES.values()}


def test_live_collection_and_the_export_folder_give_the_same_bundle(record: Record) -> None:
    from permscope.clouds.gcp.files.export import read_export

    _recording, options = record(example_org())
    live = collect_bundle(options)
    exported = read_export([EXPORT], limits=DEFAULT_LIMITS)
    for part in raw.PARTS:
        if part == "errors":  # the same reads failed; gcloud words its errors its own way
            assert {(e["scope"], e["part"]) for e in exported[part]} == {
                (e["scope"], e["part"]) for e in live[part]
            }
        else:
            assert _canonical(exported[part]) == _canonical(live[part]), part


def test_the_export_folder_holds_what_live_collection_reads(record: Record) -> None:
    """The folder itself, read as plain JSON (each file a list, organization.json an object): so the test above
    compares the reader, not a folder that drifted from the recording."""
    _recording, options = record(example_org())
    live = collect_bundle(options)
    for part, name in raw.PART_FILES.items():
        content = json.loads((EXPORT / f"{name}.json").read_text())
        if part == "errors":
            assert {(e["scope"], e["part"]) for e in content} == {(e["scope"], e["part"]) for e in live[part]}
        else:
            assert _canonical(content) == _canonical(live[part]), part
