"""What of one IAM user or role a remediation plan may remove: attached managed policies, inline policies, group
memberships (users), and the manual steps of removing an inactive identity entirely (login profile, the user
or role itself); and what Access Advisor says was used recently."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from permscope.clouds.aws.grant.connector import inline_limit, policy_size
from permscope.core.arn import Arn
from permscope.core.inventory import (
    Assignment,
    AssignmentRelation,
    Identity,
    IdentityKind,
    Policy,
    PolicyKind,
)
from permscope.core.remediation import Candidate, GrantRef, GrantRefKind, StepKind
from permscope.core.snapshot import SystemSnapshot, as_document
from permscope.core.times import parse_instant

INLINE_MARK = "#inline/"  # an inline policy's external id: <identity ARN>#inline/<name>
IAM_KINDS = {IdentityKind.USER: "user", IdentityKind.ROLE: "role"}


def principal_parts(snapshot: SystemSnapshot, identity_id: str) -> tuple[Identity, str, str]:
    """(identity, `user`|`role`, name) of a stored IAM user or role; KeyError / ValueError otherwise."""
    identity = snapshot.identities_by_id[identity_id]
    kind = IAM_KINDS.get(identity.kind)
    parsed = Arn.try_parse(identity_id)
    if kind is None or parsed is None or not parsed.name:
        raise ValueError(f"{identity_id} is a {identity.kind.value}; AWS plans remediate users and roles")
    return identity, kind, parsed.name


def _base(kind: str, name: str) -> dict[str, Any]:
    return {"principalKind": kind, "principalName": name}


def _managed(snapshot: SystemSnapshot, identity_id: str, kind: str, name: str, policy_id: str) -> Candidate:
    policy = snapshot.policies_by_id.get(policy_id)
    parsed = Arn.try_parse(policy_id)
    label = policy.name if policy is not None else (parsed.name if parsed else policy_id)
    return Candidate(
        kind=StepKind.DETACH_MANAGED_POLICY,
        principal=identity_id,
        target=policy_id,
        label=label,
        parameters={
            **_base(kind, name),
            "policyArn": policy_id,
            "policyName": label,
            "defaultVersion": policy.default_version if policy is not None else None,
            "awsManaged": bool(policy.managed_by_cloud)
            if policy is not None
            else ":aws:policy/" in policy_id,
        },
        removes=(GrantRef(GrantRefKind.ASSIGNMENT, policy_id, AssignmentRelation.ATTACHED.value),),
    )


def _inline(snapshot: SystemSnapshot, identity_id: str, kind: str, name: str, policy_id: str) -> Candidate:
    policy = snapshot.policies_by_id.get(policy_id)
    policy_name = policy.name if policy is not None else policy_id.partition(INLINE_MARK)[2]
    document = as_document(policy.document) if policy is not None else None
    return Candidate(
        kind=StepKind.DELETE_INLINE_POLICY,
        principal=identity_id,
        target=policy_name,
        label=policy_name,
        parameters={**_base(kind, name), "policyName": policy_name, "storedDocument": document},
        removes=(GrantRef(GrantRefKind.ASSIGNMENT, policy_id, AssignmentRelation.INLINE.value),),
    )


def _membership(identity_id: str, name: str, group_id: str) -> Candidate:
    parsed = Arn.try_parse(group_id)
    group_name = parsed.name if parsed is not None and parsed.name else group_id
    return Candidate(
        kind=StepKind.REMOVE_FROM_GROUP,
        principal=identity_id,
        target=group_id,
        label=group_name,
        parameters={**_base("user", name), "groupName": group_name},
        removes=(GrantRef(GrantRefKind.MEMBERSHIP, group_id),),
    )


def grant_candidates(snapshot: SystemSnapshot, identity_id: str) -> list[Candidate]:
    """The identity's attached managed policies, inline policies and (users) group memberships, in a stable
    order. Boundaries and trust policies are not grants: a plan never removes them."""
    _identity, kind, name = principal_parts(snapshot, identity_id)
    found: list[Candidate] = []
    assignments = sorted(
        snapshot.assignments_of.get(identity_id, ()), key=lambda a: (a.relation.value, a.policy_external_id)
    )
    for assignment in assignments:
        if assignment.relation is AssignmentRelation.ATTACHED:
            found.append(_managed(snapshot, identity_id, kind, name, assignment.policy_external_id))
        elif assignment.relation is AssignmentRelation.INLINE:
            found.append(_inline(snapshot, identity_id, kind, name, assignment.policy_external_id))
    if kind == "user":
        for group_id in sorted(snapshot.groups_of.get(identity_id, ())):
            found.append(_membership(identity_id, name, group_id))
    return found


def manual_candidates(snapshot: SystemSnapshot, identity_id: str) -> list[Candidate]:
    """Removing an inactive identity entirely, beyond the reversible steps: a user's console password (IAM
    keeps no copy to restore) and the user or role itself (a new one gets a new unique id)."""
    identity, kind, name = principal_parts(snapshot, identity_id)
    found: list[Candidate] = []
    report = identity.attributes.get("credentialReport")
    has_password = isinstance(report, dict) and bool(report.get("passwordEnabled"))
    if kind == "user" and has_password:
        found.append(
            Candidate(
                kind=StepKind.DELETE_LOGIN_PROFILE,
                principal=identity_id,
                target=name,
                label=f"console password of {name}",
                parameters=_base(kind, name),
                note="a deleted password cannot be restored: run it yourself once the plan has held a while",
            )
        )
    found.append(
        Candidate(
            kind=StepKind.DELETE_IDENTITY,
            principal=identity_id,
            target=identity_id,
            label=f"{kind} {name}",
            parameters=_base(kind, name),
            note=f"a deleted {kind} cannot be restored (a new one gets a new unique id): run it yourself, after "
            "the reversible steps have held a while",
        )
    )
    return found


def access_advisor_bits(snapshot: SystemSnapshot, identity_id: str, since: datetime) -> int:
    """The actions Access Advisor says the identity used since `since`: every action of a service it last
    authenticated to since then, and each tracked action last accessed since then."""
    identity = snapshot.identities_by_id.get(identity_id)
    advisor = identity.attributes.get("accessAdvisor") if identity is not None else None
    if not isinstance(advisor, dict):
        return 0
    index = snapshot.index
    bits = 0
    for service in advisor.get("services") or ():
        last = parse_instant(service.get("lastAuthenticated")) if isinstance(service, dict) else None
        if last is not None and last >= since:
            bits |= index.expand(f"{service.get('namespace')}:*")
    for action in advisor.get("actions") or ():
        last = parse_instant(action.get("lastAccessed")) if isinstance(action, dict) else None
        position = index.index_of(str(action.get("action"))) if last is not None and last >= since else None
        if position is not None:
            bits |= 1 << position
    return bits


def generated_step(
    snapshot: SystemSnapshot, identity_id: str, name: str, document: dict[str, Any]
) -> tuple[Candidate, Policy, tuple[Assignment, ...]]:
    """Putting a generated document as the inline policy `name` of the identity, and that policy in the
    inventory (its size against IAM's quota is `inline_quota_problem`)."""
    _identity, kind, principal_name = principal_parts(snapshot, identity_id)
    account = Arn.try_parse(identity_id)
    policy = Policy(
        external_id=f"{identity_id}{INLINE_MARK}{name}",
        name=name,
        kind=PolicyKind.INLINE,
        managed_by_cloud=False,
        document=document,
    )
    assignment = Assignment(
        identity_external_id=identity_id,
        policy_external_id=policy.external_id,
        relation=AssignmentRelation.INLINE,
        scope=(account.account_id or "") if account is not None else "",
    )
    step = Candidate(
        kind=StepKind.PUT_GENERATED_POLICY,
        principal=identity_id,
        target=name,
        label=name,
        parameters={**_base(kind, principal_name), "policyName": name, "document": document},
    )
    return step, policy, (assignment,)


def inline_quota_problem(
    snapshot: SystemSnapshot,
    identity_id: str,
    documents: Sequence[tuple[str, dict[str, Any]]],
) -> str | None:
    """Why the generated documents, put as inline policies, exceed IAM's quota on the total of the identity's
    inline policies (2,048 characters for a user, 10,240 for a role, whitespace not counted); None when they
    fit. IAM counts the inline policies the identity holds when the put runs: the put is a plan's first step,
    so those the plan deletes afterwards count too (not one of the same name, which the put overwrites)."""
    _identity, kind, _name = principal_parts(snapshot, identity_id)
    names = {name for name, _document in documents}
    kept: dict[str, int] = {}
    for assignment in snapshot.assignments_of.get(identity_id, ()):
        policy = snapshot.policies_by_id.get(assignment.policy_external_id)
        if assignment.relation is not AssignmentRelation.INLINE or policy is None:
            continue
        if policy.name not in names:
            kept[policy.name] = policy_size(as_document(policy.document))
    generated = sum(policy_size(document) for _name, document in documents)
    limit = inline_limit(identity_id)
    if generated + sum(kept.values()) <= limit:
        return None
    listed = ", ".join(f"{name} ({size})" for name, size in sorted(kept.items()))
    beside = f" and the inline policies the {kind} holds when they are put ({listed})" if kept else ""
    return (
        f"the generated policies ({generated} characters){beside} total {generated + sum(kept.values())} "
        f"characters; IAM holds at most {limit} in all the inline policies of a {kind} (whitespace not counted)"
    )


def key_step(snapshot: SystemSnapshot, identity_id: str, key_id: str) -> Candidate | None:
    """Deactivating one access key of a user (UpdateAccessKey Inactive, which rollback sets Active again); None
    for a key known only by its credential-report slot (no id to name it by)."""
    _identity, kind, name = principal_parts(snapshot, identity_id)
    if kind != "user" or "#" in key_id or not key_id:
        return None
    return Candidate(
        kind=StepKind.DEACTIVATE_ACCESS_KEY,
        principal=identity_id,
        target=key_id,
        label=key_id,
        parameters={**_base(kind, name), "keyId": key_id},
    )
