"""AWS inventory under `AS/{id}/microsoft.graph.awsAuthorizationSystem`: identities, policies, actions, services,
resources, effective permissions. A key reads the inventory of the accounts where it is viewer, approver or
administrator (`workflows.access.inventory_systems`); another account answers 404 as a missing one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from permscope.api.access_schemas import WhoCanModel
from permscope.api.deps import get_engine, get_session, get_settings
from permscope.api.errors import GraphJSONResponse, invalid_request, not_found
from permscope.api.responses import through
from permscope.api.routes.collection_routes import register_collection
from permscope.api.routes.identity_routes import IdentityRoutes, cast_context, system_dependency
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
from permscope.store.homes import view_of_row
from permscope.store.tables import AuthorizationSystemRow
from permscope.workflows import identities, who_can

AWS = Cloud.AWS.value
CAST = "microsoft.graph.awsAuthorizationSystem"
IDENTITY_SETS: dict[str, tuple[str, ...]] = {
    "all": AWS_IDENTITY_KINDS,
    "users": ("user",),
    "roles": ("role",),
}

router = APIRouter(tags=["aws"], responses=ERROR_RESPONSES, route_class=GraphRoute)


aws_system = system_dependency(
    Cloud.AWS,
    "The AWS account named in the path (404 when unknown, not AWS, or not one whose inventory the key reads).",
)


_context = cast_context(CAST)


EFFECTIVE_DESCRIPTION = (
    "permscope extension (not in the Graph contract): what the identity can effectively do after every policy "
    "type AWS applies (its and its groups' policies, permission boundary, SCPs when the organization is known, "
    "explicit denies), by service, each action with its access level, resource scope, condition keys and the "
    "statements behind the verdict. `services` keeps only the given service prefixes (comma-separated)."
)

IDENTITIES = IdentityRoutes(
    router,
    aws_system,
    _context,
    Cloud.AWS,
    IDENTITY_SETS,
    AWS_IDENTITIES,
    AwsIdentity,
    lambda row, system, **usage: aws_identity_to_wire(row, system.system_id, **usage),
    list_doc="The account's identities ({collection}); $filter on externalId, displayName, roleType.",
    get_doc="One identity of associatedIdentities/{collection} by id (base64 of its externalId) "
    "or by `(externalId='...')` (e.g. an ARN).",
    effective_doc=EFFECTIVE_DESCRIPTION,
    effective_sets=tuple(IDENTITY_SETS),
)


# ---------------------------------------------------------------------------------------------- identities


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
        user = queries.find_identity(session, view_of_row(system), ("user",), external_id)
        if user is None:
            raise not_found(f"user {external_id!r} not found")
        role_ids = identities.assumable_roles(engine, system.system_id, user.external_id)
        stmt = queries.identities_by_external_id(view_of_row(system), ("role",), role_ids)
        tail = "associatedIdentities/users/assumableRoles"
        return IDENTITIES.list_page(request, session, system, settings, stmt, tail)

    return handler


IDENTITIES.addressed(
    "/associatedIdentities/users",
    "/assumableRoles",
    _assumable_roles_get,
    what="user",
    response_model=CollectionPage[AwsIdentity],
    name="assumable_roles",
    summary="Roles a user of associatedIdentities/users may assume",
)
IDENTITIES.register()


# ---------------------------------------------------------------------------------------------- other collections


def _register(tail: str, *args: Any, **options: Any) -> None:
    """Register the list, `/{id}` and `(externalId=...)` routes of one AWS collection."""
    register_collection(router, aws_system, _context, AWS, tail, *args, **options)


_register(
    "policies",
    AWS_POLICIES,
    lambda s: queries.managed_policies(view_of_row(s)),
    lambda session, s, key: queries.find_managed_policy(session, view_of_row(s), key),
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
