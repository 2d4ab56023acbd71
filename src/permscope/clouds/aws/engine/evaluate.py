"""AWS's policy evaluation logic for one request: every applicable policy type, a decision, and why.

Sources (each rule below names the one it follows):
- https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html
- https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html
- https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html
- https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps.html
- https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html
- https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html#policies_session
- https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html
- https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
- https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from permscope.clouds.aws.engine import service_rules
from permscope.clouds.aws.engine.conditions import conditions_match
from permscope.clouds.aws.engine.explanation import Decision, EvaluationResult, Explanation, StatementMatch
from permscope.clouds.aws.engine.matching import actions_match, resource_element_covers
from permscope.clouds.aws.engine.policy import PolicyDocument, PolicyType, Statement
from permscope.clouds.aws.engine.principals import Caller, CallerKind, Grant, parse_caller, principal_grant
from permscope.clouds.aws.engine.variables import RequestContext
from permscope.core.arn import arn_account_id
from permscope.core.records import quick_frozen_init

# Enum members read through their class are slow on Python 3.11 (a descriptor call each); the hot paths
# use these module constants instead.
_NONE, _ROLE, _DIRECT = Grant.NONE, Grant.ROLE, Grant.DIRECT
_KIND_ROOT, _KIND_FEDERATED_USER = CallerKind.ROOT, CallerKind.FEDERATED_USER
# A pseudo policy type for rules of the AWS service itself (service_rules.py).
SERVICE_RULE = "serviceRule"
# Policy types in the order explanations list them.
TYPE_ORDER = (
    PolicyType.IDENTITY.value,
    PolicyType.RESOURCE.value,
    PolicyType.BOUNDARY.value,
    PolicyType.SESSION.value,
    PolicyType.SCP.value,
    PolicyType.RCP.value,
    PolicyType.VPC_ENDPOINT.value,
    SERVICE_RULE,
)
_IDENTITY, _RESOURCE, _BOUNDARY, _SESSION, _SCP, _RCP, _VPCE = TYPE_ORDER[:7]
_TYPE_RANK = {kind: rank for rank, kind in enumerate(TYPE_ORDER)}
__all__ = [
    "AuthorizationRequest",
    "Decision",
    "EvaluationResult",
    "Explanation",
    "PolicySet",
    "StatementMatch",
    "evaluate",
]


_ALLOWED, _IMPLICIT, _EXPLICIT = Decision.ALLOWED, Decision.IMPLICITLY_DENIED, Decision.EXPLICITLY_DENIED


@quick_frozen_init
@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    """One request: who (None = anonymous), what action, on which resource, with which condition keys.

    The context is taken as given: a key the request does not carry is absent (nothing is derived from
    the principal). `resource_account` None means the account in the resource's ARN, else the caller's
    (a same-account request). `principal_is_service_linked_role` marks a session of a service-linked role
    (a role ARN under /aws-service-role/ is recognised by itself).
    """

    principal: str | None
    action: str
    resource: str
    resource_account: str | None
    context: RequestContext
    principal_is_service_linked_role: bool = False


@dataclass(slots=True)
class PolicySet:
    """Every policy that may apply to a request, by type.

    `boundaries` None or [] means no permissions boundary is set (a boundary is a managed policy set on the
    principal: with no policy there is none, as iam-simulate reads an empty list too); `scp_levels` / `rcp_levels` list the policies
    attached at each level of the organization, root first and account last ([] = no organization; a level
    with no policy allows nothing). `vpc_endpoint` None means the request does not go through a VPC
    endpoint; its policies are read together as the endpoint's one policy. `management_account_id` is the
    organization's management account: SCPs do not apply to its principals nor RCPs to its resources.
    """

    identity: list[PolicyDocument]
    session: PolicyDocument | None = None
    boundaries: list[PolicyDocument] | None = None
    scp_levels: list[list[PolicyDocument]] = field(default_factory=list)
    rcp_levels: list[list[PolicyDocument]] = field(default_factory=list)
    resource: PolicyDocument | None = None
    vpc_endpoint: list[PolicyDocument] | None = None
    scp_level_names: list[str] | None = None  # e.g. the root / OU / account id of each level
    rcp_level_names: list[str] | None = None
    management_account_id: str | None = None


@dataclass(slots=True)
class _Verdict:
    """What one group of policies (a type, or one SCP / RCP level) says about the request."""

    allows: bool = False
    denies: bool = False
    grant: Grant = _NONE  # resource policies: the strongest way an applying Allow names the caller


class _Run:
    """The state of one evaluation: the request, and what has been found so far."""

    __slots__ = (
        "action",
        "action_key",
        "allowed",
        "caller",
        "context",
        "denied",
        "matches",
        "notes",
        "request",
        "star",
    )

    def __init__(self, request: AuthorizationRequest, caller: Caller) -> None:
        self.request = request
        self.caller = caller
        self.action = request.action
        self.action_key = request.action.lower()
        self.context = request.context
        # The "*" of an action without resource types is read literally: only Resource "*" covers it.
        self.star = request.resource == "*"
        self.allowed: set[str] = set()
        self.denied: set[str] = set()
        self.matches: list[StatementMatch] = []
        self.notes: list[str] = []

    def _principal_grant(self, statement: Statement, principal: str, boundary_set: bool) -> Grant:
        if statement.principal is not None:
            return principal_grant(statement.principal, self.caller)
        if statement.not_principal is not None:
            if statement.effect == "Deny" and boundary_set:
                # NotPrincipal with Deny "will always deny any IAM principal that has a permissions boundary
                # policy attached, regardless of the values specified in the NotPrincipal element".
                self.note(
                    "a Deny with NotPrincipal always applies to a principal with a permissions boundary"
                )
                return _DIRECT
            named = principal_grant(statement.not_principal, self.caller)
            return _DIRECT if named is _NONE else _NONE
        # Resource-based policies must name a principal: a statement without one applies to nobody. RCPs and
        # VPC endpoint policies may only be meant for everyone ("*"), so there it applies to everybody.
        return _NONE if principal == "required" else _DIRECT

    def note(self, text: str) -> None:
        """Add a line to the explanation's notes (once)."""
        if text not in self.notes:
            self.notes.append(text)

    def group(self, policies: Sequence[PolicyDocument], policy_type: str, *, level: str | None = None,
              principal: str = "ignore", boundary_set: bool = False) -> _Verdict:  # fmt: skip
        """Evaluate a group of policies of one type.

        `principal`: "ignore" (identity-based policies, boundaries, session policies and SCPs name no
        principal; a Principal element there, which IAM refuses, is not consulted), "required" (resource-based
        policies) or "optional" (RCPs and VPC endpoint policies: no Principal element means everyone).
        """
        verdict = _Verdict()
        action, resource, context = self.action, self.request.resource, self.context
        request_wildcards = not self.star
        for policy in policies:
            variables = policy.variables_enabled
            for statement in policy.statements:
                # Does the statement apply: action, resource, principal, then conditions (the keys it read).
                if statement.actions is not None:
                    if not actions_match(statement.actions, action):
                        continue
                elif statement.not_actions is not None and actions_match(statement.not_actions, action):
                    continue
                if statement.resources is not None:
                    element, values = "Resource", statement.resources
                elif statement.not_resources is not None:
                    element, values = "NotResource", statement.not_resources
                else:
                    element = None  # no Resource element (a trust policy): it covers the resource it is on
                if element is not None and not resource_element_covers(
                    element, values, resource, context, statement.effect, policy.policy_type, variables,
                    request_wildcards,
                ):  # fmt: skip
                    continue
                grant = (
                    _DIRECT
                    if principal == "ignore"
                    else self._principal_grant(statement, principal, boundary_set)
                )
                if grant is _NONE:
                    continue
                keys: tuple[str, ...] = ()
                if statement.conditions:
                    outcome = conditions_match(statement.conditions, context, variables=variables)
                    if not outcome.matched:
                        continue
                    keys = outcome.keys
                self.matches.append(
                    StatementMatch(policy_type, policy.name, statement.label(), statement.effect, keys, level)
                )
                if statement.effect == "Deny":
                    verdict.denies = True
                else:
                    verdict.allows = True
                    if grant > verdict.grant:
                        verdict.grant = grant
        if verdict.denies:
            self.denied.add(policy_type)
        if verdict.allows:
            self.allowed.add(policy_type)
        return verdict


def _level_label(kind: str, index: int, count: int, names: list[str] | None) -> str:
    name = names[index] if names is not None and index < len(names) else None
    return f"{kind} level {index + 1} of {count}" + (f" ({name})" if name else "")


def _organization_levels(run: _Run, levels: list[list[PolicyDocument]], policy_type: str,
                         names: list[str] | None) -> bool:  # fmt: skip
    """Evaluate SCP or RCP levels: every level must allow; explicit denies are recorded. True when all allow."""
    every_level_allows = True
    kind = policy_type.upper()
    for index, level in enumerate(levels):
        label = _level_label(kind, index, len(levels), names)
        verdict = run.group(level, policy_type, level=label, principal="optional")
        if verdict.denies:
            run.note(f"{label} explicitly denies the request")
        if not verdict.allows:
            every_level_allows = False
            reason = "has no policy" if not level else "has no statement that allows the request"
            run.note(f"{label} {reason}; every level must allow")
    return every_level_allows


_MISSING_NOTES = {
    _IDENTITY: "no identity-based policy allows the request",
    _RESOURCE: "the resource-based policy does not allow the caller (or there is none)",
    _BOUNDARY: "the permissions boundary does not allow the request",
    _SESSION: "the session policy does not allow the request",
}
_PATH_NOTES = {
    "identity": "identity-based policies allow the request",
    "direct": "the resource-based policy names the caller itself: implicit denies in identity-based policies, "
    "permissions boundaries and session policies do not limit that grant",
    "role": "the resource-based policy names the caller's role (not its session): a permissions boundary or "
    "session policy must allow too",
    "cross": "cross-account request: the resource-based policy and the caller's identity-based policies must "
    "both allow",
    "anonymous": "the resource-based policy allows the caller",
}


_NOTHING: frozenset[str] = frozenset()
_NO_RESOURCE = frozenset({_RESOURCE})


def _grant_paths(
    run: _Run, identity_ok: bool, limits: frozenset[str], resource_grant: Grant, same_account: bool
) -> tuple[str, frozenset[str]]:
    """The best way the request can be granted, and the policy types that stand in its way (none: granted).

    `limits` holds the boundary / session policy when it does not allow the request.
    """
    if not run.caller.is_iam_principal:
        # Anonymous callers and service principals hold no identity-based policies: only a resource-based
        # policy can grant them anything.
        return "anonymous", (_NOTHING if resource_grant > _NONE else _NO_RESOURCE)
    if not same_account:
        blocked = set(limits)
        if resource_grant is _NONE:
            blocked.add(_RESOURCE)
        if not identity_ok:
            blocked.add(_IDENTITY)
        return "cross", frozenset(blocked)
    required = service_rules.resource_policy_required(run.action_key, run.request.resource)
    if required is not None:
        run.note(required)
    elif identity_ok and not limits:
        return "identity", _NOTHING
    identity_path = limits if identity_ok else limits | {_IDENTITY}
    if required is not None and resource_grant is _NONE:
        identity_path = identity_path | _NO_RESOURCE
    # Fewest policy types in the way wins; on a tie the first of: identity-based policies, the grant to the
    # caller's role (limited by boundary and session policy), a grant to the caller itself.
    candidates = [("identity", identity_path)]
    if resource_grant is _ROLE:
        candidates.append(("role", limits))
    candidates.append(("direct", _NOTHING if resource_grant is _DIRECT else _NO_RESOURCE))
    best = candidates[0]
    for candidate in candidates[1:]:
        if len(candidate[1]) < len(best[1]):
            best = candidate
    return best


def evaluate(request: AuthorizationRequest, policies: PolicySet) -> EvaluationResult:
    """Decide `request` against `policies` as AWS does, and explain the decision.

    An explicit deny in any applicable policy decides; otherwise every guardrail that applies (each SCP and
    RCP level, a VPC endpoint policy) must allow, and the request must be granted: within one account by the
    identity-based policies (within the permissions boundary and session policy) or by the resource-based
    policy (a grant naming the caller itself is not limited by their implicit denies; one naming its role
    is limited by the boundary and session policy; one naming the account delegates to identity policies);
    across accounts by both the resource-based policy and the identity-based policies. Raises InputError
    (CallerError) when the principal is not a principal that can make requests.
    """
    caller = parse_caller(request.principal, service_linked=request.principal_is_service_linked_role)
    action_key = request.action.lower()
    rule = service_rules.always_allowed(action_key)
    if rule is not None:
        return EvaluationResult(_ALLOWED, Explanation((SERVICE_RULE,), (), (), (), (rule.reason,)))
    run = _Run(request, caller)
    resource_account = request.resource_account or arn_account_id(request.resource) or caller.account
    same_account = caller.account is not None and caller.account == resource_account
    identity_ok = boundary_set = False
    limits: frozenset[str] = _NOTHING  # the boundary / session policy when it does not allow the request
    blocked: set[str] = set()

    if caller.is_iam_principal:
        identity_ok = run.group(policies.identity, _IDENTITY).allows
        if caller.kind is _KIND_ROOT:
            identity_ok = True
            run.note("the account root user has full access in its own account unless a policy denies it")
        elif policies.boundaries:
            boundary_set = True
            if not run.group(policies.boundaries, _BOUNDARY).allows:
                limits = limits | {_BOUNDARY}
        if policies.session is not None:
            if not run.group([policies.session], _SESSION).allows:
                limits = limits | {_SESSION}
        elif caller.kind is _KIND_FEDERATED_USER:
            limits = limits | {_SESSION}
            run.note("a federated user session created without a session policy has no permissions from "
                     "identity-based policies (GetFederationToken)")  # fmt: skip
        if policies.scp_levels:
            exempt = _scp_exemption(caller, policies)
            if exempt:
                run.note(exempt)
            elif not _organization_levels(run, policies.scp_levels, _SCP, policies.scp_level_names):
                blocked.add(_SCP)
    else:
        who = "anonymous callers" if caller.arn is None else "service principals"
        if policies.scp_levels:
            run.note(f"SCPs do not apply to {who}")
        if policies.identity or policies.boundaries or policies.session is not None:
            run.note(f"identity-based policies, boundaries and session policies do not apply to {who}")

    if policies.rcp_levels:
        exempt = _rcp_exemption(caller, policies, action_key, resource_account)
        if exempt:
            run.note(exempt)
        elif not _organization_levels(run, policies.rcp_levels, _RCP, policies.rcp_level_names):
            blocked.add(_RCP)

    resource_grant = _NONE
    if policies.resource is not None:
        verdict = run.group([policies.resource], _RESOURCE, principal="required", boundary_set=boundary_set)
        resource_grant = verdict.grant if verdict.allows else _NONE

    if (
        policies.vpc_endpoint is not None
        and not run.group(policies.vpc_endpoint, _VPCE, principal="optional").allows
    ):
        blocked.add(_VPCE)

    path, in_the_way = _grant_paths(run, identity_ok, limits, resource_grant, same_account)
    blocked |= in_the_way
    protected = service_rules.protected_resource(
        action_key, request.resource, caller_is_service_linked=caller.service_linked
    )
    if protected is not None:
        blocked.add(SERVICE_RULE)
        run.note(protected.reason)

    if run.denied:
        decision = _EXPLICIT
        run.note("an explicit Deny in any policy that applies overrides every Allow")
    elif blocked:
        decision = _IMPLICIT
        for kind in _ordered(in_the_way):
            run.note(_MISSING_NOTES[kind])
        if path == "cross":
            run.note(_PATH_NOTES[path])
    else:
        decision = _ALLOWED
        run.note(_PATH_NOTES[path])
    explanation = Explanation(  # allowed_by, denied_by, not_allowed_by, matches, notes
        _ordered(run.allowed), _ordered(run.denied), _ordered(blocked), tuple(run.matches), tuple(run.notes)
    )
    return EvaluationResult(decision, explanation)


def _ordered(types: set[str] | frozenset[str]) -> tuple[str, ...]:
    if len(types) < 2:
        return tuple(types)
    return tuple(sorted(types, key=_TYPE_RANK.__getitem__))


def _scp_exemption(caller: Caller, policies: PolicySet) -> str | None:
    """Why SCPs do not apply to this caller, or None (they apply)."""
    if policies.management_account_id is not None and caller.account == policies.management_account_id:
        return "SCPs do not affect principals in the organization's management account"
    if caller.service_linked:
        return "SCPs do not affect service-linked roles"
    return None


def _rcp_exemption(
    caller: Caller, policies: PolicySet, action_key: str, resource_account: str | None
) -> str | None:
    """Why RCPs do not apply to this request, or None (they apply)."""
    if not service_rules.rcps_apply_to(action_key):
        return f"RCPs do not apply to {action_key.split(':', 1)[0]} (not a service RCPs support)"
    if policies.management_account_id is not None and resource_account == policies.management_account_id:
        return "RCPs do not affect resources in the organization's management account"
    if caller.service_linked:
        return "RCPs do not apply to calls made by service-linked roles"
    return None
