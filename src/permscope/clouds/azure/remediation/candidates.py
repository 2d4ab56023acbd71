"""What of one Entra principal a remediation plan may remove in a subscription: its role assignments at any
scope inside the subscription (the assignment itself: the role at one scope, with its condition), its direct
Entra group memberships (written through Microsoft Graph; listed for people when the group is dynamic or synced
from on-premises), and its application credentials (listed for people: a deleted secret cannot be restored)."""

from __future__ import annotations

from typing import Any

from permscope.clouds.azure.grant.connector import clean_scope, role_definition_id
from permscope.clouds.azure.remediation.memberships import why_not_written
from permscope.core.inventory import Assignment, AssignmentRelation, Identity, IdentityKind
from permscope.core.remediation import Candidate, GrantRef, GrantRefKind, StepKind, grant_at
from permscope.core.snapshot import SystemSnapshot

# the principalType ARM records on an assignment of each kind of principal
PRINCIPAL_TYPES = {
    IdentityKind.USER: "User",
    IdentityKind.GROUP: "Group",
    IdentityKind.SERVICE_PRINCIPAL: "ServicePrincipal",
    IdentityKind.MANAGED_IDENTITY: "ServicePrincipal",
}


def principal_type(snapshot: SystemSnapshot, identity_id: str) -> tuple[Identity, str]:
    """(identity, ARM principalType) of a stored Entra principal; KeyError / ValueError otherwise."""
    identity = snapshot.identities_by_id[identity_id]
    kind = PRINCIPAL_TYPES.get(identity.kind)
    if kind is None:
        raise ValueError(
            f"{identity_id} is a {identity.kind.value}; Azure plans remediate users, groups, service principals "
            "and managed identities"
        )
    return identity, kind


def in_subscription(scope: str, subscription: str) -> bool:
    """Whether an ARM scope is the subscription or below it (not a management group or the tenant root)."""
    base = f"/subscriptions/{subscription}".lower()
    place = clean_scope(scope).lower()
    return place == base or place.startswith(base + "/")


def assignment_target(role: str, scope: str) -> str:
    """How a step names one role assignment: `<role GUID>@<scope>` (its ARM name is read when it is applied)."""
    return f"{role}@{clean_scope(scope)}"


def _assignment(snapshot: SystemSnapshot, identity_id: str, kind: str, assignment: Assignment) -> Candidate:
    role = assignment.policy_external_id
    policy = snapshot.policies_by_id.get(role)
    scope = clean_scope(assignment.scope)
    condition = assignment.condition or {}
    name = policy.name if policy is not None else role
    return Candidate(
        kind=StepKind.DELETE_ROLE_ASSIGNMENT,
        principal=identity_id,
        target=assignment_target(role, scope),
        label=f"{name} at {scope}",
        parameters={
            "subscription": snapshot.system_id,
            "scope": scope,
            "roleDefinitionId": role_definition_id(snapshot.system_id, role),
            "roleName": name,
            "principalId": identity_id,
            "principalType": kind,
            "condition": condition.get("condition"),
            "conditionVersion": condition.get("conditionVersion"),
        },
        removes=(
            GrantRef(
                GrantRefKind.ASSIGNMENT,
                role,
                AssignmentRelation.ATTACHED.value,
                at=grant_at(assignment.scope, assignment.condition),
            ),
        ),
    )


def _membership(snapshot: SystemSnapshot, identity_id: str, group_id: str) -> Candidate:
    group = snapshot.identities_by_id.get(group_id)
    name = group.display_name if group is not None else group_id
    reason = why_not_written(group.attributes if group is not None else {})
    return Candidate(
        kind=StepKind.REMOVE_GROUP_MEMBER if reason is None else StepKind.REMOVE_RULED_MEMBER,
        principal=identity_id,
        target=group_id,
        label=f"member of group {name}",
        parameters={"groupId": group_id, "groupName": name, "memberId": identity_id},
        removes=(GrantRef(GrantRefKind.MEMBERSHIP, group_id),),
        note=None if reason is None else f"Graph cannot remove a member of group {name}: {reason}",
    )


def grant_candidates(snapshot: SystemSnapshot, identity_id: str) -> list[Candidate]:
    """The principal's role assignments inside the subscription (not those inherited from a management group,
    which reach other subscriptions too, nor PIM schedules, which PIM removes), then its group memberships."""
    _identity, kind = principal_type(snapshot, identity_id)
    found: list[Candidate] = []
    assignments = sorted(
        snapshot.assignments_of.get(identity_id, ()),
        key=lambda a: (a.scope.lower(), a.policy_external_id),
    )
    for assignment in assignments:
        if assignment.relation is not AssignmentRelation.ATTACHED:
            continue
        if assignment.starts_at is not None or assignment.ends_at is not None:
            continue  # an active PIM schedule: its end removes it
        if not in_subscription(assignment.scope, snapshot.system_id):
            continue
        found.append(_assignment(snapshot, identity_id, kind, assignment))
    for group_id in sorted(snapshot.groups_of.get(identity_id, ())):
        found.append(_membership(snapshot, identity_id, group_id))
    return found


def credential_step(snapshot: SystemSnapshot, identity_id: str, key_id: str) -> Candidate | None:
    """Deleting one client secret or certificate of a service principal's application: listed for people (Entra
    never returns a secret's value, so a deleted one cannot be put back)."""
    identity = snapshot.identities_by_id.get(identity_id)
    if identity is None or not key_id:
        return None
    entries = [e for e in identity.attributes.get("credentials") or () if isinstance(e, dict)]
    entry = next((e for e in entries if str(e.get("keyId") or "") == key_id), None)
    if entry is None:
        return None
    certificate = entry.get("credentialType") == "certificate"
    what = "certificate" if certificate else "client secret"
    parameters: dict[str, Any] = {
        "keyId": key_id,
        "credentialType": "certificate" if certificate else "password",
        "displayName": entry.get("displayName"),
        "applicationObjectId": identity.attributes.get("applicationObjectId"),
        "appId": identity.attributes.get("appId"),
    }
    return Candidate(
        kind=StepKind.DELETE_APP_CREDENTIAL,
        principal=identity_id,
        target=key_id,
        label=f"{what} {entry.get('displayName') or key_id} of {identity.display_name}",
        parameters=parameters,
        note=f"a deleted {what} cannot be restored (Entra keeps no copy of it): remove it yourself once the "
        "plan has held a while",
    )


def manual_candidates(snapshot: SystemSnapshot, identity_id: str) -> list[Candidate]:
    """Removing an inactive principal entirely: the user, group or service principal itself (a new one gets a
    new object id, which no assignment names)."""
    identity, _kind = principal_type(snapshot, identity_id)
    noun = identity.kind.value
    return [
        Candidate(
            kind=StepKind.DELETE_IDENTITY,
            principal=identity_id,
            target=identity_id,
            label=f"{noun} {identity.display_name}",
            parameters={"objectId": identity_id, "kind": noun},
            note=f"a deleted {noun} cannot be restored with its object id after 30 days in Entra's recycle bin: "
            "delete it yourself once the reversible steps have held a while",
        )
    ]
