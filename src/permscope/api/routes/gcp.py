"""GCP inventory under `AS/{id}/microsoft.graph.gcpAuthorizationSystem`: associatedIdentities (all, users,
serviceAccounts), actions, resources, roles, services. A key reads the inventory of the projects where it is
viewer, approver or administrator (`workflows.access.inventory_systems`); another project answers 404."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session

from permscope.api.deps import authenticate, get_session, get_settings
from permscope.api.errors import GraphJSONResponse, not_found
from permscope.api.paging import entity_response, list_response
from permscope.api.routes.collection_routes import alternate_key, opaque_key, register_collection
from permscope.api.routes.systems import find_system, system_context
from permscope.api.routing import GraphRoute
from permscope.api.schemas import (
    ERROR_RESPONSES,
    CollectionPage,
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
from permscope.settings import Settings
from permscope.store import queries
from permscope.store.collections import AWS_ACTIONS, AWS_RESOURCES, GCP_IDENTITIES, GCP_ROLES, SERVICES
from permscope.store.summaries import ActionSummaries, action_summaries
from permscope.store.tables import AuthorizationSystemRow
from permscope.workflows.access import inventory_systems
from permscope.workflows.apikeys import ApiPrincipal

GCP = Cloud.GCP.value
CAST = "microsoft.graph.gcpAuthorizationSystem"
IDENTITY_SETS: dict[str, tuple[str, ...]] = {
    "all": GCP_IDENTITY_KINDS,
    "users": ("user",),
    "serviceAccounts": ("serviceAccount",),
}

router = APIRouter(tags=["gcp"], responses=ERROR_RESPONSES, route_class=GraphRoute)


def gcp_system(
    system_id: str,
    session: Session = Depends(get_session),
    principal: ApiPrincipal = Depends(authenticate),
    settings: Settings = Depends(get_settings),
) -> AuthorizationSystemRow:
    """The GCP project named in the path (404 when unknown, not GCP, or not readable by the key)."""
    within = inventory_systems(principal, settings.inventory_open_to_all_keys)
    return find_system(session, system_id, Cloud.GCP, within)


def _context(system: AuthorizationSystemRow, tail: str) -> str:
    return f"{system_context(system)}/{CAST}/{tail}"


class _IdentityWire:
    """Serializes GCP identities, with the usage extension when `$select` names it."""

    def __init__(
        self, request: Request, session: Session, system: AuthorizationSystemRow, settings: Settings
    ) -> None:
        self.session, self.system = session, system
        selected: set[str] = set()
        for key, value in request.query_params.multi_items():
            if key.lower() == "$select":
                selected.update(name.strip() for name in value.split(","))
        self.details = "identityDetails" in selected
        self.summary = "actionSummary" in selected
        self.until = settings.usage_as_of
        if self.until is not None and self.until.tzinfo is None:
            self.until = self.until.replace(tzinfo=UTC)
        self.since = (self.until or datetime.now(UTC)) - timedelta(days=settings.usage_window_days)
        self.summaries = ActionSummaries({}, {}, None)

    def prepare(self, rows: Sequence[Any]) -> None:
        """Load the page's action summaries when selected."""
        if self.summary:
            ids = [row.external_id for row in rows]
            self.summaries = action_summaries(self.session, self.system.id, GCP, ids, self.since, self.until)

    def __call__(self, row: Any) -> dict[str, Any]:
        return gcp_identity_to_wire(
            row,
            details=self.details,
            exercised=self.summaries.exercised.get(row.external_id, 0) if self.summary else None,
            assigned=self.summaries.assigned.get(row.external_id),
            available=self.summaries.available,
        )


def _identity_list(collection: str, kinds: Sequence[str]) -> Callable[..., GraphJSONResponse]:
    def handler(
        request: Request,
        system: AuthorizationSystemRow = Depends(gcp_system),
        session: Session = Depends(get_session),
        settings: Settings = Depends(get_settings),
    ) -> GraphJSONResponse:
        wire = _IdentityWire(request, session, system, settings)
        return list_response(
            request,
            session,
            GCP_IDENTITIES,
            queries.identities(system.id, kinds),
            context=_context(system, f"associatedIdentities/{collection}"),
            serialize=wire,
            page_size=settings.page_size,
            max_page_size=settings.max_page_size,
            prepare=wire.prepare,
        )

    handler.__doc__ = f"The project's identities ({collection}); $filter on externalId, displayName."
    return handler


def _identity_get(collection: str, *, opaque: bool) -> Callable[..., GraphJSONResponse]:
    def respond(
        request: Request,
        session: Session,
        system: AuthorizationSystemRow,
        external_id: str,
        settings: Settings,
    ) -> GraphJSONResponse:
        row = queries.find_identity(session, system.id, IDENTITY_SETS[collection], external_id)
        if row is None:
            raise not_found(f"identity {external_id!r} not found in associatedIdentities/{collection}")
        wire = _IdentityWire(request, session, system, settings)
        wire.prepare([row])
        return entity_response(
            request,
            wire(row),
            context=_context(system, f"associatedIdentities/{collection}/$entity"),
            selectable=GCP_IDENTITIES.selectable,
        )

    if opaque:

        def by_id(
            identity_id: str,
            request: Request,
            system: AuthorizationSystemRow = Depends(gcp_system),
            session: Session = Depends(get_session),
            settings: Settings = Depends(get_settings),
        ) -> GraphJSONResponse:
            return respond(request, session, system, opaque_key(identity_id, "identity"), settings)

        by_id.__doc__ = f"One identity of associatedIdentities/{collection} by id (base64 of its externalId)."
        return by_id

    def by_key(
        key: str,
        request: Request,
        system: AuthorizationSystemRow = Depends(gcp_system),
        session: Session = Depends(get_session),
        settings: Settings = Depends(get_settings),
    ) -> GraphJSONResponse:
        return respond(request, session, system, alternate_key(key), settings)

    by_key.__doc__ = f"One identity of associatedIdentities/{collection} by `(externalId='user:...')`."
    return by_key


for _name, _kinds in IDENTITY_SETS.items():
    _base = f"/associatedIdentities/{_name}"
    router.add_api_route(
        _base,
        _identity_list(_name, _kinds),
        methods=["GET"],
        response_model=CollectionPage[GcpIdentity],
        name=f"list_gcp_{_name}",
        summary=f"List associatedIdentities/{_name}",
    )
    router.add_api_route(
        _base + "(externalId={key:path})",
        _identity_get(_name, opaque=False),
        methods=["GET"],
        response_model=GcpIdentity,
        name=f"get_gcp_{_name}_by_external_id",
        summary=f"Get one of associatedIdentities/{_name}, by externalId",
    )
    router.add_api_route(
        _base + "/{identity_id}",
        _identity_get(_name, opaque=True),
        methods=["GET"],
        response_model=GcpIdentity,
        name=f"get_gcp_{_name}",
        summary=f"Get one of associatedIdentities/{_name}",
    )


def _register(tail: str, *args: Any, **options: Any) -> None:
    """Register the list, `/{id}` and `(externalId=...)` routes of one GCP collection."""
    register_collection(router, gcp_system, _context, GCP, tail, *args, **options)


_register(
    "roles",
    GCP_ROLES,
    lambda s: queries.roles(s.id),
    lambda session, s, key: queries.find_role(session, s.id, key),
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
