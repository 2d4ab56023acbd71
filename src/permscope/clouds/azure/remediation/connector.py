"""The Azure write side of remediation (azure-mgmt-authorization): read a role assignment's full state, delete
it, and put it back exactly. Dry-run prints the ARM calls (method, URL, body) instead of making them.

deleteRoleAssignment: capture lists the principal's assignments at the step's scope (ARM's
`principalId eq` filter) and records the one of the step's role at exactly that scope: its name (GUID), id,
principalId, principalType, roleDefinitionId, scope, condition, conditionVersion, description and
delegatedManagedIdentityResourceId. Apply deletes it by that name (already gone counts as deleted). Restore PUTs
it again under the same name with the same properties (the same PUT again changes nothing); when ARM answers
RoleAssignmentExists (someone assigned the same role at the scope meanwhile, under another name) the access is
there and a note says so. createGeneratedRole creates a generated custom role and its assignments
(`role_writes`); removeGroupMember removes an Entra group membership through Microsoft Graph (`memberships`).
Other kinds are manual: never applied.

The credentials and transport are those of permissions on demand (`ArmAuthorization`, the azure_grant_*
settings); the identity needs Microsoft.Authorization/roleAssignments/read, write and delete at the scopes, and
for generated roles Microsoft.Authorization/roleDefinitions/read, write and delete on the subscription (User
Access Administrator on the subscription, or a custom role holding those); for group memberships the Graph
application permission GroupMember.ReadWrite.All (RoleManagement.ReadWrite.Directory too for role-assignable
groups).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

import orjson

from permscope.clouds.azure.authorization import (
    API_VERSION,
    ARM_ENDPOINT,
    ArmAuthorization,
    arm_failure,
    error_code,
    item_url,
)
from permscope.clouds.azure.grant.connector import clean_scope, role_guid
from permscope.clouds.azure.remediation.memberships import EntraMemberships
from permscope.clouds.azure.remediation.role_writes import GeneratedRoleWrites
from permscope.core.remediation import StepError, StepKind

log = logging.getLogger(__name__)
Echo = Callable[[str], None]
ASSIGNMENT_FIELDS = (
    "principalId",
    "principalType",
    "roleDefinitionId",
    "scope",
    "condition",
    "conditionVersion",
    "description",
    "delegatedManagedIdentityResourceId",
)


def assignment_url(scope: str, name: str, endpoint: str = ARM_ENDPOINT) -> str:
    """The ARM URL of one role assignment."""
    return item_url(scope, "roleAssignments", name, endpoint)


def list_url(scope: str, principal: str) -> str:
    """The ARM URL listing a principal's role assignments at (and above and below) a scope."""
    query = quote(f"principalId eq '{principal}'")
    return (
        f"{ARM_ENDPOINT}{quote(clean_scope(scope), safe='/')}/providers/Microsoft.Authorization/roleAssignments"
        f"?$filter={query}&api-version={API_VERSION}"
    )


def restore_body(prior: Mapping[str, Any]) -> dict[str, Any]:
    """The PUT body that re-creates a recorded assignment (its properties; empty ones left out)."""
    properties = {
        name: prior[name] for name in ASSIGNMENT_FIELDS if name != "scope" and prior.get(name) is not None
    }
    return {"properties": properties}


class AzureRemediationConnector:
    """Remediation steps in one subscription (`core.remediation.RemediationConnector`)."""

    def __init__(
        self,
        arm: ArmAuthorization,
        *,
        dry_run: bool = False,
        echo: Echo | None = None,
        sleep: Callable[[float], None] | None = None,
        graph_http_client: Callable[[], Any] | None = None,
    ) -> None:
        self._arm = arm
        self.dry_run = dry_run
        self._echo = echo or (lambda line: log.info("%s", line))
        extra = {"sleep": sleep} if sleep is not None else {}
        self._role = GeneratedRoleWrites(arm, dry_run=dry_run, echo=self._echo, fail=self._fail, **extra)
        self._members = EntraMemberships(
            arm.credential, dry_run=dry_run, echo=self._echo, http_client=graph_http_client
        )

    def _fail(self, exc: Exception, doing: str) -> StepError:
        message, permanent = arm_failure(exc, doing)
        return StepError(message, permanent=permanent)

    @staticmethod
    def _manual(kind: StepKind) -> StepError:
        return StepError(f"{kind.value} is a manual step; permscope does not apply it", permanent=True)

    def _find(self, parameters: Mapping[str, Any]) -> dict[str, Any] | None:
        """The principal's assignment of the step's role at exactly the step's scope, as ARM returns it."""
        scope, principal = clean_scope(str(parameters["scope"])), str(parameters["principalId"])
        wanted = role_guid(str(parameters["roleDefinitionId"]))
        try:
            listed = list(
                self._arm.client().role_assignments.list_for_scope(
                    scope, filter=f"principalId eq '{principal}'"
                )
            )
        except Exception as exc:
            raise self._fail(exc, f"listing the role assignments of {principal} at {scope}") from exc
        for found in listed:
            if clean_scope(found.scope or "").lower() != scope.lower():
                continue  # inherited from above, or below the scope
            if role_guid(found.role_definition_id or "") != wanted:
                continue
            return {
                "name": found.name,
                "id": found.id,
                "principalId": found.principal_id,
                "principalType": found.principal_type,
                "roleDefinitionId": found.role_definition_id,
                "scope": found.scope,
                "condition": found.condition,
                "conditionVersion": found.condition_version,
                "description": found.description,
                "delegatedManagedIdentityResourceId": found.delegated_managed_identity_resource_id,
            }
        return None

    def capture(
        self, kind: StepKind, principal: str, target: str, parameters: Mapping[str, Any]
    ) -> dict[str, Any]:
        """The assignment as it is (`{"present": false}` when the principal no longer holds it; `{}` in dry-run
        mode); for a generated role, what exists under its names."""
        if kind is StepKind.CREATE_GENERATED_ROLE:
            return self._role.capture(parameters)
        if kind is StepKind.REMOVE_GROUP_MEMBER:
            return self._members.capture(parameters)
        if kind is not StepKind.DELETE_ROLE_ASSIGNMENT:
            raise self._manual(kind)
        if self.dry_run:
            return {}
        found = self._find(parameters)
        return {"present": False} if found is None else {"present": True, **found}

    def apply(
        self,
        kind: StepKind,
        principal: str,
        target: str,
        parameters: Mapping[str, Any],
        prior: Mapping[str, Any],
    ) -> None:
        """DELETE the recorded assignment by its name (nothing when it was not there); create a generated role
        and its assignments."""
        if kind is StepKind.CREATE_GENERATED_ROLE:
            self._role.apply(parameters)
            return
        if kind is StepKind.REMOVE_GROUP_MEMBER:
            self._members.apply(parameters, prior)
            return
        if kind is not StepKind.DELETE_ROLE_ASSIGNMENT:
            raise self._manual(kind)
        scope = clean_scope(str(prior.get("scope") or parameters["scope"]))
        if self.dry_run:
            name = prior.get("name")
            if not name:
                self._echo(f"GET {list_url(scope, str(parameters['principalId']))}  # read")
                name = f"<the assignment of role {role_guid(str(parameters['roleDefinitionId']))}>"
            self._echo(f"DELETE {assignment_url(scope, str(name))}")
            return
        if not prior.get("present"):
            return
        try:
            self._arm.client().role_assignments.delete(scope, str(prior["name"]))
        except Exception as exc:
            if getattr(exc, "status_code", None) == 404:
                return
            raise self._fail(exc, f"DELETE role assignment {prior['name']} at {scope}") from exc

    def restore(
        self,
        kind: StepKind,
        principal: str,
        target: str,
        parameters: Mapping[str, Any],
        prior: Mapping[str, Any],
    ) -> list[str]:
        """PUT the recorded assignment again under its name with its properties; remove a generated role."""
        if kind is StepKind.CREATE_GENERATED_ROLE:
            return self._role.restore(parameters, prior)
        if kind is StepKind.REMOVE_GROUP_MEMBER:
            return self._members.restore(parameters, prior)
        if kind is not StepKind.DELETE_ROLE_ASSIGNMENT:
            raise self._manual(kind)
        if not prior.get("present"):
            return []
        scope, name = clean_scope(str(prior["scope"])), str(prior["name"])
        body = restore_body(prior)
        payload = orjson.dumps(body)  # the SDK sends these bytes as they are: what dry-run prints
        if self.dry_run:
            self._echo(f"PUT {assignment_url(scope, name)} {payload.decode()}")
            return []
        try:
            self._arm.client().role_assignments.create(scope, name, payload)
        except Exception as exc:
            if error_code(exc) == "RoleAssignmentExists":
                return [
                    f"{parameters.get('roleName') or target} is assigned to {principal} at {scope} again under "
                    f"another name (not {name}): made by someone else since; the access is there as before"
                ]
            raise self._fail(exc, f"PUT role assignment {name} at {scope}") from exc
        return []
