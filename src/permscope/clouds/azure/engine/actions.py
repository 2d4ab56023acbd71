"""Azure operation patterns (`Actions`, `NotActions`, `DataActions`, `NotDataActions`, `ActionMatches`): matched
case-insensitively, `*` standing for any run of characters, a `*` that is a whole interior path segment also
matching nothing (with one of its slashes), each pattern compiled once.

https://learn.microsoft.com/en-us/azure/role-based-access-control/role-definitions#actions: "the wildcard (*)
extends a permission to everything that matches the string". Built-in roles rely on the empty segment:
Managed Identity Operator's `.../userAssignedIdentities/*/assign/action` grants `.../userAssignedIdentities/
assign/action`, and Virtual Machine User Login reads VMs only through `Microsoft.Compute/virtualMachines/*/read`.

Matching takes time proportional to pattern x text, never backtracking blow-up: the text between two stars is
looked for at its earliest possible position inside an atomic group (for these patterns the earliest position
is always as good as any later one), as in `permscope.core.globs`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

MAX_PATTERN_CACHE = 16_384
MAX_CACHED_PATTERN_CHARS = 512  # operation names are a few hundred characters at most


def pattern_regex_text(pattern: str) -> str:
    """Regex text (to be full-matched, DOTALL, on lower-case text) of a lower-case operation pattern."""
    chunks: list[str] = []
    segment_stars: list[bool] = []  # per star: is it a whole interior path segment ("/*/")?
    current: list[str] = []
    index, size = 0, len(pattern)
    while index < size:
        char = pattern[index]
        if char != "*":
            current.append(char)
            index += 1
            continue
        segment = index > 0 and pattern[index - 1] == "/" and index + 1 < size and pattern[index + 1] == "/"
        if not segment and segment_stars and not segment_stars[-1] and not current:
            index += 1  # "**" matches what "*" matches
            continue
        chunks.append("".join(current))
        current = []
        segment_stars.append(segment)
        index += 2 if segment else 1  # a segment star takes its following slash with it
    chunks.append("".join(current))
    parts = [re.escape(chunks[0])]
    last = len(segment_stars) - 1
    for position, segment in enumerate(segment_stars):
        text = re.escape(chunks[position + 1])
        if position == last:
            parts.append(("(?:.*/)?" if segment else ".*") + text)
        else:
            parts.append(f"(?>{'(?:|.*?/)' if segment else '.*?'}{text})")
    return "".join(parts)


def _compile(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern_regex_text(pattern.lower()), re.DOTALL)


_cached_compile = lru_cache(maxsize=MAX_PATTERN_CACHE)(_compile)


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """The compiled form of an operation pattern (any case; kept when of ordinary length)."""
    if len(pattern) > MAX_CACHED_PATTERN_CHARS:
        return _compile(pattern)
    return _cached_compile(pattern)


def action_matches(pattern: str, action: str) -> bool:
    """Whether one operation pattern matches an operation (both in any case)."""
    if "*" not in pattern:
        return pattern.lower() == action.lower()
    return pattern_regex(pattern).fullmatch(action.lower()) is not None


class PatternSet:
    """A list of operation patterns compiled once: exact names in a dict, wildcard patterns as regexes."""

    __slots__ = ("exact", "patterns", "wildcards")

    def __init__(self, patterns: Iterable[str]) -> None:
        self.patterns: tuple[str, ...] = tuple(patterns)
        self.exact: dict[str, str] = {}
        wildcards: list[tuple[str, re.Pattern[str]]] = []
        for pattern in self.patterns:
            if "*" in pattern:
                wildcards.append((pattern, pattern_regex(pattern)))
            else:
                self.exact.setdefault(pattern.lower(), pattern)
        self.wildcards: tuple[tuple[str, re.Pattern[str]], ...] = tuple(wildcards)

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def match(self, action: str) -> str | None:
        """The first pattern (as written) matching a lower-case operation, None when none does."""
        found = self.exact.get(action)
        if found is not None:
            return found
        for pattern, regex in self.wildcards:
            if regex.fullmatch(action) is not None:
                return pattern
        return None
