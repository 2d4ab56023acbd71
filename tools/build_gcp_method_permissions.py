"""Rebuild src/permscope/clouds/gcp/activity/data/method_permissions.json.gz from iann0036/iam-dataset's
`gcp/map.json` (MIT, github.com/iann0036/iam-dataset): each Google API method (`compute.instances.insert`, the
method id of the API's discovery document) and the IAM permissions it checks.

    python tools/build_gcp_method_permissions.py path/to/map.json [commit-or-date]

Kept per method: the permissions upstream found (by its crawls or by hand), except those it marks
`lowConfidence` and those it checks only under a `condition` on the request body (which a log entry's method
name cannot tell). Methods left with no permission are dropped: the readers count them as unmapped.
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path
from typing import Any

OUT = (
    Path(__file__).resolve().parents[1] / "src/permscope/clouds/gcp/activity/data/method_permissions.json.gz"
)
UPSTREAM = "iann0036/iam-dataset gcp/map.json (MIT, https://github.com/iann0036/iam-dataset)"


def permissions_of(method: dict[str, Any]) -> list[str]:
    """The permissions kept for one upstream method entry, sorted, without repeats."""
    kept = {
        str(item["name"])
        for item in method.get("permissions") or []
        if isinstance(item, dict)
        and item.get("name")
        and not item.get("lowConfidence")
        and not item.get("condition")
    }
    return sorted(kept)


def build(upstream: dict[str, Any]) -> dict[str, list[str]]:
    """method id -> permissions, for every method upstream maps to at least one kept permission."""
    methods: dict[str, list[str]] = {}
    for api in (upstream.get("api") or {}).values():
        for name, entry in ((api or {}).get("methods") or {}).items():
            permissions = permissions_of(entry or {})
            if permissions:
                methods[name] = permissions
    return dict(sorted(methods.items()))


def main(source: Path, version: str | None) -> None:
    """Write the compact map from the upstream file."""
    methods = build(json.loads(source.read_text()))
    data = {"source": UPSTREAM + (f" at {version}" if version else ""), "licence": "MIT", "methods": methods}
    OUT.write_bytes(gzip.compress(json.dumps(data, separators=(",", ":"), sort_keys=True).encode(), mtime=0))
    print(f"{len(methods)} methods -> {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else None)
