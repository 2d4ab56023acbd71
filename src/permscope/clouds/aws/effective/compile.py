"""AWS policy documents compiled over the action catalogue: per statement and per policy, bitsets of actions.

Each distinct (document, policy type) is compiled once (`PolicyCompiler`, cached by content digest); every
principal it reaches shares the result.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

import orjson

from permscope.clouds.aws.engine.policy import PolicyDocument, PolicyError, PolicyType, parse_policy
from permscope.clouds.aws.engine.resource_scope import is_everything
from permscope.core.catalog import ActionIndex
from permscope.core.records import quick_frozen_init

IDENTITY_LAYER = "identity"
BOUNDARY_LAYER = "boundary"
SCP_LAYER = "scp"


# -- compiled policies ----------------------------------------------------------------------------------------
@quick_frozen_init
@dataclass(frozen=True, slots=True)
class CompiledStatement:
    """One statement as bitsets: its actions, resource scope and the condition keys it tests."""

    index: int
    label: str
    effect: str
    actions: int
    resources: tuple[str, ...] | None  # None: every resource
    not_resources: tuple[str, ...] | None
    condition_keys: tuple[str, ...]

    @property
    def is_allow(self) -> bool:
        """True for an Allow statement."""
        return self.effect == "Allow"

    @property
    def conditional(self) -> bool:
        """True when the statement has a Condition."""
        return bool(self.condition_keys)

    @property
    def every_resource(self) -> bool:
        """True when the statement applies to every resource (`*`)."""
        return self.resources is None and self.not_resources is None


@dataclass(frozen=True, slots=True)
class CompiledPolicy:
    """A policy document compiled over one catalogue; shared by every principal it reaches."""

    digest: str
    statements: tuple[CompiledStatement, ...]
    allow_all: int = 0  # unconditional Allow on every resource
    allow_scoped: int = 0  # unconditional Allow on some resources only
    allow_conditional: int = 0  # Allow with a Condition (any resources)
    deny_all: int = 0  # unconditional Deny on every resource
    deny_conditional: int = 0  # conditional Deny on every resource
    deny_scoped: int = 0  # Deny (conditional or not) on some resources only
    unknown_actions: tuple[str, ...] = ()
    problem: str | None = None  # why the document could not be read; it then grants nothing
    named: int = field(init=False, repr=False, compare=False)  # every action some statement names

    def __post_init__(self) -> None:
        named = 0
        for statement in self.statements:
            named |= statement.actions
        object.__setattr__(self, "named", named)

    @property
    def allow_unconditional(self) -> int:
        """Actions allowed without a condition, on every or on some resources."""
        return self.allow_all | self.allow_scoped

    @property
    def allow_any(self) -> int:
        """Actions allowed in any way."""
        return self.allow_all | self.allow_scoped | self.allow_conditional

    @property
    def deny_any(self) -> int:
        """Actions any Deny statement names."""
        return self.deny_all | self.deny_conditional | self.deny_scoped


def document_digest(document: object) -> str:
    """A stable content digest of a policy document (dict or JSON text)."""
    if isinstance(document, str | bytes):
        data = document.encode() if isinstance(document, str) else document
    else:
        data = orjson.dumps(document, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha1(data, usedforsecurity=False).hexdigest()


def _condition_keys(parsed_keys: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for key in parsed_keys:
        seen.setdefault(key.lower(), key)
    return tuple(seen.values())


def _bucket(statement: CompiledStatement) -> str:
    """Which of CompiledPolicy's bitsets a statement's actions go to."""
    if statement.is_allow:
        if statement.conditional:
            return "allow_conditional"
        return "allow_all" if statement.every_resource else "allow_scoped"
    if not statement.every_resource:
        return "deny_scoped"
    return "deny_conditional" if statement.conditional else "deny_all"


class PolicyCompiler:
    """Compiles policy documents over one catalogue, each distinct (document, type) once.

    It also parses them for whoever else reads the same documents (the escalation graph's engine decisions,
    `parsed`): each distinct (document, type) is parsed once, and each document object's digest is found once
    (the documents of a snapshot are not changed while it is analyzed)."""

    def __init__(self, index: ActionIndex) -> None:
        self.index = index
        self._cache: dict[tuple[str, PolicyType], CompiledPolicy] = {}
        self._parsed: dict[tuple[str, PolicyType], PolicyDocument | str] = {}  # str: why it does not parse
        self._digests: dict[int, tuple[object, str]] = {}  # by the document's id (the document held)

    def __len__(self) -> int:
        return len(self._cache)

    def digest(self, document: object) -> str:
        """`document_digest` of a document, found once per document object."""
        found = self._digests.get(id(document))
        if found is not None and found[0] is document:
            return found[1]
        digest = document_digest(document)
        self._digests[id(document)] = (document, digest)
        return digest

    def parsed(self, document: object, *, name: str, policy_type: PolicyType) -> PolicyDocument:
        """The parsed document (PolicyError when IAM would refuse it), parsed once per content and type: a
        document of the same content read before keeps the name it was first read under."""
        key = (self.digest(document), policy_type)
        found = self._parsed.get(key)
        if found is None:
            try:
                found = parse_policy(document, name=name, policy_type=policy_type)
            except PolicyError as error:
                found = error.problem
            self._parsed[key] = found
        if isinstance(found, str):
            raise PolicyError(name, found)
        return found

    def compile(self, document: object, *, name: str, policy_type: PolicyType) -> CompiledPolicy:
        """The compiled form of a document; a malformed one compiles to a policy that grants nothing."""
        digest = self.digest(document)
        key = (digest, policy_type)
        compiled = self._cache.get(key)
        if compiled is None:
            try:
                parsed = self.parsed(document, name=name, policy_type=policy_type)
            except PolicyError as error:
                compiled = CompiledPolicy(digest=digest, statements=(), problem=error.problem)
            else:
                compiled = self._compile(digest, parsed)
            self._cache[key] = compiled
        return compiled

    def _compile(self, digest: str, parsed: PolicyDocument) -> CompiledPolicy:
        index = self.index
        statements: list[CompiledStatement] = []
        unknown: dict[str, None] = {}
        buckets = dict.fromkeys(
            ("allow_all", "allow_scoped", "allow_conditional", "deny_all", "deny_conditional", "deny_scoped"),
            0,
        )
        for raw in parsed.statements:
            if raw.actions is not None:
                actions, missing = index.expand_all(raw.actions)
            else:
                excluded, missing = index.expand_all(raw.not_actions or ())
                actions = index.full & ~excluded
            unknown.update(dict.fromkeys(pattern for pattern in missing if pattern != "*"))
            resources: tuple[str, ...] | None = raw.resources
            not_resources = raw.not_resources
            if resources is not None and any(is_everything(r) for r in resources):
                resources = None
            if not_resources is not None and any(is_everything(r) for r in not_resources):
                actions = 0  # NotResource "*" leaves no resource for the statement to apply to
            statement = CompiledStatement(
                index=raw.index,
                label=raw.label(),
                effect=raw.effect,
                actions=actions,
                resources=resources,
                not_resources=not_resources,
                condition_keys=_condition_keys(test.key for test in raw.conditions),
            )
            statements.append(statement)
            if actions:
                buckets[_bucket(statement)] |= actions
        return CompiledPolicy(
            digest=digest,
            statements=tuple(statements),
            allow_all=buckets["allow_all"],
            allow_scoped=buckets["allow_scoped"],
            allow_conditional=buckets["allow_conditional"],
            deny_all=buckets["deny_all"],
            deny_conditional=buckets["deny_conditional"],
            deny_scoped=buckets["deny_scoped"],
            unknown_actions=tuple(unknown),
        )
