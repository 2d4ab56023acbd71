"""The GCP catalogue: every permission (`core.catalog.ActionCatalog`, separator ".") and every predefined role.

The shipped data (`data/gcp_roles.json.gz`, built by `tools/build_gcp_roles.py` from iann0036/iam-dataset, MIT,
its licence beside the data) holds every predefined role (basic roles `roles/owner`, `roles/editor`,
`roles/viewer`, `roles/browser` included) with its permissions; the catalogue is every permission those roles
name. A live collection refreshes it from the organization (`refresh_catalog`: `roles.list` of the predefined
roles with their permissions and `permissions.queryTestablePermissions`), written as an overlay in the user's
cache folder: the catalogue is then the shipped permissions (positions unchanged) followed by the new ones, the
roles the organization returned replace the shipped ones, and the version names both (`<shipped>+org-<digest>`).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import orjson
from platformdirs import user_cache_dir

from permscope.clouds.gcp.catalog.levels import permission_action, split_permission
from permscope.core.catalog import ActionCatalog

OVERLAY_FORMAT = 1


@dataclass(frozen=True, slots=True)
class PredefinedRole:
    """One predefined (or basic) role: its name, title, launch stage and permissions."""

    name: str
    title: str
    stage: str
    permissions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class GcpCatalogue:
    """The installed catalogue: its version, source, permissions in bit order and predefined roles by name."""

    version: str
    source: str
    permissions: tuple[str, ...]
    roles: Mapping[str, PredefinedRole]


def default_overlay() -> Path:
    """Where a live collection's refresh is kept (the user's cache folder)."""
    return Path(user_cache_dir("permscope", appauthor=False)) / "gcp-catalog-overlay.json"


@lru_cache(maxsize=1)
def _shipped() -> dict[str, Any]:
    packed = resources.files("permscope.clouds.gcp.catalog").joinpath("data/gcp_roles.json.gz")
    data: dict[str, Any] = orjson.loads(gzip.decompress(packed.read_bytes()))
    return data


def shipped_version() -> str:
    """The version of the shipped data."""
    return str(_shipped()["version"])


def _read_overlay(path: Path) -> dict[str, Any] | None:
    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None  # none yet, or unreadable: the shipped catalogue alone
    if (
        not isinstance(data, dict)
        or data.get("format") != OVERLAY_FORMAT
        or data.get("base") != shipped_version()
    ):
        return None
    return data


@lru_cache(maxsize=4)
def installed_catalogue(overlay: Path | None = None) -> GcpCatalogue:
    """The shipped catalogue with the overlay a live collection wrote (default: the user's cache folder)."""
    shipped = _shipped()
    names: list[str] = list(shipped["permissions"])
    roles = {
        entry["name"]: PredefinedRole(
            entry["name"], entry["title"], entry["stage"], tuple(names[i] for i in entry["permissions"])
        )
        for entry in shipped["roles"]
    }
    version, source = str(shipped["version"]), str(shipped["source"])
    extra = _read_overlay(overlay if overlay is not None else default_overlay())
    if extra is not None:
        known = set(names)
        names += sorted(p for p in extra["permissions"] if p not in known)
        for entry in extra["roles"]:
            roles[entry["name"]] = PredefinedRole(
                entry["name"], entry["title"], entry["stage"], tuple(entry["includedPermissions"])
            )
        version = f"{version}+org-{extra['digest']}"
        source = f"{source}; refreshed from {extra['organization']}"
    return GcpCatalogue(version, source, tuple(names), roles)


def catalog_version(overlay: Path | None = None) -> str:
    """The installed catalogue's version."""
    return installed_catalogue(overlay).version


@lru_cache(maxsize=4)
def load_catalog(overlay: Path | None = None) -> ActionCatalog:
    """Every permission as a catalogue action (separator ".")."""
    found = installed_catalogue(overlay)
    return ActionCatalog(
        found.version, [permission_action(name) for name in found.permissions], separator="."
    )


def predefined_role(name: str, overlay: Path | None = None) -> PredefinedRole | None:
    """A predefined or basic role (`roles/...`), None when the catalogue does not know it."""
    return installed_catalogue(overlay).roles.get(name)


def refresh_catalog(
    organization: str,
    roles: Iterable[Mapping[str, Any]],
    testable_permissions: Iterable[Mapping[str, Any] | str],
    *,
    overlay: Path | None = None,
) -> str:
    """Record what an organization's IAM API returned (`roles.list` with `view=FULL` of the predefined roles;
    `permissions.queryTestablePermissions` items, `{"name": ...}` or names) as the catalogue overlay, and
    return the new catalogue version. Permissions not of the form service.resource.verb are skipped."""
    permissions: set[str] = set()
    kept: list[dict[str, Any]] = []
    for role in roles:
        name = str(role.get("name") or "")
        included = [str(p) for p in role.get("includedPermissions") or () if split_permission(str(p))]
        permissions.update(included)
        if name.startswith("roles/") and not role.get("deleted"):
            kept.append(
                {
                    "name": name,
                    "title": str(role.get("title") or ""),
                    "stage": str(role.get("stage") or "GA"),
                    "includedPermissions": sorted(included),
                }
            )
    for item in testable_permissions:
        name = str(item if isinstance(item, str) else item.get("name") or "")
        if split_permission(name):
            permissions.add(name)
    body = {"permissions": sorted(permissions), "roles": sorted(kept, key=lambda entry: entry["name"])}
    digest = hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()[:12]
    data = {
        "format": OVERLAY_FORMAT,
        "base": shipped_version(),
        "organization": organization,
        "digest": digest,
        **body,
    }
    path = overlay if overlay is not None else default_overlay()
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".gcp-catalog-")
    with os.fdopen(handle, "wb") as out:
        out.write(orjson.dumps(data))
    Path(temporary).replace(path)
    installed_catalogue.cache_clear()
    load_catalog.cache_clear()
    from permscope.clouds.gcp.catalog.index import installed_action_index

    installed_action_index.cache_clear()
    return catalog_version(overlay)
