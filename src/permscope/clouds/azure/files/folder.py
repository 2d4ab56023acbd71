"""An Azure export folder read into the raw bundle (`clouds.azure.raw`), every file checked at the boundary.

Each file is one part, named by its file name (`role-assignments.json`, `.json.gz` too; `raw.PART_FILES`):
a JSON list of items, a REST page `{"value": [...], "nextLink"}`, several pages in one JSON list, or JSON lines
of items or pages. Every file is read through `userfiles` (regular files only, size limits, gzip bombs refused,
JSON depth). Malformed content is an InputError naming the file, the item and the problem. Files of the folder
that are no part (the activity logs `activity-log*.json`, `sign-ins*.json`, a README) are left to their readers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from permscope.clouds.azure.files.checks import check_item
from permscope.clouds.azure.raw import PART_FILES, empty_bundle
from permscope.core.errors import InputError
from permscope.core.limits import printable
from permscope.userfiles import DEFAULT_LIMITS, FileLimits, json_documents, read_bytes

_PART_OF_FILE = {name: part for part, name in PART_FILES.items()}
_SUFFIXES = (".json.gz", ".json", ".jsonl", ".jsonl.gz")
ACTIVITY_PREFIXES = ("activity-log", "sign-ins")  # read by the activity readers, not part of the bundle


def part_of(path: Path) -> str | None:
    """The bundle part a file holds, by its name; None for any other file."""
    name = path.name.lower()
    for suffix in _SUFFIXES:
        if name.endswith(suffix):
            return _PART_OF_FILE.get(name[: -len(suffix)])
    return None


def _items(documents: list[Any], source: str) -> list[Any]:
    """The items of a part file's documents: lists, REST pages and pages inside lists flattened."""
    found: list[Any] = []
    for document in documents:
        if isinstance(document, Mapping) and isinstance(document.get("value"), list):
            found.extend(document["value"])
        elif isinstance(document, Mapping) and "value" in document:
            raise InputError(source, "a REST page's `value` must be a JSON list")
        elif isinstance(document, list):
            for item in document:
                if isinstance(item, Mapping) and isinstance(item.get("value"), list) and "id" not in item:
                    found.extend(item["value"])  # a list of pages
                else:
                    found.append(item)
        else:
            found.append(document)
    return found


def read_part(path: Path, part: str, limits: FileLimits = DEFAULT_LIMITS) -> Any:
    """One part file's items (the tenant part: its one object), each checked (InputError naming the file)."""
    source = printable(str(path))
    items = _items(json_documents(read_bytes(path, limits), source), source)
    for position, item in enumerate(items):
        check_item(part, item, source, position)
    if part == "tenant":
        if len(items) != 1:
            raise InputError(source, f"holds {len(items)} objects; the tenant file holds one organization")
        return items[0]
    return items


def _files(paths: Sequence[str | Path]) -> list[Path]:
    found: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found.extend(sorted(child for child in path.iterdir() if child.is_file()))
        elif path.exists():
            found.append(path)
        else:
            raise InputError(printable(str(path)), "no such file or folder")
    return found


def read_export(paths: Sequence[str | Path], *, limits: FileLimits = DEFAULT_LIMITS) -> dict[str, Any]:
    """The raw bundle of one tenant from export folders or part files (InputError naming the file and the
    problem). Parts no file holds stay None (not collected); a part in two files is the two files' items.
    `bundle["warnings"]` lists the files that were not read and why."""
    bundle = empty_bundle("")
    warnings: list[str] = []
    for path in _files(paths):
        part = part_of(path)
        if part is None:
            if not path.name.lower().startswith(ACTIVITY_PREFIXES) and path.suffix.lower() in (
                ".json",
                ".gz",
            ):
                warnings.append(
                    f"{printable(str(path))}: not an Azure export part (file names: docs/azure.md)"
                )
            continue
        items = read_part(path, part, limits)
        if part == "tenant" or bundle[part] is None:
            bundle[part] = items
        else:
            bundle[part] = [*bundle[part], *items]
    if all(bundle[part] is None for part in PART_FILES):
        raise InputError(
            ", ".join(printable(str(p)) for p in paths),
            "holds no Azure export file (role-assignments.json, users.json, ...: see docs/azure.md)",
        )
    bundle["tenant_id"] = _tenant_id(bundle)
    bundle["warnings"] = warnings
    return bundle


def _tenant_id(bundle: Mapping[str, Any]) -> str:
    """The tenant's id: the organization's, else the first subscription's tenantId."""
    tenant = bundle.get("tenant")
    if isinstance(tenant, Mapping) and isinstance(tenant.get("id"), str):
        return str(tenant["id"]).lower()
    for subscription in bundle.get("subscriptions") or ():
        if isinstance(subscription.get("tenantId"), str):
            return str(subscription["tenantId"]).lower()
    return ""
