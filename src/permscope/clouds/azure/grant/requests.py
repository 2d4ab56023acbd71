"""Azure's checks of a permissions request: the identity is a stored user, group, service principal or managed
identity (by Entra object id), the roles are role definitions stored for the subscription (built-in or custom),
the actions are operation names or patterns, and the scope lies inside the subscription."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from permscope.clouds.azure.engine.scopes import MANAGEMENT_GROUP_PREFIX, describe, scope_key
from permscope.clouds.azure.grant import connector as azure_grant
from permscope.clouds.base import Echo, InventoryLookups
from permscope.core.errors import InputError
from permscope.core.grants import GrantConnector
from permscope.core.requests import NamedGrant, RequestSpec

if TYPE_CHECKING:
    from permscope.core.catalog import ActionIndex

GRANTEE_KINDS = frozenset({"user", "group", "servicePrincipal", "managedIdentity"})
# Microsoft.Provider/resourceType[/...]/verb, `*` allowed anywhere (ARM's wildcards), or `*` alone
OPERATION = re.compile(r"^(\*|[A-Za-z0-9*][A-Za-z0-9.*-]*(/[A-Za-z0-9_.*{}-]+)+)$")
MAX_ACTION_CHARS = 512
IDENTITY_PATH = "requestedPermissions/identityInfo/externalId"
SCOPE_PATH = "requestedPermissions/resourceId"


def _field(path: str, problem: str) -> InputError:
    return InputError(f"request body: {path}", problem)


def grantee(spec: RequestSpec, system_id: str, lookups: InventoryLookups) -> str:
    """The Entra object id (lower case) of the stored identity that receives the grant."""
    object_id = spec.identity.external_id.strip()
    if not azure_grant.GUID.match(object_id):
        raise _field(
            IDENTITY_PATH,
            f"{object_id!r} is not an Entra object id; Azure grants go to the object id (a GUID) of a user, "
            "group, service principal or managed identity",
        )
    object_id = object_id.lower()
    kind = lookups.identity_kind(object_id)
    if kind is None:
        raise _field(
            IDENTITY_PATH, f"{object_id} is not an identity of Azure subscription {system_id} (import it)"
        )
    if kind not in GRANTEE_KINDS:
        raise _field(IDENTITY_PATH, f"{object_id} is a {kind}; Azure roles are assigned to {_kinds()}")
    return object_id


def _kinds() -> str:
    return "users, groups, service principals and managed identities"


def check_scope(resource_id: str | None, system_id: str) -> str:
    """The scope of the grant: the subscription, a resource group or a resource in it (InputError otherwise)."""
    if not resource_id or not resource_id.strip():
        raise _field(SCOPE_PATH, "give the scope: the subscription, a resource group or a resource id")
    key = scope_key(resource_id)
    level = describe(key)
    if key[: len(MANAGEMENT_GROUP_PREFIX)] == MANAGEMENT_GROUP_PREFIX or level in ("root", "scope"):
        raise _field(
            SCOPE_PATH,
            f"{resource_id!r} is not inside subscription {system_id}: give /subscriptions/{system_id}, a "
            "resource group or a resource of it",
        )
    if key[1] != system_id.lower():
        raise _field(SCOPE_PATH, f"{resource_id!r} is in subscription {key[1]}, not {system_id}")
    if level == "resource" and (len(key) < 8 or key[2] != "resourcegroups" or key[4] != "providers"):
        raise _field(
            SCOPE_PATH,
            f"{resource_id!r} is not a resource id (/subscriptions/S/resourceGroups/G/providers/Namespace/type/name)",
        )
    if level == "resource" and len(key) % 2:
        raise _field(SCOPE_PATH, f"{resource_id!r} is not a resource id: a type without a name")
    return azure_grant.clean_scope(resource_id)


def _role_stored(guid: str, system_id: str, lookups: InventoryLookups) -> bool:
    candidates = (
        guid,
        f"/providers/Microsoft.Authorization/roleDefinitions/{guid}",
        azure_grant.role_definition_id(system_id, guid),
        azure_grant.role_definition_id(system_id.lower(), guid),
    )
    return any(lookups.policy_stored(candidate) for candidate in candidates)


def check_roles(action: NamedGrant, system_id: str, lookups: InventoryLookups) -> None:
    """Every role is a role definition GUID (or id) stored for the subscription."""
    for index, role in enumerate(action.values):
        path = f"requestedPermissions/actionInfo/roles[{index}]/id"
        try:
            guid = azure_grant.role_guid(role)
        except ValueError as exc:
            raise _field(path, str(exc)) from None
        if not _role_stored(guid, system_id, lookups):
            raise _field(
                path,
                f"role definition {guid} is not stored for subscription {system_id} (built-in or custom; "
                "collect or import the subscription's role definitions)",
            )


def check_actions(action: NamedGrant, index: ActionIndex | None) -> None:
    """Every action is an operation name or pattern (and names catalogue operations when there is one)."""
    for number, name in enumerate(action.values):
        path = f"requestedPermissions/actionInfo/actions[{number}]"
        if len(name) > MAX_ACTION_CHARS or not OPERATION.match(name.strip()):
            raise _field(
                path,
                f"{name[:80]!r} is not an Azure operation such as Microsoft.Storage/storageAccounts/read",
            )
        if index is not None and not index.expand(name.strip()):
            raise _field(path, f"{name!r} names no operation of the Azure catalogue")


class AzureRequestRules:
    """Azure's part of permissions on demand (`clouds.base.RequestRules`).

    `action_index` (the plugin's catalogue index) makes action checks name real operations; `is_data_action`
    tells the custom role's dataActions from its actions. Both are optional: without them actions are checked
    by shape and all go into `actions` (ARM refuses a data action there with InvalidActionOrNotAction).
    """

    def __init__(
        self,
        *,
        action_index: Callable[[], ActionIndex] | None = None,
        is_data_action: Callable[[str], bool] | None = None,
    ) -> None:
        self._action_index = action_index
        self._is_data_action = is_data_action

    def validate(self, spec: RequestSpec, system_id: str, lookups: InventoryLookups) -> str:
        """Check an Azure request against the stored subscription; the object id that receives the grant."""
        receiver = grantee(spec, system_id, lookups)
        check_scope(spec.resource_id, system_id)
        action = spec.action
        if not isinstance(action, NamedGrant):
            raise _field("requestedPermissions/actionInfo", "an Azure request names roles or actions")
        if action.kind == "roles":
            check_roles(action, system_id, lookups)
        else:
            check_actions(action, self._action_index() if self._action_index else None)
        return receiver

    def connector(self, system_id: str, *, settings: Any, dry_run: bool, echo: Echo | None) -> GrantConnector:
        """The ARM connector of one subscription, from the settings (service principal, else the default chain)."""
        secret = settings.azure_grant_client_secret
        return azure_grant.AzureGrantConnector(
            system_id,
            tenant_id=settings.azure_grant_tenant_id,
            client_id=settings.azure_grant_client_id,
            client_secret=secret.get_secret_value() if secret is not None else None,
            is_data_action=self._is_data_action,
            dry_run=dry_run,
            echo=echo,
        )
