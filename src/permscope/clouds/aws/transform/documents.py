"""Policy documents the engine cannot read, found at import: a warning naming the policy and whom it concerns.

A document that breaks the IAM grammar (a Statement that is a string, an Effect that is neither Allow nor Deny,
a Condition value that is an object, ...) grants nothing when effective permissions are computed: a role whose
permissions boundary cannot be read is granted nothing at all. The import says so instead of staying silent.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import orjson

from permscope.clouds.aws.engine.policy import PolicyError, PolicyType, parse_policy
from permscope.core.inventory import Assignment, AssignmentRelation, InventoryBatch, PolicyKind

NAMED = 3  # identities named in one warning; the others are counted
POLICY_TYPES = {
    PolicyKind.MANAGED: PolicyType.IDENTITY,
    PolicyKind.INLINE: PolicyType.IDENTITY,
    PolicyKind.TRUST: PolicyType.TRUST,
}
ORGANIZATION_TYPES = {"SERVICE_CONTROL_POLICY": PolicyType.SCP, "RESOURCE_CONTROL_POLICY": PolicyType.RCP}
CONSEQUENCES = {
    AssignmentRelation.BOUNDARY: "it is the permissions boundary of {who}, who {verb} therefore granted nothing",
    AssignmentRelation.ATTACHED: "{who} {verb} granted nothing by it",
    AssignmentRelation.INLINE: "{who} {verb} granted nothing by it",
    AssignmentRelation.TRUST: "nobody can assume {who} through it",
}


class _Parser:
    """Parses each distinct document once (roles mostly share a handful of trust policies)."""

    def __init__(self) -> None:
        self.problems: dict[tuple[bytes, PolicyType], str | None] = {}

    def problem(self, document: object, name: str, policy_type: PolicyType) -> str | None:
        """Why the engine cannot read the document, or None."""
        try:
            key = (orjson.dumps(document), policy_type)
        except TypeError:  # orjson.JSONEncodeError: the store check says why
            return None
        if key not in self.problems:
            try:
                parse_policy(document, name=name, policy_type=policy_type)
            except PolicyError as error:
                self.problems[key] = error.problem
            else:
                self.problems[key] = None
        return self.problems[key]


def _named(identities: list[str]) -> tuple[str, str]:
    """`a, b, c and 4 others` and the verb that agrees with it."""
    shown = ", ".join(identities[:NAMED])
    if len(identities) > NAMED:
        shown += f" and {len(identities) - NAMED:,} others"
    return shown, "is" if len(identities) == 1 else "are"


def _consequences(reached: dict[AssignmentRelation, list[str]]) -> Iterator[str]:
    for relation, template in CONSEQUENCES.items():
        if reached.get(relation):
            who, verb = _named(reached[relation])
            yield template.format(who=who, verb=verb)


def unreadable_documents(batch: InventoryBatch) -> list[str]:
    """A warning for each policy document of the batch the engine cannot read, naming the policy, the problem
    and the identities it reaches (whose permissions it then leaves out, or, as a boundary, removes)."""
    reached: dict[str, dict[AssignmentRelation, list[str]]] | None = None  # built for the first bad one
    warnings: list[str] = []
    parser = _Parser()
    for policy in batch.policies:
        policy_type = POLICY_TYPES.get(policy.kind)
        if policy.kind is PolicyKind.ORGANIZATION:
            policy_type = ORGANIZATION_TYPES.get(str(policy.attributes.get("policyType")))
        if policy_type is None:
            continue
        problem = parser.problem(policy.document, policy.external_id, policy_type)
        if problem is None:
            continue
        if reached is None:
            reached = _reached(batch.assignments)
        effects = "; ".join(_consequences(reached.get(policy.external_id, {})))
        warnings.append(
            f"policy {policy.external_id} cannot be read ({problem}); permscope reads it as granting nothing"
            + (f": {effects}" if effects else "")
        )
    for resource in batch.resources or ():
        if resource.policy is not None:
            problem = parser.problem(resource.policy, resource.external_id, PolicyType.RESOURCE)
            if problem is not None:
                warnings.append(
                    f"the resource policy of {resource.external_id} cannot be read ({problem}); "
                    "permscope reads it as granting nothing"
                )
    return warnings


def _reached(assignments: Iterable[Assignment]) -> dict[str, dict[AssignmentRelation, list[str]]]:
    """Policy id -> relation -> the identities it reaches that way."""
    found: dict[str, dict[AssignmentRelation, list[str]]] = {}
    for assignment in assignments:
        by_relation = found.setdefault(assignment.policy_external_id, {})
        by_relation.setdefault(assignment.relation, []).append(assignment.identity_external_id)
    return found
