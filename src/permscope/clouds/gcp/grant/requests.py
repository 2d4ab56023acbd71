"""GCP's checks of a permissions request: the identity is a stored user, group or service account (by IAM
member string), the roles are predefined roles or custom roles stored for the project or its organization, the
permissions are permission names, and the resource is the project or a resource in it."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from permscope.clouds.base import Echo, InventoryLookups
from permscope.clouds.gcp.grant import connector as gcp_grant
from permscope.core.errors import InputError
from permscope.core.grants import GrantConnector
from permscope.core.requests import NamedGrant, RequestSpec

if TYPE_CHECKING:
    from permscope.core.catalog import ActionIndex

GRANTEE_KINDS = frozenset({"user", "group", "serviceAccount"})
# a bare e-mail in identityInfo is looked up as these members, by the body's identityType
MEMBER_PREFIXES = {
    "user": ("user:", "group:"),
    "serviceAccount": ("serviceAccount:",),
    "application": ("serviceAccount:",),
    "managedIdentity": ("serviceAccount:",),
    "role": ("group:",),
}
PREDEFINED_ROLE = re.compile(r"^roles/[A-Za-z0-9_.]{1,128}$")
CUSTOM_ROLE = re.compile(r"^(projects|organizations)/([^/]+)/roles/[A-Za-z0-9_.]{3,64}$")
PERMISSION = re.compile(r"^[a-z][a-zA-Z0-9-]*(\.[a-zA-Z0-9-]+){2,}$")  # service.resource.verb
IDENTITY_PATH = "requestedPermissions/identityInfo/externalId"


def _field(path: str, problem: str) -> InputError:
    return InputError(f"request body: {path}", problem)


def grantee(spec: RequestSpec, system_id: str, lookups: InventoryLookups) -> str:
    """The IAM member string of the stored identity that receives the grant (`user:...`, `serviceAccount:...`);
    a bare e-mail is looked up with the member prefixes its identityType allows."""
    given = spec.identity.external_id.strip()
    candidates = (
        [given] if ":" in given else [p + given for p in MEMBER_PREFIXES.get(spec.identity.identity_type, ())]
    )
    for member in candidates:
        kind = lookups.identity_kind(member)
        if kind is None:
            continue
        if kind not in GRANTEE_KINDS:
            raise _field(
                IDENTITY_PATH, f"{member} is a {kind}; GCP grants go to users, groups and service accounts"
            )
        return member
    raise _field(
        IDENTITY_PATH,
        f"{given!r} is not an identity of GCP project {system_id} (give its IAM member, e.g. user:alice@example.com, "
        "and import the project)",
    )


def check_resource(resource_id: str | None, system_id: str) -> None:
    """The resource is the project or a resource in it."""
    try:
        gcp_grant.target_of(resource_id or "", system_id)
    except ValueError as exc:
        raise _field("requestedPermissions/resourceId", str(exc)) from None


def check_roles(action: NamedGrant, system_id: str, lookups: InventoryLookups) -> None:
    """Predefined roles by name; custom roles of this project (or an organization) stored in the inventory."""
    for index, role in enumerate(action.values):
        path = f"requestedPermissions/actionInfo/roles[{index}]/id"
        if PREDEFINED_ROLE.match(role):
            continue
        custom = CUSTOM_ROLE.match(role)
        if custom is None:
            raise _field(
                path, f"{role!r} is not a role (roles/X, projects/P/roles/X or organizations/N/roles/X)"
            )
        if custom[1] == "projects" and custom[2] != system_id:
            raise _field(
                path, f"{role!r} is a custom role of project {custom[2]}; it cannot be granted in {system_id}"
            )
        if not lookups.policy_stored(role):
            raise _field(
                path, f"custom role {role} is not stored for project {system_id} (import the project first)"
            )


def check_permissions(action: NamedGrant, index: ActionIndex | None) -> None:
    """Every permission is a permission name (and one of the catalogue when there is one); custom roles take no
    wildcards."""
    for number, name in enumerate(action.values):
        path = f"requestedPermissions/actionInfo/actions[{number}]"
        if not PERMISSION.match(name):
            raise _field(
                path, f"{name[:80]!r} is not a GCP permission such as storage.objects.get (no wildcards)"
            )
        if index is not None and index.index_of(name) is None:
            raise _field(path, f"{name!r} is not a permission of the GCP catalogue")


class GcpRequestRules:
    """GCP's part of permissions on demand (`clouds.base.RequestRules`). `action_index` (the plugin's catalogue
    index) makes permission checks name real permissions; without it they are checked by shape."""

    def __init__(self, *, action_index: Callable[[], ActionIndex] | None = None) -> None:
        self._action_index = action_index

    def validate(self, spec: RequestSpec, system_id: str, lookups: InventoryLookups) -> str:
        """Check a GCP request against the stored project; the IAM member that receives the grant."""
        receiver = grantee(spec, system_id, lookups)
        check_resource(spec.resource_id, system_id)
        action = spec.action
        if not isinstance(action, NamedGrant):
            raise _field("requestedPermissions/actionInfo", "a GCP request names roles or permissions")
        if action.kind == "roles":
            check_roles(action, system_id, lookups)
        else:
            check_permissions(action, self._action_index() if self._action_index else None)
        return receiver

    def connector(self, system_id: str, *, settings: Any, dry_run: bool, echo: Echo | None) -> GrantConnector:
        """The connector of one project, from the settings (key file, impersonation, else ADC)."""
        return gcp_grant.GcpGrantConnector(
            system_id,
            credentials_file=settings.gcp_grant_credentials_file,
            impersonate=settings.gcp_grant_impersonate,
            dry_run=dry_run,
            echo=echo,
        )
