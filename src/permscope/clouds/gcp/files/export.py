"""An export folder (docs/gcp-export.sh) read into the raw bundle of `clouds.gcp.raw`.

Every file goes through `permscope.userfiles` (regular files only, gzip, size limits, JSON checks). A part's file
holds a JSON list, a REST page (`{"<items>": [...], "nextPageToken": ...}`, several pages concatenated, or
JSON lines), or for `organization.json` one object. Files are found by name (`<part file>.json`,
`.json.gz`, `.jsonl`); the audit logs (`audit-log*`) are the activity readers', other unknown files are
named in a warning. A part without its file is None (not collected).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from permscope.clouds.gcp.files.shapes import checked_items, checked_organization
from permscope.clouds.gcp.raw import PART_FILES, empty_bundle
from permscope.core.errors import InputError
from permscope.userfiles import DEFAULT_LIMITS, FileLimits, json_documents, read_bytes

_PART_OF_FILE = {stem: part for part, stem in PART_FILES.items()}
_SUFFIXES = (".json.gz", ".jsonl.gz", ".json", ".jsonl")
_PAGE_SKIP = frozenset({"nextPageToken", "unreachable", "kind", "id", "selfLink", "warning", "totalSize"})


def _stem(path: Path) -> str | None:
    name = path.name
    for suffix in _SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return None


def _page_items(document: dict[str, Any], source: str) -> list[Any]:
    """The items of a REST page: its one list-valued field (Compute's aggregated `items` by zone flattened)."""
    lists = [key for key, value in document.items() if key not in _PAGE_SKIP and isinstance(value, list)]
    items = document.get("items")
    if isinstance(items, dict):  # instances.aggregatedList: {"zones/z": {"instances": [...]}}
        found: list[Any] = []
        for scoped in items.values():
            if isinstance(scoped, dict):
                found += [i for values in scoped.values() if isinstance(values, list) for i in values]
        return found
    if len(lists) == 1:
        return list(document[lists[0]])
    if not lists and set(document) <= _PAGE_SKIP:
        return []  # an empty page
    return [document]  # one item written as an object


def _items(documents: list[Any], source: str) -> list[Any]:
    found: list[Any] = []
    for document in documents:
        if isinstance(document, list):
            found += document
        elif isinstance(document, dict):
            found += _page_items(document, source)
        else:
            raise InputError(
                source, f"holds a JSON {type(document).__name__}; a list, a page or objects expected"
            )
    return found


def _files(paths: Sequence[str | Path]) -> list[Path]:
    files: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            files += sorted(item for item in path.iterdir() if not item.name.startswith("."))
        elif path.exists():
            files.append(path)
        else:
            raise InputError(str(path), "no such file or folder")
    return files


def read_export(
    paths: Sequence[str | Path],
    *,
    limits: FileLimits = DEFAULT_LIMITS,
    warnings: list[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """The bundle of one export folder (or of its files given one by one); InputError naming a file.
    `progress(done, total)` is told the bytes read (on disk) after each file."""
    parts: dict[str, Any] = {}
    files = _files(paths)
    total = sum(path.stat().st_size for path in files if path.is_file())
    done = 0
    for path in files:
        if progress is not None and path.is_file():
            done += path.stat().st_size
            progress(done, total)
        stem = _stem(path)
        part = _PART_OF_FILE.get(stem or "")
        if part is None:
            if path.is_file() and not path.name.startswith("audit-log") and warnings is not None:
                warnings.append(f"{path}: not a part of a GCP export folder (ignored)")
            continue
        source = str(path)
        documents = json_documents(read_bytes(path, limits), source)
        if part == "organization":
            if parts.get("organization") is not None:
                raise InputError(source, "a second organization: one export folder holds one organization")
            parts[part] = checked_organization(source, documents[0] if len(documents) == 1 else documents)
            continue
        parts.setdefault(part, []).extend(checked_items(source, part, _items(documents, source)))
    if not parts:
        raise InputError(
            ", ".join(str(p) for p in paths),
            "holds no file of a GCP export folder (organization.json, "
            "projects.json, iam-policies.json, ...: docs/gcp-export.sh)",
        )
    organization = parts.get("organization")
    projects = parts.get("projects") or []
    if organization is not None:
        scope = str(organization["name"])
    elif len(projects) == 1:
        scope = f"projects/{projects[0]['projectId']}"
    else:
        raise InputError(
            ", ".join(str(p) for p in paths),
            "has no organization.json and not exactly one project in projects.json: the export's scope is unknown",
        )
    bundle = empty_bundle(scope)
    bundle.update(parts)
    return bundle
