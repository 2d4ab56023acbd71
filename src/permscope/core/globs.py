"""Globs with `*` (any run of characters) and `?` (one character), backslash-escaped: matching, overlap and
containment of two globs, in time bounded by the product of their lengths (no backtracking blow-up).

IAM's resource and action patterns are such globs (the AWS engine's matching adds ARN segments and policy
variables on top); permissions-on-demand rules compare them for containment.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache

# Tokens of a glob once parsed: a literal character, or one of these two wildcards.
STAR = "**"
ANY = "??"
# Bounds the work of comparing two wildcard patterns (states = product of their lengths).
MAX_WILDCARD_STATES = 1_000_000


def tokens(glob: str) -> tuple[str, ...]:
    """A backslash-escaped glob as tokens, with runs of wildcards normalised ("*?" -> "?*", "**" -> "*")."""
    tokens: list[str] = []
    index = 0
    while index < len(glob):
        char = glob[index]
        if char == "\\" and index + 1 < len(glob):
            tokens.append(glob[index + 1])
            index += 2
            continue
        if char == "*":
            if not tokens or tokens[-1] != STAR:
                tokens.append(STAR)
        elif char == "?":
            if tokens and tokens[-1] == STAR:  # "*?" matches what "?*" matches
                tokens[-1] = ANY
                tokens.append(STAR)
            else:
                tokens.append(ANY)
        else:
            tokens.append(char)
        index += 1
    return tuple(tokens)


def glob_has_wildcards(glob: str) -> bool:
    """True when an escaped glob holds an unescaped * or ?."""
    if "*" not in glob and "?" not in glob:
        return False
    return any(token in (STAR, ANY) for token in tokens(glob))


def regex_part(glob: str, any_char: str) -> str:
    """Regex text for an escaped glob whose wildcards range over `any_char` ("." or "[^:]").

    Written so that matching takes time proportional to pattern x text, never backtracking blow-up: the
    text between two stars is looked for at its earliest position inside an atomic group (for a glob,
    the earliest occurrence is always as good as any later one), and only the last star backtracks.
    """
    chunks: list[list[str]] = [[]]
    for token in tokens(glob):
        if token == STAR:
            chunks.append([])
        else:
            chunks[-1].append(any_char if token == ANY else re.escape(token))
    texts = ["".join(chunk) for chunk in chunks]
    if len(texts) == 1:
        return texts[0]
    middle = "".join(f"(?>{any_char}*?{text})" for text in texts[1:-1])
    return f"{texts[0]}{middle}{any_char}*{texts[-1]}"


@lru_cache(maxsize=16_384)
def glob_regex(glob: str, ignore_case: bool = False) -> re.Pattern[str]:
    """The compiled form of an escaped glob (cached): * = any run of characters, ? = one character."""
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.compile(regex_part(glob, "."), flags)


def trailing_star_prefix(pattern: str) -> str | None:
    """The text before the one trailing `*` of a pattern holding no other `*` or `?` (`s3:Get*` -> `s3:Get`),
    else None: the pattern matches exactly the texts that start with it (a prefix test, no regex)."""
    if not pattern.endswith("*"):
        return None
    head = pattern[:-1]
    return None if "*" in head or "?" in head else head


def unescape_glob(glob: str) -> str:
    """The literal text of an escaped glob (wildcards kept as the characters * and ?)."""
    if "\\" not in glob:
        return glob
    return re.sub(r"\\(.)", r"\1", glob, flags=re.DOTALL)


def _reaches_end(n: int, m: int, successors: Callable[[int, int], Iterable[tuple[int, int]]]) -> bool:
    """True when a depth-first walk over position pairs (i, j), from (0, 0) along `successors`, reaches
    (n, m): the shared search of the two glob comparisons below."""
    seen: set[tuple[int, int]] = set()
    stack = [(0, 0)]
    while stack:
        state = stack.pop()
        if state in seen:
            continue
        seen.add(state)
        if state == (n, m):
            return True
        stack.extend(successors(*state))
    return False


@lru_cache(maxsize=16_384)
def globs_intersect(first: str, second: str) -> bool:
    """True when some string matches both escaped globs."""
    a, b = tokens(first), tokens(second)
    n, m = len(a), len(b)
    if (n + 1) * (m + 1) > MAX_WILDCARD_STATES:
        return True  # too large to decide: assume they may overlap (the permissive answer for an Allow)

    def successors(i: int, j: int) -> Iterator[tuple[int, int]]:
        ai = a[i] if i < n else None
        bj = b[j] if j < m else None
        if ai == STAR:
            yield i + 1, j
        if bj == STAR:
            yield i, j + 1
        if ai is None or bj is None or (ai == STAR and bj == STAR):
            return
        if ai in (STAR, ANY) or bj in (STAR, ANY) or ai == bj:
            yield (i if ai == STAR else i + 1), (j if bj == STAR else j + 1)

    return _reaches_end(n, m, successors)


@lru_cache(maxsize=16_384)
def glob_contains(outer: str, inner: str) -> bool:
    """True when every string matching the `inner` glob also matches the `outer` glob.

    Decided by matching `outer` against `inner`'s tokens (a * in `inner` only under a * of `outer`, a ?
    under a ? or *): sound, and exact once wildcard runs are normalised, which covers policy ARNs.
    """
    p, r = tokens(outer), tokens(inner)
    n, m = len(p), len(r)
    if (n + 1) * (m + 1) > MAX_WILDCARD_STATES:
        return False  # too large to decide: do not claim containment (the cautious answer for a Deny)

    def successors(i: int, j: int) -> Iterator[tuple[int, int]]:
        if i == n:
            return
        token = p[i]
        if token == STAR:
            yield i + 1, j
            if j < m:
                yield i, j + 1
        elif j < m:
            other = r[j]
            if (token == ANY and other != STAR) or token == other:
                yield i + 1, j + 1

    return _reaches_end(n, m, successors)
