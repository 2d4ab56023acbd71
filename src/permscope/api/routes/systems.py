"""Authorization systems: the list, the per-cloud type-cast lists, one system by id (base64 or raw). A key sees
the systems where it holds a role (`workflows.access.listed_systems`); another one answers 404 as a missing one."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session

from permscope.api.deps import authenticate, get_session, get_settings
from permscope.api.errors import GraphJSONResponse
from permscope.api.paging import entity_response, list_response
from permscope.api.schemas import ERROR_RESPONSES, AuthorizationSystem, CollectionPage
from permscope.core.access import Systems
from permscope.core.ids import Cloud
from permscope.presentation.inventory import system_to_wire
from permscope.settings import Settings
from permscope.store import systems as system_store
from permscope.store.collections import SYSTEMS
from permscope.store.tables import AuthorizationSystemRow
from permscope.workflows.access import listed_systems
from permscope.workflows.apikeys import ApiPrincipal

AS = "/external/authorizationSystems"
CAST_PREFIXES = ("microsoft.graph.", "graph.")  # the docs use both spellings of the namespace

router = APIRouter(tags=["authorizationSystems"], responses=ERROR_RESPONSES)


def find_system(
    session: Session, system_id: str, cloud: Cloud | None = None, within: Systems | None = None
) -> AuthorizationSystemRow:
    """The system named by its base64 id or its raw authorizationSystemId (NotFoundError: 404 itemNotFound,
    also for one outside `within`; an id in several clouds without a cast: AmbiguousSystemError, 400)."""
    return system_store.get_system(session, system_id, cloud.value if cloud else None, within)


def visible_systems(
    principal: ApiPrincipal = Depends(authenticate), settings: Settings = Depends(get_settings)
) -> Systems:
    """A dependency: the systems the caller sees listed and by id."""
    return listed_systems(principal, settings.inventory_open_to_all_keys)


def system_context(row: AuthorizationSystemRow) -> str:
    """`@odata.context` fragment of a system's navigation (its key is the encoded id)."""
    return f"external/authorizationSystems('{system_to_wire(row)['id']}')"


@router.get(AS, response_model=CollectionPage[AuthorizationSystem], summary="List authorization systems")
def list_systems(
    request: Request,
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
    within: Systems = Depends(visible_systems),
) -> GraphJSONResponse:
    """Every onboarded AWS account, Azure subscription and GCP project (`@odata.type` names the subtype).

    Supports $filter, $orderby, $select, $top, $skip, $count and server paging ($skiptoken).
    """
    return list_response(
        request,
        session,
        SYSTEMS,
        system_store.systems(within=within),
        context="external/authorizationSystems",
        serialize=system_to_wire,
        page_size=settings.page_size,
        max_page_size=settings.max_page_size,
    )


def _cast_list(cloud: Cloud) -> Callable[..., GraphJSONResponse]:
    def handler(
        request: Request,
        session: Session = Depends(get_session),
        settings: Settings = Depends(get_settings),
        within: Systems = Depends(visible_systems),
    ) -> GraphJSONResponse:
        return list_response(
            request,
            session,
            SYSTEMS,
            system_store.systems(cloud.value, within),
            context=f"external/authorizationSystems/microsoft.graph.{cloud.value}AuthorizationSystem",
            serialize=system_to_wire,
            page_size=settings.page_size,
            max_page_size=settings.max_page_size,
        )

    handler.__doc__ = f"The {cloud.value} authorization systems only (same query options as the list)."
    return handler


def _cast_entity(cloud: Cloud) -> Callable[..., GraphJSONResponse]:
    def handler(
        system_id: str,
        request: Request,
        session: Session = Depends(get_session),
        within: Systems = Depends(visible_systems),
    ) -> GraphJSONResponse:
        row = find_system(session, system_id, cloud, within)
        context = f"external/authorizationSystems/microsoft.graph.{cloud.value}AuthorizationSystem/$entity"
        return entity_response(request, system_to_wire(row), context=context, selectable=SYSTEMS.selectable)

    handler.__doc__ = f"One {cloud.value} authorization system, addressed with a type cast."
    return handler


# The type-cast lists are registered before `{system_id}`, which would otherwise match them.
for _cloud in Cloud:
    for _prefix in CAST_PREFIXES:
        router.add_api_route(
            f"{AS}/{_prefix}{_cloud.value}AuthorizationSystem",
            _cast_list(_cloud),
            methods=["GET"],
            response_model=CollectionPage[AuthorizationSystem],
            summary=f"List {_cloud.value} authorization systems",
            include_in_schema=_prefix == CAST_PREFIXES[0],
            name=f"list_{_cloud.value}_systems_{_prefix.rstrip('.').replace('.', '_')}",
        )


@router.get(AS + "/{system_id}", response_model=AuthorizationSystem, summary="Get an authorization system")
def get_system(
    system_id: str,
    request: Request,
    session: Session = Depends(get_session),
    within: Systems = Depends(visible_systems),
) -> GraphJSONResponse:
    """One system by its id (base64 of the authorizationSystemId) or by the raw authorizationSystemId."""
    row = find_system(session, system_id, within=within)
    return entity_response(
        request,
        system_to_wire(row),
        context="external/authorizationSystems/$entity",
        selectable=SYSTEMS.selectable,
    )


for _cloud in Cloud:
    for _prefix in CAST_PREFIXES:
        router.add_api_route(
            AS + "/{system_id}/" + f"{_prefix}{_cloud.value}AuthorizationSystem",
            _cast_entity(_cloud),
            methods=["GET"],
            response_model=AuthorizationSystem,
            summary=f"Get an authorization system as {_cloud.value}AuthorizationSystem",
            include_in_schema=_prefix == CAST_PREFIXES[0],
            name=f"get_{_cloud.value}_system_{_prefix.rstrip('.').replace('.', '_')}",
        )
