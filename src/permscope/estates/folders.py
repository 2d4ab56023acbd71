"""Writing a generated export folder: one `<part file>.json` per part, as the export scripts write them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson


def write_export_folder(folder: Path, parts: dict[str, Any]) -> list[Path]:
    """Write each part (file name without `.json` -> its JSON) into `folder` (created); the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in parts.items():
        path = folder / f"{name}.json"
        path.write_bytes(orjson.dumps(content))
        written.append(path)
    return written
