"""Decisions about a stored project: one principal's request, who can, and which service accounts an identity
may act as, each decided by the GCP engine (`engine.evaluate.decide`) over the stored inventory.

The snapshot is turned once into the engine's estate (`estate_case`): the project's lineage (full resource
names, `//cloudresourcemanager.googleapis.com/...`), the allow policies of every scope that reaches it (bindings
regrouped from the stored assignments, audiences included), the roles' permissions, the deny policies attached
along the lineage, and the group memberships; its entries are read once per snapshot and shared by every
decision over it (`schema.Built`). A resource of the request is placed in the project (its ancestry
is the project's lineage). Conditions are evaluated by the engine with the request's time (now, or
`context["time"]`) and `context["attributes"]` for `api.getAttribute`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import msgspec

from permscope.clouds.gcp.engine.case import read_case
from permscope.clouds.gcp.engine.evaluate import ALLOWED, decide
from permscope.clouds.gcp.engine.principals import group_parents
from permscope.clouds.gcp.engine.schema import Built, CaseSpec, RequestSpec, convert_case
from permscope.core.access_decisions import AccessDecision
from permscope.core.errors import InputError, NotFoundError
from permscope.core.inventory import AssignmentRelation, IdentityKind, PolicyKind
from permscope.core.snapshot import SnapshotSlice, SystemSnapshot, as_document

CRM = "//cloudresourcemanager.googleapis.com/"
CALLER_KINDS = (IdentityKind.USER, IdentityKind.SERVICE_ACCOUNT)
IMPERSONATION = (
    "iam.serviceAccounts.getAccessToken",
    "iam.serviceAccounts.signBlob",
    "iam.serviceAccounts.signJwt",
    "iam.serviceAccounts.implicitDelegation",
    "iam.serviceAccounts.actAs",
)


def full_name(scope: str) -> str:
    """The full resource name of a stored scope."""
    return scope if scope.startswith("//") else CRM + scope


def lineage(snapshot: SystemSnapshot) -> list[str]:
    """The project and its ancestors, nearest first, as full resource names."""
    ancestry = snapshot.system.attributes.get("ancestry") or []
    return [full_name(f"projects/{snapshot.system_id}"), *(full_name(str(node)) for node in ancestry)]


def estate_case(snapshot: SystemSnapshot) -> CaseSpec:
    """The snapshot as the engine's case (without a request), built once per snapshot."""

    def build() -> CaseSpec:
        chain = lineage(snapshot)
        bindings: dict[str, dict[tuple[str, str | None, str | None], list[str]]] = {}
        denies: dict[str, list[Any]] = {}
        roles: dict[str, list[str]] = {}
        policies = snapshot.policies_by_id
        for assignment in snapshot.assignments:
            policy = policies.get(assignment.policy_external_id)
            if policy is None:
                continue
            if assignment.relation is AssignmentRelation.DENY and policy.kind is PolicyKind.ORGANIZATION:
                document = as_document(policy.document)
                denies.setdefault(full_name(assignment.scope), []).append(
                    {
                        "name": policy.external_id,
                        "displayName": policy.name,
                        "rules": document.get("rules") or [],
                    }
                )
                continue
            if assignment.relation is not AssignmentRelation.ATTACHED or policy.kind is not PolicyKind.ROLE:
                continue
            condition = assignment.condition or {}
            key = (policy.external_id, condition.get("expression"), condition.get("title"))
            bindings.setdefault(full_name(assignment.scope), {}).setdefault(key, []).append(
                assignment.identity_external_id
            )
            if policy.external_id not in roles:
                document = as_document(policy.document)
                granted = not document.get("deleted") and not document.get("unknown")
                roles[policy.external_id] = list(document.get("includedPermissions") or ()) if granted else []
        groups: dict[str, list[str]] = {}
        for membership in snapshot.memberships:
            if membership.group_external_id.startswith(("group:", "principalSet://")):
                groups.setdefault(membership.group_external_id, []).append(membership.member_external_id)
        allow = {
            name: {
                "bindings": [
                    {
                        "role": role,
                        "members": members,
                        **({"condition": {"expression": expression, "title": title}} if expression else {}),
                    }
                    for (role, expression, title), members in found.items()
                ]
            }
            for name, found in bindings.items()
        }
        ancestry = {name: chain[position + 1 :] for position, name in enumerate(chain)}
        case = {
            "id": snapshot.system_id,
            "estate": {
                "roles": roles,
                "allow_policies": allow,
                "deny_policies": denies,
                "group_members": groups,
                "ancestry": ancestry,
            },
            "request": {"principal": "anonymous", "permission": "a.b.c", "resource": chain[0]},
        }
        return convert_case(case, f"project {snapshot.system_id}")

    return snapshot.derive(("gcp", "estate"), build)


def _decide(
    snapshot: SystemSnapshot, principal: str, action: str, resource: str, context: Mapping[str, Any]
) -> AccessDecision:
    identity = snapshot.identities_by_id.get(principal)
    if identity is None:
        raise NotFoundError(f"no identity {principal} in project {snapshot.system_id}")
    spec = estate_case(snapshot)
    chain = lineage(snapshot)
    target = (
        full_name(resource) if resource.startswith(("projects/", "folders/", "organizations/")) else resource
    )
    ancestry: dict[str, Any] = dict(spec.estate.ancestry)
    if target not in ancestry:
        ancestry[target] = chain
    when = context.get("time") or datetime.now(UTC).isoformat()
    request = RequestSpec(
        principal=principal,
        permission=action,
        resource=target,
        time=str(when),
        attributes=dict(context.get("attributes") or {}),
    )
    case = msgspec.structs.replace(
        spec, request=request, estate=msgspec.structs.replace(spec.estate, ancestry=ancestry)
    )
    parents = snapshot.derive(("gcp", "group parents"), lambda: group_parents(spec.estate.group_members))
    built = snapshot.derive(("gcp", "estate built"), Built)
    parsed_request, estate = read_case(case, f"request of {principal}", group_parents=parents, built=built)
    decision = decide(parsed_request, estate)
    return AccessDecision(
        principal=principal,
        kind=identity.kind.value,
        display_name=identity.display_name,
        action=action,
        resource=target,
        decision=decision.decision,
        explanation=decision.explanation(),
        conditional=any("condition" in entry for entry in decision.granted_by),
        condition_keys=tuple(
            str(entry["condition"]["expression"]) for entry in decision.granted_by if "condition" in entry
        ),
        context=dict(context),
    )


def decision_slice(principal: str) -> SnapshotSlice:
    """What `decide_stored` reads: the principal with the groups and audiences (allUsers, domain:...) it is in,
    stored as memberships; their bindings at every scope and the roles those name; the deny policies; and one
    assignment of every binding (role and condition) at each scope, so bindings keep their numbers."""
    return SnapshotSlice(
        principals=(principal,), relations=(AssignmentRelation.DENY.value,), every_binding=True
    )


def acting_slice(identity: str) -> SnapshotSlice:
    """What `assumable` reads: `decision_slice` of the identity and every service account (their attributes
    name the resource decided)."""
    return SnapshotSlice(
        principals=(identity,),
        kinds=(IdentityKind.SERVICE_ACCOUNT.value,),
        relations=(AssignmentRelation.DENY.value,),
        every_binding=True,
    )


def decide_stored(
    snapshot: SystemSnapshot, principal: str, action: str, resource: str, context: Mapping[str, Any]
) -> AccessDecision:
    """One stored user's or service account's request (NotFoundError, InputError)."""
    if action.count(".") < 2:
        raise InputError("action", f"{action!r} is not a GCP permission (service.resource.verb)")
    return _decide(snapshot, principal, action, resource, context)


def who_can(
    snapshot: SystemSnapshot, action: str, resource: str, context: Mapping[str, Any]
) -> list[AccessDecision]:
    """Every user and service account of the project allowed the request, each with why."""
    if action.count(".") < 2:
        raise InputError("action", f"{action!r} is not a GCP permission (service.resource.verb)")
    bit = snapshot.index.index_of(action)
    found = []
    for identity in sorted(snapshot.identities, key=lambda i: i.external_id):
        if identity.kind not in CALLER_KINDS:
            continue
        held = snapshot.permissions(identity.external_id)
        if bit is not None and (held is None or not held.granted >> bit & 1):
            continue  # its bindings hold the permission nowhere
        decision = _decide(snapshot, identity.external_id, action, resource, context)
        if decision.decision == ALLOWED:
            found.append(decision)
    return found


def account_resource(snapshot: SystemSnapshot, external_id: str) -> str:
    """The full resource name of a service account (by unique id, as Cloud Asset Inventory names it)."""
    identity = snapshot.identities_by_id.get(external_id)
    attributes = identity.attributes if identity is not None else {}
    email = external_id.partition(":")[2]
    project = attributes.get("projectId") or snapshot.system_id
    return f"//iam.googleapis.com/projects/{project}/serviceAccounts/{attributes.get('uniqueId') or email}"


def assumable(snapshot: SystemSnapshot, identity: str) -> list[str]:
    """The service accounts of the project an identity may impersonate or attach (getAccessToken, signBlob,
    signJwt, implicitDelegation or actAs on the account, decided by the engine)."""
    if identity not in snapshot.identities_by_id:
        return []
    found = []
    for account in snapshot.identities_of(IdentityKind.SERVICE_ACCOUNT):
        if account.external_id == identity or not account.attributes.get("inProject", True):
            continue
        resource = account_resource(snapshot, account.external_id)
        for permission in IMPERSONATION:
            if _decide(snapshot, identity, permission, resource, {}).decision == ALLOWED:
                found.append(account.external_id)
                break
    return sorted(found)
