"""The Azure write side of permissions on demand (azure-mgmt-authorization): a role assignment per role at the
requested scope, or a custom role definition of our own plus its assignment, and removing exactly those again.
Dry-run prints the ARM calls (method, URL, body) instead of making them.

Names are deterministic, so a retried call changes nothing: a role assignment is named
uuid5(permscope, scope|role|principal) — the same grant has the same name whichever request makes it, as ARM
allows one assignment per (scope, role, principal) anyway — and a custom role uuid5(permscope, request id).
What permscope made carries the description marker `permscope-jit`: an assignment of the same (scope, role,
principal) that exists under another name or without the marker was made outside permscope; the scheduler then
records the grant as not ours and never deletes it.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import orjson

from permscope.clouds.azure.authorization import (
    API_VERSION,
    ARM_ENDPOINT,
    ArmAuthorization,
    arm_failure,
    error_code,
)
from permscope.core.grants import GrantError, GrantItem, GrantKind, GrantRequest
from permscope.core.requests import NamedGrant

log = logging.getLogger(__name__)

MARKER = "permscope-jit"  # every description permscope writes starts with it
ROLE_NAME_PREFIX = "permscope-jit-"  # a custom role of ours is named permscope-jit-<request id>
ASSIGNMENT_DESCRIPTION = (
    f"{MARKER}: granted by permscope permissions on demand; removed when the last request holding it ends"
)
NAMESPACE = uuid.UUID("6d1f3f5e-7a53-4c1b-9a8e-2f0c4e9b6a11")  # permscope's uuid5 namespace for ARM names
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
ROLE_DEFINITION_ID = re.compile(
    r"/providers/Microsoft\.Authorization/roleDefinitions/([^/]+)$", re.IGNORECASE
)

Echo = Callable[[str], None]


def role_guid(role: str) -> str:
    """The GUID of a role definition given as a GUID or as its ARM id, lower case; ValueError otherwise."""
    text = role.strip().rstrip("/")
    match = ROLE_DEFINITION_ID.search(text)
    guid = match.group(1) if match else text
    if not GUID.match(guid):
        raise ValueError(f"{role!r} is not a role definition GUID or role definition id")
    return guid.lower()


def role_definition_id(subscription: str, guid: str) -> str:
    """The ARM id of a role definition as role assignments name it."""
    return f"/subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions/{guid}"


def clean_scope(scope: str) -> str:
    """An ARM scope with one leading slash and no trailing slash."""
    return "/" + scope.strip().strip("/")


def assignment_name(scope: str, guid: str, principal: str) -> str:
    """The deterministic name of the assignment of a role to a principal at a scope (case-insensitive)."""
    return str(uuid.uuid5(NAMESPACE, f"{clean_scope(scope).lower()}|{guid.lower()}|{principal.lower()}"))


def custom_role_guid(request_id: str) -> str:
    """The name (GUID) of the custom role definition holding one request's actions."""
    return str(uuid.uuid5(NAMESPACE, f"role|{request_id}"))


def custom_role_name(request_id: str) -> str:
    """The display name of the custom role definition of one request."""
    return f"{ROLE_NAME_PREFIX}{request_id}"


def assignable_scope(scope: str) -> str:
    """Where our custom role may be assigned: the scope itself when it is a subscription or resource group, else
    the resource group holding the resource (custom roles are assignable at those levels)."""
    parts = clean_scope(scope).strip("/").split("/")
    if len(parts) > 4 and parts[2].lower() == "resourcegroups":
        return "/" + "/".join(parts[:4])
    return clean_scope(scope)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def assignment_item(scope: str, subscription: str, guid: str, principal: str) -> GrantItem:
    """The role assignment of one role (by GUID) to a principal at a scope."""
    scope = clean_scope(scope)
    name = assignment_name(scope, guid, principal)
    return GrantItem(
        kind=GrantKind.ROLE_ASSIGNMENT,
        principal=principal.lower(),
        target=f"{scope.lower()}/providers/microsoft.authorization/roleassignments/{name}",
        document={
            "scope": scope,
            "name": name,
            "properties": {
                "roleDefinitionId": role_definition_id(subscription, guid),
                "principalId": principal.lower(),
                "description": ASSIGNMENT_DESCRIPTION,
            },
        },
    )


def split_actions(
    actions: tuple[str, ...], is_data_action: Callable[[str], bool]
) -> tuple[list[str], list[str]]:
    """(control-plane actions, data actions) of a request, in order, without duplicates."""
    control: list[str] = []
    data: list[str] = []
    for action in dict.fromkeys(actions):
        (data if is_data_action(action) else control).append(action)
    return control, data


def grant_items(request: GrantRequest, is_data_action: Callable[[str], bool]) -> list[GrantItem]:
    """The items of a grant in the order to add them: a custom role before its assignment."""
    action = request.action
    if not isinstance(action, NamedGrant) or not request.resource_id:
        raise GrantError(
            f"the Azure connector grants roles or actions at a scope, not {type(action).__name__}",
            permanent=True,
        )
    scope, subscription = clean_scope(request.resource_id), request.system_id
    if action.kind == "roles":
        try:
            guids = list(dict.fromkeys(role_guid(role) for role in action.values))
        except ValueError as exc:
            raise GrantError(str(exc), permanent=True) from None
        return [assignment_item(scope, subscription, guid, request.principal) for guid in guids]
    guid = custom_role_guid(request.request_id)
    control, data = split_actions(action.values, is_data_action)
    definition_scope = f"/subscriptions/{subscription}"
    definition = GrantItem(
        kind=GrantKind.ROLE_DEFINITION,
        principal=request.principal.lower(),
        target=role_definition_id(subscription, guid).lower(),
        document={
            "scope": definition_scope,
            "name": guid,
            "properties": {
                "roleName": custom_role_name(request.request_id),
                "description": f"{MARKER}: request {request.request_id}, removed by permscope at "
                f"{_iso(request.ends_at)}",
                "type": "CustomRole",
                "permissions": [
                    {"actions": control, "notActions": [], "dataActions": data, "notDataActions": []}
                ],
                "assignableScopes": [assignable_scope(scope)],
            },
        },
    )
    return [definition, assignment_item(scope, subscription, guid, request.principal)]


def call_url(kind: GrantKind, document: dict[str, Any], endpoint: str = ARM_ENDPOINT) -> str:
    """The ARM URL of a role assignment or role definition item."""
    collection = "roleAssignments" if kind is GrantKind.ROLE_ASSIGNMENT else "roleDefinitions"
    scope = quote(document["scope"], safe="/")
    return (
        f"{endpoint}{scope}/providers/Microsoft.Authorization/{collection}/{document['name']}"
        f"?api-version={API_VERSION}"
    )


class AzureGrantConnector:
    """Grants and revokes in one subscription through ARM's authorization API (credentials and the transport
    seam as `ArmAuthorization` takes them)."""

    def __init__(
        self,
        subscription_id: str,
        *,
        credential: Any = None,
        tenant_id: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        transport: Any = None,
        is_data_action: Callable[[str], bool] | None = None,
        dry_run: bool = False,
        echo: Echo | None = None,
    ) -> None:
        self.subscription_id = subscription_id
        self._arm = ArmAuthorization(
            subscription_id,
            credential=credential,
            tenant_id=tenant_id,
            client_id=client_id,
            client_secret=client_secret,
            transport=transport,
        )
        self._is_data_action = is_data_action or (lambda _name: False)
        self.dry_run = dry_run
        self._echo = echo or (lambda line: log.info("%s", line))

    def _client(self) -> Any:
        return self._arm.client()

    def _error(self, exc: Exception, doing: str, item: GrantItem | None) -> GrantError:
        if isinstance(exc, GrantError):
            return exc
        message, permanent = arm_failure(exc, doing)
        return GrantError(message, permanent=permanent, item=item)

    @staticmethod
    def _code(exc: Exception) -> str | None:
        return error_code(exc)

    # --------------------------------------------------------------------------------------- the items

    def items(self, request: GrantRequest) -> list[GrantItem]:
        """The items that grant the request (pure)."""
        return grant_items(request, self._is_data_action)

    def _echo_call(self, method: str, item: GrantItem, body: dict[str, Any] | None = None) -> None:
        assert item.document is not None
        line = f"{method} {call_url(item.kind, item.document)}"
        if body is not None:
            line += " " + orjson.dumps(body).decode()
        self._echo(line)

    def is_present(self, item: GrantItem) -> bool:
        """Whether the role assignment of the item's (scope, role, principal) exists and was not made by
        permscope (made outside: the scheduler then never removes it). Other items are never shared."""
        if item.kind is not GrantKind.ROLE_ASSIGNMENT:
            return False
        assert item.document is not None
        scope, properties = item.document["scope"], item.document["properties"]
        principal = properties["principalId"]
        query = f"principalId eq '{principal}'"
        if self.dry_run:
            self._echo(
                f"GET {ARM_ENDPOINT}{quote(scope, safe='/')}/providers/Microsoft.Authorization/roleAssignments"
                f"?$filter={quote(query)}&api-version={API_VERSION}  # read"
            )
            return False
        wanted = role_guid(properties["roleDefinitionId"])
        try:
            for assignment in self._client().role_assignments.list_for_scope(scope, filter=query):
                if clean_scope(assignment.scope or "").lower() != scope.lower():
                    continue  # inherited from above, or below the scope
                if role_guid(assignment.role_definition_id or "") != wanted:
                    continue
                ours = (assignment.name or "").lower() == item.document["name"] and (
                    assignment.description or ""
                ).startswith(MARKER)
                if not ours:
                    return True
        except Exception as exc:
            raise self._error(exc, f"listing the role assignments of {principal} at {scope}", item) from exc
        return False

    def add(self, item: GrantItem) -> None:
        """PUT the role definition or role assignment (the same PUT again changes nothing)."""
        assert item.document is not None
        body = {"properties": item.document["properties"]}
        if self.dry_run:
            self._echo_call("PUT", item, body)
            return
        scope, name = item.document["scope"], item.document["name"]
        payload = orjson.dumps(body)  # the SDK sends these bytes as they are: what dry-run prints
        try:
            if item.kind is GrantKind.ROLE_DEFINITION:
                self._client().role_definitions.create_or_update(scope, name, payload)
            else:
                self._client().role_assignments.create(scope, name, payload)
        except Exception as exc:
            if self._code(exc) == "RoleAssignmentExists":
                # the same (scope, role, principal) is assigned under another name: the access is there, and
                # what we remove later is only our name, so the other assignment stays
                log.warning("%s: already assigned outside permscope; kept as it is", item.target)
                return
            raise self._error(exc, f"PUT {item.kind.value} {name} at {scope}", item) from exc

    def remove(self, item: GrantItem) -> None:
        """DELETE the role assignment or role definition; what is already gone counts as removed."""
        assert item.document is not None
        if self.dry_run:
            self._echo_call("DELETE", item)
            return
        scope, name = item.document["scope"], item.document["name"]
        try:
            if item.kind is GrantKind.ROLE_DEFINITION:
                self._client().role_definitions.delete(scope, name)
            else:
                self._client().role_assignments.delete(scope, name)
        except Exception as exc:
            if getattr(exc, "status_code", None) == 404:
                return
            raise self._error(exc, f"DELETE {item.kind.value} {name} at {scope}", item) from exc
