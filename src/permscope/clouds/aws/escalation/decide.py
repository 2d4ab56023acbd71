"""Deciding one step of an escalation with the full AWS engine, for a concrete principal and resource.

Every requirement of a technique (an action on a resource, a role trusting a service) is decided by
`clouds.aws.engine.evaluate.evaluate` with the principal's identity policies (its own and its groups'), its permissions
boundary, the organization's SCP levels (the engine exempts the management account and service-linked roles)
and the resource's policy when it has one (a role's trust policy for sts:AssumeRole).

The request context carries what is known about every such request: aws:PrincipalArn, aws:PrincipalAccount,
aws:PrincipalType, aws:username and aws:userid (users), aws:PrincipalTag/* (the principal's tags), for
iam:PassRole iam:PassedToService, and the time of the analysis (aws:CurrentTime, aws:EpochTime, and
aws:TokenIssueTime: an attacker acts now, with a session token issued now). Conditions on these keys are
decided. A condition on any other key (MFA, source IP, request tags, ...) cannot be decided from an inventory: the requirement is then decided a
second time with those tests treated as satisfied in Allow statements and as not applying in Deny
statements. When only that second decision allows, the requirement is met *conditionally*, and the keys are
reported (`Verdict.condition_keys`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property, lru_cache
from typing import Any, NamedTuple

from permscope.clouds.aws.effective.account import AccountEvaluator, AccountInventory, PolicyRecord, ScpLevel
from permscope.clouds.aws.effective.layers import PrincipalPolicies
from permscope.clouds.aws.engine import service_rules
from permscope.clouds.aws.engine.evaluate import AuthorizationRequest, Decision, PolicySet, evaluate
from permscope.clouds.aws.engine.matching import actions_match, statement_resource_matches
from permscope.clouds.aws.engine.policy import (
    PolicyDocument,
    PolicyError,
    PolicyType,
    Statement,
    parse_policy,
)
from permscope.clouds.aws.engine.variables import RequestContext
from permscope.clouds.aws.view import aws_view
from permscope.core.arn import arn_fields, resource_name
from permscope.core.inventory import IdentityKind
from permscope.core.snapshot import SystemSnapshot, as_document

_KNOWN_KEYS = frozenset(
    {
        "aws:principalarn",
        "aws:principalaccount",
        "aws:principaltype",
        "aws:username",
        "aws:userid",
        "iam:passedtoservice",
        # the time of the analysis: an attacker acts now, with a session token issued now
        "aws:currenttime",
        "aws:epochtime",
        "aws:tokenissuetime",
    }
)
_KNOWN_PREFIXES = ("aws:principaltag/",)
# known keys whose value is the same for every principal (a document testing only these is not personal)
_SHARED_KEYS = frozenset({"iam:passedtoservice", "aws:currenttime", "aws:epochtime", "aws:tokenissuetime"})
_ALLOWED = Decision.ALLOWED
_ALLOW_ALL = parse_policy(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
    name="allows everything",
    policy_type=PolicyType.IDENTITY,
)


def known_key(key: str) -> bool:
    """Whether the request context decides a condition key (see the module docstring)."""
    folded = key.lower()
    return folded in _KNOWN_KEYS or folded.startswith(_KNOWN_PREFIXES)


class Verdict(NamedTuple):
    """A requirement that is met: unconditionally, or only when conditions on `condition_keys` hold."""

    conditional: bool
    condition_keys: tuple[str, ...]


MET = Verdict(False, ())


@dataclass(frozen=True, slots=True)
class _Variant:
    """A parsed document and its optimistic variant (undecidable condition tests removed)."""

    strict: PolicyDocument
    optimistic: PolicyDocument
    relaxed: tuple[tuple[Statement, tuple[str, ...]], ...]  # relaxed statements and the keys they tested
    personal: bool  # whether the document reads who the principal is (`_personal`)


def _labelled(variant: _Variant, name: str) -> _Variant:
    """The variant under the policy name `name`: a parse shared by documents of equal text carries the name of
    whichever was read first, which only an explanation reads."""
    if variant.strict.name == name:
        return variant
    strict = dataclasses.replace(variant.strict, name=name)
    optimistic = (
        strict if variant.optimistic is variant.strict else dataclasses.replace(variant.optimistic, name=name)
    )
    return _Variant(strict, optimistic, variant.relaxed, variant.personal)


def _trust_name(role_arn: str) -> str:
    return f"{role_arn} trust policy"


def _relax(document: PolicyDocument) -> _Variant:
    kept: list[Statement] = []
    relaxed: list[tuple[Statement, tuple[str, ...]]] = []
    for statement in document.statements:
        unknown = tuple(dict.fromkeys(t.key for t in statement.conditions if not known_key(t.key)))
        if not unknown:
            kept.append(statement)
            continue
        relaxed.append((statement, unknown))
        if statement.is_allow:
            known = tuple(t for t in statement.conditions if known_key(t.key))
            kept.append(dataclasses.replace(statement, conditions=known))
        # a Deny that tests an undecidable key is taken as not applying
    if not relaxed:  # most documents: nothing to relax, the optimistic variant is the document itself
        return _Variant(document, document, (), _personal(document))
    optimistic = dataclasses.replace(document, statements=tuple(kept))
    return _Variant(document, optimistic, tuple(relaxed), _personal(document))


@dataclass(frozen=True, slots=True)
class _Principal:
    """What the engine needs of one principal: its policy sets (strict and optimistic) and its context."""

    arn: str
    strict: PolicySet
    optimistic: PolicySet
    relaxed: tuple[tuple[Statement, tuple[str, ...]], ...]
    context: Mapping[str, str | list[str]]
    service_linked: bool
    share_key: tuple[object, ...] | None  # equal for principals whose decisions are equal (None: unique)


class Decider:
    """Decides requirements for the principals of one snapshot; parsed policies and policy sets are cached."""

    def __init__(self, snapshot: SystemSnapshot) -> None:
        self.snapshot = snapshot
        self.view = aws_view(snapshot)
        self.account = snapshot.system_id
        self.now = snapshot.settings.now
        management = snapshot.system.attributes.get("managementAccountId")
        self.management_account_id = str(management) if management else None
        self._docs: dict[tuple[str, PolicyType], _Variant | None] = {}
        self._by_content: dict[tuple[str, PolicyType], _Variant | None] = {}
        self._principals: dict[str, _Principal | None] = {}
        self._contexts: dict[tuple[str, tuple[tuple[str, str], ...]], RequestContext] = {}
        self._trusts: dict[str, _Variant | None] = {}
        self._service_trust: dict[tuple[str, str], Verdict | None] = {}
        self._naming: dict[tuple[str, str], list[tuple[str, tuple[str, ...], str, PolicyType, bool]]] = {}
        self._document_naming: dict[tuple[int, str], tuple[PolicyDocument, tuple[Statement, ...]]] = {}
        scps = [
            [
                (name, variant)
                for number, (name, document) in enumerate(level.policies)
                if (variant := self._parse(f"scp:{level.label}:{number}", name, document, PolicyType.SCP))
            ]
            for level in self.view.scp_levels
        ]
        self._scps = [[variant for _name, variant in level] for level in scps]
        self._named_scps = [[_labelled(variant, name) for name, variant in level] for level in scps]
        self._scp_names = [level.label for level in self.view.scp_levels]
        self.evaluations = 0

    # -- parsing ------------------------------------------------------------------------------------------
    def _parse(self, key: str, name: str, document: Any, policy_type: PolicyType) -> _Variant | None:
        cache_key = (key, policy_type)
        if cache_key not in self._docs:
            # equal documents (inline copies, a policy attached under several names) are parsed once, and the
            # effective permissions' compiler has parsed most already: the parse may carry another policy's
            # name (`named_principal` and `named_trust` give each its own)
            compiler = self.view.evaluator.compiler
            document = as_document(document)
            by_content = (compiler.digest(document), policy_type)
            if by_content not in self._by_content:
                try:
                    parsed = compiler.parsed(document, name=name, policy_type=policy_type)
                except PolicyError:
                    self._by_content[by_content] = None  # IAM would not have accepted it: it grants nothing
                else:
                    self._by_content[by_content] = _relax(parsed)
            self._docs[cache_key] = self._by_content[by_content]
        return self._docs[cache_key]

    def _policy(self, policy_id: str, policy_type: PolicyType, *, named: bool = False) -> _Variant | None:
        """A stored policy, parsed (None when the snapshot lacks it); `named`: under its own name."""
        policy = self.snapshot.policies_by_id.get(policy_id)
        if policy is None:
            return None
        found = self._parse(policy_id, policy.name, policy.document, policy_type)
        return _labelled(found, policy.name) if named and found is not None else found

    def trust(self, role_arn: str) -> _Variant | None:
        """A role's trust policy, parsed (None when the inventory has none)."""
        if role_arn not in self._trusts:
            document = self.snapshot.trust_policy(role_arn)
            self._trusts[role_arn] = (
                None
                if document is None
                else self._parse(f"{role_arn}#trust", _trust_name(role_arn), document, PolicyType.TRUST)
            )
        return self._trusts[role_arn]

    def named_trust(self, role_arn: str) -> _Variant | None:
        """`trust` under the role's own trust policy name, for an explanation."""
        found = self.trust(role_arn)
        return None if found is None else _labelled(found, _trust_name(role_arn))

    def principal(self, arn: str) -> _Principal | None:
        """The policy sets and context of a user or role (None for anything else)."""
        if arn in self._principals:
            return self._principals[arn]
        identity = self.snapshot.identities_by_id.get(arn)
        found: _Principal | None = None
        if identity is not None and identity.kind in (IdentityKind.USER, IdentityKind.ROLE):
            applied = self.view.evaluator.principal(arn)
            identity_docs, boundary = self._documents(applied)
            scps = [] if identity.managed_by_cloud else self._scps
            relaxed = [r for v in (*identity_docs, *([boundary] if boundary else [])) for r in v.relaxed]
            for level in scps:
                relaxed.extend(r for v in level for r in v.relaxed)
            found = _Principal(
                arn=arn,
                strict=self._set(identity_docs, boundary, scps, optimistic=False, bounded=applied.boundary),
                optimistic=self._set(
                    identity_docs, boundary, scps, optimistic=True, bounded=applied.boundary
                ),
                relaxed=tuple(relaxed),
                context=_context(arn, identity.kind, identity.attributes, self.account, self.now),
                service_linked=identity.managed_by_cloud,
                share_key=(
                    (identity.kind.value, identity.managed_by_cloud, applied.cache_key())
                    if not any(v.personal for v in (*identity_docs, *([boundary] if boundary else [])))
                    else None
                ),
            )
        self._principals[arn] = found
        return found

    def _documents(
        self, applied: PrincipalPolicies, *, named: bool = False
    ) -> tuple[list[_Variant], _Variant | None]:
        """A principal's identity policies and boundary, parsed (`named`: each under its own name)."""
        identity = [
            v
            for p in applied.identity
            if (v := self._policy(p.policy_id, PolicyType.IDENTITY, named=named)) is not None
        ]
        boundary = (
            None
            if applied.boundary is None
            else self._policy(applied.boundary.policy_id, PolicyType.BOUNDARY, named=named)
        )
        return identity, boundary

    def named_principal(self, arn: str) -> _Principal | None:
        """`principal` with every policy document under its own policy's name, for an explanation (a parse
        shared by documents of equal text carries the name of whichever was read first)."""
        found = self.principal(arn)
        if found is None:
            return None
        applied = self.view.evaluator.principal(arn)
        identity, boundary = self._documents(applied, named=True)
        scps = [] if found.service_linked else self._named_scps
        return dataclasses.replace(
            found,
            strict=self._set(identity, boundary, scps, optimistic=False, bounded=applied.boundary),
            optimistic=self._set(identity, boundary, scps, optimistic=True, bounded=applied.boundary),
        )

    def _set(self, identity: Sequence[_Variant], boundary: _Variant | None, scps: Sequence[Sequence[_Variant]],
             *, optimistic: bool, bounded: object) -> PolicySet:  # fmt: skip
        def pick(variant: _Variant) -> PolicyDocument:
            return variant.optimistic if optimistic else variant.strict

        boundaries: list[PolicyDocument] | None = None
        if bounded is not None:
            # a boundary that is missing or unreadable: nothing is known to limit the principal
            boundaries = [pick(boundary)] if boundary is not None else None
        return PolicySet(
            identity=[pick(v) for v in identity],
            boundaries=boundaries,
            scp_levels=[[pick(v) for v in level] for level in scps],
            scp_level_names=self._scp_names if scps else None,
            management_account_id=self.management_account_id,
        )

    @cached_property
    def relaxed_evaluator(self) -> AccountEvaluator:
        """Effective permissions with every undecidable condition read favourably (see `relax_document`)."""
        strict = self.view.evaluator
        inventory = strict.inventory
        policies = {
            policy_id: PolicyRecord(policy_id, record.name, _relaxed_json(record.document))
            for policy_id, record in inventory.policies.items()
        }
        levels = [
            ScpLevel(level.label, tuple((name, _relaxed_json(doc)) for name, doc in level.policies))
            for level in strict.scp_levels
        ]
        relaxed = AccountInventory(inventory.principals, policies, inventory.assignments, inventory.groups_of)
        return AccountEvaluator(relaxed, strict.index, levels, compiler=strict.compiler)

    def relaxed_all_resources(self, arn: str) -> int:
        """The actions `arn` holds on every resource when undecidable conditions hold (0 for a non-principal)."""
        try:
            return self.relaxed_evaluator.evaluate(arn).permissions.all_resources
        except KeyError:
            return 0

    def resource_signature(self, arn: str, action: str, resource: str,
                           extra: Mapping[str, str] | None = None) -> tuple[object, ...] | None:  # fmt: skip
        """What of `resource` the engine reads to decide `arn`'s `action` on it: the account in its ARN and
        whether each statement naming the action (identity, boundary, SCPs) covers it. Two resources with equal
        signatures get equal decisions for the same principal and context (None: not a concrete ARN)."""
        if "*" in resource or "?" in resource:
            return None
        principal = self.principal(arn)
        if principal is None:
            return None
        statements = self.statements_naming(arn, action)
        fields = arn_fields(resource)
        account = fields[3] if fields is not None else None
        if not statements:
            return (account,)
        context_key = (arn, tuple(extra.items()) if extra else ())
        context = self._contexts.get(context_key)
        if context is None:  # the same for every resource the principal is decided on
            context = self._contexts[context_key] = RequestContext({**principal.context, **(extra or {})})
        return (
            account,
            *(
                statement_resource_matches(
                    element,
                    values,
                    resource,
                    context,
                    effect=effect,
                    policy_type=policy_type,
                    variables=variables,
                )
                for element, values, effect, policy_type, variables in statements
            ),
        )

    def policy_signature(
        self, arn: str, action: str, resource: str, resource_policy: _Variant
    ) -> tuple[object, ...] | None:
        """`resource_signature` for a request that reads a resource policy too (a role's trust policy): two
        resources with equal signatures get equal decisions for the same principal, because their resource
        policy is the same parsed document, which names no resource (no Resource / NotResource element), and
        the engine's service rules treat them alike. None: decide this one alone."""
        if any(
            s.resources is not None or s.not_resources is not None for s in resource_policy.strict.statements
        ):
            return None
        signature = self.resource_signature(arn, action, resource)
        principal = self.principal(arn)
        if signature is None or principal is None:
            return None
        key = action.lower()
        protected = service_rules.protected_resource(
            key, resource, caller_is_service_linked=principal.service_linked
        )
        return (
            id(resource_policy),
            service_rules.resource_policy_required(key, resource),
            None if protected is None else protected.reason,
            *signature,
        )

    def statements_naming(
        self, arn: str, action: str
    ) -> list[tuple[str, tuple[str, ...], str, PolicyType, bool]]:
        """The Resource / NotResource elements of `arn`'s statements (identity, boundary, SCPs) that name
        `action`: all of the resource that a decision reads besides its account (`resource_signature`)."""
        key = (arn, action)
        statements = self._naming.get(key)
        if statements is None:
            principal = self.principal(arn)
            statements = [] if principal is None else self._elements_naming(principal.strict, action)
            self._naming[key] = statements
        return statements

    def naming(self, document: PolicyDocument, action: str) -> tuple[Statement, ...]:
        """The statements of a (cached, shared) document whose Action / NotAction names `action`: found once
        per document, however many principals hold it."""
        key = (id(document), action)
        found = self._document_naming.get(key)
        if found is None or found[0] is not document:
            found = self._document_naming[key] = (document, tuple(_naming(document, action)))
        return found[1]

    def _elements_naming(
        self, policies: PolicySet, action: str
    ) -> list[tuple[str, tuple[str, ...], str, PolicyType, bool]]:
        """The Resource / NotResource elements of the statements of a policy set (identity, boundaries,
        SCPs) that name `action`, as (element, values, effect, policy type, variables enabled)."""
        documents = [
            *policies.identity,
            *(policies.boundaries or ()),
            *(d for lv in policies.scp_levels for d in lv),
        ]
        found = []
        for document in documents:
            for statement in self.naming(document, action):
                if statement.resources is not None:
                    found.append(("Resource", tuple(statement.resources), statement.effect,
                                  document.policy_type, document.variables_enabled))  # fmt: skip
                elif statement.not_resources is not None:
                    found.append(("NotResource", tuple(statement.not_resources), statement.effect,
                                  document.policy_type, document.variables_enabled))  # fmt: skip
        return found

    def condition_keys(self, arn: str, action: str) -> tuple[str, ...]:
        """The undecidable condition keys of `arn`'s policies that name `action`."""
        principal = self.principal(arn)
        return () if principal is None else _keys_for(principal.relaxed, action)

    def share_key(self, arn: str) -> tuple[object, ...] | None:
        """A key equal for principals whose identity-side decisions are equal (None: decide for this one)."""
        principal = self.principal(arn)
        return None if principal is None else principal.share_key

    # -- deciding -----------------------------------------------------------------------------------------
    def allows(self, arn: str, action: str, resource: str, *, resource_policy: _Variant | None = None,
               extra: Mapping[str, str] | None = None) -> Verdict | None:  # fmt: skip
        """Whether principal `arn` may perform `action` on `resource` (None: it may not)."""
        principal = self.principal(arn)
        if principal is None:
            return None
        context = dict(principal.context)
        if extra:
            context.update(extra)
        request = AuthorizationRequest(
            principal=arn,
            action=action,
            resource=resource,
            resource_account=None,  # the account in the resource's ARN, else the caller's
            context=RequestContext(context),
            principal_is_service_linked_role=principal.service_linked,
        )
        self.evaluations += 1
        strict = principal.strict
        if resource_policy is not None:
            strict = dataclasses.replace(strict, resource=resource_policy.strict)
        result = evaluate(request, strict)
        if result.decision is _ALLOWED:
            return MET
        if not (principal.relaxed or _relaxed(resource_policy)):
            return None  # every condition was decided: denied
        optimistic = principal.optimistic
        if resource_policy is not None:
            optimistic = dataclasses.replace(optimistic, resource=resource_policy.optimistic)
        self.evaluations += 1
        if evaluate(request, optimistic).decision is not _ALLOWED:
            return None
        relaxed = (*principal.relaxed, *(resource_policy.relaxed if resource_policy else ()))
        return Verdict(True, _keys_for(relaxed, action))

    def resource_side(
        self, arn: str, action: str, resource: str, resource_policy: _Variant
    ) -> Verdict | None:
        """Whether a resource policy lets `arn` in, its identity side taken as allowing everywhere."""
        principal = self.principal(arn)
        if principal is None:
            return None
        allow_all = PolicySet(identity=[_ALLOW_ALL], management_account_id=self.management_account_id)
        request = AuthorizationRequest(arn, action, resource, None, RequestContext(principal.context),
                                       principal_is_service_linked_role=principal.service_linked)  # fmt: skip
        self.evaluations += 1
        if (
            evaluate(request, dataclasses.replace(allow_all, resource=resource_policy.strict)).decision
            is _ALLOWED
        ):
            return MET
        if not resource_policy.relaxed:
            return None
        self.evaluations += 1
        if (
            evaluate(request, dataclasses.replace(allow_all, resource=resource_policy.optimistic)).decision
            is not _ALLOWED
        ):
            return None
        return Verdict(True, _keys_for(resource_policy.relaxed, action))

    def trusts_service(self, role_arn: str, service: str) -> Verdict | None:
        """Whether a role's trust policy lets `service` (e.g. lambda.amazonaws.com) assume it."""
        key = (role_arn, service)
        if key not in self._service_trust:
            self._service_trust[key] = self._trusts_service(role_arn, service)
        return self._service_trust[key]

    def _trusts_service(self, role_arn: str, service: str) -> Verdict | None:
        trust = self.trust(role_arn)
        if trust is None:
            return None
        request = AuthorizationRequest(
            principal=service,
            action="sts:AssumeRole",
            resource=role_arn,
            resource_account=self.account,
            context=RequestContext(),
        )
        self.evaluations += 1
        if evaluate(request, PolicySet(identity=[], resource=trust.strict)).decision is _ALLOWED:
            return MET
        if not trust.relaxed:
            return None
        self.evaluations += 1
        if evaluate(request, PolicySet(identity=[], resource=trust.optimistic)).decision is not _ALLOWED:
            return None
        return Verdict(True, _keys_for(trust.relaxed, "sts:AssumeRole"))


def _personal(document: PolicyDocument) -> bool:
    """Whether a document reads who the principal is (policy variables, or conditions on principal keys)."""
    for statement in document.statements:
        for values in (statement.resources, statement.not_resources):
            if values and any("${" in value for value in values):
                return True
        if any(known_key(test.key) and test.key.lower() not in _SHARED_KEYS for test in statement.conditions):
            return True
    return False


def relax_document(document: Any) -> Any:
    """A policy document (JSON) read as `_relax` reads it: undecidable condition tests removed from Allow
    statements, Deny statements that test an undecidable key dropped (anything unreadable is returned as is)."""
    if not isinstance(document, Mapping):
        return document
    statements = document.get("Statement")
    if not isinstance(statements, list | Mapping):
        return document
    kept: list[Any] = []
    for statement in statements if isinstance(statements, list) else [statements]:
        condition = statement.get("Condition") if isinstance(statement, Mapping) else None
        if not isinstance(condition, Mapping) or not condition:
            kept.append(statement)
            continue
        known: dict[str, Any] = {}
        undecidable = False
        for operator, tests in condition.items():
            if not isinstance(tests, Mapping):
                return document  # malformed: the parser reports it
            decidable = {key: value for key, value in tests.items() if known_key(str(key))}
            undecidable = undecidable or len(decidable) < len(tests)
            if decidable:
                known[operator] = decidable
        if not undecidable:
            kept.append(statement)
        elif statement.get("Effect") == "Allow":
            relaxed = {key: value for key, value in statement.items() if key != "Condition"}
            if known:
                relaxed["Condition"] = known
            kept.append(relaxed)
    return {**document, "Statement": kept}


def _naming(document: PolicyDocument, action: str) -> Iterator[Statement]:
    """The statements of a document whose Action / NotAction names `action`."""
    for statement in document.statements:
        if statement.actions is not None:
            if actions_match(statement.actions, action):
                yield statement
        elif statement.not_actions is not None and not actions_match(statement.not_actions, action):
            yield statement


def _relaxed_json(document: Any) -> Any:
    if isinstance(document, str | bytes) and b"Condition" not in (
        document.encode() if isinstance(document, str) else document
    ):
        return document  # nothing to relax: the compiled policy is shared with the strict evaluator
    try:
        return relax_document(as_document(document))
    except ValueError:
        return document  # unreadable JSON: the compiler reports it


def _relaxed(variant: _Variant | None) -> bool:
    return variant is not None and bool(variant.relaxed)


def _keys_for(relaxed: Sequence[tuple[Statement, tuple[str, ...]]], action: str) -> tuple[str, ...]:
    """The undecidable condition keys of relaxed statements that name `action`."""
    keys: dict[str, None] = {}
    for statement, unknown in relaxed:
        if statement.actions is not None:
            named = actions_match(statement.actions, action)
        else:
            named = statement.not_actions is not None and not actions_match(statement.not_actions, action)
        if named:
            keys.update(dict.fromkeys(unknown))
    return tuple(keys)


@lru_cache(maxsize=8)
def _time_keys(now: datetime) -> dict[str, str]:
    """The time keys of every request at the analysis time `now` (formatted once, not once per principal)."""
    moment = now.astimezone(UTC)
    return {
        "aws:CurrentTime": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "aws:EpochTime": str(int(moment.timestamp())),
        "aws:TokenIssueTime": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _context(
    arn: str, kind: IdentityKind, attributes: Mapping[str, Any], account: str, now: datetime
) -> dict[str, str]:
    """The condition keys every request of this principal carries (at the analysis time `now`)."""
    context = {
        **_time_keys(now),
        "aws:PrincipalArn": arn,
        "aws:PrincipalAccount": account,
        "aws:PrincipalType": "User" if kind is IdentityKind.USER else "AssumedRole",
    }
    if kind is IdentityKind.USER:
        context["aws:username"] = resource_name(arn)
        if attributes.get("userId"):
            context["aws:userid"] = str(attributes["userId"])
    tags = attributes.get("tags")
    if isinstance(tags, Mapping):
        for key, value in tags.items():
            context[f"aws:PrincipalTag/{key}"] = str(value)
    return context
