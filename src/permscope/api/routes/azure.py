"""Azure inventory under `AS/{id}/microsoft.graph.azureAuthorizationSystem`: identities (all, users, service
principals, managed identities), role definitions, actions, services, resources, effective permissions. A key
reads the inventory of the subscriptions where it is viewer, approver or administrator; another one answers 404
as a missing one. Entra object ids, role GUIDs and ARM ids are matched in lower case (Azure compares them so)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from permscope.api.routes.collection_routes import register_collection
from permscope.api.routes.identity_routes import IdentityRoutes, cast_context, system_dependency
from permscope.api.routing import GraphRoute
from permscope.api.schemas import (
    ERROR_RESPONSES,
    AzureAction,
    AzureIdentity,
    AzureResource,
    AzureRoleDefinition,
    ServiceRef,
)
from permscope.core.ids import Cloud
from permscope.presentation.inventory import (
    AZURE_IDENTITY_KINDS,
    azure_identity_to_wire,
    azure_role_definition_to_wire,
    cloud_action_to_wire,
    cloud_resource_to_wire,
    service_to_wire,
)
from permscope.store import queries
from permscope.store.collections import (
    AWS_ACTIONS,
    AWS_RESOURCES,
    AZURE_IDENTITIES,
    AZURE_ROLE_DEFINITIONS,
    SERVICES,
)
from permscope.store.homes import view_of_row

AZURE = Cloud.AZURE.value
CAST = "microsoft.graph.azureAuthorizationSystem"
IDENTITY_SETS: dict[str, tuple[str, ...]] = {
    "all": AZURE_IDENTITY_KINDS,
    "users": ("user",),
    "servicePrincipals": ("servicePrincipal",),
    "managedIdentities": ("managedIdentity",),
}

router = APIRouter(tags=["azure"], responses=ERROR_RESPONSES, route_class=GraphRoute)


azure_system = system_dependency(
    Cloud.AZURE,
    "The subscription named in the path (404 when unknown, not Azure, or outside the key's inventory).",
)


_context = cast_context(CAST)


def _lower(key: str) -> str:
    return key.strip().lower()


IdentityRoutes(
    router,
    azure_system,
    _context,
    Cloud.AZURE,
    IDENTITY_SETS,
    AZURE_IDENTITIES,
    AzureIdentity,
    lambda row, system, **usage: azure_identity_to_wire(row, system.system_id, **usage),
    list_doc="The subscription's identities ({collection}); $filter on externalId, displayName.",
    get_doc="One identity of associatedIdentities/{collection} by id (base64 of its externalId) or by "
    "`(externalId='...')` (an Entra object id).",
    effective_doc=(
        "permscope extension (not in the Graph contract): what the identity can effectively do after Azure "
        "RBAC (its and its groups' role assignments at every scope reaching the subscription, conditions, "
        "deny assignments), by resource provider, each action with the assignments behind the verdict. "
        "`services` keeps only the given resource providers (comma-separated)."
    ),
    effective_sets=tuple(name for name in IDENTITY_SETS if name != "all"),
    id_param="item_id",
    normalize=_lower,
).register()


# ---------------------------------------------------------------------------------------------- other collections


def _register(tail: str, *args: Any, addressed: bool = True) -> None:
    """Register the list, `/{id}` and `(externalId=...)` routes of one collection (`collection_routes`); Azure
    ids have no case, so an addressed collection's finder gets its key lower-case."""
    collection, stmt, find, serialize, model, what = args
    if addressed:
        lowered = find
        find = lambda session, system, key: lowered(session, system, _lower(key))  # noqa: E731
    register_collection(
        router, azure_system, _context, "azure", tail, collection, stmt, find, serialize, model, what,
        opaque_ids=addressed, alternate=addressed,
    )  # fmt: skip


_register(
    "roleDefinitions",
    AZURE_ROLE_DEFINITIONS,
    lambda s: queries.role_definitions(view_of_row(s)),
    lambda session, s, key: queries.find_role_definition(session, view_of_row(s), key),
    azure_role_definition_to_wire,
    AzureRoleDefinition,
    "role definition",
)
_register(
    "actions",
    AWS_ACTIONS,
    lambda s: queries.actions(AZURE),
    lambda session, s, key: queries.find_action_any_case(session, AZURE, key),
    lambda row: cloud_action_to_wire(row, AZURE),
    AzureAction,
    "action",
)
_register(
    "services",
    SERVICES,
    lambda s: queries.services(AZURE),
    lambda session, s, key: queries.find_service(session, AZURE, key),
    service_to_wire,
    ServiceRef,
    "service",
    addressed=False,
)
_register(
    "resources",
    AWS_RESOURCES,
    lambda s: queries.resources(s.id),
    lambda session, s, key: queries.find_resource(session, s.id, key),
    lambda row: cloud_resource_to_wire(row, AZURE),
    AzureResource,
    "resource",
)
