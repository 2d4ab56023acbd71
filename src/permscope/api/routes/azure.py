"""Azure inventory under `AS/{id}/microsoft.graph.azureAuthorizationSystem`: identities (all, users, service
principals, managed identities), role definitions, actions, services, resources, effective permissions. A key
reads the inventory of the subscriptions where it is viewer, approver or administrator; another one answers 404
as a missing one. Entra object ids, role GUIDs and ARM ids are matched in lower case (Azure compares them so)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from permscope.api.deps import authenticate, get_engine, get_session, get_settings
from permscope.api.effective_schemas import EffectivePermissionsModel
from permscope.api.errors import GraphJSONResponse, not_found
from permscope.api.paging import entity_response, list_response
from permscope.api.responses import through
from permscope.api.routes.aws import IdentityWire
from permscope.api.routes.collection_routes import alternate_key, opaque_key, register_collection
from permscope.api.routes.systems import find_system, system_context
from permscope.api.routing import GraphRoute
from permscope.api.schemas import (
    ERROR_RESPONSES,
    AzureAction,
    AzureIdentity,
    AzureResource,
    AzureRoleDefinition,
    CollectionPage,
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
from permscope.settings import Settings
from permscope.store import queries
from permscope.store.collections import (
    AWS_ACTIONS,
    AWS_RESOURCES,
    AZURE_IDENTITIES,
    AZURE_ROLE_DEFINITIONS,
    SERVICES,
)
from permscope.store.summaries import action_summaries
from permscope.store.tables import AuthorizationSystemRow
from permscope.workflows import explanation
from permscope.workflows.access import inventory_systems
from permscope.workflows.apikeys import ApiPrincipal

AZURE = Cloud.AZURE.value
CAST = "microsoft.graph.azureAuthorizationSystem"
IDENTITY_SETS: dict[str, tuple[str, ...]] = {
    "all": AZURE_IDENTITY_KINDS,
    "users": ("user",),
    "servicePrincipals": ("servicePrincipal",),
    "managedIdentities": ("managedIdentity",),
}

router = APIRouter(tags=["azure"], responses=ERROR_RESPONSES, route_class=GraphRoute)


def azure_system(
    system_id: str,
    session: Session = Depends(get_session),
    principal: ApiPrincipal = Depends(authenticate),
    settings: Settings = Depends(get_settings),
) -> AuthorizationSystemRow:
    """The subscription named in the path (404 when unknown, not Azure, or outside the key's inventory)."""
    within = inventory_systems(principal, settings.inventory_open_to_all_keys)
    return find_system(session, system_id, Cloud.AZURE, within)


def _context(system: AuthorizationSystemRow, tail: str) -> str:
    return f"{system_context(system)}/{CAST}/{tail}"


class AzureIdentityWire(IdentityWire):
    """Azure identities on the wire, with the usage extension when `$select` names it."""

    def prepare(self, rows: Sequence[Any]) -> None:
        """Load the page's action summaries (when selected)."""
        if self.summary:
            ids = [row.external_id for row in rows]
            self.summaries = action_summaries(
                self.session, self.system.id, AZURE, ids, self.since, self.until
            )

    def __call__(self, row: Any) -> dict[str, Any]:
        """One identity on the wire."""
        return azure_identity_to_wire(
            row,
            self.system.system_id,
            details=self.details,
            exercised=self.summaries.exercised.get(row.external_id, 0) if self.summary else None,
            assigned=self.summaries.assigned.get(row.external_id),
            available=self.summaries.available,
        )


def _lower(key: str) -> str:
    return key.strip().lower()


def _addressed(
    base: str, tail: str, handler_for: Callable[[Callable[[str], str]], Callable[..., Any]], **route: Any
) -> None:
    """Register `{base}(externalId=...){tail}` and `{base}/{item_id}{tail}`."""
    name, summary, model = route["name"], route["summary"], route["response_model"]

    def by_key(key: str) -> str:
        return _lower(alternate_key(key))

    def by_id(item_id: str) -> str:
        return _lower(opaque_key(item_id, route.get("what", "item")))

    router.add_api_route(
        base + "(externalId={key:path})" + tail,
        handler_for(by_key),
        methods=["GET"],
        response_model=model,
        name=f"{name}_by_external_id",
        summary=f"{summary}, by externalId",
    )
    router.add_api_route(
        base + "/{item_id}" + tail,
        handler_for(by_id),
        methods=["GET"],
        response_model=model,
        name=name,
        summary=summary,
    )


# ---------------------------------------------------------------------------------------------- identities


def _identity_list(collection: str, kinds: Sequence[str]) -> Callable[..., GraphJSONResponse]:
    def handler(
        request: Request,
        system: AuthorizationSystemRow = Depends(azure_system),
        session: Session = Depends(get_session),
        settings: Settings = Depends(get_settings),
    ) -> GraphJSONResponse:
        wire = AzureIdentityWire(request, session, system, settings)
        return list_response(
            request,
            session,
            AZURE_IDENTITIES,
            queries.identities(system.id, kinds),
            context=_context(system, f"associatedIdentities/{collection}"),
            serialize=wire,
            page_size=settings.page_size,
            max_page_size=settings.max_page_size,
            prepare=wire.prepare,
        )

    handler.__doc__ = f"The subscription's identities ({collection}); $filter on externalId, displayName."
    return handler


def _identity_get(collection: str) -> Callable[[Callable[[str], str]], Callable[..., GraphJSONResponse]]:
    def handler_for(address: Callable[[str], str]) -> Callable[..., GraphJSONResponse]:
        def handler(
            request: Request,
            system: AuthorizationSystemRow = Depends(azure_system),
            external_id: str = Depends(address),
            session: Session = Depends(get_session),
            settings: Settings = Depends(get_settings),
        ) -> GraphJSONResponse:
            row = queries.find_identity(session, system.id, IDENTITY_SETS[collection], external_id)
            if row is None:
                raise not_found(f"identity {external_id!r} not found in associatedIdentities/{collection}")
            wire = AzureIdentityWire(request, session, system, settings)
            wire.prepare([row])
            return entity_response(
                request,
                wire(row),
                context=_context(system, f"associatedIdentities/{collection}/$entity"),
                selectable=AZURE_IDENTITIES.selectable,
            )

        handler.__doc__ = (
            f"One identity of associatedIdentities/{collection} by id (base64 of its externalId) or by "
            "`(externalId='...')` (an Entra object id)."
        )
        return handler

    return handler_for


def _effective_get(collection: str) -> Callable[[Callable[[str], str]], Callable[..., GraphJSONResponse]]:
    def handler_for(address: Callable[[str], str]) -> Callable[..., GraphJSONResponse]:
        def handler(
            services: str | None = None,
            system: AuthorizationSystemRow = Depends(azure_system),
            external_id: str = Depends(address),
            session: Session = Depends(get_session),
            engine: Engine = Depends(get_engine),
        ) -> GraphJSONResponse:
            row = queries.find_identity(session, system.id, IDENTITY_SETS[collection], external_id)
            if row is None:
                raise not_found(f"identity {external_id!r} not found in associatedIdentities/{collection}")
            prefixes = [name.strip() for name in services.split(",") if name.strip()] if services else None
            found = explanation.identity_permissions(
                engine, system.system_id, row.external_id, services=prefixes, cloud=Cloud.AZURE
            )
            body = {
                "@odata.context": _context(system, f"associatedIdentities/{collection}/effectivePermissions")
            }
            body.update(found.to_dict())
            return GraphJSONResponse(through(EffectivePermissionsModel, body))

        handler.__doc__ = (
            "permscope extension (not in the Graph contract): what the identity can effectively do after Azure "
            "RBAC (its and its groups' role assignments at every scope reaching the subscription, conditions, "
            "deny assignments), by resource provider, each action with the assignments behind the verdict. "
            "`services` keeps only the given resource providers (comma-separated)."
        )
        return handler

    return handler_for


for _name, _kinds in IDENTITY_SETS.items():
    _base = f"/associatedIdentities/{_name}"
    router.add_api_route(
        _base,
        _identity_list(_name, _kinds),
        methods=["GET"],
        response_model=CollectionPage[AzureIdentity],
        name=f"list_azure_{_name}",
        summary=f"List associatedIdentities/{_name}",
    )
    _addressed(
        _base,
        "",
        _identity_get(_name),
        what="identity",
        response_model=AzureIdentity,
        name=f"get_azure_{_name}",
        summary=f"Get one of associatedIdentities/{_name}",
    )
    if _name != "all":
        _addressed(
            _base,
            "/effectivePermissions",
            _effective_get(_name),
            what="identity",
            response_model=EffectivePermissionsModel,
            name=f"effective_permissions_azure_{_name}",
            summary=f"Effective permissions of one of associatedIdentities/{_name} (extension)",
        )


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
    lambda s: queries.role_definitions(s.id),
    lambda session, s, key: queries.find_role_definition(session, s.id, key),
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
