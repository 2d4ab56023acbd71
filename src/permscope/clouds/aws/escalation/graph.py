"""The escalation graph of one account: principals as nodes, techniques and role assumption as edges.

Nodes are users and roles (service-linked roles excepted: AWS owns them), and groups as targets of
iam:AddUserToGroup. An edge `source -> target` is one technique the source can use, every requirement decided
by the engine (`decide.Decider`) on the concrete resource: the role passed (and that it trusts the service),
the role assumed (identity policy and trust policy both), the user whose credentials are created, the policy
whose new version is written, the existing Lambda function or EC2 instance whose code runs with its role.

Cheap filters run first so large accounts stay fast: a source is only checked for a technique when its
effective permissions (bitsets) hold every action the technique needs. The candidate targets (users, roles,
groups, customer policies, the roles a service may assume) are indexed once (`candidates.ArnIndex`); a
decision reads of a target only its account and which of the source's statements naming the action cover it,
so the targets no Resource value of those statements tells apart share one decision and the others are
decided once per class of equally treated targets (`_Allowed`). A source is thus walked over the targets that
can give it an edge, not over every candidate, and what depends on the target alone (whether a grant makes it
administrator-equivalent, whether a policy version gives it more) is found once per target.

When a source's statements tell no role apart for a service technique (iam:PassRole on `*`, or no role passed),
the roles that service may assume give every such source the same steps: they are found once per technique and
verdicts, only as far as some source reads them (`_ServiceTargets`).

Edges that run through a resource permscope does not collect (a CodeBuild project, a Glue job, ...), or
through a Lambda function / EC2 instance when resources were not collected, target the roles that trust that
service and are marked `depends_on_unseen_resource`. At most `max_targets` edges are kept per source and technique, the most
privileged targets first (admin-equivalent, then named in a trust policy, then by granted actions).
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import itertools
import operator
import re
from collections.abc import Callable, Generator, Iterable, Iterator
from typing import Any

from permscope.clouds.aws.engine.matching import resource_matches
from permscope.clouds.aws.engine.policy import PolicyType
from permscope.clouds.aws.engine.service_rules import may_protect, protected_resource
from permscope.clouds.aws.engine.variables import RequestContext, glob_from_policy
from permscope.clouds.aws.escalation.candidates import ArnIndex, reads_context
from permscope.clouds.aws.escalation.decide import MET, Decider, Verdict, _Variant
from permscope.clouds.aws.escalation.groups import RelevantStatements
from permscope.clouds.aws.escalation.techniques import (
    GRANT_KINDS,
    TECHNIQUES,
    ExistingResource,
    Kind,
    Ref,
    Technique,
    Yield,
)
from permscope.clouds.aws.view import EC2_INSTANCE, LAMBDA_FUNCTION, is_root, role_of
from permscope.core.escalation import EscalationGraph, Step
from permscope.core.inventory import AssignmentRelation, IdentityKind, PolicyKind, Resource
from permscope.core.snapshot import SystemSnapshot

ASSUME_ROLE = "sts:AssumeRole"
PASSES_ROLE = "iam:PassRole"  # the action that hands a role to a service
DEFAULT_MAX_TARGETS = 3


def _step(technique: Technique, source: str, target: str, resources: tuple[str, ...], via: str | None = None,
          *, depends_on_unseen_resource: bool = False, conditional: bool = False,
          condition_keys: tuple[str, ...] = ()) -> Step:  # fmt: skip
    """The neutral edge of one technique use (`core.escalation.Step`)."""
    yields, moves, grants = _SHAPES[technique.technique_id]
    return Step(technique.technique_id, technique.name, technique.action_names, source, target, resources, yields,
                moves, via, depends_on_unseen_resource, conditional, condition_keys, grants)  # fmt: skip


def _shape(technique: Technique) -> tuple[str, bool, bool]:
    """What every step of a technique says alike: what it yields, whether the source moves, whether it grants."""
    grants = technique.kind in GRANT_KINDS
    return technique.yields.value, technique.kind is not Kind.JOIN_GROUP and not grants, grants


_SHAPES = {technique.technique_id: _shape(technique) for technique in TECHNIQUES}


class _Account:
    """The lookups edge building needs, computed once per snapshot."""

    def __init__(self, snapshot: SystemSnapshot, decider: Decider, value: Callable[[str], int]) -> None:
        self.snapshot = snapshot
        self.account = snapshot.system_id
        self.decider = decider
        self.users: list[str] = []
        self.roles: list[str] = []
        self.groups: list[str] = []
        for identity in snapshot.identities:
            if identity.kind is IdentityKind.USER and not is_root(identity):
                self.users.append(identity.external_id)
            elif identity.kind is IdentityKind.ROLE and not identity.managed_by_cloud:
                self.roles.append(identity.external_id)
            elif identity.kind is IdentityKind.GROUP:
                self.groups.append(identity.external_id)
        # most privileged first: the order targets are tried in
        for found in (self.users, self.roles, self.groups):
            found.sort(key=lambda arn: (-value(arn), arn))
        self.role_rank = {role: position for position, role in enumerate(self.roles)}
        self.user_index = ArnIndex(self.users)
        self.role_index = ArnIndex(self.roles)
        self.group_index = ArnIndex(self.groups)
        self.customer_policies: dict[str, list[str]] = {}  # holder (user, group, role) -> customer policies
        managed = {
            p.external_id
            for p in snapshot.policies
            if p.kind is PolicyKind.MANAGED and not p.managed_by_cloud and ":policy/" in p.external_id
        }
        for assignment in snapshot.assignments:
            if (
                assignment.relation is AssignmentRelation.ATTACHED
                and assignment.policy_external_id in managed
            ):
                self.customer_policies.setdefault(assignment.identity_external_id, []).append(
                    assignment.policy_external_id
                )
        self.policy_index = ArnIndex(sorted(managed))
        self.holders: dict[str, list[str]] = {}  # customer policy -> the roles it is attached to, in order
        for role in self.roles:
            for policy in self.customer_policies.get(role, ()):
                self.holders.setdefault(policy, []).append(role)
        self.named_in_trust: dict[str, list[str]] = {}  # principal ARN -> roles whose trust names it
        self.account_trust: list[str] = []  # roles whose trust names this account (or everyone)
        self.services: dict[str, list[str]] = {}  # service principal -> roles whose trust names it
        for role in self.roles:
            self._index_trust(role)
        self._service_roles: dict[tuple[str, ...], list[tuple[str, Verdict]]] = {}
        self._service_indexes: dict[tuple[tuple[str, ...], bool], tuple[ArnIndex, list[Verdict]]] = {}
        self._trusted: dict[str, frozenset[str]] = {}
        self.members: dict[str, list[str]] = {}  # group -> its member users, most privileged first
        for user in self.users:
            for group in snapshot.groups_of.get(user, ()):
                self.members.setdefault(group, []).append(user)

    def _index_trust(self, role: str) -> None:
        trust = self.decider.trust(role)
        if trust is None:
            return
        account_wide = False
        for statement in trust.strict.statements:
            if not statement.is_allow or statement.principal is None:
                continue
            principal = statement.principal
            if principal.wildcard:
                account_wide = True
            for value in principal.aws:
                if value == "*" or value in (self.account, f"arn:aws:iam::{self.account}:root"):
                    account_wide = True
                elif value.startswith("arn:"):
                    self.named_in_trust.setdefault(value, []).append(role)
            for service in principal.service:
                self.services.setdefault(service, []).append(role)
        if account_wide:
            self.account_trust.append(role)

    def trusted_by(self, principal: str) -> frozenset[str]:
        """The roles whose trust policy names `principal` itself."""
        found = self._trusted.get(principal)
        if found is None:
            found = self._trusted[principal] = frozenset(self.named_in_trust.get(principal, ()))
        return found

    def service_roles(self, services: tuple[str, ...]) -> list[tuple[str, Verdict]]:
        """The roles whose trust policy lets one of `services` assume them, with the verdict."""
        found = self._service_roles.get(services)
        if found is None:
            candidates = {role for service in services for role in self.services.get(service, ())}
            found = []
            for role in (r for r in self.roles if r in candidates):
                verdicts = [v for s in services if (v := self.decider.trusts_service(role, s)) is not None]
                if verdicts:
                    found.append((role, min(verdicts, key=lambda v: v.conditional)))
            self._service_roles[services] = found
        return found

    def service_index(
        self, services: tuple[str, ...], instance_profile: bool
    ) -> tuple[ArnIndex, list[Verdict]]:
        """The roles of `service_roles` (only those with an instance profile when `instance_profile`) as an
        index, and the verdict of each one's trust."""
        key = (services, instance_profile)
        found = self._service_indexes.get(key)
        if found is None:
            kept = [
                (r, v) for r, v in self.service_roles(services) if not instance_profile or self.has_profile(r)
            ]
            found = self._service_indexes[key] = (ArnIndex([r for r, _v in kept]), [v for _r, v in kept])
        return found

    def has_profile(self, role: str) -> bool:
        """Whether a role has an instance profile (unknown: maybe)."""
        attributes = self.snapshot.identities_by_id[role].attributes
        return "instanceProfiles" not in attributes or bool(attributes["instanceProfiles"])

    def compute(self, existing_types: frozenset[str]) -> list[Resource]:
        """Collected resources of some types that carry a role."""
        return [r for r in self.snapshot.resources or () if r.resource_type in existing_types and role_of(r)]


# self-escalation first, then techniques on other principals, then services: a source stops at its first
# certain step to admin
_KIND_ORDER = [Kind.SELF_PRINCIPAL, Kind.SELF_GROUP, Kind.SELF_POLICY, Kind.USER_MODIFY, Kind.ROLE_MODIFY,
               Kind.POLICY_ROLE, Kind.SELF_VERSION, Kind.VERSION_ROLE, Kind.ROLE_ASSUME, Kind.USER_CREDENTIALS, Kind.ROLE_TRUST, Kind.JOIN_GROUP,
               Kind.NEW_PASSROLE, Kind.EXISTING, Kind.GRANT_USER, Kind.GRANT_ROLE, Kind.GRANT_GROUP,
               Kind.GRANT_JOIN]  # fmt: skip
ORDERED = tuple(sorted(TECHNIQUES, key=lambda t: _KIND_ORDER.index(t.kind)))
_EXISTING_TYPES = {"function": frozenset({LAMBDA_FUNCTION}), "instance": frozenset({EC2_INSTANCE})}
# the kinds whose targets are chosen among the account's principals and roles, whoever the source is (see
# `GraphBuilder._independent`)
_INDEPENDENT_KINDS = frozenset({Kind.USER_CREDENTIALS, Kind.USER_MODIFY, Kind.ROLE_MODIFY, Kind.ROLE_TRUST,
                                Kind.POLICY_ROLE, Kind.VERSION_ROLE, Kind.NEW_PASSROLE, Kind.EXISTING,
                                Kind.GRANT_USER, Kind.GRANT_ROLE, Kind.GRANT_GROUP, Kind.GRANT_JOIN})  # fmt: skip


class _Shared:
    """What `_SourceCheck` finds from a source's relevant statements alone: kept per source, or shared by the
    sources of one group (`groups.RelevantStatements`), with the steps of the techniques whose targets do not
    depend on who the source is (`GraphBuilder._shared_steps`)."""

    __slots__ = ("allowed", "anywhere", "fixed", "key", "patterns", "relaxed", "steps", "texts")

    def __init__(self, key: tuple[object, ...] | None) -> None:
        self.key = key  # the group's key (None: one source's own)
        self.patterns: dict[str, tuple[_Loose, ...] | None] = {}
        self.texts: dict[str, tuple[str, ...] | None] = {}
        self.fixed: dict[tuple[str, str, str | None], Verdict | None] = {}
        self.anywhere: dict[str, Verdict | None] = {}
        self.allowed: dict[tuple[str, int, str | None], _Allowed] = {}
        self.relaxed: int | None = None  # the actions held on every resource once undecidable conditions hold
        self.steps: dict[str, _Walk] = {}

    def close(self) -> None:
        """Stop the walks no source will read any more (each holds a suspended search and all it refers to,
        through a reference cycle that a paused collector would never free)."""
        for walk in self.steps.values():
            if walk.pending is not None:
                walk.pending.close()
                walk.pending = None
        self.steps.clear()


class _Walk:
    """Steps read by several sources: each found once, in order, only as far as some source has read."""

    __slots__ = ("found", "pending")

    def __init__(self, steps: Generator[Step, None, None]) -> None:
        self.found: list[Step] = []
        self.pending: Generator[Step, None, None] | None = steps

    def walk(self) -> Iterator[Step]:
        """Every step: those already found, then the next ones as they are asked for."""
        found = self.found
        number = 0
        while True:
            if number < len(found):
                yield found[number]
                number += 1
                continue
            if self.pending is None:
                return
            step = next(self.pending, None)
            if step is None:
                self.pending = None
                return
            found.append(step)


class _SourceCheck:
    """Edges of one source principal (`excluded`: the principal no target may be; None when the check decides
    for a whole group, whose members each drop themselves from the steps)."""

    def __init__(self, builder: GraphBuilder, source: str, kind: IdentityKind, granted: int,
                 all_resources: int, conditional: int, shared: _Shared | None = None,
                 excluded: str | None = "") -> None:  # fmt: skip
        self.builder = builder
        self.account = builder.account
        self.decider = builder.decider
        self.source = source
        self.excluded = source if excluded == "" else excluded
        self.kind = kind
        self.granted = granted
        self.group = shared
        caches = _Shared(None) if shared is None else shared
        self._caches = caches
        self._patterns = caches.patterns
        self._texts = caches.texts
        self._context: RequestContext | None = None
        self.everywhere = all_resources  # actions allowed on every resource, unconditionally, never denied
        self.conditional = conditional  # actions allowed only when some condition holds
        self._fixed = caches.fixed
        self._anywhere = caches.anywhere
        self._with_policy: dict[tuple[str, str, int, str | None], Verdict | None] = {}
        self._allowed = caches.allowed

    @property
    def context(self) -> RequestContext:
        """The keys every request of the source carries (read only when a pattern needs them)."""
        if self._context is None:
            principal = self.decider.principal(self.source)
            self._context = RequestContext(principal.context if principal is not None else {})
        return self._context

    def holds(self, action: str) -> bool:
        """The bitset prefilter: the source holds the action in some form (unknown actions: maybe)."""
        bit = self.builder.bit_of(action)
        return bit is None or bool(self.granted >> bit & 1)

    def may_name(self, action: str, resource: str) -> bool:
        """Cheap necessary condition: some Allow statement of the source's identity policies for `action`
        names a resource pattern that matches `resource` (policy variables and NotResource: maybe)."""
        if action not in self._patterns:
            self._patterns[action] = self._allow_patterns(action)
        patterns = self._patterns[action]
        if patterns is None:
            return True
        if "*" in resource or "?" in resource:
            # a pattern request (a new resource, an uncollected one): the engine's overlap test decides
            return any(
                resource_matches(text, resource, self.context) for text in self._allow_texts(action) or ()
            )
        return any(pattern.fullmatch(resource) for pattern in patterns)

    def narrow(self, action: str, candidates: list[str]) -> list[str]:
        """The candidates (ARNs without wildcards) some Allow pattern of the source for `action` may name, in
        order: one regex scan over all of them instead of one match per candidate."""
        if action not in self._patterns:
            self._patterns[action] = self._allow_patterns(action)
        patterns = self._patterns[action]
        if patterns is None:
            return candidates
        if not patterns:
            return []
        return self.builder.narrowed(patterns, candidates)

    def _allow_patterns(self, action: str) -> tuple[_Loose, ...] | None:
        """The source's Allow resource patterns for `action` as loose regexes (a wildcard matches any run,
        across ARN segments too: a superset of what IAM matches, enough for a filter); None: anything."""
        found = self._allow_texts(action)
        if found is None:
            return None
        compiled = []
        for text in found:
            glob = glob_from_policy(text, self.context)
            if glob is not None:  # a variable without a value: the pattern matches nothing
                compiled.append(_loose(glob))
        return tuple(compiled)

    def _allow_texts(self, action: str) -> tuple[str, ...] | None:
        """The Resource values of the source's identity-policy Allow statements naming `action` (None: one
        has no Resource element), found once per action."""
        try:
            return self._texts[action]
        except KeyError:
            found = self._texts[action] = self._find_allow_texts(action)
            return found

    def _find_allow_texts(self, action: str) -> tuple[str, ...] | None:
        principal = self.decider.principal(self.source)
        if principal is None:
            return ()
        found: list[str] = []
        for document in principal.optimistic.identity:
            for statement in self.decider.naming(document, action):
                if not statement.is_allow:
                    continue
                if statement.resources is None:
                    return None
                found.extend(statement.resources)
        return tuple(found)

    def decide(self, action: str, resource: str, *, resource_policy: _Variant | None = None,
               service: str | None = None, needs_identity: bool = True) -> Verdict | None:  # fmt: skip
        """One requirement, decided by the engine (cached for resource-independent requirements).

        An action the source holds on every resource without a condition, and that no Deny of its policies,
        boundary or SCPs names (`allResources`), is allowed on any resource: the engine is not asked again
        unless a resource policy must be read too. What AWS refuses whatever the policies say (changing or
        passing an IAM Identity Center role, changing an AWS managed policy: `service_rules`) is never met."""
        protecting = self.builder.protecting(action)
        if protecting is not None and (
            protected_resource(protecting, resource, caller_is_service_linked=False) is not None
        ):
            return None  # sources are users and roles the account owns, never service-linked roles
        if resource_policy is None:
            anywhere = self.anywhere(action)
            if anywhere is not None:
                return anywhere
        elif needs_identity and self._everywhere(action) and not resource_policy.personal:
            # the identity side allows it anywhere and the resource policy does not name this source nor read
            # who it is: the resource side decides alike for every such source of this kind
            key: tuple[object, ...] = ("resource", action, resource, self.kind.value)
            shared = self.builder.shared
            if key not in shared:
                shared[key] = self.decider.resource_side(self.source, action, resource, resource_policy)
            return shared[key]
        if needs_identity and not self.may_name(action, resource):
            return None
        extra = {"iam:PassedToService": service} if service else None
        if resource_policy is not None:
            # the same role is assumed by several techniques (and once per policy version of it)
            mine = (action, resource, id(resource_policy), service)
            if mine not in self._with_policy:
                self._with_policy[mine] = self.decider.allows(
                    self.source, action, resource, resource_policy=resource_policy, extra=extra
                )
            return self._with_policy[mine]
        # equal policies decide alike; so do resources every statement naming the action treats alike
        share = self.share_key()
        signature = self.decider.resource_signature(self.source, action, resource, extra)
        key = (
            self.source if share is None else share,
            action,
            resource if signature is None else signature,
            service,
        )
        shared = self.builder.shared
        if key not in shared:
            shared[key] = self.decider.allows(self.source, action, resource, extra=extra)
        return shared[key]

    def share_key(self) -> tuple[object, ...] | None:
        """Equal for sources whose decisions without a resource policy are equal: the group's key, else equal
        policy sets (`Decider.share_key`); None: decide for this source alone."""
        group = self.group
        return ("group", group.key) if group is not None else self.decider.share_key(self.source)

    def _everywhere(self, action: str) -> bool:
        """Whether the source holds the action on every resource, unconditionally, never denied."""
        bit = self.builder.bit_of(action)
        return bit is not None and bool(self.everywhere >> bit & 1)

    def anywhere(self, action: str) -> Verdict | None:
        """The decision on any resource (no resource policy read) when the action is allowed on every resource:
        unconditionally (`everywhere`), or once the undecidable conditions hold (met conditionally, no engine
        call); None otherwise."""
        if action in self._anywhere:
            return self._anywhere[action]
        bit = self.builder.bit_of(action)
        found: Verdict | None = None
        if bit is not None and self.everywhere >> bit & 1:
            found = MET
        elif bit is not None and self.conditional >> bit & 1:
            caches = self._caches
            if caches.relaxed is None:
                caches.relaxed = self.decider.relaxed_all_resources(self.source)
            if caches.relaxed >> bit & 1:
                found = Verdict(True, self.decider.condition_keys(self.source, action))
        self._anywhere[action] = found
        return found

    def allowed(self, action: str, index: ArnIndex, service: str | None = None) -> _Allowed:
        """On which candidates of `index` the source may perform `action` (see `_Allowed`)."""
        key = (action, id(index), service)
        found = self._allowed.get(key)
        if found is None:
            found = self._allowed[key] = self._allowed_on(action, index, service)
        return found

    def _allowed_on(self, action: str, index: ArnIndex, service: str | None) -> _Allowed:
        anywhere = self.anywhere(action)
        if anywhere is not None:
            return _Allowed(action, index, service, anywhere, frozenset(), [])
        values = [
            (value, policy_type)
            for _element, found, _effect, policy_type, _variables in self.decider.statements_naming(
                self.source, action
            )
            for value in found
        ]
        if any(reads_context(value) for value, _type in values):
            # who asks changes what a value names: each candidate an Allow pattern may name is decided alone
            named = {index.position[arn] for arn in self.narrow(action, index.arns)}
            return _Allowed(action, index, service, None, frozenset(named | index.patterns), None)
        partitions = [part for value, kind in values for part in index.outcome(value, kind).partitions()]
        partitions += index.account_partitions
        listed = frozenset().union(*partitions, index.patterns)
        protected = index.protected(action)
        # every candidate outside `listed` is treated alike by every statement: one decision for all
        outside = next((n for n in range(len(index)) if n not in listed and n not in protected), None)
        default = None if outside is None else self.decide(action, index.arns[outside], service=service)
        return _Allowed(action, index, service, default, listed, partitions)

    def decide_fixed(self, action: str, resource: str, service: str | None = None) -> Verdict | None:
        """A requirement on a resource that does not depend on the target (a new resource, "*")."""
        key = (action, resource, service)
        if key not in self._fixed:
            share = self.share_key()
            if share is None:
                self._fixed[key] = self.decide(action, resource, service=service)
            else:
                # without a resource policy, every step of `decide` reads only what the share key holds (the
                # policies' contents, the kind of principal): sources with equal keys decide alike
                shared = self.builder.shared
                common = ("fixed", share, action, resource, service)
                if common not in shared:
                    shared[common] = self.decide(action, resource, service=service)
                self._fixed[key] = shared[common]
        return self._fixed[key]


class _Allowed:
    """On which candidates of an index one source may perform one action, each decided as `decide` decides it.

    A decision reads of the resource only its account and which statement naming the action covers it
    (`Decider.resource_signature`). The candidates no Resource value of those statements tells apart (all
    but `listed`) therefore share one decision, `default`; a listed candidate shares its decision with the
    listed ones that fall in the same `partitions` (the same values match them), decided once per such
    class. Without partitions (values that read the request) each listed candidate is decided alone."""

    def __init__(self, action: str, index: ArnIndex, service: str | None, default: Verdict | None,
                 listed: frozenset[int], partitions: list[frozenset[int]] | None) -> None:  # fmt: skip
        self.action = action
        self.index = index
        self.service = service
        self.default = default
        self.listed = listed
        self.partitions = partitions
        self.protected = index.protected(action)
        self._classes: dict[object, Verdict | None] = {}

    def ordered(self) -> list[int]:
        """The listed candidates, in the index's order."""
        return sorted(self.listed)

    def verdict(self, check: _SourceCheck, position: int) -> Verdict | None:
        """The decision on the candidate at `position` for the source of `check` (None: not allowed)."""
        if position in self.protected:
            return None
        if position not in self.listed:
            return self.default
        partitions = self.partitions
        key: object = (
            position
            if partitions is None or position in self.index.patterns
            else tuple(position in part for part in partitions)
        )
        if key not in self._classes:
            arn = self.index.arns[position]
            self._classes[key] = check.decide(self.action, arn, service=self.service)
        return self._classes[key]


def _literal_prefix(regex: str) -> str:
    """The literal text a `_loose` regex starts with (up to its first wildcard)."""
    prefix: list[str] = []
    escaped = False
    for char in regex:
        if escaped:
            prefix.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ".":
            break
        else:
            prefix.append(char)
    return "".join(prefix)


class _Exact:
    """A `_loose` pattern without a wildcard: equality with one text (nothing to compile; a pattern with a
    policy variable, such as a user's own ARN, is one of these once the variable is replaced)."""

    __slots__ = ("pattern", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.pattern = re.escape(text)  # the key and literal prefix a compiled pattern would have

    def fullmatch(self, text: str) -> bool:
        """Whether `text` is the pattern's text."""
        return text == self.text


_Loose = re.Pattern[str] | _Exact


@functools.lru_cache(maxsize=16_384)
def _loose(glob: str) -> _Loose:
    """A regex matching at least what an IAM resource glob matches (`*` any run, `?` one character)."""
    text = glob.replace("\\", "")
    if "*" not in text and "?" not in text:
        return _Exact(text)
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in text)
    return re.compile(body, re.DOTALL)


def _pattern(service: str, account: str) -> str:
    """Any resource of a service in the account (a new resource, or an existing one not collected)."""
    return f"arn:aws:{service}:*:{account}:*"


def _on(technique: Technique, ref: Ref) -> list[str]:
    """The actions of a technique performed on `ref`."""
    return [action for action, on in technique.actions if on is ref]


def _merge(verdicts: list[Verdict]) -> Verdict:
    if not any(v.conditional or v.condition_keys for v in verdicts):
        return MET
    keys: dict[str, None] = {}
    for verdict in verdicts:
        keys.update(dict.fromkeys(verdict.condition_keys))
    return Verdict(any(v.conditional for v in verdicts), tuple(keys))


class _ServiceTargets:
    """The targets of a service technique for the sources whose verdicts on it are equal and tell no role apart
    from the others (see `GraphBuilder._service_targets`): each role's (role, resources, verdict), in role
    order, found once and only as far as a source has read."""

    def __init__(self, index: ArnIndex, trusts: list[Verdict], fixed: list[Verdict],
                 passes: list[tuple[Verdict | None, frozenset[int]]], tail: list[str]) -> None:  # fmt: skip
        self.index = index
        self.trusts = trusts
        self.fixed = fixed
        self.passes = passes  # per service: the verdict on passing any role, and the roles AWS refuses
        self.tail = tail
        self.fixed_resources = tuple(dict.fromkeys(tail))  # the resources of a step that passes no role
        self.found: list[tuple[str, tuple[str, ...], Verdict]] = []
        self.position = 0  # the next role to decide

    def walk(self) -> Iterator[tuple[str, tuple[str, ...], Verdict]]:
        """Every target in order: those already found, then the next ones as they are asked for."""
        found = self.found
        number = 0
        while True:
            if number < len(found):
                yield found[number]
                number += 1
            elif not self._next():
                return

    def _next(self) -> bool:
        """Find the next target (False: no role is left)."""
        arns = self.index.arns
        while self.position < len(arns):
            position = self.position
            self.position += 1
            role = arns[position]
            verdicts = [*self.fixed, self.trusts[position]]
            if self.passes:
                passed = [v for v, refused in self.passes if v is not None and position not in refused]
                if not passed:
                    continue
                verdicts.append(min(passed, key=lambda v: v.conditional))
                resources = tuple(dict.fromkeys((role, *self.tail)))
            else:
                resources = self.fixed_resources
            self.found.append((role, resources, _merge(verdicts)))
            return True
        return False


class GraphBuilder:
    """Builds the escalation graph of a snapshot (see the module docstring)."""

    def __init__(self, snapshot: SystemSnapshot, *, value: Callable[[str], int],
                 skip: Callable[[str], bool], admin: Callable[[Step], bool],
                 max_targets: int = DEFAULT_MAX_TARGETS, more: Callable[[Step], bool] | None = None,
                 granted_admin: Callable[[str, str], bool] | None = None) -> None:  # fmt: skip
        self.snapshot = snapshot
        self.account = snapshot.system_id
        self.decider = Decider(snapshot)
        self.skip = skip  # sources whose edges are not needed (super identities)
        self.admin = admin  # whether the permissions after a step are super
        self.more = more  # whether a step gives its target actions it lacks (policy versions; None: always)
        # whether a principal is super once a grant gives it what a technique yields (`admin` of such a step,
        # without building the step; None: `admin` is asked)
        self.granted_admin = granted_admin
        self.value = value
        self.max_targets = max_targets
        self.lookups = _Account(snapshot, self.decider, value)
        self._narrowed: dict[tuple[tuple[str, ...], int], list[str]] = {}
        self._sorted_candidates: dict[int, tuple[list[str], dict[str, int]]] = {}
        index = snapshot.index
        # the bitset prefilter of each technique: every action it needs (sts:AssumeRole aside: a trust policy
        # naming the source grants it alone; actions the catalogue lacks are left to the engine)
        self.masks = {
            t.technique_id: sum(
                1 << bit
                for a in t.action_names
                if a != ASSUME_ROLE and (bit := index.index_of(a)) is not None
            )
            for t in TECHNIQUES
        }
        self.by_kind = {
            kind: [(t, self.masks[t.technique_id]) for t in ORDERED if kind in t.source_kinds]
            for kind in ("user", "role")
        }
        # every action some technique needs
        self.needed = functools.reduce(operator.or_, self.masks.values(), 0)
        self._usable_lists: dict[tuple[str, int], list[Technique]] = {}
        self._independents: dict[str, bool] = {}
        self._sharing: dict[int, bool] = {}  # by the id of a `_usable` list (kept in `_usable_lists`)
        # decisions of principals whose policies read nothing of who they are, shared by equal policy sets
        self.shared: dict[tuple[object, ...], Verdict | None] = {}
        self._grantables: dict[tuple[Kind, Yield], ArnIndex] = {}
        self._better: dict[tuple[str, str], list[tuple[str, str]]] = {}
        self._versioned_trusting: list[str] | None = None
        self._requested_by: dict[str, list[tuple[str, str]]] = {}
        self._service_steps: dict[tuple[object, ...], _ServiceTargets] = {}
        self._unskipped: list[str] | None = None
        self._pattern_hits: dict[tuple[str, int], frozenset[int]] = {}
        self._sets: dict[int, tuple[list[str], frozenset[str]]] = {}
        self._bits: dict[str, int | None] = {}
        self._protecting: dict[str, str | None] = {}
        self._service_plans: dict[str, tuple[ExistingResource | None, bool, bool, list[tuple[str, str]],
                                             ArnIndex, list[Verdict]]] = {}  # fmt: skip

    def protecting(self, action: str) -> str | None:
        """An action's lower-case key when AWS may refuse it on some resource whatever the policies say
        (`service_rules.protected_resource`); None for the others (most), which need no look at the resource."""
        try:
            return self._protecting[action]
        except KeyError:
            key = action.lower()
            found = self._protecting[action] = key if may_protect(key) else None
            return found

    def bit_of(self, action: str) -> int | None:
        """The catalogue bit of a technique's action (None when the catalogue lacks it), looked up once."""
        try:
            return self._bits[action]
        except KeyError:
            found = self._bits[action] = self.snapshot.index.index_of(action)
            return found

    def narrowed(self, patterns: tuple[_Loose, ...], candidates: list[str]) -> list[str]:
        """The candidates one of the loose patterns matches, in their order, shared by every source with the
        same patterns (equal policies give equal patterns). Each pattern is only tried on the candidates that
        start with its literal prefix (found by bisection in the sorted candidates)."""
        key = (tuple(p.pattern for p in patterns), id(candidates))
        found = self._narrowed.get(key)
        if found is None:
            matched: set[int] = set()
            for pattern in patterns:
                hits = self._hits(pattern, candidates)
                if len(hits) == len(candidates):
                    found = candidates
                    break
                matched |= hits
            else:
                found = [candidates[n] for n in sorted(matched)]
            self._narrowed[key] = found
        return found

    def _hits(self, pattern: _Loose, candidates: list[str]) -> frozenset[int]:
        """The positions of the candidates one loose pattern matches (found once per pattern and list)."""
        key = (pattern.pattern, id(candidates))
        found = self._pattern_hits.get(key)
        if found is None and isinstance(pattern, _Exact):
            number = self._sorted(candidates)[1].get(pattern.text)
            found = self._pattern_hits[key] = frozenset(() if number is None else (number,))
        if found is None:
            ordered, position = self._sorted(candidates)
            prefix = _literal_prefix(pattern.pattern)
            start = bisect.bisect_left(ordered, prefix)
            hits: set[int] = set()
            for candidate in itertools.islice(ordered, start, None):
                if not candidate.startswith(prefix):
                    break
                if pattern.fullmatch(candidate):
                    hits.add(position[candidate])
            found = self._pattern_hits[key] = frozenset(hits)
        return found

    def _sorted(self, candidates: list[str]) -> tuple[list[str], dict[str, int]]:
        key = id(candidates)
        found = self._sorted_candidates.get(key)
        if found is None:
            found = self._sorted_candidates[key] = (
                sorted(candidates),
                {candidate: number for number, candidate in enumerate(candidates)},
            )
        return found

    def build(self) -> EscalationGraph:
        """Every edge of every user and role that is not skipped."""
        graph = EscalationGraph()
        relevant = RelevantStatements(action for t in TECHNIQUES for action in t.action_names)
        groups: dict[tuple[object, ...], _Shared] = {}
        for source in [*self.lookups.users, *self.lookups.roles]:
            if self.skip(source):
                continue
            permissions = self.snapshot.permissions(source)
            if permissions is None:
                continue
            graph.checked_sources += 1
            identity = self.snapshot.identities_by_id[source]
            shared = None
            if self._shares_steps(identity.kind.value, permissions.granted):
                principal = self.decider.principal(source)
                key = None if principal is None else relevant.key(principal, identity.kind.value)
                if key is not None:
                    shared = groups.get(key)
                    if shared is None:
                        shared = groups[key] = _Shared(key)
            check = _SourceCheck(self, source, identity.kind, permissions.granted, permissions.all_resources,
                                 permissions.conditional, shared)  # fmt: skip
            steps = list(self._edges(check))
            moves = [step for step in steps if not step.grants]
            if moves:
                graph.edges[source] = moves
            if len(moves) < len(steps):
                graph.grants[source] = [step for step in steps if step.grants]
        for shared in groups.values():
            shared.close()
        graph.evaluations = self.decider.evaluations
        return graph

    def _edges(self, check: _SourceCheck) -> Iterator[Step]:
        """The source's edges, then its grants (kept only when they make their target administrator-
        equivalent); a certain step to admin ends the search: the source's other edges change nothing."""
        for technique in self._usable(check.kind.value, check.granted):
            grant = _SHAPES[technique.technique_id][2]
            versioned = technique.yields is Yield.VERSION and self.more is not None
            kind = technique.kind
            kept = 0
            steps = (
                self._shared_steps(check, technique)
                if check.group is not None and self._independent(technique)
                else self._service_technique(check, technique)
                if kind is Kind.NEW_PASSROLE or kind is Kind.EXISTING
                else self._technique(check, technique)
            )
            for step in steps:
                if versioned and self.more is not None and not self.more(step):
                    continue  # that version grants nothing the target lacks
                admin = self.admin(step)
                if grant and not admin:
                    continue
                yield step
                kept += 1
                if admin and not grant and not step.conditional and not step.depends_on_unseen_resource:
                    return
                if kept >= self.max_targets:
                    break

    def _independent(self, technique: Technique) -> bool:
        """Whether a technique's steps are the same for every source of a group, the source itself aside: no
        sts:AssumeRole (a trust policy may name the source), no collected resource's policy, no target chosen
        from the source's own groups or policies."""
        found = self._independents.get(technique.technique_id)
        if found is None:
            kind = technique.kind
            found = kind in _INDEPENDENT_KINDS and ASSUME_ROLE not in technique.action_names
            if found and kind is Kind.EXISTING:
                existing = technique.existing
                found = not (existing is not None and existing.collected and self.snapshot.has_resources)
            self._independents[technique.technique_id] = found
        return found

    def _shares_steps(self, kind: str, granted: int) -> bool:
        """Whether a source may use a technique whose steps its group shares (else it is checked alone, and
        its group is not looked for)."""
        usable = self._usable(kind, granted)
        found = self._sharing.get(id(usable))
        if found is None:
            found = self._sharing[id(usable)] = any(self._independent(t) for t in usable)
        return found

    def _shared_steps(self, check: _SourceCheck, technique: Technique) -> Iterator[Step]:
        """A technique's steps for one source of a group: the group's steps (found once, by a check that
        excludes no target), less those whose target is the source, given the source's name."""
        group = check.group
        assert group is not None
        walk = group.steps.get(technique.technique_id)
        if walk is None:
            deciding = _SourceCheck(self, check.source, check.kind, check.granted, check.everywhere,
                                    check.conditional, group, excluded=None)  # fmt: skip
            found = (
                self._service_technique(deciding, technique)
                if technique.kind is Kind.NEW_PASSROLE or technique.kind is Kind.EXISTING
                else self._technique(deciding, technique)
            )
            walk = group.steps[technique.technique_id] = _Walk(found)
        source = check.source
        for step in walk.walk():
            if step.target == source:
                continue
            if step.source != source:
                step = Step(step.technique_id, step.technique_name, step.actions, source, step.target,
                            step.resources, step.yields, step.moves, step.via, step.depends_on_unseen_resource,
                            step.conditional, step.condition_keys, step.grants)  # fmt: skip
            yield step

    def _usable(self, kind: str, granted: int) -> list[Technique]:
        """The techniques of a kind of source whose actions `granted` all holds (the bitset prefilter), in
        order; sources holding the same of those actions share the list."""
        key = (kind, granted & self.needed)  # one operation on the large bitset, not one per technique
        found = self._usable_lists.get(key)
        if found is None:
            held = key[1]
            found = self._usable_lists[key] = [t for t, mask in self.by_kind[kind] if held & mask == mask]
        return found

    # -- per kind of technique ----------------------------------------------------------------------------
    def _technique(self, check: _SourceCheck, technique: Technique) -> Generator[Step, None, None]:
        kind = technique.kind
        lookups = self.lookups
        source = check.source
        if kind is Kind.SELF_PRINCIPAL:
            yield from self._targets(check, technique, [(source, {Ref.SELF: source}, None)])
        elif kind is Kind.SELF_GROUP:
            groups = self.snapshot.groups_of.get(source, [])
            yield from self._targets(check, technique, [(source, {Ref.GROUP: g}, g) for g in groups])
        elif kind is Kind.SELF_POLICY:
            holders = [source, *self.snapshot.groups_of.get(source, [])]
            policies = dict.fromkeys(p for h in holders for p in lookups.customer_policies.get(h, ()))
            yield from self._targets(check, technique, [(source, {Ref.POLICY: p}, p) for p in policies])
        elif kind is Kind.JOIN_GROUP:
            member = set(self.snapshot.groups_of.get(source, []))
            admitted = self._admitted(check, _on(technique, Ref.GROUP), lookups.group_index)
            joinable = (g for g in admitted if g not in member)
            yield from self._targets(check, technique, ((g, {Ref.GROUP: g}, g) for g in joinable))
        elif kind in (Kind.USER_CREDENTIALS, Kind.USER_MODIFY):
            admitted = self._admitted(check, _on(technique, Ref.USER), lookups.user_index)
            users = (u for u in admitted if u != check.excluded)
            yield from self._targets(check, technique, ((u, {Ref.USER: u}, None) for u in users))
        elif kind in (Kind.ROLE_ASSUME, Kind.ROLE_MODIFY, Kind.ROLE_TRUST):
            yield from self._targets(
                check, technique, ((r, {Ref.ROLE: r}, None) for r in self._roles(check, technique))
            )
        elif kind is Kind.SELF_VERSION:
            holders = [source, *self.snapshot.groups_of.get(source, [])]
            policies = dict.fromkeys(p for h in holders for p in lookups.customer_policies.get(h, ()))
            yield from self._targets(
                check, technique, ((source, {Ref.POLICY: p}, v) for p in policies for v in self._versions(p))
            )
        elif kind is Kind.VERSION_ROLE:
            allowed, writable = self._on_policies(check, technique)
            versioned = self._versioned_trusting_roles()
            pairs = (
                (r, {Ref.ROLE: r, Ref.POLICY: p}, v)
                for r in self._roles(check, technique, writable, trusting_within=versioned)
                for p, v in self._better_versions(technique, r)
                if allowed(p)
            )
            yield from self._targets(check, technique, pairs)
        elif kind is Kind.POLICY_ROLE:
            allowed, writable = self._on_policies(check, technique)
            pairs = (
                (r, {Ref.ROLE: r, Ref.POLICY: p}, p)
                for r in self._roles(check, technique, writable)
                for p in lookups.customer_policies.get(r, ())
                if allowed(p)
            )
            yield from self._targets(check, technique, pairs)
        elif kind is Kind.NEW_PASSROLE or kind is Kind.EXISTING:
            yield from self._service_technique(check, technique)
        elif kind in GRANT_KINDS:
            yield from self._grants(check, technique)

    def _grants(self, check: _SourceCheck, technique: Technique) -> Iterator[Step]:
        """Grant techniques: the principals (not the source, not already super) whose permissions the source
        can change; for a group, its members, or (iam:AddUserToGroup) any other user joining a super group."""
        lookups = self.lookups
        source = check.excluded
        action = technique.actions[0][0]

        def others(candidates: Iterable[str]) -> Iterator[str]:
            return (c for c in candidates if c != source and not self.skip(c))

        if technique.kind is Kind.GRANT_USER:
            users = self._grantable(technique, lookups.users)
            targets = (u for u in self._admitted(check, [action], users) if u != source)
            yield from self._targets(check, technique, ((u, {Ref.USER: u}, None) for u in targets))
            return
        if technique.kind is Kind.GRANT_ROLE:
            roles = self._grantable(technique, lookups.roles)
            targets = (r for r in self._admitted(check, [action], roles) if r != source)
            yield from self._targets(check, technique, ((r, {Ref.ROLE: r}, None) for r in targets))
            return
        full = self.snapshot.index.size
        for group in self._admitted(check, [action], lookups.group_index):
            if technique.kind is Kind.GRANT_GROUP:
                beneficiaries = others(lookups.members.get(group, []))
            elif self.value(group) > full:  # joining gives administrator rights only through a super group
                member = set(lookups.members.get(group, ()))
                beneficiaries = (u for u in self._unskipped_users() if u != source and u not in member)
            else:
                continue
            # read lazily: the caller stops after a few administrator grants, not after every user
            first = next(beneficiaries, None)
            if first is None:
                continue
            for decided in self._targets(check, technique, [(group, {Ref.GROUP: group}, group)]):
                for beneficiary in itertools.chain((first,), beneficiaries):
                    yield dataclasses.replace(decided, target=beneficiary)

    def _grantable(self, technique: Technique, candidates: list[str]) -> ArnIndex:
        """The candidates a grant on a principal can make administrator-equivalent: not already super (those
        are skipped) and super once given what the technique yields. That depends on the target alone (a
        grant's value is what its target then holds), so it is found once, not once per source."""
        key = (technique.kind, technique.yields)
        found = self._grantables.get(key)
        if found is None:
            yields = technique.yields.value
            granted_admin = self.granted_admin
            kept = [
                c
                for c in candidates
                if not self.skip(c)
                and (
                    granted_admin(c, yields)
                    if granted_admin is not None
                    else self.admin(_step(technique, c, c, ()))
                )
            ]
            found = self._grantables[key] = ArnIndex(kept)
        return found

    def _unskipped_users(self) -> list[str]:
        """The users that are not skipped (not already super), in order: found once, not walked past the
        super users (who come first) by every source that may add users to a group."""
        if self._unskipped is None:
            self._unskipped = [u for u in self.lookups.users if not self.skip(u)]
        return self._unskipped

    def _on_policies(
        self, check: _SourceCheck, technique: Technique
    ) -> tuple[Callable[[str], bool], list[str] | None]:
        """Whether the source may perform the technique's actions on a customer managed policy (decided once
        per class of policies its statements tell apart, as `_Allowed` does), and, when that is only some
        policies, the roles they are attached to (in order; None: any role may hold one)."""
        index = self.lookups.policy_index
        actions = _on(technique, Ref.POLICY)
        allowed = [check.allowed(action, index) for action in actions]

        def may(policy: str) -> bool:
            position = index.position.get(policy)
            if position is None:  # not a customer managed policy of the export: decided alone
                return all(check.decide(action, policy) is not None for action in actions)
            return all(a.verdict(check, position) is not None for a in allowed)

        restricting = [a for a in allowed if a.default is None]
        if not restricting:
            return may, None
        driver = min(restricting, key=lambda a: len(a.listed))
        policies = [index.arns[n] for n in driver.ordered() if may(index.arns[n])]
        roles = {role for policy in policies for role in self.lookups.holders.get(policy, ())}
        return may, sorted(roles, key=self.lookups.role_rank.__getitem__)

    def _versioned_trusting_roles(self) -> list[str]:
        """The roles trusting the account that hold a customer policy with a version besides its default one,
        in order: found once, so a source that may assume every role trusting the account walks only these
        (whether a version gives more is found when a source first reaches the role, `_better_versions`)."""
        if self._versioned_trusting is None:
            policies = self.lookups.customer_policies
            self._versioned_trusting = [
                r for r in self.lookups.account_trust if any(self._versions(p) for p in policies.get(r, ()))
            ]
        return self._versioned_trusting

    def _intersect(self, first: list[str], second: list[str]) -> list[str]:
        """The roles of both lists (each in role order), in role order: the shorter one is walked."""
        short, long = (first, second) if len(first) <= len(second) else (second, first)
        inside = self._set_of(long)
        return [r for r in short if r in inside]

    def _set_of(self, roles: list[str]) -> frozenset[str]:
        """A list as a set; kept for the long-lived lists (the account's, the narrowed ones)."""
        if len(roles) < 64:
            return frozenset(roles)
        found = self._sets.get(id(roles))
        if found is None or found[0] is not roles:
            found = self._sets[id(roles)] = (roles, frozenset(roles))
        return found[1]

    def _better_versions(self, technique: Technique, role: str) -> list[tuple[str, str]]:
        """The (policy, version) pairs of a role's customer policies whose version, made the default, gives the
        role actions it lacks (`more`; a step that gives nothing more is never kept). That depends on the role
        alone, so it is found once per role, not once per source that may assume it."""
        key = (technique.technique_id, role)
        found = self._better.get(key)
        if found is None:
            found = self._better[key] = [
                (p, v)
                for p in self.lookups.customer_policies.get(role, ())
                for v in self._versions(p)
                if self.more is None or self.more(_step(technique, role, role, (), v))
            ]
        return found

    def _versions(self, policy: str) -> list[str]:
        """The policy's versions besides its default one, as "<policy ARN>#<version id>" (a step's `via`)."""
        found = self.snapshot.policies_by_id.get(policy)
        return [f"{policy}#{v.version_id}" for v in (found.versions if found else ()) if not v.is_default]

    def _roles(self, check: _SourceCheck, technique: Technique, within: list[str] | None = None, *,
               trusting_within: list[str] | None = None) -> Iterator[str]:  # fmt: skip
        """Candidate roles: for sts:AssumeRole, those whose trust names the source (always) or the account
        (when the source holds sts:AssumeRole); otherwise every other role. In both cases only the roles the
        source may perform the technique's other actions on (iam-020's first action is on a policy), and only
        those of `within` (and of `trusting_within` among the roles trusting the account) when given: lists in
        role order of the only roles that can give a step."""
        lookups = self.lookups
        on_role = [action for action in _on(technique, Ref.ROLE) if action != ASSUME_ROLE]
        if ASSUME_ROLE not in technique.action_names:
            admitted = self._admitted(check, on_role, lookups.role_index, among=within)
            yield from (r for r in admitted if r != check.excluded)
            return
        # roles whose trust names the source first, then those trusting the account, most privileged first
        direct = lookups.named_in_trust.get(check.source, [])
        inside = None if within is None else self._set_of(within)
        ranked = sorted(
            (r for r in set(direct) if r != check.excluded and (inside is None or r in inside)),
            key=lookups.role_rank.__getitem__,
        )
        yield from self._admitted(check, on_role, lookups.role_index, among=ranked)
        if check.holds(ASSUME_ROLE):
            named = set(direct)
            trusting = check.narrow(ASSUME_ROLE, lookups.account_trust)
            for restriction in (within, trusting_within):
                if restriction is not None:
                    trusting = self._intersect(trusting, restriction)
            yield from (
                r
                for r in self._admitted(check, on_role, lookups.role_index, among=trusting)
                if r != check.excluded and r not in named
            )

    def _admitted(self, check: _SourceCheck, actions: list[str], index: ArnIndex,
                  among: list[str] | None = None) -> Iterator[str]:  # fmt: skip
        """The candidates of `index` (or of `among`, given in the index's order) on which the source may
        perform every one of `actions`, in order. The candidates are walked from the shortest list that
        an action allows beyond its common decision, so the work follows what the source can reach rather
        than every candidate."""
        allowed = [check.allowed(action, index) for action in dict.fromkeys(actions)]
        restricting = [a for a in allowed if a.default is None]
        positions: Iterable[int]
        if restricting:
            driver = min(restricting, key=lambda a: len(a.listed))
            if among is not None and len(among) <= len(driver.listed):
                positions = (index.position[arn] for arn in among)
            elif among is not None:
                inside = self._set_of(among)
                positions = (p for p in driver.ordered() if index.arns[p] in inside)
            else:
                positions = driver.ordered()
        elif among is not None:
            positions = (index.position[arn] for arn in among)
        else:
            positions = range(len(index))
        arns = index.arns
        for position in positions:
            if all(a.verdict(check, position) is not None for a in allowed):
                yield arns[position]

    def _targets(self, check: _SourceCheck, technique: Technique,
                 candidates: Any) -> Iterator[Step]:  # fmt: skip
        """Decide every action of a principal-targeted technique for each (target, resources, via)."""
        for target, refs, via in candidates:
            verdicts: list[Verdict] = []
            decided: list[str] = []
            for action, ref in technique.actions:
                resource = refs[ref]
                policy = self.decider.trust(resource) if action == ASSUME_ROLE else None
                if action == ASSUME_ROLE and policy is None:
                    verdicts = []
                    break
                direct = action == ASSUME_ROLE and resource in self.lookups.trusted_by(check.source)
                verdict = check.decide(action, resource, resource_policy=policy, needs_identity=not direct)
                if verdict is None:
                    verdicts = []
                    break
                verdicts.append(verdict)
                decided.append(resource)
            if not verdicts:
                continue
            merged = _merge(verdicts)
            yield _step(technique, check.source, target, tuple(dict.fromkeys(decided)), via,
                       conditional=merged.conditional, condition_keys=merged.condition_keys)  # fmt: skip

    def _service_technique(self, check: _SourceCheck, technique: Technique) -> Generator[Step, None, None]:
        """Techniques that pass a role to a service, or run code in an existing resource with its role."""
        plan = self._service_plans.get(technique.technique_id)
        if plan is None:
            plan = self._service_plans[technique.technique_id] = self._service_plan(technique)
        existing, seen, passes, requested, index, trusts = plan
        if seen and existing is not None:
            yield from self._existing_resources(check, technique, _EXISTING_TYPES[existing.resource_type])
            return
        unseen = existing is not None
        fixed: list[Verdict] = []
        for action, resource in requested:
            verdict = check.decide_fixed(action, resource)
            if verdict is None:
                return
            fixed.append(verdict)
        # the roles the source may pass to one of the services (each decided as `decide` would)
        allowed = (
            [check.allowed(PASSES_ROLE, index, service) for service in technique.services] if passes else []
        )
        if not any(a.listed for a in allowed):
            # every role is decided alike (or refused by AWS alone): the steps are the same for every source
            # with these verdicts, found once and only given their source here
            source, excluded = check.source, check.excluded
            technique_id, name, actions = technique.technique_id, technique.name, technique.action_names
            yields = _SHAPES[technique_id][0]
            label = existing.label if existing else None
            for role, resources, merged in self._service_targets(technique, fixed, allowed):
                if role != excluded:
                    yield Step(technique_id, name, actions, source, role, resources, yields, True, label, unseen,
                               merged.conditional, merged.condition_keys, False)  # fmt: skip
            return
        tail = [resource for _action, resource in requested]
        positions: Iterable[int] = range(len(index))
        if allowed and all(a.default is None for a in allowed):
            positions = sorted(frozenset().union(*(a.listed for a in allowed)))
        for position in positions:
            role = index.arns[position]
            if role == check.excluded:
                continue
            verdicts = [*fixed, trusts[position]]
            if passes:
                found = [v for a in allowed if (v := a.verdict(check, position)) is not None]
                if not found:
                    continue
                verdicts.append(min(found, key=lambda v: v.conditional))
            merged = _merge(verdicts)
            resources = tuple(dict.fromkeys((role, *tail)))
            yield _step(technique, check.source, role, resources,
                       existing.label if existing else None, depends_on_unseen_resource=unseen,
                       conditional=merged.conditional, condition_keys=merged.condition_keys)  # fmt: skip

    def _service_plan(
        self, technique: Technique
    ) -> tuple[ExistingResource | None, bool, bool, list[tuple[str, str]], ArnIndex, list[Verdict]]:
        """What a service technique reads of the account alone, found once: the existing resource it needs,
        whether those resources were collected, whether it passes a role, its other requests, and the roles
        its services may assume (as an index, and the verdict of each one's trust)."""
        existing = technique.existing
        seen = (
            existing is not None
            and existing.collected
            and self.snapshot.has_resources
            and technique.kind is Kind.EXISTING
        )
        passes = any(ref is Ref.PASSED for _a, ref in technique.actions)
        if seen:  # the collected resources are walked instead (`_existing_resources`)
            return existing, seen, passes, [], ArnIndex([]), []
        index, trusts = self.lookups.service_index(technique.services, technique.instance_profile)
        return existing, seen, passes, self._requests(technique), index, trusts

    def _service_targets(
        self, technique: Technique, fixed: list[Verdict], allowed: list[_Allowed]
    ) -> Iterator[tuple[str, tuple[str, ...], Verdict]]:
        """The (role, resources, verdict) of each role a service technique reaches, in role order, when no
        role is told apart from the others by the source's statements (`allowed` lists none): each role's
        decision is then the common one unless AWS refuses passing it. Shared by every source with the same
        technique and verdicts, found as far as some source reads them (a source keeps a few targets)."""
        key = (technique.technique_id, tuple(fixed), tuple(a.default for a in allowed))
        found = self._service_steps.get(key)
        if found is None:
            found = self._service_steps[key] = _ServiceTargets(
                *self.lookups.service_index(technique.services, technique.instance_profile),
                fixed,
                [(a.default, a.protected) for a in allowed],
                [resource for _action, resource in self._requests(technique)],
            )
        return found.walk()

    def _requests(self, technique: Technique) -> list[tuple[str, str]]:
        """The actions of a service technique that pass no role, each with what it is decided on."""
        found = self._requested_by.get(technique.technique_id)
        if found is None:
            found = self._requested_by[technique.technique_id] = [
                (action, self._requested(technique, action, ref))
                for action, ref in technique.actions
                if ref is not Ref.PASSED
            ]
        return found

    def _requested(self, technique: Technique, action: str, ref: Ref) -> str:
        """What an action of a service technique is decided on when no concrete resource is known: `*`, any
        existing resource of the technique's type (an EC2 instance for ec2-instance-connect:SendSSHPublicKey,
        not an ec2-instance-connect resource), or any resource of the action's service (a new one)."""
        if ref is Ref.ANY or ref is Ref.PASSED:
            return "*"
        existing = technique.existing
        if ref is Ref.EXISTING and existing is not None:
            return f"arn:aws:{existing.service}:*:{self.account}:{existing.resource_type}*"
        return _pattern(action.split(":", 1)[0], self.account)

    def _existing_resources(self, check: _SourceCheck, technique: Technique,
                            types: frozenset[str]) -> Iterator[Step]:  # fmt: skip
        for resource in self.lookups.compute(types):
            role = role_of(resource)
            if role is None or role == check.excluded or role not in self.snapshot.identities_by_id:
                continue
            policy = self._resource_policy(resource)
            verdicts: list[Verdict] = []
            for action, ref in technique.actions:
                target = resource.external_id if ref is Ref.EXISTING else "*"
                mine = policy if ref is Ref.EXISTING else None
                verdict = check.decide(action, target, resource_policy=mine, needs_identity=mine is None)
                if verdict is None:
                    verdicts = []
                    break
                verdicts.append(verdict)
            if not verdicts:
                continue
            merged = _merge(verdicts)
            yield _step(technique, check.source, role, (resource.external_id,), resource.external_id,
                       conditional=merged.conditional, condition_keys=merged.condition_keys)  # fmt: skip

    def _resource_policy(self, resource: Resource) -> _Variant | None:
        if not resource.policy:
            return None
        return self.decider._parse(
            f"{resource.external_id}#policy",
            f"{resource.display_name} policy",
            resource.policy,
            PolicyType.RESOURCE,
        )


__all__ = ["MET", "GraphBuilder"]
