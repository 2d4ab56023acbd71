"""A generated least-privilege custom role as a step of an Azure plan: the `createGeneratedRole` step (the role
definition at the subscription, assignable at the generator's scopes, and one role assignment of it to the
principal per scope), the same role and assignments as inventory objects (for the plan's evidence, diff and PCI
after), and the ARM bodies the connector and the scripts write.

Names are deterministic: the role's GUID and roleName are the generator's (`generate.role_names`: subscription,
principal, a digest of the role's content), and each assignment is named as permissions on demand names one
(`grant.connector.assignment_name`: uuid5 of scope, role, principal), so applying the step again is the same PUTs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from permscope.clouds.azure.access import estate_of
from permscope.clouds.azure.engine.evaluate import ALLOWED
from permscope.clouds.azure.grant.connector import assignment_name, clean_scope, role_definition_id
from permscope.clouds.azure.remediation.candidates import principal_type
from permscope.clouds.azure.transform.rbac import role_policy
from permscope.core.inventory import Assignment, AssignmentRelation, Policy
from permscope.core.remediation import Candidate, StepKind
from permscope.core.snapshot import SystemSnapshot

MARKER = "permscope-least-privilege"  # the description of every assignment the step makes starts with it


def _checked(document: Mapping[str, Any]) -> tuple[str, str, list[str]]:
    """(GUID, roleName, assignable scopes) of a generated role document; ValueError when it is not one."""
    guid, name = document.get("name"), document.get("roleName")
    scopes = document.get("assignableScopes")
    permissions = document.get("permissions")
    if not isinstance(guid, str) or not guid or not isinstance(name, str) or not name:
        raise ValueError("the generated role document names no role (name, roleName)")
    if not isinstance(scopes, list) or not scopes or not all(isinstance(s, str) and s for s in scopes):
        raise ValueError(f"the generated role {name} has no assignable scopes to assign it at")
    if not isinstance(permissions, list) or not permissions:
        raise ValueError(f"the generated role {name} holds no permissions")
    return guid, name, [clean_scope(scope) for scope in scopes]


def not_held(
    snapshot: SystemSnapshot, identity_id: str, document: Mapping[str, Any], scopes: list[str]
) -> str | None:
    """An operation of the role, at one of its scopes, that the principal may not perform there today (through
    its role and deny assignments, its groups' included; conditions unmet): the role would widen its reach; None
    when it holds every one of them at every scope."""
    estate = estate_of(snapshot)
    for entry in document.get("permissions") or ():
        for key, data in (("actions", False), ("dataActions", True)):
            for action in entry.get(key) or ():
                for scope in scopes:
                    decided = estate.decide(identity_id, str(action), data, scope, {})
                    if decided.decision != ALLOWED:
                        return f"{action} at {scope}"
    return None


def definition_body(document: Mapping[str, Any]) -> dict[str, Any]:
    """The PUT body of the role definition (ARM's shape: roleName, description, type, permissions, scopes)."""
    return {
        "properties": {
            "roleName": document["roleName"],
            "description": document.get("description") or "",
            "type": "CustomRole",
            "permissions": list(document["permissions"]),
            "assignableScopes": [clean_scope(scope) for scope in document["assignableScopes"]],
        }
    }


def assignment_body(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """The PUT body of one assignment of the generated role to the principal."""
    return {
        "properties": {
            "roleDefinitionId": parameters["roleDefinitionId"],
            "principalId": parameters["principalId"],
            "principalType": parameters["principalType"],
            "description": f"{MARKER}: {parameters['roleName']}, in place of broader role assignments",
        }
    }


def generated_step(
    snapshot: SystemSnapshot, identity_id: str, name: str, document: dict[str, Any]
) -> tuple[Candidate, Policy, tuple[Assignment, ...]]:
    """Creating the generated role and assigning it to the principal at each of its assignable scopes, and the
    same role and assignments in the inventory; ValueError when the document or the principal cannot be, or
    when the role would grant an operation at a scope where the principal does not hold it today."""
    try:
        _identity, kind = principal_type(snapshot, identity_id)
    except KeyError:
        raise ValueError(f"{identity_id} is not a principal of subscription {snapshot.system_id}") from None
    guid, role_name, scopes = _checked(document)
    wider = not_held(snapshot, identity_id, document, scopes)
    if wider:
        raise ValueError(
            f"the generated role {role_name} would grant {wider}, which {identity_id} does not hold there today "
            "(its role assignments are narrower than the scopes the role would be assigned at)"
        )
    subscription = snapshot.system_id
    policy = role_policy({**document, "name": guid, "roleType": "CustomRole"})
    placed = tuple(
        Assignment(
            identity_external_id=identity_id,
            policy_external_id=policy.external_id,
            relation=AssignmentRelation.ATTACHED,
            scope=scope,
        )
        for scope in scopes
    )
    step = Candidate(
        kind=StepKind.CREATE_GENERATED_ROLE,
        principal=identity_id,
        target=policy.external_id,
        label=role_name,
        parameters={
            "subscription": subscription,
            "definitionScope": f"/subscriptions/{subscription}",
            "roleGuid": policy.external_id,
            "roleName": role_name,
            "roleDefinitionId": role_definition_id(subscription, policy.external_id),
            "principalId": identity_id,
            "principalType": kind,
            "assignments": [
                {"scope": scope, "name": assignment_name(scope, policy.external_id, identity_id)}
                for scope in scopes
            ],
            "document": document,
        },
    )
    return step, policy, placed
