"""A stand-in for the Azure CLI's `az rest --method get` and `az account show`, answering from the recorded
tenant (what docs/azure-export.sh runs); every call is appended to $FAKE_AZ_LOG. Run as `python fake_az.py`."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from recordings import TENANT_ID, find_entry, load_entries, request_key


def main(argv: list[str]) -> int:
    log = Path(os.environ["FAKE_AZ_LOG"])
    with log.open("a") as out:
        out.write(json.dumps(argv) + "\n")
    if argv[:2] == ["account", "show"]:
        print(TENANT_ID)
        return 0
    if argv[:3] != ["rest", "--method", "get"]:
        print(f"ERROR: the fake az answers GETs only: {argv}", file=sys.stderr)
        return 2
    url = argv[argv.index("--url") + 1]
    try:
        entry = find_entry(load_entries(), "GET", url)
    except KeyError:
        print(f"ERROR: unrecorded request {url}", file=sys.stderr)
        return 3
    # the n-th call of a URL gets the n-th recorded response (a 429, then what the retry got)
    counts = Path(os.environ["FAKE_AZ_LOG"] + ".counts")
    seen = json.loads(counts.read_text()) if counts.exists() else {}
    key = json.dumps(request_key("GET", url))
    served = seen.get(key, 0)
    seen[key] = served + 1
    counts.write_text(json.dumps(seen))
    response = entry["responses"][min(served, len(entry["responses"]) - 1)]
    body = response.get("body")
    if response["status"] >= 400:
        error = (body or {}).get("error", {})
        reason = "Too Many Requests" if response["status"] == 429 else "Forbidden"
        print(f"ERROR: {reason}({json.dumps({'error': error})})", file=sys.stderr)
        return 1
    print(json.dumps(body))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
