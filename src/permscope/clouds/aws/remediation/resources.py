"""The Resource values of one generated action: the ARNs observed, narrowed where the action allows it, widened by
the documented rules (docs/remediation.md, "Widening rules").

- An action that lists no resource type in the catalogue supports no resource-level permissions: `*`.
- An action observed once without a resource, or on a resource that is none of the action's types (an ARN of
  another type, text that is no ARN), is granted on `*`: the resource it really needed is not known.
- Otherwise each ARN is granted as observed (its `*`, `?` and `${` written `${*}`, `${?}`, `${$}{`, so that it
  matches only itself), except:
  - S3 objects: more than `object_keys_threshold` distinct keys of one bucket become `bucket/<prefix>*`, the
    prefix being the keys' longest common prefix cut after its last `/` (`bucket/*` when they share none);
  - any other type: more than `resources_threshold` ARNs of one type that differ only in their last variable
    part (functions of one account and region, streams of one log group) become `<the common part>*`;
  - `iam:PassRole` is never widened: it stays limited to the roles passed.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from permscope.clouds.aws.activity.passrole import PASS_ROLE
from permscope.clouds.aws.catalog.arn_formats import ArnFormat, action_resource_type
from permscope.core.inventory import Action
from permscope.core.least_privilege import GenerationOptions, WideningReason

MAX_ARN_CHARS = 2_048  # longer text is no ARN of a resource IAM names (read as "not recorded")
OBJECT_TYPES = frozenset({"object", "accesspointobject"})  # S3 types whose last variable is an object key


@dataclass(frozen=True, slots=True)
class ResourceGrant:
    """One Resource value of an action and what of the activity it covers."""

    pattern: str  # as written in the policy
    observed: frozenset[str]  # the observed resources it covers
    reason: WideningReason | None  # None: exactly the one resource observed


def literal(arn: str) -> str:
    """An ARN as a Resource value that matches only itself (policy variables `${*}`, `${?}`, `${$}`)."""
    if "*" not in arn and "?" not in arn and "${" not in arn:
        return arn
    return arn.replace("${", "${$}{").replace("*", "${*}").replace("?", "${?}")


def _common_folder(keys: list[str]) -> str:
    """The longest common prefix of object keys, cut after its last `/` ("" when there is none)."""
    first, last = min(keys), max(keys)
    size = 0
    while size < min(len(first), len(last)) and first[size] == last[size]:
        size += 1
    return first[:size].rpartition("/")[0] + "/" if "/" in first[:size] else ""


def _widen(action: str, found: ArnFormat, arns: list[str], options: GenerationOptions) -> list[ResourceGrant]:
    """The grants of the ARNs of one resource type: one by one, or widened under a common parent."""
    grants: list[ResourceGrant] = []
    if action.lower() == PASS_ROLE.lower():
        return [ResourceGrant(literal(arn), frozenset({arn}), None) for arn in arns]
    objects = found.service == "s3" and found.name.lower() in OBJECT_TYPES
    threshold = options.object_keys_threshold if objects else options.resources_threshold
    by_parent: dict[str, list[str]] = {}
    for arn in arns:
        parent = found.parent(arn)
        by_parent.setdefault(parent if parent is not None else arn, []).append(arn)
    for parent, members in by_parent.items():
        if len(members) <= threshold or parent in members:
            grants += [ResourceGrant(literal(arn), frozenset({arn}), None) for arn in members]
            continue
        if objects:
            folder = _common_folder([arn[len(parent) :] for arn in members])
            pattern, reason = literal(parent + folder) + "*", WideningReason.OBJECT_KEYS
        else:
            pattern, reason = literal(parent) + "*", WideningReason.MANY_RESOURCES
        grants.append(ResourceGrant(pattern, frozenset(members), reason))
    return grants


def resource_grants(
    action: str, catalogued: Action | None, resources: Collection[str], options: GenerationOptions
) -> list[ResourceGrant]:
    """The Resource values that allow `action` on every resource observed ("" = the event named none)."""
    named = frozenset(resource for resource in resources if resource)
    if catalogued is None or not catalogued.resource_types:
        return [ResourceGrant("*", named, WideningReason.NO_RESOURCE_LEVEL)]
    typed: dict[ArnFormat, list[str]] = {}
    for resource in sorted(named):
        found = (
            action_resource_type(catalogued.service, catalogued.resource_types, resource)
            if len(resource) <= MAX_ARN_CHARS
            else None
        )
        if found is None:
            return [ResourceGrant("*", named, WideningReason.RESOURCE_NOT_RECORDED)]
        typed.setdefault(found, []).append(resource)
    if "" in resources:  # some event named no resource
        return [ResourceGrant("*", named, WideningReason.RESOURCE_NOT_RECORDED)]
    grants: list[ResourceGrant] = []
    for found, arns in typed.items():
        grants += _widen(action, found, arns, options)
    return grants
