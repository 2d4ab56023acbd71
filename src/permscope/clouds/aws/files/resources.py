"""Reader of the AWS CLI output files of resource collection: the same raw dict as the live collector.

Each path is a directory laid out as below (one account), the output of the commands in the README's
"Resources from files" section. A file is `<command>.json` (or `.json.gz`) holding what the AWS CLI printed
to stdout, with, optionally, `<command>.err` beside it holding what it printed to stderr:

    s3api/list-buckets.json                          s3control/get-public-access-block.json
    s3api/buckets/<bucket>/<get-bucket-...>.json     iam/list-instance-profiles.json
    <region>/<service>/<listing>.json                <region>/<service>/<collection>/<name>/<call>.json

(`collect.resource_calls` maps every call to its file; a name with `/`, as ECR repositories and secrets may have,
is a nested directory.) A failed call leaves an empty (or no) `.json` and the CLI's message
`An error occurred (<Code>) when calling the <Operation> operation: <message>` in the `.err`; it becomes the
same `{"Error": {"Code", "Message"}}` entry a live read records, so `NoSuchBucketPolicy` stays a fact and
`AccessDenied` a warning. An empty listing means an empty result (the CLI prints nothing for one); an empty
per-resource read with no `.err` is recorded as an `EmptyOutput` error, because the CLI always prints
something when such a call succeeds. Several directories merge; a later one wins for the same call.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from permscope.clouds.aws.collect.resource_calls import (
    BUCKET_CALLS,
    GLOBAL_CALLS,
    REGIONAL,
    ApiCall,
    cli_service,
    global_section,
)
from permscope.core.errors import InputError
from permscope.userfiles import DEFAULT_LIMITS, FileLimits, json_documents, read_bytes

MAX_ERR_BYTES = 1024 * 1024  # an AWS CLI error message is one line
REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
CLI_ERROR = re.compile(
    r"An error occurred \((?P<code>[^)]+)\)(?: \([^)]*\))? when calling the (?P<operation>\w+) operation"
    r"(?: \([^)]*\))?: ?(?P<message>.*)"
)
SUFFIXES = (".json.gz", ".json", ".err")


@dataclass(frozen=True, slots=True)
class _Slot:
    """Where one file's call lands in the raw dict."""

    call: ApiCall
    keys: tuple[str, ...]  # path of dict keys leading to the call's entry
    per_item: bool


def _global_listing(parts: list[str], name: str) -> _Slot | None:
    for call in GLOBAL_CALLS:
        if parts == [cli_service(call.client)] and name == call.file:
            return _Slot(call, (global_section(call), call.raw_key), per_item=False)
    return None


def _slot(relative: list[str], stem: str) -> _Slot | None:
    """The raw-dict slot of the file at `relative` directories with command name `stem`, if any."""
    found = _global_listing(relative, stem)
    if found is not None:
        return found
    if len(relative) >= 3 and relative[:2] == ["s3api", BUCKET_CALLS.collection]:
        bucket = "/".join(relative[2:])
        for call in BUCKET_CALLS.calls:
            if call.file == stem:
                return _Slot(call, ("s3", BUCKET_CALLS.collection, bucket, call.raw_key), per_item=True)
        return None
    if len(relative) < 2 or not REGION.match(relative[0]) or relative[1] not in REGIONAL:
        return None
    region, service = relative[0], relative[1]
    listings, items = REGIONAL[service]
    if len(relative) == 2:
        for call in listings:
            if call.file == stem:
                return _Slot(call, ("regions", region, service, call.raw_key), per_item=False)
        return None
    if items is None or relative[2] != items.collection or len(relative) < 4:
        return None
    name = "/".join(relative[3:])
    for call in items.calls:
        if call.file == stem:
            return _Slot(
                call, ("regions", region, service, items.collection, name, call.raw_key), per_item=True
            )
    return None


def _split(path: Path) -> tuple[str, str] | None:
    """(command name, kind: json or err) of a file name, None for any other file."""
    for suffix in SUFFIXES:
        if path.name.endswith(suffix) and len(path.name) > len(suffix):
            return path.name[: -len(suffix)], "err" if suffix == ".err" else "json"
    return None


def _cli_error(text: str, source: Path) -> dict[str, Any]:
    """The error entry of an AWS CLI stderr text (the last `An error occurred ...` line, else the text)."""
    matches = list(CLI_ERROR.finditer(text))
    if matches:
        last = matches[-1]
        return {"Error": {"Code": last["code"], "Message": last["message"].strip()}}
    return {"Error": {"Code": "CliError", "Message": f"{source.name}: {text.strip()[:500]}"}}


def _load(json_path: Path | None, err_path: Path | None, slot: _Slot, limits: FileLimits) -> Any:
    """The raw entry of one call from its stdout file and/or stderr file."""
    data = read_bytes(json_path, limits) if json_path is not None else b""
    if data.strip():
        source = str(json_path)
        documents = json_documents(data, source)
        if not all(isinstance(document, dict) for document in documents):
            raise InputError(source, f"not the output of `aws {slot.call.file}`: expected a JSON object")
        if len(documents) > 1 and slot.call.list_key is None:
            raise InputError(source, f"holds {len(documents)} JSON objects; `{slot.call.file}` prints one")
        return _merge_pages(documents, slot.call, source)
    error_text = ""
    if err_path is not None:
        error_limits = FileLimits(max_bytes=MAX_ERR_BYTES, max_gzip_ratio=limits.max_gzip_ratio, setting=None)
        error_text = read_bytes(err_path, error_limits).decode("utf-8", errors="replace")
    if error_text.strip():
        assert err_path is not None
        return _cli_error(error_text, err_path)
    if slot.per_item:
        where = json_path or err_path
        message = f"{where} is empty and no .err file says why"
        return {"Error": {"Code": "EmptyOutput", "Message": message}}
    return {}


def _merge_pages(documents: list[dict[str, Any]], call: ApiCall, source: str) -> dict[str, Any]:
    """One output from the pages of a listing (their lists concatenated); a single object as it is."""
    merged = dict(documents[0])
    key = call.list_key
    if key is None:
        return merged
    items: list[Any] = []
    for number, page in enumerate(documents, start=1):
        value = page.get(key)
        if value is None:
            continue
        if not isinstance(value, list):
            raise InputError(source, f"object {number}: {key} is not a list")
        items.extend(value)
    merged[key] = items
    merged.pop("NextToken", None)
    return merged


def _place(raw: dict[str, Any], keys: tuple[str, ...], value: Any) -> None:
    node = raw
    for key in keys[:-1]:
        node = node.setdefault(key, {})
    node[keys[-1]] = value


def read_resource_files(paths: Sequence[Path], limits: FileLimits = DEFAULT_LIMITS) -> dict[str, Any]:
    """The raw resource dict of `collect.resources`, read from directories of AWS CLI output files."""
    if not paths:
        raise InputError("(no directory)", "no resource directory given")
    raw: dict[str, Any] = {"regions": {}}
    for root in (Path(p) for p in paths):
        if not root.is_dir():
            problem = "is a file; give the directory holding s3api/, iam/ and the region directories"
            raise InputError(str(root), problem if root.exists() else "no such directory")
        found: dict[tuple[str, ...], tuple[_Slot, dict[str, Path]]] = {}
        for path in sorted(root.rglob("*")):
            relative = path.relative_to(root).parts
            if path.is_dir() or any(part.startswith(".") for part in relative):
                continue
            split = _split(path)
            slot = _slot(list(relative[:-1]), split[0]) if split else None
            if split is None or slot is None:
                raise InputError(
                    str(path),
                    "not a file of the resource layout (see the README, 'Resources from files'): expected "
                    "<service>/<command>.json, s3api/buckets/<bucket>/<command>.json, "
                    "<region>/<service>/<command>.json or <region>/<service>/<collection>/<name>/<command>.json",
                )
            found.setdefault(slot.keys, (slot, {}))[1][split[1]] = path
        for keys, (slot, files) in found.items():
            _place(raw, keys, _load(files.get("json"), files.get("err"), slot, limits))
    return raw
