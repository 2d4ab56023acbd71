"""The catalogue refreshed from a tenant: the shipped operations, plus what the tenant's provider operations
(`GET /providers/Microsoft.Authorization/providerOperations?$expand=resourceTypes`) and role definitions name.

A live collection reads both; `catalog_with_tenant` merges them into a new catalogue whose version names the
shipped one and a digest of what was added (the same tenant data gives the same version). The collector calls
it; the plugin's `catalog()` stays the shipped one until a tenant catalogue is stored.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from permscope.clouds.azure.catalog.operations import (
    CONTROL,
    DATA,
    AzureActionCatalog,
    build_catalog,
    load_catalog,
)


def provider_operations(providers: Iterable[Mapping[str, Any]]) -> Iterator[tuple[str, str]]:
    """(name, plane) of every operation of providerOperations metadata: the provider's own `operations` and
    each resource type's (`isDataAction` marks the data plane)."""
    for provider in providers:
        found = provider.get("properties")
        properties: Mapping[str, Any] = found if isinstance(found, Mapping) else provider
        groups: list[Any] = [properties.get("operations") or []]
        groups += [
            resource_type.get("operations") or []
            for resource_type in properties.get("resourceTypes") or []
            if isinstance(resource_type, Mapping)
        ]
        for operations in groups:
            for operation in operations:
                if isinstance(operation, Mapping) and isinstance(operation.get("name"), str):
                    yield operation["name"], DATA if operation.get("isDataAction") is True else CONTROL


def role_operations(definitions: Iterable[Mapping[str, Any]]) -> Iterator[tuple[str, str]]:
    """(name, plane) of every literal (wildcard-free) operation the role definitions name."""
    for definition in definitions:
        found = definition.get("properties")
        body: Mapping[str, Any] = found if isinstance(found, Mapping) else definition
        for entry in body.get("permissions") or []:
            if not isinstance(entry, Mapping):
                continue
            for field, plane in (
                ("actions", CONTROL),
                ("notActions", CONTROL),
                ("dataActions", DATA),
                ("notDataActions", DATA),
            ):
                for name in entry.get(field) or []:
                    if isinstance(name, str) and "*" not in name:
                        yield name, plane


def catalog_with_tenant(
    providers: Iterable[Mapping[str, Any]] = (),
    role_definitions: Iterable[Mapping[str, Any]] = (),
    base: AzureActionCatalog | None = None,
) -> AzureActionCatalog:
    """The shipped catalogue (or `base`) with the tenant's operations added; its version is the base's when
    nothing is new, else `<base>+tenant-<digest of the added names>`."""
    base = base or load_catalog()
    known = {action.external_id.lower() for action in base.actions}
    current = [
        (action.external_id, base.planes.get(action.external_id.lower(), CONTROL)) for action in base.actions
    ]
    added = [
        (name, plane)
        for name, plane in (*provider_operations(providers), *role_operations(role_definitions))
        if name.strip().lower() not in known
    ]
    if not added:
        return base
    digest = hashlib.sha256("\n".join(sorted(f"{n.lower()}\t{p}" for n, p in added)).encode()).hexdigest()[
        :12
    ]
    return build_catalog(f"{base.version}+tenant-{digest}", [*current, *added])
