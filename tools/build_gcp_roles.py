"""Rebuild src/permscope/clouds/gcp/catalog/data/gcp_roles.json.gz from iann0036/iam-dataset (MIT).

The upstream data is the output of `gcloud iam roles describe` for every predefined role (iam-dataset's
`gcp/roles/*.json`, or one JSON document `{"source", "roles": [...]}` compiled from them, or a JSON list of
roles). Kept: each role's name, title, stage and permissions (as indexes into one sorted permission list, the
catalogue), and the source with its licence. Descriptions and etags are dropped.

    python tools/build_gcp_roles.py path/to/predefined_roles.json   (or a folder of per-role JSON files)
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[1] / "src/permscope/clouds/gcp/catalog/data/gcp_roles.json.gz"


def _roles(path: Path) -> tuple[list[dict[str, Any]], str]:
    if path.is_dir():
        found = [json.loads(item.read_text()) for item in sorted(path.glob("*.json"))]
        return found, f"iann0036/iam-dataset gcp/roles/ ({len(found)} files)"
    data = json.loads(path.read_text())
    if isinstance(data, list):
        return data, f"iann0036/iam-dataset ({path.name})"
    return list(data["roles"]), str(data.get("source") or f"iann0036/iam-dataset ({path.name})")


def main(path: Path) -> None:
    """Write the compact catalogue from the upstream file or folder."""
    roles, source = _roles(path)
    permissions = sorted({p for role in roles for p in role.get("includedPermissions") or ()})
    position = {name: i for i, name in enumerate(permissions)}
    compact = [
        {
            "name": role["name"],
            "title": role.get("title") or "",
            "stage": role.get("stage") or "GA",
            "permissions": sorted(position[p] for p in set(role.get("includedPermissions") or ())),
        }
        for role in sorted(roles, key=lambda role: str(role["name"]))
    ]
    version = "iam-dataset-" + (source.split("@", 1)[1][:12] if "@" in source else str(len(compact)))
    data = {
        "source": source,
        "license": "MIT (iann0036/iam-dataset; gcp_roles.LICENSE beside this file)",
        "version": version,
        "permissions": permissions,
        "roles": compact,
    }
    OUT.write_bytes(gzip.compress(json.dumps(data, separators=(",", ":"), sort_keys=True).encode(), mtime=0))
    print(f"{len(compact)} roles, {len(permissions)} permissions -> {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
