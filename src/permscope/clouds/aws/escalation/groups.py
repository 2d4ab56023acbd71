"""Sources of the escalation graph that decide every technique alike: one key per source from the statements
of its policies that name an action some technique needs.

The engine decides an action from the statements whose Action / NotAction names it (identity policies,
permissions boundary, SCP levels), the kind of principal and the request context. For a principal whose
policies read nothing of who it is (`Decider.share_key` is not None, and no SCP reads it either), the context
holds nothing that tells it apart, so two such principals of the same kind whose *relevant* statements (those
naming a technique action, in order, per layer) are equal get the same decision on every resource for every
technique action, and hold the same of those actions in their effective permissions. Their statements about
other actions (most of a typical policy) do not count: thousands of principals with different policy sets
fall into a few groups, and the graph decides each group's techniques once (`graph._Shared`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from permscope.clouds.aws.engine.matching import action_matches
from permscope.clouds.aws.engine.policy import PolicyDocument, Statement
from permscope.clouds.aws.escalation.decide import _personal, _Principal


class RelevantStatements:
    """The group key of a principal: its statements naming one of `actions`, interned per document."""

    def __init__(self, actions: Iterable[str]) -> None:
        self.actions = tuple(sorted(set(actions)))
        self._by_service: dict[str, tuple[str, ...]] = {}
        for action in self.actions:
            service = action.split(":", 1)[0].lower()
            self._by_service[service] = (*self._by_service.get(service, ()), action)
        self._hits: dict[str, frozenset[str]] = {}
        self._documents: dict[int, tuple[PolicyDocument, int | None]] = {}
        self._interned: dict[tuple[object, ...], int] = {}
        self._personal: dict[int, tuple[PolicyDocument, bool]] = {}

    def key(self, principal: _Principal, kind: str) -> tuple[object, ...] | None:
        """The principal's group key (None: it is decided alone: its policies, or an SCP, read who it is)."""
        if principal.share_key is None:
            return None
        policies = principal.strict
        scps = []
        for level in policies.scp_levels:
            for document in level:
                if self._reads_principal(document):
                    return None
            scps.append(self._layer(level))
        boundary = None if policies.boundaries is None else self._layer(policies.boundaries)
        return (kind, principal.service_linked, self._layer(policies.identity), boundary, tuple(scps))

    def _layer(self, documents: Sequence[PolicyDocument]) -> tuple[int, ...]:
        """The interned relevant statements of each document of a layer that has some, in order."""
        found = []
        for document in documents:
            entry = self._documents.get(id(document))
            if entry is None or entry[0] is not document:
                entry = self._documents[id(document)] = (document, self._intern(document))
            if entry[1] is not None:
                found.append(entry[1])
        return tuple(found)

    def _intern(self, document: PolicyDocument) -> int | None:
        """A small number for a document's relevant statements (equal statements, equal numbers); None: it
        has none. A statement counts by its content, not by its position or Sid."""
        relevant = tuple(
            (s.effect, s.actions, s.not_actions, s.resources, s.not_resources, s.principal, s.not_principal,
             s.conditions)
            for s in document.statements
            if self._names_some(s)
        )  # fmt: skip
        if not relevant:
            return None
        content = (document.policy_type, document.variables_enabled, relevant)
        number = self._interned.get(content)
        if number is None:
            number = self._interned[content] = len(self._interned)
        return number

    def _names_some(self, statement: Statement) -> bool:
        """Whether the statement's Action / NotAction names one of the actions (as `decide._naming` reads it)."""
        if statement.actions is not None:
            return any(self._named_by(pattern) for pattern in statement.actions)
        if statement.not_actions is not None:
            excluded: set[str] = set()
            for pattern in statement.not_actions:
                excluded.update(self._named_by(pattern))
            return len(excluded) < len(self.actions)
        return False

    def _named_by(self, pattern: str) -> frozenset[str]:
        """The actions one Action / NotAction pattern matches."""
        found = self._hits.get(pattern)
        if found is None:
            service, separator, _name = pattern.partition(":")
            # a service part without a wildcard names that service's actions only
            wild = not separator or "*" in service or "?" in service
            tried = self.actions if wild else self._by_service.get(service.lower(), ())
            found = self._hits[pattern] = frozenset(a for a in tried if action_matches(pattern, a))
        return found

    def _reads_principal(self, document: PolicyDocument) -> bool:
        entry = self._personal.get(id(document))
        if entry is None or entry[0] is not document:
            entry = self._personal[id(document)] = (document, _personal(document))
        return entry[1]
