"""Generated grants as IAM policy documents: statements grouped by resource set and condition, split into
managed policies under the size quota.

Actions with the same Resource values and the same Condition share one statement. A managed policy holds at most
`max_document_chars` characters, counted as IAM counts them (the JSON without whitespace:
`grant.connector.policy_size`); statements are packed first-fit, largest first, and an Allow statement too large
for one policy is cut in two (its resources, else its actions) until each part fits. A Deny carried over from
today's policies applies whichever attached policy holds it: it is packed whole like any statement.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from permscope.clouds.aws.grant.connector import policy_size
from permscope.core.least_privilege import DocumentKind, GeneratedDocument

VERSION = "2012-10-17"
MAX_NAME = 128  # IAM policy names: 1-128 of [A-Za-z0-9+=,.@_-]
NAME_PREFIX = "permscope-least-privilege-"
_NAME_CHARS = re.compile(r"[^A-Za-z0-9+=,.@_-]")
_EMPTY = policy_size({"Version": VERSION, "Statement": []})


@dataclass(frozen=True, slots=True)
class Grant:
    """Actions allowed on resources, under a condition (the body of one statement, before its Sid); or a Deny
    carried over from today's policies (`effect` Deny, maybe with NotAction / NotResource), never cut."""

    actions: tuple[str, ...]
    resources: tuple[str, ...]
    condition: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    effect: str = "Allow"
    not_actions: bool = False  # `actions` are the statement's NotAction
    not_resources: bool = False  # `resources` are the statement's NotResource

    def body(self, sid: str | None = None) -> dict[str, Any]:
        """The statement as IAM JSON."""
        statement: dict[str, Any] = {"Sid": sid} if sid else {}
        statement["Effect"] = self.effect
        actions = list(self.actions) if len(self.actions) > 1 else self.actions[0]
        statement["NotAction" if self.not_actions else "Action"] = actions
        resources = list(self.resources) if len(self.resources) > 1 else self.resources[0]
        statement["NotResource" if self.not_resources else "Resource"] = resources
        if self.condition:
            statement["Condition"] = {op: dict(keys) for op, keys in self.condition.items()}
        return statement


def group(per_action: Mapping[str, tuple[tuple[str, ...], Mapping[str, Mapping[str, Any]]]]) -> list[Grant]:
    """One grant per distinct (resources, condition), its actions sorted; grants in the order of their first
    action."""
    grouped: dict[tuple[tuple[str, ...], str], tuple[list[str], Mapping[str, Mapping[str, Any]]]] = {}
    for action in sorted(per_action, key=str.lower):
        resources, condition = per_action[action]
        key = (resources, repr(sorted((op, sorted(keys.items())) for op, keys in condition.items())))
        grouped.setdefault(key, ([], condition))[0].append(action)
    return [Grant(tuple(actions), key[0], condition) for key, (actions, condition) in grouped.items()]


def _sid_word(grant: Grant) -> str:
    """The service of the grant's actions as a Sid word (`S3`, `Iam`; `Observed` when they are of several;
    `Deny...` for a Deny), at most 28 characters."""
    services = {action.partition(":")[0].lower() for action in grant.actions}
    service = services.pop() if len(services) == 1 else "observed"
    word = re.sub(r"[^A-Za-z0-9]", "", service.title())[:24] or "Observed"
    return ("Deny" + word) if grant.effect != "Allow" else word


def _size(grant: Grant) -> int:
    """The statement's characters once in a policy, with a Sid of at most 32 characters and a comma."""
    return policy_size(grant.body("S" * 32)) + 1


def _fitting(grant: Grant, limit: int) -> list[Grant]:
    """The grant, or its halves (resources first, then actions) until each fits in a policy of `limit`."""
    if _EMPTY + _size(grant) <= limit or grant.effect != "Allow":
        return [grant]
    if len(grant.resources) > 1:
        half = len(grant.resources) // 2
        parts = [
            Grant(grant.actions, grant.resources[:half], grant.condition),
            Grant(grant.actions, grant.resources[half:], grant.condition),
        ]
    elif len(grant.actions) > 1:
        half = len(grant.actions) // 2
        parts = [
            Grant(grant.actions[:half], grant.resources, grant.condition),
            Grant(grant.actions[half:], grant.resources, grant.condition),
        ]
    else:
        return [grant]  # one action on one resource larger than a policy: left whole (the caller warns)
    return [part for piece in parts for part in _fitting(piece, limit)]


def policy_name(identity_name: str, number: int, count: int) -> str:
    """`permscope-least-privilege-<identity>[-<n>]`, in IAM's characters and length."""
    suffix = f"-{number}" if count > 1 else ""
    name = _NAME_CHARS.sub("-", identity_name) or "identity"
    return (NAME_PREFIX + name)[: MAX_NAME - len(suffix)] + suffix


def documents(grants: Sequence[Grant], identity_name: str, limit: int) -> list[GeneratedDocument]:
    """The grants as managed policies of at most `limit` characters each (a lone statement larger than that
    makes a policy over the limit: the caller checks sizes)."""
    pieces = sorted((piece for grant in grants for piece in _fitting(grant, limit)), key=_size, reverse=True)
    bins: list[tuple[int, list[Grant]]] = []
    for piece in pieces:
        size = _size(piece)
        for position, (used, held) in enumerate(bins):
            if used + size <= limit:
                bins[position] = (used + size, [*held, piece])
                break
        else:
            bins.append((_EMPTY + size, [piece]))
    bins.sort(key=lambda item: (item[1][0].actions[0].lower(), -item[0]))
    found: list[GeneratedDocument] = []
    for number, (_used, held) in enumerate(bins, start=1):
        counters: dict[str, int] = {}
        statements = []
        for grant in sorted(held, key=lambda g: (g.actions[0].lower(), g.resources)):
            word = _sid_word(grant)
            counters[word] = counters.get(word, 0) + 1
            statements.append(grant.body(f"{word}{counters[word]}"))
        document = {"Version": VERSION, "Statement": statements}
        found.append(
            GeneratedDocument(
                name=policy_name(identity_name, number, len(bins)),
                kind=DocumentKind.AWS_MANAGED_POLICY,
                document=document,
                size=policy_size(document),
            )
        )
    return found
