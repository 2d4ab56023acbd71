"""Google Cloud IAM's decision for one request, and why (https://cloud.google.com/iam/docs/policy-evaluation).

1. Deny first (https://cloud.google.com/iam/docs/deny-overview): the deny policies attached to the resource (when
   it is a project, folder or organization) and to each of its ancestors. A rule applies when one of its denied
   principals covers the caller and no exception principal does, one of its denied permissions names the request's
   permission and no exception permission does, and its denial condition is true or cannot be evaluated. Any rule
   that applies: `Denied`.
2. Then allow (https://cloud.google.com/iam/docs/resource-hierarchy-access-control): the union of the allow
   policies on the resource and on every ancestor. A binding grants when one of its members covers the caller,
   its role holds the permission, a custom role is granted inside the project or organization that defines it
   (https://cloud.google.com/iam/docs/roles-overview#custom), and its condition is true (false, or a condition
   that cannot be evaluated, grants nothing: https://cloud.google.com/iam/docs/conditions-overview). Any binding
   that grants: `Allowed`; else `NotAllowed`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from permscope.clouds.gcp.engine.case import Condition, Estate, Request
from permscope.clouds.gcp.engine.conditions import Attributes, Evaluator
from permscope.clouds.gcp.engine.permissions import v2_parts
from permscope.clouds.gcp.engine.principals import Membership
from permscope.clouds.gcp.engine.tags import NO_TAGS, EffectiveTags, effective_tags

ALLOWED, NOT_ALLOWED, DENIED = "Allowed", "NotAllowed", "Denied"
_CRM = "//cloudresourcemanager.googleapis.com/"


def level_of(name: str) -> str:
    """organization, folder, project or resource."""
    found = _LEVELS.get(name)
    if found is None:
        found = "resource"
        if name.startswith(_CRM):
            kind = name[len(_CRM) :].partition("/")[0]
            if kind in ("organizations", "folders", "projects"):
                found = kind[:-1]
        if len(_LEVELS) >= 65_536:
            _LEVELS.clear()
        _LEVELS[name] = found
    return found


_LEVELS: dict[str, str] = {}


class Decision:
    """The decision and its explanation."""

    __slots__ = (
        "decision",
        "denied_by",
        "granted_by",
        "groups",
        "lineage",
        "not_applied",
        "notes",
        "permission",
        "principal",
        "resource",
        "summary",
        "tags",
    )

    def __init__(self, principal: str, permission: str, resource: str, lineage: list[str]) -> None:
        self.decision = NOT_ALLOWED
        self.summary = ""
        self.principal = principal
        self.permission = permission
        self.resource = resource
        self.lineage = lineage
        self.denied_by: list[dict[str, Any]] = []
        self.granted_by: list[dict[str, Any]] = []
        self.not_applied: list[dict[str, Any]] = []
        self.groups: dict[str, list[str]] = {}
        self.tags: list[dict[str, Any]] | None = None
        self.notes: list[str] = []

    def explanation(self) -> dict[str, Any]:
        """The explanation as JSON-ready data."""
        explained: dict[str, Any] = {
            "summary": self.summary,
            "principal": self.principal,
            "permission": self.permission,
            "resource": self.resource,
            "lineage": self.lineage,
            "denied_by": self.denied_by,
            "granted_by": self.granted_by,
            "not_applied": self.not_applied,
            "groups": self.groups,
            "notes": self.notes,
        }
        if self.tags is not None:
            explained["effective_tags"] = self.tags
        return explained


class _Conditions:
    """Evaluates a request's conditions: the CEL context found or built once, the effective tags computed when
    a tag function first asks for them."""

    __slots__ = ("_evaluator", "_lineage", "_tags", "estate", "request", "tags_used")

    def __init__(self, request: Request, estate: Estate, lineage: Sequence[str]) -> None:
        self.request, self.estate, self._lineage = request, estate, lineage
        self._evaluator: Evaluator | None = None
        self._tags: EffectiveTags | None = None
        self.tags_used: list[dict[str, Any]] | None = None

    def tags(self) -> EffectiveTags:
        """The resource's effective tags (computed once)."""
        if self._tags is None:
            estate, lineage = self.estate, self._lineage
            self._tags = (
                effective_tags(lineage, ((name, tags) for _, name, tags in estate.tags.present(lineage)))
                if estate.tags
                else NO_TAGS
            )
            self.tags_used = self._tags.listed()
        return self._tags

    def evaluate(self, condition: Condition) -> tuple[bool | None, str | None]:
        if self._evaluator is None:
            request = self.request
            service, _, name = request.resource[2:].partition("/")
            self._evaluator = Evaluator(
                Attributes(request.time, name, request.resource_type, service, self.tags, request.attributes)
            )
        return self._evaluator.evaluate(condition.program)

    def close(self) -> None:
        """Drop the CEL evaluator: its attributes call back into this object for the tags (a reference cycle
        that would keep the request's estate alive until the cyclic collector runs, which analyses pause)."""
        self._evaluator = None


def _condition_dict(condition: Condition, result: bool | None, problem: str | None) -> dict[str, Any]:
    shown: dict[str, Any] = {"title": condition.title, "expression": condition.expression, "result": result}
    if problem is not None:
        shown["error"] = problem
    return shown


def decide(request: Request, estate: Estate) -> Decision:
    """Decide one request over an estate."""
    resource, permission = request.resource, request.permission
    ancestors = estate.ancestry.get(resource)
    lineage = [resource, *(ancestors or ())]
    result = Decision(request.caller.identifier, permission, resource, lineage)
    if ancestors is None:
        result.notes.append("the case gives no ancestry for the resource: only its own policies are read")
    membership = Membership(
        request.caller, estate.group_parents, estate.principal_attributes, estate.cloud_identity_customers
    )
    conditions = _Conditions(request, estate, lineage)
    _deny(request, estate, lineage, membership, conditions, result)
    _allow(request, estate, lineage, membership, conditions, result)
    groups = membership.groups_found  # found when a policy named a group
    if groups:
        result.groups = {group: list(chain) for group, chain in groups.items()}
    if result.denied_by:
        result.decision = DENIED
    elif result.granted_by:
        result.decision = ALLOWED
    result.tags = conditions.tags_used
    conditions.close()
    result.summary = _summary(result)
    return result


def _deny(
    request: Request,
    estate: Estate,
    lineage: Sequence[str],
    membership: Membership,
    conditions: _Conditions,
    result: Decision,
) -> None:
    if not estate.deny_policies:
        return
    parts = v2_parts(request.permission)
    if parts is None:
        return
    name = f"{parts[0]}/{parts[1]}.{parts[2]}"
    for _, node, policies in estate.deny_policies.present(lineage):
        for policy in policies:
            for rule in policy.rules:
                denied = rule.denied_permissions.naming(name, parts)
                if denied is None:
                    continue
                principal = membership.covering(rule.denied_principals)
                if principal is None:
                    continue
                where: dict[str, Any] = {
                    "policy": policy.name,
                    "display_name": policy.display_name,
                    "attached_to": node,
                    "level": level_of(node),
                    "rule": rule.index,
                    "denied_principal": principal[0],
                    "via_groups": list(principal[1]),
                    "denied_permission": denied.text,
                }
                excepted = (
                    rule.exception_permissions.naming(name, parts) if rule.exception_permissions else None
                )
                if excepted is not None:
                    result.not_applied.append(
                        {"kind": "deny_rule", **where, "reason": f"exception permission {excepted.text}"}
                    )
                    continue
                exception = membership.covering(rule.exception_principals)
                if exception is not None:
                    via = f" (through {' -> '.join(exception[1])})" if exception[1] else ""
                    result.not_applied.append(
                        {"kind": "deny_rule", **where, "reason": f"exception principal {exception[0]}{via}"}
                    )
                    continue
                if rule.condition is not None:
                    value, problem = conditions.evaluate(rule.condition)
                    where["condition"] = _condition_dict(rule.condition, value, problem)
                    if value is False:
                        result.not_applied.append(
                            {"kind": "deny_rule", **where, "reason": "denial condition is false"}
                        )
                        continue
                    if value is None:
                        where["note"] = "a denial condition that cannot be evaluated applies the rule"
                result.denied_by.append(where)


def _custom_role_home(role: str) -> str | None:
    """The full name of the project or organization that defines a custom role; None for a predefined role."""
    if role.startswith(("projects/", "organizations/")):
        kind, _, rest = role.partition("/")
        owner, marker, _ = rest.partition("/roles/")
        if marker and owner:
            return f"{_CRM}{kind}/{owner}"
    return None


def _allow(
    request: Request,
    estate: Estate,
    lineage: Sequence[str],
    membership: Membership,
    conditions: _Conditions,
    result: Decision,
) -> None:
    permission = request.permission
    for position, node, policy in estate.allow_policies.present(lineage):
        for binding in policy.reaching(membership):
            member = membership.covering(binding.members)
            if member is None:
                continue
            where: dict[str, Any] = {
                "resource": node,
                "level": level_of(node),
                "inherited": position > 0,
                "binding": binding.index,
                "role": binding.role,
                "member": member[0],
                "via_groups": list(member[1]),
            }
            holds = estate.roles.holds(binding.role, permission)
            if holds is None:
                result.not_applied.append(
                    {"kind": "binding", **where, "reason": "the case does not give the role's permissions"}
                )
                continue
            if not holds:
                result.not_applied.append(
                    {"kind": "binding", **where, "reason": f"the role lacks {permission}"}
                )
                continue
            home = _custom_role_home(binding.role)
            if home is not None and home not in lineage[position:]:
                result.not_applied.append(
                    {"kind": "binding", **where, "reason": f"a custom role of {home} applies only inside it"}
                )
                continue
            if binding.condition is not None:
                value, problem = conditions.evaluate(binding.condition)
                where["condition"] = _condition_dict(binding.condition, value, problem)
                if value is not True:
                    reason = (
                        "condition is false"
                        if problem is None
                        else f"condition cannot be evaluated ({problem})"
                    )
                    result.not_applied.append({"kind": "binding", **where, "reason": reason})
                    continue
            result.granted_by.append(where)


def _place(entry: dict[str, Any], key: str) -> str:
    level = entry["level"]
    return f"the {level} {entry[key]}" if level != "resource" else entry[key]


def _summary(result: Decision) -> str:
    if result.decision == DENIED:
        rule = result.denied_by[0]
        via = f" through {' -> '.join(rule['via_groups'])}" if rule["via_groups"] else ""
        text = (
            f"Denied: rule {rule['rule']} of deny policy {rule['policy']} attached to {_place(rule, 'attached_to')} "
            f"denies {rule['denied_permission']} to {rule['denied_principal']}{via}"
        )
        if "condition" in rule:
            text += " (its denial condition " + (
                "holds)" if rule["condition"]["result"] else "cannot be evaluated)"
            )
        if result.granted_by:
            text += (
                "; deny is checked before allow, so the grant by "
                + result.granted_by[0]["role"]
                + " does not count"
            )
        return text + "."
    if result.decision == ALLOWED:
        grant = result.granted_by[0]
        via = f" through {' -> '.join(grant['via_groups'])}" if grant["via_groups"] else ""
        inherited = " (inherited)" if grant["inherited"] else ""
        condition = " whose condition holds" if "condition" in grant else ""
        return (
            f"Allowed: {grant['role']} is bound to {grant['member']}{via} on {_place(grant, 'resource')}{inherited}"
            f"{condition}, and it includes {result.permission}."
        )
    if result.not_applied:
        reasons = "; ".join(
            f"{entry.get('role') or entry.get('policy')} on {entry.get('resource') or entry.get('attached_to')}: "
            f"{entry['reason']}"
            for entry in result.not_applied
            if entry["kind"] == "binding"
        )
        if reasons:
            return f"Not allowed: no binding grants {result.permission} to {result.principal} ({reasons})."
    return (
        f"Not allowed: no binding on the resource or its {len(result.lineage) - 1} ancestors grants "
        f"{result.permission} to {result.principal}."
    )
