"""What the Azure transform modules share: ARM ids, GUIDs, properties, times."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from permscope.core.times import parse_instant

MICROSOFT_TENANT = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"  # the tenant Microsoft's first-party apps live in


def guid(value: object) -> str:
    """An Entra object id or role GUID as permscope keys it: lower case, stripped."""
    return str(value).strip().lower()


def props(item: Mapping[str, Any]) -> Mapping[str, Any]:
    """An ARM object's `properties` (an empty mapping when it has none)."""
    found = item.get("properties")
    return found if isinstance(found, Mapping) else {}


def arm_id(value: object) -> str:
    """An ARM id as permscope keys resources: lower case, no trailing slash (ARM ids are case-insensitive)."""
    return str(value).strip().rstrip("/").lower() or "/"


def subscription_of(resource_id: str) -> str | None:
    """The subscription GUID an ARM id lies in (`/subscriptions/<id>/...`), None for other scopes."""
    parts = [part for part in resource_id.split("/") if part]
    if len(parts) >= 2 and parts[0].lower() == "subscriptions":
        return parts[1].lower()
    return None


def resource_group_of(resource_id: str) -> str | None:
    """The resource group name an ARM id lies in, None above resource groups."""
    parts = [part for part in resource_id.split("/") if part]
    if len(parts) >= 4 and parts[2].lower() == "resourcegroups":
        return parts[3]
    return None


def role_guid(role_definition_id: str) -> str:
    """The GUID of a role definition id (`.../roleDefinitions/<guid>` or the GUID itself)."""
    return guid(role_definition_id.rstrip("/").rpartition("/")[2])


def instant(value: object) -> datetime | None:
    """An ISO 8601 time of a REST object, None when absent or unreadable."""
    try:
        return parse_instant(value)
    except (TypeError, ValueError):
        return None


def mapping(value: object) -> Mapping[str, Any]:
    """A JSON object field, or an empty mapping when it is absent or not an object."""
    return value if isinstance(value, Mapping) else {}
