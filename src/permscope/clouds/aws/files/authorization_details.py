"""Reader of `aws iam get-account-authorization-details` exports: plain or gzipped, one page or many."""

from __future__ import annotations

import gzip
import json
import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote

import orjson

from permscope.core.errors import InputError

LISTS = ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")
REQUIRED_KEYS: dict[str, tuple[str, ...]] = {
    "UserDetailList": ("UserName", "Arn"),
    "GroupDetailList": ("GroupName", "Arn"),
    "RoleDetailList": ("RoleName", "Arn"),
    "Policies": ("PolicyName", "Arn"),
}
INLINE_LISTS = {
    "UserDetailList": "UserPolicyList",
    "GroupDetailList": "GroupPolicyList",
    "RoleDetailList": "RolePolicyList",
}
# Optional fields the transform reads, and the JSON type each must have when present (null is accepted).
OPTIONAL_SHAPES: dict[str, tuple[str, type]] = {
    "AttachedManagedPolicies": ("a list of objects", dict),
    "Tags": ("a list of objects", dict),
    "InstanceProfileList": ("a list of objects", dict),
    "GroupList": ("a list of group names", str),
}
OPTIONAL_OBJECTS = ("RoleLastUsed", "PermissionsBoundary")
DEFAULT_MAX_BYTES = 2 * 1024**3  # decompressed bytes per file
CHUNK = 1024 * 1024
GZIP_MAGIC = b"\x1f\x8b"
_WHITESPACE = re.compile(r"[ \t\n\r]*")

Progress = Callable[[int, int], None]


class _Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


class _FileProblemError(Exception):
    """A problem found inside one file; the caller turns it into an InputError naming the file."""


def read_authorization_details(
    paths: Iterable[str | Path],
    *,
    progress: Progress | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> dict[str, list[dict[str, Any]]]:
    """Read and merge export files into one raw dict with the four lists (deduplicated by Arn, later wins).

    Each file is `.json` or gzip (recognised by its magic bytes, whatever its name) holding one JSON
    object, or several concatenated / one per line (the pages of a paginated output). Policy documents
    given URL-encoded, as the raw API returns them, are decoded. `progress(done, total)` is called with
    bytes read from disk. Any problem raises InputError(path, problem); nothing is returned half-read.
    """
    files = [Path(p) for p in paths]
    if not files:
        raise InputError("(no files)", "no export file given")
    sizes = []
    for path in files:
        try:
            sizes.append(path.stat().st_size)
        except OSError as exc:
            raise InputError(str(path), f"cannot read the file: {exc.strerror or exc}") from None
    total = sum(sizes)
    merged: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in LISTS}
    done = 0
    for path, size in zip(files, sizes, strict=True):

        def report(file_done: int, base: int = done) -> None:
            if progress is not None:
                progress(base + file_done, total)

        try:
            data = _read_bytes(path, size, max_bytes, report)
            _merge_pages(merged, list(_parse_objects(data)))
        except _FileProblemError as exc:
            raise InputError(str(path), str(exc)) from None
        except OSError as exc:
            raise InputError(str(path), f"cannot read the file: {exc.strerror or exc}") from None
        done += size
    return {name: list(items.values()) for name, items in merged.items()}


def _merge_pages(merged: dict[str, dict[str, dict[str, Any]]], pages: list[Any]) -> None:
    """Validate the pages of one file (decoding their documents in place) and merge them by Arn."""
    for number, page in enumerate(pages, start=1):
        where = f"object {number}: " if len(pages) > 1 else ""
        _validate_page(page, where)
        for name in LISTS:
            for item in page.get(name) or []:
                merged[name][item["Arn"]] = item


def merge_authorization_pages(sources: Iterable[tuple[str, list[Any]]]) -> dict[str, list[dict[str, Any]]]:
    """Validate and merge already-parsed pages, given as (source, pages) pairs: the same result as reading
    them from files with `read_authorization_details` (InputError names the source of a bad page)."""
    merged: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in LISTS}
    for source, pages in sources:
        try:
            _merge_pages(merged, pages)
        except _FileProblemError as exc:
            raise InputError(source, str(exc)) from None
    return {name: list(items.values()) for name, items in merged.items()}


def is_authorization_details(document: Any) -> bool:
    """Whether a parsed JSON document looks like a page of `get-account-authorization-details` output."""
    if not isinstance(document, dict):
        return False
    if any(isinstance(document.get(name), list) for name in LISTS[:3]):
        return True
    policies = document.get("Policies")
    return isinstance(policies, list) and any(
        isinstance(item, dict) and "PolicyName" in item for item in policies
    )


def read_file_bytes(
    path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES, report: Callable[[int], None] | None = None
) -> bytes:
    """A file's bytes, gunzipped when it is gzip (by its magic bytes), refusing more than `max_bytes`.

    `report(position)` is called with the bytes read from disk so far. Problems raise InputError(path, ...).
    """
    try:
        size = path.stat().st_size
        return _read_bytes(path, size, max_bytes, report or (lambda _position: None))
    except _FileProblemError as exc:
        raise InputError(str(path), str(exc)) from None
    except OSError as exc:
        raise InputError(str(path), f"cannot read the file: {exc.strerror or exc}") from None


def parse_json_documents(data: bytes, source: str) -> list[Any]:
    """Every top-level JSON value of the data (one document, concatenated ones, or JSON lines)."""
    try:
        return list(_parse_objects(data))
    except _FileProblemError as exc:
        raise InputError(source, str(exc)) from None


def _read_bytes(path: Path, size: int, max_bytes: int, report: Callable[[int], None]) -> bytes:
    """The file's (decompressed) bytes, refusing more than `max_bytes` of them."""
    with path.open("rb") as raw:
        magic = raw.read(2)
        raw.seek(0)
        if magic != GZIP_MAGIC:
            if size > max_bytes:
                raise _FileProblemError(f"file is larger than {max_bytes} bytes")
            return _read_limited(raw, max_bytes, lambda: raw.tell(), report)
        try:
            with gzip.GzipFile(fileobj=raw, mode="rb") as unzipped:
                return _read_limited(unzipped, max_bytes, lambda: raw.tell(), report)
        except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
            raise _FileProblemError(f"truncated or corrupt gzip data: {exc}") from None


def _read_limited(
    stream: _Readable, max_bytes: int, position: Callable[[], int], report: Callable[[int], None]
) -> bytes:
    parts: list[bytes] = []
    count = 0
    while chunk := stream.read(CHUNK):
        count += len(chunk)
        if count > max_bytes:
            raise _FileProblemError(f"file is larger than {max_bytes} bytes (decompressed)")
        parts.append(chunk)
        report(position())
    return b"".join(parts)


def _parse_objects(data: bytes) -> Iterator[Any]:
    """Every top-level JSON value of the data: one document, concatenated documents, or JSON lines."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if b"\\u0000" in data:
        raise _FileProblemError("contains a NUL character (\\u0000), which no AWS name, ARN or policy has")
    try:
        yield orjson.loads(data)
        return
    except orjson.JSONDecodeError as exc:
        if "recursion" in str(exc).lower():
            raise _FileProblemError(f"JSON nested too deeply to be an export ({exc})") from None
        # several documents, or a broken one: the slower reader below says which and where
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _FileProblemError(f"not UTF-8 text: invalid byte at offset {exc.start}") from None
    decoder = json.JSONDecoder()
    position = _WHITESPACE.match(text, 0).end()  # type: ignore[union-attr]
    if position == len(text):
        raise _FileProblemError("the file is empty")
    while position < len(text):
        try:
            value, position = decoder.raw_decode(text, position)
        except RecursionError:
            raise _FileProblemError("JSON nested too deeply to be an export") from None
        except json.JSONDecodeError as exc:
            raise _FileProblemError(
                f"truncated or invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
            ) from None
        yield value
        position = _WHITESPACE.match(text, position).end()  # type: ignore[union-attr]


def _validate_page(page: Any, where: str) -> None:
    """Check one page's shape and decode its policy documents in place."""
    if not isinstance(page, dict) or not any(isinstance(page.get(name), list) for name in LISTS):
        raise _FileProblemError(
            f"{where}not an authorization-details export: expected an object with "
            "UserDetailList/GroupDetailList/RoleDetailList/Policies"
        )
    for name in LISTS:
        items = page.get(name)
        if items is None:
            continue
        if not isinstance(items, list):
            raise _FileProblemError(f"{where}{name} is not a list")
        for index, item in enumerate(items):
            _validate_item(name, index, item, where)


def _validate_item(name: str, index: int, item: Any, where: str) -> None:
    label = f"{where}{name}[{index}]"
    if not isinstance(item, dict):
        raise _FileProblemError(f"{label} is not an object")
    arn = item.get("Arn")
    if not isinstance(arn, str) or not arn:
        raise _FileProblemError(f"{label} has no Arn")
    label = f"{label} ({arn})"
    for key in REQUIRED_KEYS[name]:
        if not isinstance(item.get(key), str) or not item[key]:
            raise _FileProblemError(f"{label} has no {key}")
    _validate_optional_fields(item, label)
    if name == "Policies":
        _validate_policy(item, label)
        return
    inline_key = INLINE_LISTS[name]
    inline = item.get(inline_key) or []
    if not isinstance(inline, list):
        raise _FileProblemError(f"{label} {inline_key} is not a list")
    for position, entry in enumerate(inline):
        if not isinstance(entry, dict) or not isinstance(entry.get("PolicyName"), str):
            raise _FileProblemError(f"{label} {inline_key}[{position}] has no PolicyName")
        where_doc = f"policy document of {arn}#inline/{entry['PolicyName']}"
        entry["PolicyDocument"] = _decode_document(entry.get("PolicyDocument"), where_doc)
    if name == "RoleDetailList" and item.get("AssumeRolePolicyDocument") is not None:
        item["AssumeRolePolicyDocument"] = _decode_document(
            item["AssumeRolePolicyDocument"], f"trust policy document of {arn}"
        )


def _validate_optional_fields(item: dict[str, Any], label: str) -> None:
    """Optional fields, when present and not null, must have the type the export format gives them."""
    for key, (what, element) in OPTIONAL_SHAPES.items():
        value = item.get(key)
        if value is None:
            continue
        if not isinstance(value, list) or not all(isinstance(entry, element) for entry in value):
            raise _FileProblemError(f"{label} {key} is not {what}")
    for key in OPTIONAL_OBJECTS:
        if item.get(key) is not None and not isinstance(item[key], dict):
            raise _FileProblemError(f"{label} {key} is not an object")
    for position, attached in enumerate(item.get("AttachedManagedPolicies") or []):
        if not isinstance(attached.get("PolicyArn"), str):
            raise _FileProblemError(f"{label} AttachedManagedPolicies[{position}] has no PolicyArn")


def _validate_policy(item: dict[str, Any], label: str) -> None:
    versions = item.get("PolicyVersionList")
    if versions is None and not item.get("DefaultVersionId"):
        raise _FileProblemError(f"{label} has neither PolicyVersionList nor DefaultVersionId")
    if versions is None:
        return
    if not isinstance(versions, list):
        raise _FileProblemError(f"{label} PolicyVersionList is not a list")
    for position, version in enumerate(versions):
        if not isinstance(version, dict) or not isinstance(version.get("VersionId"), str):
            raise _FileProblemError(f"{label} PolicyVersionList[{position}] has no VersionId")
        where_doc = f"policy document of {item['Arn']} (version {version['VersionId']})"
        version["Document"] = _decode_document(version.get("Document"), where_doc)


def _decode_document(document: Any, where: str) -> dict[str, Any]:
    """A policy document as a dict, whether given as an object, JSON text or URL-encoded JSON text."""
    if isinstance(document, dict):
        return document
    if not isinstance(document, str):
        raise _FileProblemError(f"{where} is missing or not a JSON object")
    for candidate in (document, unquote(document)):
        try:
            decoded = orjson.loads(candidate)
        except orjson.JSONDecodeError:
            continue
        if isinstance(decoded, dict):
            return decoded
        break
    raise _FileProblemError(f"{where} is not valid JSON")
