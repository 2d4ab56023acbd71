"""One stored principal's Azure request, and who can make one, decided by the engine over the subscription's
stored role definitions, role and deny assignments, groups and management-group chain (`engine.estate`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from permscope.clouds.azure.catalog.operations import DATA
from permscope.clouds.azure.effective.compile import permissions_of
from permscope.clouds.azure.engine.conditions import assignment_condition
from permscope.clouds.azure.engine.estate import CompiledEstate
from permscope.clouds.azure.engine.evaluate import ALL_PRINCIPALS, DenyAssignment, RoleAssignment
from permscope.clouds.azure.engine.roles import CompiledRole, role_from_definition
from permscope.clouds.azure.engine.scopes import scope_key
from permscope.clouds.azure.view import EVALUATED_KINDS
from permscope.core.access_decisions import AccessDecision
from permscope.core.errors import InputError, NotFoundError
from permscope.core.inventory import AssignmentRelation, IdentityKind, Policy, PolicyKind
from permscope.core.snapshot import SnapshotSlice, SystemSnapshot, as_document

ASKED_KINDS = EVALUATED_KINDS - {IdentityKind.GROUP}


def estate_of(snapshot: SystemSnapshot) -> CompiledEstate:
    """The subscription's RBAC state compiled for decisions (once per snapshot)."""

    def compute() -> CompiledEstate:
        roles: dict[str, CompiledRole] = {}
        denies: list[DenyAssignment] = []
        documents: dict[str, Policy] = {policy.external_id: policy for policy in snapshot.policies}
        for policy in snapshot.policies:
            if policy.kind is PolicyKind.ROLE_DEFINITION:
                document = as_document(policy.document)
                roles[policy.external_id] = role_from_definition({**document, "name": policy.external_id})
        assignments: list[RoleAssignment] = []
        seen_denies: set[str] = set()
        for assignment in snapshot.assignments:
            if assignment.relation is AssignmentRelation.ATTACHED:
                condition = assignment.condition or {}
                parsed, error = assignment_condition(
                    condition.get("condition"), condition.get("conditionVersion")
                )
                assignments.append(
                    RoleAssignment(
                        id=f"{assignment.scope}|{assignment.policy_external_id}|{assignment.identity_external_id}",
                        principal_id=assignment.identity_external_id.lower(),
                        role_id=assignment.policy_external_id,
                        scope=assignment.scope,
                        key=scope_key(assignment.scope),
                        condition=parsed,
                        condition_error=error,
                    )
                )
            elif (
                assignment.relation is AssignmentRelation.DENY
                and assignment.policy_external_id not in seen_denies
            ):
                seen_denies.add(assignment.policy_external_id)
                found = documents.get(assignment.policy_external_id)
                document = as_document(found.document) if found is not None else {}
                denies.append(
                    DenyAssignment(
                        id=assignment.policy_external_id,
                        name=found.name if found is not None else assignment.policy_external_id,
                        scope=assignment.scope,
                        key=scope_key(assignment.scope),
                        permissions=CompiledRole(
                            "deny", "deny assignment", "DenyAssignment", permissions_of(document)
                        ),
                        principals=frozenset(
                            str(p).lower() for p in document.get("principals") or [ALL_PRINCIPALS]
                        ),
                        excluded=frozenset(str(p).lower() for p in document.get("excludePrincipals") or ()),
                        this_scope_only=bool(document.get("doNotApplyToChildScopes")),
                    )
                )
        ancestry = {
            f"/subscriptions/{snapshot.system_id}": list(
                snapshot.system.attributes.get("scopeAncestry") or ()
            )
        }
        return CompiledEstate(roles, assignments, denies, snapshot.members_of, ancestry)

    return snapshot.derive("azureEstate", compute)


def _plane(snapshot: SystemSnapshot, action: str, context: Mapping[str, Any]) -> bool:
    """Whether an operation is a data action: `dataAction` in the context, else the catalogue's plane."""
    given = context.get("dataAction")
    if isinstance(given, bool):
        return given
    planes = getattr(snapshot.index.catalog, "planes", {})
    return bool(planes.get(action.strip().lower()) == DATA)


def _attributes(context: Mapping[str, Any]) -> dict[str, Any]:
    found = {key: value for key, value in context.items() if key != "dataAction"}
    for source, values in found.items():
        if not isinstance(values, Mapping):
            raise InputError(
                "context", f"{source} must map attribute names to values (Resource, Request, ...)"
            )
    return found


def _decision(
    snapshot: SystemSnapshot, principal: str, action: str, resource: str, context: Mapping[str, Any]
) -> AccessDecision:
    identity = snapshot.identities_by_id[principal]
    target = resource or f"/subscriptions/{snapshot.system_id}"
    decided = estate_of(snapshot).decide(
        principal, action, _plane(snapshot, action, context), target, _attributes(context)
    )
    return AccessDecision(
        principal=principal,
        kind=identity.kind.value,
        display_name=identity.display_name,
        action=action,
        resource=target,
        decision=decided.decision,
        explanation=decided.explanation,
        context=dict(context),
    )


def decision_slice(principal: str) -> SnapshotSlice:
    """What `decide_stored` reads: the principal (as given and lower-cased) with the groups it is in (nested),
    their role assignments at every scope and the role definitions those name, and the deny assignments (to
    Everyone or to named principals); the management-group chain is the subscription's."""
    return SnapshotSlice(
        principals=tuple(dict.fromkeys((principal, principal.lower()))),
        shared_principals=(ALL_PRINCIPALS,),
        relations=(AssignmentRelation.DENY.value,),
    )


def decide_stored(
    snapshot: SystemSnapshot, principal: str, action: str, resource: str, context: Mapping[str, Any]
) -> AccessDecision:
    """A stored identity's request (NotFoundError when the subscription does not hold it)."""
    if principal not in snapshot.identities_by_id:
        principal = principal.lower()
    identity = snapshot.identities_by_id.get(principal)
    if identity is None or identity.kind not in EVALUATED_KINDS:
        raise NotFoundError(
            f"no user, group, service principal or managed identity {principal} in subscription {snapshot.system_id}"
        )
    if not action.strip():
        raise InputError("action", "must name an Azure operation")
    return _decision(snapshot, principal, action, resource, context)


def who_can(
    snapshot: SystemSnapshot, action: str, resource: str, context: Mapping[str, Any]
) -> list[AccessDecision]:
    """Every user, service principal and managed identity allowed the request: those whose effective
    permissions hold the operation are asked (every one when the catalogue lacks it)."""
    if not action.strip():
        raise InputError("action", "must name an Azure operation")
    position = snapshot.index.index_of(action)
    found = []
    for identity in sorted(snapshot.identities, key=lambda i: i.external_id):
        if identity.kind not in ASKED_KINDS:
            continue
        if position is not None:
            permissions = snapshot.permissions(identity.external_id)
            if permissions is None or not permissions.granted >> position & 1:
                continue
        decision = _decision(snapshot, identity.external_id, action, resource, context)
        if decision.allowed:
            found.append(decision)
    return found
