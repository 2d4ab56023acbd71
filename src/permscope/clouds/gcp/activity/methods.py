"""The IAM permissions an audit-logged method checks, from the method map shipped with the package.

The map (`data/method_permissions.json.gz`, built by `tools/build_gcp_method_permissions.py` from
iann0036/iam-dataset, MIT) is keyed by the method ids of Google's API discovery documents
(`compute.instances.insert`, `storage.objects.get`). Audit logs spell some of them with a version in front
(`v1.compute.instances.insert`, `beta.compute.disks.create`, `v2.deploymentmanager.deployments.insert`): that
prefix is dropped. gRPC-style names (`google.iam.admin.v1.CreateRole`) are not in the map; such entries nearly
always carry `authorizationInfo`, which is used first. A method the map does not name is counted, never guessed.
"""

from __future__ import annotations

import gzip
import json
import re
from functools import cache
from importlib import resources
from typing import Any

_VERSION_PREFIX = re.compile(r"(?:v\d+[a-z0-9]*|beta|alpha)\.")
_CACHE_LIMIT = 4096  # distinct method names remembered per process


@cache
def method_map() -> dict[str, tuple[str, ...]]:
    """method id -> the permissions it checks (read once per process)."""
    raw = resources.files("permscope.clouds.gcp.activity").joinpath("data/method_permissions.json.gz")
    data: dict[str, Any] = json.loads(gzip.decompress(raw.read_bytes()))
    return {name: tuple(permissions) for name, permissions in data["methods"].items()}


def map_source() -> str:
    """Where the shipped map comes from (upstream, licence)."""
    raw = resources.files("permscope.clouds.gcp.activity").joinpath("data/method_permissions.json.gz")
    data: dict[str, Any] = json.loads(gzip.decompress(raw.read_bytes()))
    return f"{data['source']}; licence {data['licence']}"


class MethodPermissions:
    """Looks method names up in the map, remembering each answer (a log repeats few distinct methods)."""

    __slots__ = ("_known", "_map")

    def __init__(self) -> None:
        self._map = method_map()
        self._known: dict[str, tuple[str, ...] | None] = {}

    def __call__(self, method: str) -> tuple[str, ...] | None:
        """The permissions of a method name as audit logs spell it, None when the map does not name it."""
        found = self._known.get(method, ())
        if found != ():
            return found
        permissions = self._map.get(method)
        if permissions is None:
            prefix = _VERSION_PREFIX.match(method)
            if prefix is not None:
                permissions = self._map.get(method[prefix.end() :])
        if len(self._known) < _CACHE_LIMIT:
            self._known[method] = permissions
        return permissions
