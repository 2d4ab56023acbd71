"""Reader of `aws iam get-account-authorization-details` exports: plain or gzipped, one page or many."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import orjson

from permscope.core.errors import InputError
from permscope.core.limits import (
    MAX_ARN_BYTES,
    MAX_DOCUMENT_BYTES,
    MAX_ID_BYTES,
    MAX_NAME_BYTES,
    MAX_VERSION_ID_BYTES,
    json_problem,
    text_problem,
)
from permscope.userfiles import DEFAULT_LIMITS, FileLimits, json_documents, read_bytes

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
# Optional text fields the store keeps, and their limit (docs/limits.md); names and ARNs are checked apart.
TEXT_LIMITS = {
    "UserId": MAX_ID_BYTES,
    "GroupId": MAX_ID_BYTES,
    "RoleId": MAX_ID_BYTES,
    "PolicyId": MAX_ID_BYTES,
    "Path": MAX_ARN_BYTES,
}

Progress = Callable[[int, int], None]


class _FileProblemError(Exception):
    """A problem found inside one file; the caller turns it into an InputError naming the file."""


def read_authorization_details(
    paths: Iterable[str | Path],
    *,
    progress: Progress | None = None,
    limits: FileLimits = DEFAULT_LIMITS,
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

        data = read_bytes(path, limits, report)
        try:
            _merge_pages(merged, json_documents(data, str(path)))
        except _FileProblemError as exc:
            raise InputError(str(path), str(exc)) from None
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


def _check_text(label: str, key: str, value: str, limit: int) -> None:
    """Refuse a text the store could not keep the same on every database (docs/limits.md)."""
    if len(value) * 4 <= limit:  # short enough in any encoding; NUL and lone surrogates were refused already
        return
    problem = text_problem(value, limit)
    if problem is not None:
        raise _FileProblemError(f"{label} {key} {problem}")


def _validate_item(name: str, index: int, item: Any, where: str) -> None:
    """Check one item and decode its policy documents in place: an item `_plain_item` passes only has its
    documents left to decode; any other goes through `_check_item`, which says what is wrong with it."""
    if _plain_item(name, item):
        _decode_documents(name, item)
    else:
        _check_item(name, index, item, where)


def _check_item(name: str, index: int, item: Any, where: str) -> None:
    """Every check of an item, in order, raising the first problem with its message (and decoding the
    documents as it goes)."""
    label = f"{where}{name}[{index}]"
    if not isinstance(item, dict):
        raise _FileProblemError(f"{label} is not an object")
    arn = item.get("Arn")
    if not isinstance(arn, str) or not arn:
        raise _FileProblemError(f"{label} has no Arn")
    _check_text(label, "Arn", arn, MAX_ARN_BYTES)
    label = f"{label} ({arn})"
    for key in REQUIRED_KEYS[name]:
        if not isinstance(item.get(key), str) or not item[key]:
            raise _FileProblemError(f"{label} has no {key}")
        if key != "Arn":
            _check_text(label, key, item[key], MAX_NAME_BYTES)
    for key, limit in TEXT_LIMITS.items():
        if isinstance(item.get(key), str):
            _check_text(label, key, item[key], limit)
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
        _check_text(f"{label} {inline_key}[{position}]", "PolicyName", entry["PolicyName"], MAX_NAME_BYTES)
        where_doc = f"policy document of {arn}#inline/{entry['PolicyName']}"
        entry["PolicyDocument"] = _decode_document(entry.get("PolicyDocument"), where_doc)
    if name == "RoleDetailList" and item.get("AssumeRolePolicyDocument") is not None:
        item["AssumeRolePolicyDocument"] = _decode_document(
            item["AssumeRolePolicyDocument"], f"trust policy document of {arn}"
        )


# Texts `_check_text` passes without measuring them: at most a quarter of their limit in characters.
_ARN_CHARS = MAX_ARN_BYTES // 4
_NAME_CHARS = MAX_NAME_BYTES // 4
_VERSION_CHARS = MAX_VERSION_ID_BYTES // 4
_TEXT_CHARS = tuple((key, limit // 4) for key, limit in TEXT_LIMITS.items())
_NAME_KEYS = {name: next(key for key in keys if key != "Arn") for name, keys in REQUIRED_KEYS.items()}
_SHAPES = tuple((key, element) for key, (_what, element) in OPTIONAL_SHAPES.items())


def _fits(value: object, chars: int) -> bool:
    """A text of at most `chars` characters (see `_ARN_CHARS`)."""
    return type(value) is str and len(value) <= chars


def _plain_item(name: str, item: Any) -> bool:
    """True when `_check_item` would find nothing wrong with an item but its documents, decided without
    wording a problem (most items of an export); False when it may find something (it then says what)."""
    if type(item) is not dict:
        return False
    arn = item.get("Arn")
    title = item.get(_NAME_KEYS[name])
    if not (arn and title and _fits(arn, _ARN_CHARS) and _fits(title, _NAME_CHARS)):
        return False
    for key, chars in _TEXT_CHARS:
        value = item.get(key)
        if isinstance(value, str) and len(value) > chars:
            return False
    if not _plain_optional_fields(item):
        return False
    if name == "Policies":
        return _plain_policy(item)
    inline = item.get(INLINE_LISTS[name]) or []
    if type(inline) is not list:
        return False
    for entry in inline:
        if type(entry) is not dict or not _fits(entry.get("PolicyName"), _NAME_CHARS):
            return False
    return True


def _plain_optional_fields(item: dict[str, Any]) -> bool:
    """`_validate_optional_fields` would find nothing wrong (decided as `_plain_item` is)."""
    for key, element in _SHAPES:
        value = item.get(key)
        if value is None:
            continue
        if type(value) is not list:
            return False
        for entry in value:
            if not isinstance(entry, element):
                return False
    for key in OPTIONAL_OBJECTS:
        value = item.get(key)
        if value is not None and type(value) is not dict:
            return False
    for attached in item.get("AttachedManagedPolicies") or ():
        if not _fits(attached.get("PolicyArn"), _ARN_CHARS):
            return False
    for group in item.get("GroupList") or ():
        if len(group) > _NAME_CHARS:
            return False
    for profile in item.get("InstanceProfileList") or ():
        arn = profile.get("Arn")
        if isinstance(arn, str) and len(arn) > _ARN_CHARS:
            return False
    boundary = (item.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
    return boundary is None or _fits(boundary, _ARN_CHARS)


def _plain_policy(item: dict[str, Any]) -> bool:
    """`_validate_policy` would find nothing wrong but in the documents (decided as `_plain_item` is)."""
    versions = item.get("PolicyVersionList")
    default = item.get("DefaultVersionId")
    if versions is None and not default:
        return False
    if isinstance(default, str) and len(default) > _VERSION_CHARS:
        return False
    if versions is None:
        return True
    if type(versions) is not list:
        return False
    for version in versions:
        if type(version) is not dict or not _fits(version.get("VersionId"), _VERSION_CHARS):
            return False
    return True


def _decode_documents(name: str, item: dict[str, Any]) -> None:
    """Decode (and check) the policy documents of an item `_plain_item` passed, in `_check_item`'s order."""
    arn = item["Arn"]
    if name == "Policies":
        for version in item.get("PolicyVersionList") or ():
            document = version.get("Document")
            if not _plain_document(document):
                where = f"policy document of {arn} (version {version['VersionId']})"
                version["Document"] = _decode_document(document, where)
        return
    for entry in item.get(INLINE_LISTS[name]) or ():
        document = entry.get("PolicyDocument")
        if not _plain_document(document):
            where = f"policy document of {arn}#inline/{entry['PolicyName']}"
            entry["PolicyDocument"] = _decode_document(document, where)
    if name == "RoleDetailList":
        trust = item.get("AssumeRolePolicyDocument")
        if trust is not None and not _plain_document(trust):
            item["AssumeRolePolicyDocument"] = _decode_document(trust, f"trust policy document of {arn}")


def _plain_document(document: Any) -> bool:
    """A document `_decode_document` would give back as it is (an object it finds nothing wrong with)."""
    return type(document) is dict and json_problem(document, MAX_DOCUMENT_BYTES) is None


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
        _check_text(
            label, f"AttachedManagedPolicies[{position}].PolicyArn", attached["PolicyArn"], MAX_ARN_BYTES
        )
    for position, group in enumerate(item.get("GroupList") or []):
        _check_text(label, f"GroupList[{position}]", group, MAX_NAME_BYTES)
    for position, profile in enumerate(item.get("InstanceProfileList") or []):
        if isinstance(profile.get("Arn"), str):
            _check_text(label, f"InstanceProfileList[{position}].Arn", profile["Arn"], MAX_ARN_BYTES)
    boundary = (item.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
    if boundary is not None:
        if not isinstance(boundary, str):
            raise _FileProblemError(f"{label} PermissionsBoundary.PermissionsBoundaryArn is not a text")
        _check_text(label, "PermissionsBoundary.PermissionsBoundaryArn", boundary, MAX_ARN_BYTES)


def _validate_policy(item: dict[str, Any], label: str) -> None:
    versions = item.get("PolicyVersionList")
    if versions is None and not item.get("DefaultVersionId"):
        raise _FileProblemError(f"{label} has neither PolicyVersionList nor DefaultVersionId")
    if isinstance(item.get("DefaultVersionId"), str):
        _check_text(label, "DefaultVersionId", item["DefaultVersionId"], MAX_VERSION_ID_BYTES)
    if versions is None:
        return
    if not isinstance(versions, list):
        raise _FileProblemError(f"{label} PolicyVersionList is not a list")
    for position, version in enumerate(versions):
        if not isinstance(version, dict) or not isinstance(version.get("VersionId"), str):
            raise _FileProblemError(f"{label} PolicyVersionList[{position}] has no VersionId")
        _check_text(
            label, f"PolicyVersionList[{position}].VersionId", version["VersionId"], MAX_VERSION_ID_BYTES
        )
        where_doc = f"policy document of {item['Arn']} (version {version['VersionId']})"
        version["Document"] = _decode_document(version.get("Document"), where_doc)


def _decode_document(document: Any, where: str) -> dict[str, Any]:
    """A policy document as a dict, whether given as an object, JSON text or URL-encoded JSON text; checked
    once decoded (size, NUL, nesting: docs/limits.md)."""
    if isinstance(document, str):
        decoded = _parse_document_text(document, where)
    elif isinstance(document, dict):
        decoded = document
    else:
        raise _FileProblemError(f"{where} is missing or not a JSON object")
    problem = json_problem(decoded, MAX_DOCUMENT_BYTES)
    if problem is not None:
        raise _FileProblemError(f"{where} {problem}")
    return decoded


def _parse_document_text(document: str, where: str) -> dict[str, Any]:
    for candidate in (document, unquote(document)):
        try:
            decoded = orjson.loads(candidate)
        except orjson.JSONDecodeError:
            continue
        if isinstance(decoded, dict):
            return decoded
        break
    raise _FileProblemError(f"{where} is not valid JSON")
