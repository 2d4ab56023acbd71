"""Azure RBAC objects into policies and assignments: role definitions (Policy, kind roleDefinition, the
definition in `az role definition list` shape, key = its GUID), role assignments (relation attached at their
ARM scope, with their ABAC condition), deny assignments (their permissions as an inline policy keyed by the
deny assignment's id; one assignment, relation deny, per principal they name), PIM schedules.

PIM: an active schedule instance (`roleAssignmentScheduleInstances`) is an assignment with its start and end
(the matching role assignment gets the dates, or one is added when the list lacks it); an eligible one
(`roleEligibilityScheduleInstances`) grants nothing until activated, so it is no assignment: it is kept on the
principal as the attribute `eligibleRoles` (role, scope, dates).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from permscope.clouds.azure.catalog.operations import builtin_roles
from permscope.clouds.azure.engine.evaluate import ALL_PRINCIPALS
from permscope.clouds.azure.engine.scopes import ScopeKey, scope_key
from permscope.clouds.azure.transform.common import guid, instant, props, role_guid
from permscope.core.inventory import Assignment, AssignmentRelation, Policy, PolicyKind

DENY_LAYER_ATTRIBUTE = "denyAssignment"


@dataclass(slots=True)
class Grant:
    """One role assignment (or active PIM schedule) of the tenant, before it is placed in subscriptions."""

    principal: str
    principal_type: str | None
    role: str
    scope: str
    key: ScopeKey
    assignment: Assignment


@dataclass(slots=True)
class Deny:
    """One deny assignment of the tenant."""

    policy: Policy
    scope: str
    key: ScopeKey
    principals: list[str]
    excluded: list[str]


@dataclass(slots=True)
class Rbac:
    """Role definitions by GUID, grants, denies and eligible schedules of the whole tenant."""

    roles: dict[str, Policy] = field(default_factory=dict)
    grants: list[Grant] = field(default_factory=list)
    denies: list[Deny] = field(default_factory=list)
    eligible: list[tuple[str, dict[str, Any], ScopeKey]] = field(
        default_factory=list
    )  # principal, entry, key


def role_policy(definition: Mapping[str, Any]) -> Policy:
    """A role definition (ARM shape or `az role definition list` shape) as a policy."""
    body = props(definition) if "permissions" not in definition else definition
    role_id = guid(definition["name"])
    document = {
        "name": role_id,
        "roleName": body.get("roleName"),
        "roleType": body.get("roleType") or body.get("type"),
        "description": body.get("description") or "",
        "assignableScopes": list(body.get("assignableScopes") or []),
        "permissions": list(body.get("permissions") or []),
    }
    builtin = str(document["roleType"] or "").lower() == "builtinrole"
    return Policy(
        external_id=role_id,
        name=str(body.get("roleName") or role_id),
        kind=PolicyKind.ROLE_DEFINITION,
        managed_by_cloud=builtin,
        document=document,
        created_at=instant(body.get("createdOn")),
        updated_at=instant(body.get("updatedOn")),
        attributes={
            "roleType": document["roleType"],
            "assignableScopes": document["assignableScopes"],
            **({"id": definition["id"]} if isinstance(definition.get("id"), str) else {}),
        },
    )


def _condition(body: Mapping[str, Any]) -> dict[str, Any] | None:
    text = body.get("condition")
    if not isinstance(text, str) or not text.strip():
        return None
    return {"condition": text, "conditionVersion": body.get("conditionVersion") or "2.0"}


def read_rbac(bundle: Mapping[str, Any], warnings: list[str]) -> Rbac:
    """The tenant's role definitions, assignments, deny assignments and PIM schedules."""
    rbac = Rbac()
    for definition in bundle.get("role_definitions") or ():
        policy = role_policy(definition)
        rbac.roles.setdefault(policy.external_id, policy)
    seen: dict[tuple[str, str, str], Grant] = {}
    for item in bundle.get("role_assignments") or ():
        body = props(item)
        grant = _grant(body, seen, warnings, item.get("id"))
        if grant is not None:
            rbac.grants.append(grant)
    for item in bundle.get("role_assignment_schedules") or ():
        body = props(item)
        if str(body.get("status") or "Provisioned").lower() not in ("provisioned", "accepted", "active"):
            continue
        key = (
            guid(body["principalId"]),
            role_guid(body["roleDefinitionId"]),
            body["scope"].lower().rstrip("/"),
        )
        known = seen.get(key)
        starts, ends = instant(body.get("startDateTime")), instant(body.get("endDateTime"))
        if known is not None:
            known.assignment.starts_at = known.assignment.starts_at or starts
            known.assignment.ends_at = known.assignment.ends_at or ends
            continue
        grant = _grant(body, seen, warnings, item.get("id"))
        if grant is not None:
            grant.assignment.starts_at, grant.assignment.ends_at = starts, ends
            rbac.grants.append(grant)
    for item in bundle.get("deny_assignments") or ():
        rbac.denies.append(_deny(item))
    for item in bundle.get("role_eligibility_schedules") or ():
        body = props(item)
        entry = {
            "roleDefinitionId": role_guid(body["roleDefinitionId"]),
            "scope": body["scope"],
            "memberType": body.get("memberType"),
            "startDateTime": body.get("startDateTime"),
            "endDateTime": body.get("endDateTime"),
        }
        rbac.eligible.append((guid(body["principalId"]), entry, scope_key(body["scope"])))
    _fill_builtins(rbac, warnings)
    return rbac


def _grant(
    body: Mapping[str, Any], seen: dict[tuple[str, str, str], Grant], warnings: list[str], identifier: object
) -> Grant | None:
    principal = guid(body["principalId"])
    role = role_guid(body["roleDefinitionId"])
    scope = str(body["scope"]).strip() or "/"
    key = (principal, role, scope.lower().rstrip("/"))
    if key in seen:
        warnings.append(
            f"role-assignments: {identifier} repeats role {role} for {principal} at {scope}; kept once"
        )
        return None
    assignment = Assignment(
        identity_external_id=principal,
        policy_external_id=role,
        relation=AssignmentRelation.ATTACHED,
        scope=scope,
        condition=_condition(body),
    )
    grant = Grant(principal, body.get("principalType"), role, scope, scope_key(scope), assignment)
    seen[key] = grant
    return grant


def _deny(item: Mapping[str, Any]) -> Deny:
    body = props(item)
    identifier = str(item["id"])
    scope = str(
        body.get("scope") or identifier.lower().partition("/providers/microsoft.authorization/")[0] or "/"
    )
    principals = [guid(p["id"]) for p in body["principals"] if isinstance(p, Mapping) and p.get("id")]
    excluded = [
        guid(p["id"]) for p in body.get("excludePrincipals") or () if isinstance(p, Mapping) and p.get("id")
    ]
    document = {
        "denyAssignmentName": body.get("denyAssignmentName") or item.get("name"),
        "description": body.get("description") or "",
        "scope": scope,
        "permissions": list(body["permissions"]),
        "principals": principals,
        "excludePrincipals": excluded,
        "doNotApplyToChildScopes": bool(body.get("doNotApplyToChildScopes")),
        "isSystemProtected": bool(body.get("isSystemProtected")),
    }
    if _condition(body):
        document.update(_condition(body) or {})
    policy = Policy(
        external_id=identifier.lower(),
        name=str(document["denyAssignmentName"] or identifier),
        kind=PolicyKind.INLINE,
        managed_by_cloud=bool(body.get("isSystemProtected")),
        document=document,
        attributes={DENY_LAYER_ATTRIBUTE: True, "id": identifier},
    )
    return Deny(policy, scope, scope_key(scope), principals or [ALL_PRINCIPALS], excluded)


def _fill_builtins(rbac: Rbac, warnings: list[str]) -> None:
    """Built-in roles the assignments name that the export lacks come from the shipped catalogue; a role no
    one knows is warned about (its assignments grant nothing)."""
    shipped = builtin_roles()
    missing: set[str] = set()
    for grant in rbac.grants:
        if grant.role in rbac.roles:
            continue
        definition = shipped.get(grant.role)
        if definition is not None:
            rbac.roles[grant.role] = role_policy(definition)
        elif grant.role not in missing:
            missing.add(grant.role)
            warnings.append(
                f"role-definitions: role {grant.role} (assigned at {grant.scope}) is neither exported nor built in;"
                " its assignments grant nothing"
            )
