"""The Azure operation catalogue shipped with permscope, and what each operation is (service, plane, access
level, severity).

The data (`data/azure_catalog.json.gz`, built by `tools/refresh_azure_catalog.py` from iann0036/iam-dataset,
MIT, the licence beside it) holds every operation the built-in roles name, each with its plane: control
(`Actions`), data (`DataActions`) or both. One catalogue holds both planes; `planes.py` says which bits are
which, so a role's `Actions` never grant a data action. Names match case-insensitively and wildcards follow
the engine's rule (`engine.actions.pattern_regex`), so the index expands a pattern exactly as a decision
matches it.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Mapping
from functools import lru_cache
from importlib import resources
from typing import Any

import orjson

from permscope.clouds.azure.engine.actions import pattern_regex
from permscope.core.catalog import ActionCatalog
from permscope.core.errors import ConfigurationError
from permscope.core.inventory import Action, access_level_severity

CONTROL, DATA, BOTH = "c", "d", "b"
PERMISSIONS_MANAGEMENT = "permissionsManagement"
_VERBS = {"read": "read", "write": "write", "delete": "delete", "action": "action"}
DATA_FILE = "azure_catalog.json.gz"


class AzureActionCatalog(ActionCatalog):
    """An `ActionCatalog` of Azure operations that knows each operation's plane."""

    __slots__ = ("planes",)

    def __init__(self, version: str, actions: list[Action], planes: Mapping[str, str]) -> None:
        super().__init__(version, actions, separator="/", matcher=pattern_regex)
        self.planes = dict(planes)  # lower-case name -> CONTROL, DATA or BOTH


def access_level(name: str) -> str:
    """read, write, delete, action, or permissionsManagement for what changes who may do what: a write, delete
    or action of `Microsoft.Authorization` (role assignments and definitions, deny assignments, elevateAccess,
    PIM requests, policies, locks)."""
    provider, _slash, rest = name.strip().partition("/")
    verb = _VERBS.get(rest.rpartition("/")[2].strip().lower(), "action")
    if provider.lower() == "microsoft.authorization" and verb != "read":
        return PERMISSIONS_MANAGEMENT
    return verb


def action_of(name: str) -> Action:
    """The catalogue entry of one operation name."""
    level = access_level(name)
    provider, _slash, rest = name.partition("/")
    resource_type = rest.rpartition("/")[0]
    return Action(
        external_id=name,
        service=provider,
        name=rest,
        access_level=level,
        severity=access_level_severity(level),
        action_type="delete" if level == "delete" else "read" if level == "read" else None,
        resource_types=[f"{provider}/{resource_type}"] if resource_type else [],
    )


def build_catalog(version: str, operations: Iterable[tuple[str, str]]) -> AzureActionCatalog:
    """A catalogue of (name, plane) pairs, one entry per case-insensitive name (planes of repeats merged)."""
    planes: dict[str, str] = {}
    names: dict[str, str] = {}
    for name, plane in operations:
        key = name.strip().lower()
        if not key or "/" not in key or "*" in key:
            continue
        known = planes.get(key)
        planes[key] = plane if known is None or known == plane else BOTH
        names.setdefault(key, name.strip())
    ordered = sorted(names, key=lambda key: (key.partition("/")[0], key))
    return AzureActionCatalog(version, [action_of(names[key]) for key in ordered], planes)


@lru_cache(maxsize=1)
def _data() -> dict[str, Any]:
    try:
        raw = (resources.files("permscope.clouds.azure.catalog") / "data" / DATA_FILE).read_bytes()
    except OSError as exc:
        raise ConfigurationError(
            f"the Azure catalogue data {DATA_FILE} is missing from the package: {exc}"
        ) from exc
    found: dict[str, Any] = orjson.loads(gzip.decompress(raw))
    return found


def catalog_version() -> str:
    """The version of the shipped catalogue."""
    return str(_data()["version"])


def catalog_source() -> tuple[str, str]:
    """(source, licence) of the shipped data."""
    data = _data()
    return str(data["source"]), str(data["licence"])


@lru_cache(maxsize=1)
def load_catalog() -> AzureActionCatalog:
    """The shipped catalogue, read once per process."""
    data = _data()
    return build_catalog(
        str(data["version"]), ((str(name), str(plane)) for name, plane in data["operations"])
    )


@lru_cache(maxsize=1)
def builtin_roles() -> dict[str, dict[str, Any]]:
    """The built-in role definitions by lower-case GUID, in `az role definition list` shape."""
    found: dict[str, dict[str, Any]] = {}
    for guid, role_name, role_type, description, permissions in _data()["roles"]:
        found[guid] = {
            "name": guid,
            "roleName": role_name,
            "roleType": role_type,
            "description": description,
            "assignableScopes": ["/"],
            "permissions": permissions,
            "type": "Microsoft.Authorization/roleDefinitions",
        }
    return found
