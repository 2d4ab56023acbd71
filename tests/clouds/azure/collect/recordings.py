"""The recordings of the test tenant (`recorded/arm.json`, `recorded/graph.json`) and how a request is matched
to one: method, host, path and query, ARM's `api-version` aside (it is the SDK's or the script's choice).
No heavy import here: the stand-in `az` of the export-script test loads it once per call."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

HERE = Path(__file__).parent
RECORDED = HERE / "recorded"
TENANT_ID = "11111111-1111-4111-8111-111111111111"


def request_key(method: str, url: str) -> tuple[str, str, str, tuple[tuple[str, str], ...]]:
    """What a request is matched on."""
    parts = urlsplit(url)
    query = tuple(
        sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "api-version")
    )
    return method.upper(), parts.netloc.lower(), unquote(parts.path).lower(), query


def load_entries() -> list[dict[str, Any]]:
    """Every recording, ARM's then Graph's (a fresh copy: tests may change theirs)."""
    entries = [
        *json.loads((RECORDED / "arm.json").read_text()),
        *json.loads((RECORDED / "graph.json").read_text()),
    ]
    return copy.deepcopy(entries)


def find_entry(entries: list[dict[str, Any]], method: str, url: str) -> dict[str, Any]:
    """The recording of a request (KeyError when none)."""
    key = request_key(method, url)
    for entry in entries:
        if request_key(entry["method"], entry["url"]) == key:
            return entry
    raise KeyError(url)
