"""What of one IAM member a remediation plan may remove in a project: its bindings on the project and on the
project's resources that hold allow policies of their own (`kinds.KINDS`: service accounts, buckets, Compute
instances, Cloud Run services, secrets, ...; the member out of the role's binding under its condition), its
direct Google group memberships (deleted in Cloud Identity, created again by rollback), and its
user-managed service-account keys (disabled, never deleted); and the step creating a generated least-privilege
role and binding the member to it in their place (`generated_step`). Bindings inherited from folders or the organization
reach other projects too and are not stepped; nor are bindings on other resource types or on resources of
another project (`places.place_of`)."""

from __future__ import annotations

from typing import Any

from permscope.clouds.gcp.access import CRM
from permscope.clouds.gcp.remediation.places import place_of
from permscope.clouds.gcp.transform.members import email_of
from permscope.clouds.gcp.transform.policies import role_policy
from permscope.core.inventory import Assignment, AssignmentRelation, Identity, IdentityKind, Policy
from permscope.core.remediation import Candidate, GrantRef, GrantRefKind, StepKind, grant_at
from permscope.core.snapshot import SystemSnapshot

KINDS = frozenset({IdentityKind.USER, IdentityKind.GROUP, IdentityKind.SERVICE_ACCOUNT})


def member_identity(snapshot: SystemSnapshot, identity_id: str) -> Identity:
    """A stored user, group or service account of the project; KeyError / ValueError otherwise."""
    identity = snapshot.identities_by_id[identity_id]
    if identity.kind not in KINDS:
        raise ValueError(
            f"{identity_id} is a {identity.kind.value}; GCP plans remediate users, groups and service accounts"
        )
    return identity


def binding_target(role: str, scope: str) -> str:
    """How a step names the member's binding of a role at a scope: `<role>@<scope>`."""
    return f"{role}@{scope}"


def project_number(snapshot: SystemSnapshot) -> str | None:
    """The project's number as the collection stored it (a scope may name the project by it)."""
    number = snapshot.system.attributes.get("projectNumber")
    return str(number) if number else None


def number_parameter(snapshot: SystemSnapshot, scopes: list[str]) -> dict[str, str]:
    """`{"projectNumber": N}` when one of the scopes names the project by its number, else nothing."""
    number = project_number(snapshot)
    named = number is not None and any(f"/projects/{number}/" in scope for scope in scopes)
    return {"projectNumber": str(number)} if named else {}


def _binding(snapshot: SystemSnapshot, identity_id: str, assignment: Assignment) -> Candidate:
    role, scope = assignment.policy_external_id, assignment.scope
    policy = snapshot.policies_by_id.get(role)
    name = policy.name if policy is not None else role
    stored = dict(assignment.condition or {})
    merged = int(stored.get("bindings") or 0) > 1  # several conditional bindings of the role, stored as one
    condition = (
        None
        if not stored or merged
        else {k: str(stored[k]) for k in ("title", "expression", "description") if stored.get(k)}
    )
    label = f"{name} on {scope}"
    if condition:
        label += f" if {condition.get('title') or condition['expression']}"
    elif merged:
        label += f" under {stored['bindings']} conditions"
    return Candidate(
        kind=StepKind.REMOVE_BINDING,
        principal=identity_id,
        target=binding_target(role, scope),
        label=label,
        parameters={
            "project": snapshot.system_id,
            "resource": scope,
            "role": role,
            "roleName": name,
            "member": identity_id,
            "condition": condition,
            "merged": merged,
            **number_parameter(snapshot, [scope]),
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
    return Candidate(
        kind=StepKind.REMOVE_GROUP_MEMBER,
        principal=identity_id,
        target=group_id,
        label=f"member of group {name}",
        parameters={"group": email_of(group_id) or group_id, "member": email_of(identity_id) or identity_id},
        removes=(GrantRef(GrantRefKind.MEMBERSHIP, group_id),),
    )


def grant_candidates(snapshot: SystemSnapshot, identity_id: str) -> list[Candidate]:
    """The member's bindings in the project (the project and its resources of `kinds.KINDS`), then its direct
    group memberships (the stored memberships are direct ones; audiences such as allUsers or domain: are not
    memberships anyone can leave)."""
    member_identity(snapshot, identity_id)
    found: list[Candidate] = []
    assignments = sorted(
        snapshot.assignments_of.get(identity_id, ()), key=lambda a: (a.scope, a.policy_external_id)
    )
    for assignment in assignments:
        if assignment.relation is not AssignmentRelation.ATTACHED:
            continue
        if place_of(assignment.scope, snapshot.system_id, project_number(snapshot)) is None:
            continue
        found.append(_binding(snapshot, identity_id, assignment))
    for group_id in sorted(snapshot.groups_of.get(identity_id, ())):
        if group_id.startswith("group:"):
            found.append(_membership(snapshot, identity_id, group_id))
    return found


def credential_step(snapshot: SystemSnapshot, identity_id: str, key_id: str) -> Candidate | None:
    """Disabling one user-managed key of a service account (enabled again by rollback)."""
    identity = snapshot.identities_by_id.get(identity_id)
    if identity is None or identity.kind is not IdentityKind.SERVICE_ACCOUNT or not key_id:
        return None
    entries = [e for e in identity.attributes.get("keys") or () if isinstance(e, dict)]
    if not any(str(e.get("id") or "") == key_id for e in entries):
        return None
    account = str(identity.attributes.get("email") or email_of(identity_id) or "")
    return Candidate(
        kind=StepKind.DISABLE_SERVICE_ACCOUNT_KEY,
        principal=identity_id,
        target=key_id,
        label=f"key {key_id[:12]} of {account}",
        parameters={"serviceAccount": account, "keyId": key_id},
    )


def manual_candidates(snapshot: SystemSnapshot, identity_id: str) -> list[Candidate]:
    """Removing an inactive member entirely: a service account is deleted (its keys and its unique id go, and
    undelete works for 30 days only); a user or group lives in Cloud Identity."""
    identity = member_identity(snapshot, identity_id)
    email = str(identity.attributes.get("email") or email_of(identity_id) or identity_id)
    parameters: dict[str, Any] = {"member": identity_id, "email": email, "kind": identity.kind.value}
    if identity.kind is IdentityKind.SERVICE_ACCOUNT:
        note = (
            "a deleted service account loses its keys and bindings (they show as deleted:) and can be undeleted "
            "for 30 days only: delete it yourself once the reversible steps have held a while"
        )
    else:
        note = (
            f"a {identity.kind.value} lives in Cloud Identity (or Workspace), not in the project: remove it "
            "there once the reversible steps have held a while"
        )
    return [
        Candidate(
            kind=StepKind.DELETE_IDENTITY,
            principal=identity_id,
            target=identity_id,
            label=f"{identity.kind.value} {email}",
            parameters=parameters,
            note=note,
        )
    ]


def inventory_scope(full: str) -> str:
    """A generator's binding place (a full resource name) as the inventory stores scopes (`projects/P` for a
    project, the full name for a resource)."""
    return full.removeprefix(CRM) if full.startswith(f"{CRM}projects/") else full


def generated_step(
    snapshot: SystemSnapshot, identity_id: str, name: str, document: dict[str, Any]
) -> tuple[Candidate, Policy, tuple[Assignment, ...]]:
    """Creating the generated custom role `name` (the generator's `gcpCustomRole` document) and binding the
    member to it at each resource of its `bindAt`, and how that sits in the inventory; ValueError when a place is
    not one the connector writes (a resource type not in `kinds.KINDS`, or a resource of another project)."""
    member_identity(snapshot, identity_id)
    places = [inventory_scope(str(scope)) for scope in document.get("bindAt") or ()]
    if not places:
        raise ValueError(f"the generated role {name} names no resource to bind it at")
    number = project_number(snapshot)
    unwritable = [scope for scope in places if place_of(scope, snapshot.system_id, number) is None]
    if unwritable:
        raise ValueError(
            f"the generated role {name} is to be bound at {', '.join(unwritable[:3])}: permscope writes the IAM "
            f"policies of project {snapshot.system_id} and of its resources of the types remediation knows "
            "(bind it yourself, then plan again)"
        )
    definition = dict(document.get("role") or {})
    role_id = name.rpartition("/roles/")[2]
    warnings: list[str] = []
    policy = role_policy(name, {name: definition}, warnings)
    assignments = tuple(
        Assignment(
            identity_external_id=identity_id,
            policy_external_id=name,
            relation=AssignmentRelation.ATTACHED,
            scope=scope,
        )
        for scope in places
    )
    count = len(definition.get("includedPermissions") or ())
    step = Candidate(
        kind=StepKind.CREATE_GENERATED_ROLE,
        principal=identity_id,
        target=name,
        label=f"{role_id} ({count} permissions) bound at {len(places)} resource(s)",
        parameters={
            "project": snapshot.system_id,
            "member": identity_id,
            "role": name,
            "roleId": role_id,
            "resources": places,
            "document": document,
            **number_parameter(snapshot, places),
        },
    )
    return step, policy, assignments
