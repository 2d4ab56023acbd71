"""Candidate targets of the escalation graph (users, roles, groups, the roles a service may assume), indexed
so that which of them a policy's Resource value matches is found once per value, not once per source.

A value's outcome on each candidate is the engine's (`resource_value_match`): it matches, does not match, or
is rejected (an unusable short ARN). For the common value, a six-segment ARN glob without policy variables,
only the candidates whose first five segments fit the value's and whose resource segment starts with the
value's literal prefix (found by bisection) are compared, with the engine's own regex. Values holding policy
variables or escapes depend on who asks: the index leaves them to the caller (`reads_context`).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass

from permscope.clouds.aws.engine.matching import ValueMatch, arn_regex, resource_value_match
from permscope.clouds.aws.engine.policy import PolicyType
from permscope.clouds.aws.engine.service_rules import may_protect, protected_resource
from permscope.core.globs import regex_part

_SEGMENTS = 6  # arn:partition:service:region:account:resource


def reads_context(value: str) -> bool:
    """Whether a Resource value's meaning depends on the request (policy variables, escapes)."""
    return "${" in value or "\\" in value


@dataclass(frozen=True, slots=True)
class ValueOutcome:
    """Where one Resource value matches and where the engine rejects it: all (True), none (False) or the
    positions of the candidates (a set that is neither empty nor every candidate)."""

    matched: frozenset[int] | bool
    rejected: frozenset[int] | bool

    def partitions(self) -> list[frozenset[int]]:
        """The sets that tell candidates apart (constant outcomes tell none apart)."""
        return [s for s in (self.matched, self.rejected) if not isinstance(s, bool)]


class ArnIndex:
    """An ordered list of ARNs (most privileged first), indexed by their first five segments and, within
    those, by their sorted resource segments."""

    def __init__(self, arns: Sequence[str]) -> None:
        self.arns = list(arns)
        self.position = {arn: number for number, arn in enumerate(self.arns)}
        heads: dict[str, list[tuple[str, int]]] = {}
        self._short: list[int] = []  # fewer than six segments: compared one by one
        accounts: dict[str | None, set[int]] = {}
        for number, arn in enumerate(self.arns):
            parts = arn.split(":", _SEGMENTS - 1)
            # the account field as `arn_fields` reads it
            account = parts[4] if len(parts) == _SEGMENTS and parts[0] == "arn" else None
            accounts.setdefault(account, set()).add(number)
            if len(parts) < _SEGMENTS:
                self._short.append(number)
                continue
            heads.setdefault(":".join(parts[:-1]), []).append((parts[-1], number))
        self._heads = {head: sorted(tails) for head, tails in heads.items()}
        # an ARN holding a wildcard is a pattern request, decided on its own (never shares a decision)
        self.patterns = frozenset(n for n, arn in enumerate(self.arns) if "*" in arn or "?" in arn)
        # the account of each ARN tells decisions apart too (`Decider.resource_signature`)
        largest = max(accounts.values(), key=len, default=set())
        self.account_partitions = [frozenset(s) for s in accounts.values() if s is not largest]
        self._outcomes: dict[tuple[str, str | None], ValueOutcome] = {}
        self._protected: dict[str, frozenset[int]] = {}

    def __len__(self) -> int:
        return len(self.arns)

    def protected(self, action: str) -> frozenset[int]:
        """The candidates AWS refuses `action` on whatever the policies say (`service_rules`)."""
        key = action.lower()
        found = self._protected.get(key)
        if found is None:
            found = self._protected[key] = (
                frozenset(
                    number
                    for number, arn in enumerate(self.arns)
                    if protected_resource(key, arn, caller_is_service_linked=False) is not None
                )
                if may_protect(key)
                else frozenset()  # most actions: no candidate is looked at
            )
        return found

    def outcome(self, value: str, policy_type: PolicyType | str | None) -> ValueOutcome:
        """Where a Resource value without policy variables or escapes matches (and is rejected)."""
        if reads_context(value):
            raise ValueError(f"the outcome of {value!r} depends on the request")
        if value == "*":
            return ValueOutcome(True, False)
        key = (value, str(policy_type) if policy_type is not None else None)
        found = self._outcomes.get(key)
        if found is None:
            found = self._outcomes[key] = self._compute(value, policy_type)
        return found

    def _compute(self, value: str, policy_type: PolicyType | str | None) -> ValueOutcome:
        if value.startswith("arn:") and value.count(":") >= _SEGMENTS - 1:
            matched = self._full_arn_matches(value)
            return ValueOutcome(self._constant(matched), False)
        matched_set: set[int] = set()
        rejected: set[int] = set()
        for number, arn in enumerate(self.arns):
            result = resource_value_match(value, arn, None, policy_type=policy_type)
            if result is ValueMatch.MATCH:
                matched_set.add(number)
            elif result is ValueMatch.ERROR:
                rejected.add(number)
        return ValueOutcome(self._constant(matched_set), self._constant(rejected))

    def _full_arn_matches(self, value: str) -> set[int]:
        """Candidates a six-segment ARN glob matches: the engine's comparison (`_compare_arn` on a literal
        request), tried only where the head segments fit and the resource starts with the literal prefix."""
        parts = value.split(":", _SEGMENTS - 1)
        head_regex = re.compile(":".join(regex_part(part, "[^:]") for part in parts[:-1]), re.DOTALL)
        tail = parts[-1]
        prefix = re.split(r"[*?]", tail, maxsplit=1)[0]
        exact = "*" not in value and "?" not in value
        compiled = None if exact else arn_regex(value)
        found: set[int] = set()
        for head, tails in self._heads.items():
            if head_regex.fullmatch(head) is None:
                continue
            start = bisect.bisect_left(tails, (prefix,))
            for resource, number in tails[start:]:
                if not resource.startswith(prefix):
                    break
                arn = self.arns[number]
                if (arn == value) if compiled is None else (compiled.fullmatch(arn) is not None):
                    found.add(number)
        # ARNs of fewer than six segments (`_short`): the value has six, which no such text matches
        return found

    def _constant(self, positions: set[int]) -> frozenset[int] | bool:
        if not positions:
            return False
        if len(positions) == len(self.arns):
            return True
        return frozenset(positions)


__all__ = ["ArnIndex", "ValueOutcome", "reads_context"]
