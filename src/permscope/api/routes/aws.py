"""AWS inventory under `AS/{id}/microsoft.graph.awsAuthorizationSystem`: identities, policies, actions, services,
resources, effective permissions. A key reads the inventory of the accounts where it is viewer, approver or
administrator (`workflows.access.inventory_systems`); another account answers 404 as a missing one."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from permscope.api.access_schemas import WhoCanModel
from permscope.api.deps import authenticate, get_engine, get_session, get_settings
from permscope.api.effective_schemas import EffectivePermissionsModel
from permscope.api.errors import GraphJSONResponse, invalid_request, not_found
from permscope.api.paging import entity_response, list_response
from permscope.api.responses import through
from permscope.api.routes.collection_routes import alternate_key, opaque_key, register_collection
from permscope.api.routes.systems import find_system, system_context
from permscope.api.routing import GraphRoute
from permscope.api.schemas import (
    ERROR_RESPONSES,
    AwsAction,
    AwsIdentity,
    AwsPolicy,
    AwsResource,
    CollectionPage,
    ServiceRef,
)
from permscope.core.ids import Cloud
from permscope.presentation.access import who_can_to_wire
from permscope.presentation.inventory import (
    AWS_IDENTITY_KINDS,
    aws_action_to_wire,
    aws_identity_to_wire,
    aws_policy_to_wire,
    aws_resource_to_wire,
    service_to_wire,
)
from permscope.settings import Settings
from permscope.store import queries
from permscope.store.collections import AWS_ACTIONS, AWS_IDENTITIES, AWS_POLICIES, AWS_RESOURCES, SERVICES
from permscope.store.summaries import ActionSummaries, action_summaries
from permscope.store.tables import AuthorizationSystemRow
from permscope.workflows import explanation, identities, who_can
from permscope.workflows.access import inventory_systems
from permscope.workflows.apikeys import ApiPrincipal

AWS = Cloud.AWS.value
CAST = "microsoft.graph.awsAuthorizationSystem"
IDENTITY_SETS: dict[str, tuple[str, ...]] = {
    "all": AWS_IDENTITY_KINDS,
    "users": ("user",),
    "roles": ("role",),
}

router = APIRouter(tags=["aws"], responses=ERROR_RESPONSES, route_class=GraphRoute)


def aws_system(
    system_id: str,
    session: Session = Depends(get_session),
    principal: ApiPrincipal = Depends(authenticate),
    settings: Settings = Depends(get_settings),
) -> AuthorizationSystemRow:
    """The AWS account named in the path (404 when unknown, not AWS, or not one whose inventory the key reads)."""
    within = inventory_systems(principal, settings.inventory_open_to_all_keys)
    return find_system(session, system_id, Cloud.AWS, within)


def _context(system: AuthorizationSystemRow, tail: str) -> str:
    return f"{system_context(system)}/{CAST}/{tail}"


class IdentityWire:
    """Serializes identities, with the usage extension when `$select` names it (`prepare` loads a page's
    exercised counts in one query)."""

    def __init__(
        self, request: Request, session: Session, system: AuthorizationSystemRow, settings: Settings
    ) -> None:
        self.session = session
        self.system = system
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
        """Load the page's action summaries (when selected): actions used in the usage window, granted, existing."""
        if self.summary:
            ids = [row.external_id for row in rows]
            self.summaries = action_summaries(self.session, self.system.id, AWS, ids, self.since, self.until)

    def __call__(self, row: Any) -> dict[str, Any]:
        """One identity on the wire."""
        return aws_identity_to_wire(
            row,
            self.system.system_id,
            details=self.details,
            exercised=self.summaries.exercised.get(row.external_id, 0) if self.summary else None,
            assigned=self.summaries.assigned.get(row.external_id),
            available=self.summaries.available,
        )


# ---------------------------------------------------------------------------------------------- identities


def _identity_list(collection: str, kinds: Sequence[str]) -> Callable[..., GraphJSONResponse]:
    def handler(
        request: Request,
        system: AuthorizationSystemRow = Depends(aws_system),
        session: Session = Depends(get_session),
        settings: Settings = Depends(get_settings),
    ) -> GraphJSONResponse:
        wire = IdentityWire(request, session, system, settings)
        return list_response(
            request,
            session,
            AWS_IDENTITIES,
            queries.identities(system.id, kinds),
            context=_context(system, f"associatedIdentities/{collection}"),
            serialize=wire,
            page_size=settings.page_size,
            max_page_size=settings.max_page_size,
            prepare=wire.prepare,
        )

    handler.__doc__ = (
        f"The account's identities ({collection}); $filter on externalId, displayName, roleType."
    )
    return handler


def _identity_response(
    request: Request,
    session: Session,
    system: AuthorizationSystemRow,
    collection: str,
    external_id: str,
    settings: Settings,
) -> GraphJSONResponse:
    row = queries.find_identity(session, system.id, IDENTITY_SETS[collection], external_id)
    if row is None:
        raise not_found(f"identity {external_id!r} not found in associatedIdentities/{collection}")
    wire = IdentityWire(request, session, system, settings)
    wire.prepare([row])
    return entity_response(
        request,
        wire(row),
        context=_context(system, f"associatedIdentities/{collection}/$entity"),
        selectable=AWS_IDENTITIES.selectable,
    )


def _opaque_external_id(what: str) -> Callable[[str], str]:
    """A dependency reading the externalId inside the path's `{identity_id}` (404 naming `what` when not one)."""

    def external_id(identity_id: str) -> str:
        return opaque_key(identity_id, what)

    return external_id


def _alternate_external_id(key: str) -> str:
    """A dependency reading the externalId of the path's `(externalId='...')` key."""
    return alternate_key(key)


def _identity_get(collection: str, address: Callable[..., str]) -> Callable[..., GraphJSONResponse]:
    def handler(
        request: Request,
        system: AuthorizationSystemRow = Depends(aws_system),
        external_id: str = Depends(address),
        session: Session = Depends(get_session),
        settings: Settings = Depends(get_settings),
    ) -> GraphJSONResponse:
        return _identity_response(request, session, system, collection, external_id, settings)

    handler.__doc__ = (
        f"One identity of associatedIdentities/{collection} by id (base64 of its externalId) "
        "or by `(externalId='...')` (e.g. an ARN)."
    )
    return handler


def _add_addressed_routes(
    base: str,
    tail: str,
    handler_for: Callable[[Callable[..., str]], Callable[..., GraphJSONResponse]],
    *,
    what: str,
    response_model: Any,
    name: str,
    summary: str,
) -> None:
    """Register `{base}(externalId=...){tail}` and `{base}/{identity_id}{tail}`, one handler each."""
    router.add_api_route(
        base + "(externalId={key:path})" + tail,
        handler_for(_alternate_external_id),
        methods=["GET"],
        response_model=response_model,
        name=f"{name}_by_external_id",
        summary=f"{summary}, by externalId",
    )
    router.add_api_route(
        base + "/{identity_id}" + tail,
        handler_for(_opaque_external_id(what)),
        methods=["GET"],
        response_model=response_model,
        name=name,
        summary=summary,
    )


def _assumable_roles(
    user_external_id: str,
    request: Request,
    system: AuthorizationSystemRow,
    session: Session,
    engine: Engine,
    settings: Settings,
) -> GraphJSONResponse:
    user = queries.find_identity(session, system.id, ("user",), user_external_id)
    if user is None:
        raise not_found(f"user {user_external_id!r} not found")
    role_ids = identities.assumable_roles(engine, system.system_id, user.external_id)
    wire = IdentityWire(request, session, system, settings)
    return list_response(
        request,
        session,
        AWS_IDENTITIES,
        queries.identities_by_external_id(system.id, ("role",), role_ids),
        context=_context(system, "associatedIdentities/users/assumableRoles"),
        serialize=wire,
        page_size=settings.page_size,
        max_page_size=settings.max_page_size,
        prepare=wire.prepare,
    )


def _assumable_roles_get(address: Callable[..., str]) -> Callable[..., GraphJSONResponse]:
    def handler(
        request: Request,
        system: AuthorizationSystemRow = Depends(aws_system),
        external_id: str = Depends(address),
        session: Session = Depends(get_session),
        engine: Engine = Depends(get_engine),
        settings: Settings = Depends(get_settings),
    ) -> GraphJSONResponse:
        """The roles (awsRole) a user may assume: the role trusts the user and the user may call
        sts:AssumeRole. The user is addressed by id (base64 of its externalId) or `(externalId='...')`."""
        return _assumable_roles(external_id, request, system, session, engine, settings)

    return handler


_add_addressed_routes(
    "/associatedIdentities/users",
    "/assumableRoles",
    _assumable_roles_get,
    what="user",
    response_model=CollectionPage[AwsIdentity],
    name="assumable_roles",
    summary="Roles a user of associatedIdentities/users may assume",
)


for _name, _kinds in IDENTITY_SETS.items():
    _base = f"/associatedIdentities/{_name}"
    router.add_api_route(
        _base,
        _identity_list(_name, _kinds),
        methods=["GET"],
        response_model=CollectionPage[AwsIdentity],
        name=f"list_aws_{_name}",
        summary=f"List associatedIdentities/{_name}",
    )
    _add_addressed_routes(
        _base,
        "",
        partial(_identity_get, _name),
        what="identity",
        response_model=AwsIdentity,
        name=f"get_aws_{_name}",
        summary=f"Get one of associatedIdentities/{_name}",
    )


# ---------------------------------------------------------------------------------------------- other collections


def _register(tail: str, *args: Any, **options: Any) -> None:
    """Register the list, `/{id}` and `(externalId=...)` routes of one AWS collection."""
    register_collection(router, aws_system, _context, AWS, tail, *args, **options)


_register(
    "policies",
    AWS_POLICIES,
    lambda s: queries.managed_policies(s.id),
    lambda session, s, key: queries.find_managed_policy(session, s.id, key),
    aws_policy_to_wire,
    AwsPolicy,
    "policy",
)
_register(
    "actions",
    AWS_ACTIONS,
    lambda s: queries.actions(AWS),
    lambda session, s, key: queries.find_action(session, AWS, key),
    aws_action_to_wire,
    AwsAction,
    "action",
)
_register(
    "services",
    SERVICES,
    lambda s: queries.services(AWS),
    lambda session, s, key: queries.find_service(session, AWS, key),
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
    aws_resource_to_wire,
    AwsResource,
    "resource",
)


# ------------------------------------------------------------------------------- effectivePermissions (extension)

EFFECTIVE_DESCRIPTION = (
    "permscope extension (not in the Graph contract): what the identity can effectively do after every policy "
    "type AWS applies (its and its groups' policies, permission boundary, SCPs when the organization is known, "
    "explicit denies), by service, each action with its access level, resource scope, condition keys and the "
    "statements behind the verdict. `services` keeps only the given service prefixes (comma-separated)."
)


def _effective_permissions(
    engine: Engine,
    session: Session,
    system: AuthorizationSystemRow,
    collection: str,
    key: str,
    services: str | None,
) -> GraphJSONResponse:
    row = queries.find_identity(session, system.id, IDENTITY_SETS[collection], key)
    if row is None:
        raise not_found(f"identity {key!r} not found in associatedIdentities/{collection}")
    prefixes = [name.strip() for name in services.split(",") if name.strip()] if services else None
    found = explanation.identity_permissions(engine, system.system_id, row.external_id, services=prefixes)
    body = {"@odata.context": _context(system, f"associatedIdentities/{collection}/effectivePermissions")}
    body.update(found.to_dict())
    return GraphJSONResponse(through(EffectivePermissionsModel, body))


def _effective_get(collection: str, address: Callable[..., str]) -> Callable[..., GraphJSONResponse]:
    def handler(
        services: str | None = None,
        system: AuthorizationSystemRow = Depends(aws_system),
        external_id: str = Depends(address),
        session: Session = Depends(get_session),
        engine: Engine = Depends(get_engine),
    ) -> GraphJSONResponse:
        return _effective_permissions(engine, session, system, collection, external_id, services)

    handler.__doc__ = EFFECTIVE_DESCRIPTION
    return handler


for _name in IDENTITY_SETS:
    _add_addressed_routes(
        f"/associatedIdentities/{_name}",
        "/effectivePermissions",
        partial(_effective_get, _name),
        what="identity",
        response_model=EffectivePermissionsModel,
        name=f"effective_permissions_aws_{_name}",
        summary=f"Effective permissions of one of associatedIdentities/{_name} (extension)",
    )


# ---------------------------------------------------------------------------------------------- whoCan (extension)

WHO_CAN_DESCRIPTION = (
    "permscope extension (not in the Graph contract): every user and role of the account that may perform "
    "`action` on `resource` (an ARN, or * for an action without a resource), each decided by the evaluation "
    "engine with its stored identity policies (and its groups'), permissions boundary, the organization's SCPs "
    "and the resource's policy when it is stored (a role's trust policy, a collected bucket's policy), with "
    "the statements that decided it. A principal allowed only if conditions the inventory cannot decide hold "
    "(MFA, source IP) has `conditional: true` and their `conditionKeys`; `context` (repeatable, `KEY=VALUE`) "
    "gives the request such keys. 400 for an action the catalogue lacks or a resource that is no ARN."
)


@router.get(
    "/whoCan",
    response_model=WhoCanModel,
    name="who_can_aws",
    summary="Who can perform an action on a resource (extension)",
    description=WHO_CAN_DESCRIPTION,
)
def who_can_route(
    action: str,
    resource: str = "*",
    context: list[str] = Query(default_factory=list),
    system: AuthorizationSystemRow = Depends(aws_system),
    engine: Engine = Depends(get_engine),
) -> GraphJSONResponse:
    """Who can do `action` on `resource` in this account (see the description)."""
    given: dict[str, str] = {}
    for pair in context:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise invalid_request(f"context {pair!r} is not KEY=VALUE")
        given[key.strip()] = value
    found = who_can.who_can(engine, action, resource, system_id=system.system_id, context=given)
    body = {"@odata.context": _context(system, "whoCan"), **who_can_to_wire(found)}
    return GraphJSONResponse(through(WhoCanModel, body))
