"""GCP inventory under `AS/{id}/microsoft.graph.gcpAuthorizationSystem`: associatedIdentities (all, users,
serviceAccounts), actions, resources, roles, services. A key reads the inventory of the projects where it is
viewer, approver or administrator (`workflows.access.inventory_systems`); another project answers 404."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from permscope.api.routes.collection_routes import register_collection
from permscope.api.routes.identity_routes import IdentityRoutes, cast_context, system_dependency
from permscope.api.routing import GraphRoute
from permscope.api.schemas import (
    ERROR_RESPONSES,
    GcpAction,
    GcpIdentity,
    GcpResource,
    GcpRole,
    ServiceRef,
)
from permscope.core.ids import Cloud
from permscope.presentation.inventory import (
    GCP_IDENTITY_KINDS,
    cloud_action_to_wire,
    cloud_resource_to_wire,
    gcp_identity_to_wire,
    gcp_role_to_wire,
    service_to_wire,
)
from permscope.store import queries
from permscope.store.collections import AWS_ACTIONS, AWS_RESOURCES, GCP_IDENTITIES, GCP_ROLES, SERVICES
from permscope.store.homes import view_of_row

GCP = Cloud.GCP.value
CAST = "microsoft.graph.gcpAuthorizationSystem"
IDENTITY_SETS: dict[str, tuple[str, ...]] = {
    "all": GCP_IDENTITY_KINDS,
    "users": ("user",),
    "serviceAccounts": ("serviceAccount",),
}

router = APIRouter(tags=["gcp"], responses=ERROR_RESPONSES, route_class=GraphRoute)


gcp_system = system_dependency(
    Cloud.GCP, "The GCP project named in the path (404 when unknown, not GCP, or not readable by the key)."
)


_context = cast_context(CAST)


IdentityRoutes(
    router,
    gcp_system,
    _context,
    Cloud.GCP,
    IDENTITY_SETS,
    GCP_IDENTITIES,
    GcpIdentity,
    lambda row, system, **usage: gcp_identity_to_wire(row, **usage),
    list_doc="The project's identities ({collection}); $filter on externalId, displayName.",
    get_doc="One identity of associatedIdentities/{collection} by id (base64 of its externalId) or by "
    "`(externalId='user:...')`.",
).register()


def _register(tail: str, *args: Any, **options: Any) -> None:
    """Register the list, `/{id}` and `(externalId=...)` routes of one GCP collection."""
    register_collection(router, gcp_system, _context, GCP, tail, *args, **options)


_register(
    "roles",
    GCP_ROLES,
    lambda s: queries.roles(view_of_row(s)),
    lambda session, s, key: queries.find_role(session, view_of_row(s), key),
    gcp_role_to_wire,
    GcpRole,
    "role",
)
_register(
    "actions",
    AWS_ACTIONS,
    lambda s: queries.actions(GCP),
    lambda session, s, key: queries.find_action(session, GCP, key),
    lambda row: cloud_action_to_wire(row, GCP),
    GcpAction,
    "action",
)
_register(
    "services",
    SERVICES,
    lambda s: queries.services(GCP),
    lambda session, s, key: queries.find_service(session, GCP, key),
    service_to_wire,
    ServiceRef,
    "service",
    opaque_ids=False,
    alternate=False,
)
_register(
    "resources",
    AWS_RESOURCES,
    lambda s: queries.resources(s.id),
    lambda session, s, key: queries.find_resource(session, s.id, key),
    lambda row: cloud_resource_to_wire(row, GCP),
    GcpResource,
    "resource",
)
