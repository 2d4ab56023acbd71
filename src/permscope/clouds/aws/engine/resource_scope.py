"""Reasoning about Resource / NotResource patterns without a concrete request: overlap and containment.

Effective permissions ask set questions of ARN patterns ("does this Deny cover every resource that Allow
names?"). Both answers here lean the safe way for a permissions report:
- `covers(deny, allow)` is True only when every resource the allow pattern can match surely matches the
  deny pattern (so a covered allow may be dropped). It reads the deny pattern narrowly: a `*` that is not
  the last character of an ARN segment does not cross a colon, a policy variable in the deny matches
  nothing but the identical pattern.
- `may_overlap(a, b)` is False only when no resource can match both (so the pair may be treated as
  disjoint). It reads both patterns broadly: `*` crosses colons and a policy variable matches anything.

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html (wildcards in
ARN segments; "If the * wildcard is the last character of a resource ARN segment, it can expand to match
beyond the colon boundaries").
"""

from __future__ import annotations

import re
from functools import lru_cache

_VARIABLE = re.compile(r"\$\{[^}]*\}")


def is_everything(pattern: str) -> bool:
    """True for a Resource value that names every resource ("*", or only asterisks)."""
    return bool(pattern) and not pattern.strip("*")


def _broad(pattern: str) -> str:
    """The pattern with each policy variable widened to `*` (its value is unknown here)."""
    return _VARIABLE.sub("*", pattern)


@lru_cache(maxsize=65536)
def _narrow_regex(deny: str) -> re.Pattern[str] | None:
    """A regex that matches an allow pattern's text only if the deny surely covers it; None if unusable."""
    if "${" in deny:
        return None
    parts: list[str] = []
    for position, char in enumerate(deny):
        if char == "*":
            at_segment_end = position + 1 == len(deny) or deny[position + 1] == ":"
            # absorbs the allow's own wildcards only where the deny's * may stretch across anything
            parts.append(".*" if at_segment_end else "[^:*?]*")
        elif char == "?":
            parts.append("[^*]")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), re.DOTALL)


def covers(deny: str, allow: str) -> bool:
    """True when every resource `allow` can match is matched by `deny` (narrow reading of `deny`)."""
    if is_everything(deny) or deny == allow:
        return True
    if is_everything(allow):
        return False
    regex = _narrow_regex(deny)
    return regex is not None and regex.fullmatch(_broad(allow)) is not None


@lru_cache(maxsize=65536)
def may_overlap(first: str, second: str) -> bool:
    """False only when no resource can match both patterns (broad reading of both)."""
    a, b = _broad(first), _broad(second)
    if is_everything(a) or is_everything(b) or a == b:
        return True
    # reachable[j]: after consuming a prefix of `a`, the prefix b[:j] can still be matched jointly
    rows, cols = len(a), len(b)
    reachable = {(0, 0)}
    stack = [(0, 0)]
    while stack:
        i, j = stack.pop()
        if i == rows and j == cols:
            return True
        steps: list[tuple[int, int]] = []
        ca = a[i] if i < rows else None
        cb = b[j] if j < cols else None
        if ca == "*":
            steps.append((i + 1, j))  # a's * matches nothing more
            if cb is not None:
                steps.append((i, j + 1))  # a's * absorbs one symbol of b (a literal, ? or part of *)
        if cb == "*":
            steps.append((i, j + 1))
            if ca is not None:
                steps.append((i + 1, j))
        if ca is not None and cb is not None and ca != "*" and cb != "*" and (ca == cb or "?" in (ca, cb)):
            steps.append((i + 1, j + 1))
        for step in steps:
            if step not in reachable:
                reachable.add(step)
                stack.append(step)
    return False
