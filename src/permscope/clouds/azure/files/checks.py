"""The checks every item of an Azure export file passes before the transform reads it: it is a JSON object,
and the fields the transform relies on have the right JSON types (an InputError names the file, the item and
the field)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from permscope.core.errors import InputError
from permscope.core.limits import shown

STRING, LIST, OBJECT, BOOL = "a string", "a JSON list", "a JSON object", "true or false"
_TYPES: dict[str, type | tuple[type, ...]] = {STRING: str, LIST: list, OBJECT: dict, BOOL: bool}

# part -> [(path of the field, its type, required)]; "properties." fields are ARM's
_FIELDS: dict[str, list[tuple[str, str, bool]]] = {
    "tenant": [("id", STRING, True)],
    "management_groups": [("id", STRING, True), ("name", STRING, True), ("properties", OBJECT, False)],
    "subscriptions": [("subscriptionId", STRING, True), ("displayName", STRING, False)],
    "resource_groups": [("id", STRING, True)],
    "role_definitions": [
        ("name", STRING, True),
        ("properties", OBJECT, True),
        ("properties.roleName", STRING, True),
        ("properties.permissions", LIST, True),
        ("properties.assignableScopes", LIST, False),
    ],
    "role_assignments": [
        ("id", STRING, True),
        ("properties", OBJECT, True),
        ("properties.principalId", STRING, True),
        ("properties.roleDefinitionId", STRING, True),
        ("properties.scope", STRING, True),
        ("properties.principalType", STRING, False),
        ("properties.condition", STRING, False),
    ],
    "deny_assignments": [
        ("id", STRING, True),
        ("properties", OBJECT, True),
        ("properties.permissions", LIST, True),
        ("properties.principals", LIST, True),
        ("properties.excludePrincipals", LIST, False),
        ("properties.doNotApplyToChildScopes", BOOL, False),
        ("properties.scope", STRING, False),
    ],
    "role_eligibility_schedules": [
        ("properties", OBJECT, True),
        ("properties.principalId", STRING, True),
        ("properties.roleDefinitionId", STRING, True),
        ("properties.scope", STRING, True),
    ],
    "role_assignment_schedules": [
        ("properties", OBJECT, True),
        ("properties.principalId", STRING, True),
        ("properties.roleDefinitionId", STRING, True),
        ("properties.scope", STRING, True),
    ],
    "users": [("id", STRING, True), ("userPrincipalName", STRING, False)],
    "groups": [("id", STRING, True)],
    "group_members": [("groupId", STRING, True), ("members", LIST, True)],
    "service_principals": [("id", STRING, True), ("appId", STRING, False)],
    "applications": [
        ("id", STRING, True),
        ("appId", STRING, False),
        ("passwordCredentials", LIST, False),
        ("keyCredentials", LIST, False),
    ],
    "application_owners": [("applicationId", STRING, True), ("owners", LIST, True)],
    "directory_role_definitions": [("id", STRING, True)],
    "directory_role_assignments": [("principalId", STRING, True), ("roleDefinitionId", STRING, True)],
    "app_role_assignments": [("principalId", STRING, True), ("resourceId", STRING, True)],
    "errors": [("error", STRING, True)],
}
_ARM_RESOURCE = [("id", STRING, True), ("name", STRING, False), ("properties", OBJECT, False)]
for _part in (
    "managed_identities",
    "storage_accounts",
    "blob_containers",
    "network_security_groups",
    "network_interfaces",
    "virtual_machines",
    "web_apps",
    "key_vaults",
):
    _FIELDS[_part] = _ARM_RESOURCE


def _value(item: Mapping[str, Any], path: str) -> tuple[bool, Any]:
    current: Any = item
    for key in path.split("."):
        if not isinstance(current, Mapping) or key not in current:
            return False, None
        current = current[key]
    return True, current


def check_item(part: str, item: object, source: str, position: int) -> None:
    """InputError naming `source` when item `position` of a part file is not what the transform reads."""
    if not isinstance(item, Mapping):
        raise InputError(source, f"item {position} is not a JSON object ({type(item).__name__})")
    for path, kind, required in _FIELDS.get(part, ()):
        present, value = _value(item, path)
        if not present or value is None:
            if required:
                named = item.get("id") or item.get("name")
                where = f" ({shown(str(named))})" if isinstance(named, str) else ""
                raise InputError(source, f"item {position}{where} has no {path}")
            continue
        if not isinstance(value, _TYPES[kind]):
            raise InputError(source, f"item {position}: {path} must be {kind}, not {type(value).__name__}")
