"""Who can do an action on a resource in one account, and one stored principal's request, decided by the engine.

Each principal's request is decided by `engine.evaluate` with what the inventory holds for it, exactly as the
escalation graph decides its steps (`escalation.decide.Decider`): its identity policies (its own and its
groups'), its permissions boundary, the organization's SCP levels, and the resource's policy when the inventory
has one (a role's trust policy for `sts:` actions on the role; a bucket's, function's, key's... policy for a
collected resource, an S3 object read through its bucket). The request carries what is known of the principal
(aws:PrincipalArn, aws:PrincipalAccount, aws:username, principal tags, the time) plus the context given.

A condition on a key the inventory cannot know (MFA, source IP, request tags) and the caller did not give
makes the request be decided a second time with those tests read favourably: allowed then means allowed *if*
those conditions hold (`conditional`, with the keys).

`who_can` asks every user and role of the account. Without a resource policy, only the principals whose
effective permissions hold the action at all are asked (the others cannot be allowed); with one, all of them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from permscope.clouds.aws.engine.evaluate import AuthorizationRequest, Decision, PolicySet, evaluate
from permscope.clouds.aws.engine.matching import actions_match
from permscope.clouds.aws.engine.policy import PolicyDocument, PolicyError, PolicyType, parse_policy
from permscope.clouds.aws.engine.variables import RequestContext
from permscope.clouds.aws.escalation.decide import Decider, known_key, relax_document
from permscope.core.access_decisions import AccessDecision
from permscope.core.arn import Arn
from permscope.core.errors import InputError, NotFoundError
from permscope.core.inventory import AssignmentRelation, IdentityKind
from permscope.core.snapshot import SnapshotSlice, SystemSnapshot, as_document

PRINCIPAL_KINDS = (IdentityKind.USER, IdentityKind.ROLE)


@dataclass(frozen=True, slots=True)
class _ResourcePolicy:
    """A resource-based policy, strict and with undecidable conditions read favourably."""

    label: str
    strict: PolicyDocument
    optimistic: PolicyDocument
    statements: tuple[tuple[tuple[str, ...] | None, tuple[str, ...] | None, tuple[str, ...]], ...]

    def condition_keys(self, action: str) -> tuple[str, ...]:
        """The undecidable condition keys of the statements that name `action`."""
        return _naming(self.statements, action)


def _undecidable(document: PolicyDocument) -> tuple[tuple[tuple[str, ...] | None, tuple[str, ...] | None, tuple[str, ...]], ...]:  # fmt: skip
    """(Action, NotAction, undecidable keys) of each statement that tests a key the inventory cannot know."""
    found = []
    for statement in document.statements:
        keys = tuple(dict.fromkeys(test.key for test in statement.conditions if not known_key(test.key)))
        if keys:
            actions = tuple(statement.actions) if statement.actions is not None else None
            not_actions = tuple(statement.not_actions) if statement.not_actions is not None else None
            found.append((actions, not_actions, keys))
    return tuple(found)


def _naming(
    statements: Iterable[tuple[tuple[str, ...] | None, tuple[str, ...] | None, tuple[str, ...]]], action: str
) -> tuple[str, ...]:
    keys: dict[str, None] = {}
    for actions, not_actions, unknown in statements:
        if actions is not None:
            named = actions_match(actions, action)
        else:
            named = not_actions is not None and not actions_match(not_actions, action)
        if named:
            keys.update(dict.fromkeys(unknown))
    return tuple(keys)


def _bucket_of(resource: str) -> str | None:
    """The bucket ARN of an S3 object ARN (`arn:aws:s3:::bucket/key` -> `arn:aws:s3:::bucket`)."""
    arn = Arn.try_parse(resource)
    if arn is None or arn.service != "s3" or "/" not in arn.resource:
        return None
    return f"arn:{arn.partition}:s3:::{arn.resource.split('/', 1)[0]}"


def resource_policy(snapshot: SystemSnapshot, decider: Decider, action: str, resource: str) -> _ResourcePolicy | None:  # fmt: skip
    """The resource-based policy a request on `resource` reads, when the inventory has one."""
    identity = snapshot.identities_by_id.get(resource)
    if identity is not None and identity.kind is IdentityKind.ROLE:
        if not action.lower().startswith("sts:"):
            return None
        variant = decider.named_trust(resource)
        if variant is None:
            return None
        label = f"{identity.display_name} trust policy"
        return _ResourcePolicy(label, variant.strict, variant.optimistic, _undecidable(variant.strict))
    found = snapshot.resources_by_id.get(resource)
    if found is None or not found.policy:
        bucket = _bucket_of(resource)
        found = snapshot.resources_by_id.get(bucket) if bucket else None
    if found is None or not found.policy:
        return None
    document = as_document(found.policy)
    label = f"{found.display_name} resource policy"
    try:
        strict = parse_policy(document, name=label, policy_type=PolicyType.RESOURCE)
        optimistic = parse_policy(relax_document(document), name=label, policy_type=PolicyType.RESOURCE)
    except PolicyError:
        return None  # a policy AWS would not have accepted: it grants nothing
    return _ResourcePolicy(label, strict, optimistic, _undecidable(strict))


def _decide(
    snapshot: SystemSnapshot,
    decider: Decider,
    principal: str,
    action: str,
    resource: str,
    context: Mapping[str, Any],
    policy: _ResourcePolicy | None,
) -> AccessDecision | None:
    """One principal's request (None when the principal is not a user or role of the snapshot)."""
    found = decider.named_principal(principal)  # the explanation names each policy as it is named
    identity = snapshot.identities_by_id.get(principal)
    if found is None or identity is None:
        return None
    request = AuthorizationRequest(
        principal=principal,
        action=action,
        resource=resource,
        resource_account=None,  # the account in the resource's ARN, else the principal's
        context=RequestContext({**found.context, **context}),
        principal_is_service_linked_role=found.service_linked,
    )

    def with_resource(policies: PolicySet, document: PolicyDocument | None) -> PolicySet:
        return dataclasses.replace(policies, resource=document) if document is not None else policies

    result = evaluate(request, with_resource(found.strict, policy.strict if policy else None))
    decision = AccessDecision(
        principal=principal,
        kind=identity.kind.value,
        display_name=identity.display_name,
        action=action,
        resource=resource,
        decision=result.decision.value,
        explanation=result.explanation.to_dict(),
        resource_policy=policy.label if policy else None,
        context=dict(context),
    )
    if result.decision is Decision.ALLOWED:
        return decision
    given = {key.lower() for key in context}
    keys = [
        key
        for key in (
            *decider.condition_keys(principal, action),
            *(policy.condition_keys(action) if policy else ()),
        )
        if key.lower() not in given
    ]
    if not keys:
        return decision  # every condition that names the action was decided
    second = evaluate(request, with_resource(found.optimistic, policy.optimistic if policy else None))
    if second.decision is not Decision.ALLOWED:
        return decision
    return dataclasses.replace(
        decision,
        decision=second.decision.value,
        explanation=second.explanation.to_dict(),
        conditional=True,
        condition_keys=tuple(dict.fromkeys(keys)),
    )


def _canonical_action(snapshot: SystemSnapshot, action: str) -> tuple[str, int]:
    """The catalogue's spelling of an action and its bit (InputError when the catalogue lacks it)."""
    if "*" in action or "?" in action:
        raise InputError("action", f"{action!r}: name one action (service:Action), not a pattern")
    bit = snapshot.index.index_of(action)
    if bit is None:
        raise InputError("action", f"{action!r} is not an AWS action of the catalogue (service:Action)")
    return snapshot.index.action(bit).external_id, bit


def _check_resource(resource: str) -> None:
    if resource != "*" and Arn.try_parse(resource) is None:
        raise InputError("resource", f"{resource!r} is not an ARN (or * for an action without a resource)")


def decision_slice(principal: str, resource: str) -> SnapshotSlice:
    """What `decide_stored` reads: the principal with its groups and their policies and its boundary, the
    resource when it is a role (its trust policy) or a collected resource (its policy; an S3 object's bucket);
    the SCPs come with every load."""
    bucket = _bucket_of(resource)
    return SnapshotSlice(
        principals=(principal,), identities=(resource,), resources=(resource, *((bucket,) if bucket else ()))
    )


def acting_slice(identity: str) -> SnapshotSlice:
    """What `AwsPlugin.assumable` reads: the identity with its groups and their policies and its boundary, and
    every trust policy (not the roles themselves, nor their permissions)."""
    return SnapshotSlice(principals=(identity,), relations=(AssignmentRelation.TRUST.value,))


def decide_stored(
    snapshot: SystemSnapshot, principal: str, action: str, resource: str, context: Mapping[str, Any]
) -> AccessDecision:
    """One stored user's or role's request, decided (NotFoundError when the account has no such principal)."""
    canonical, _bit = _canonical_action(snapshot, action)
    _check_resource(resource)
    decider = Decider(snapshot)
    policy = resource_policy(snapshot, decider, canonical, resource)
    found = _decide(snapshot, decider, principal, canonical, resource, context, policy)
    if found is None:
        raise NotFoundError(f"no user or role {principal!r} in AWS account {snapshot.system_id!r}")
    return found


def who_can(
    snapshot: SystemSnapshot, action: str, resource: str, context: Mapping[str, Any]
) -> list[AccessDecision]:
    """Every user and role of the account allowed `action` on `resource`: unconditionally allowed first, then
    those allowed only under conditions, each by kind and name."""
    canonical, bit = _canonical_action(snapshot, action)
    _check_resource(resource)
    decider = Decider(snapshot)
    policy = resource_policy(snapshot, decider, canonical, resource)
    found: list[AccessDecision] = []
    for kind in PRINCIPAL_KINDS:
        for identity in snapshot.identities_of(kind):
            if policy is None:
                permissions = snapshot.permissions(identity.external_id)
                if permissions is None or not (permissions.granted >> bit) & 1:
                    continue  # no identity policy allows the action anywhere, and no resource policy
            decision = _decide(snapshot, decider, identity.external_id, canonical, resource, context, policy)
            if decision is not None and decision.allowed:
                found.append(decision)
    found.sort(key=lambda item: (item.conditional, item.kind, item.display_name.lower(), item.principal))
    return found
