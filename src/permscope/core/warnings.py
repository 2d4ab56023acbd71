"""Import warnings kept readable: warnings of one kind counted, with their first few examples.

One export with a million references to missing policies gave a million warnings (135 MB of output, 128 MB
stored per run). A warning's kind is its text with what varies left out (words holding an ARN, a quote or a
digit): the first EXAMPLES of each kind are kept as they are, the rest counted in one line; past MAX_KINDS
kinds, one line counts the others. Every cloud's warnings go through `summarize_warnings` before they are
reported or stored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from permscope.core.limits import printable

EXAMPLES = 5  # warnings of one kind kept as they are
MAX_KINDS = 100  # kinds listed, each with its examples; the others are counted in one line
MAX_WARNING_CHARS = 2_000  # one warning quoting a hostile value is cut here
ELIDED = "\u2026"
# a word that is an ARN or holds a digit or a quote (possessive: no backtracking, a warning costs microseconds)
_VARYING = re.compile(r"""(?<!\S)(?:arn:\S*|[^\s0-9'"]*+[0-9'"]\S*)""")
_MORE = re.compile(r"^\.\.\. and (?P<count>[\d,]+) more warnings? like this: (?P<kind>.*)$", re.S)


def warning_kind(message: str) -> str:
    """The kind of a warning: its text with the words holding an ARN, a quote or a digit left out."""
    return _VARYING.sub(ELIDED, message)


def _kept(message: str) -> str:
    message = printable(message)
    return message if len(message) <= MAX_WARNING_CHARS else message[:MAX_WARNING_CHARS] + f" {ELIDED} (cut)"


def summarize_warnings(
    messages: Iterable[str], examples: int = EXAMPLES, max_kinds: int = MAX_KINDS
) -> list[str]:
    """The warnings as reported and stored: of each kind (in the order kinds first appear) the first `examples`
    and a line `... and N more warnings like this: <kind>`; past `max_kinds` kinds one line counting the rest.
    Applied again to its own result, it changes nothing."""
    kept: dict[str, list[str]] = {}
    more: dict[str, int] = {}
    other_kinds: set[str] = set()
    others = 0
    for message in messages:
        summary = _MORE.match(message)
        kind = summary["kind"] if summary is not None else warning_kind(message)
        if kind not in kept:
            if len(kept) >= max_kinds:
                other_kinds.add(kind)
                others += _count(summary)
                continue
            kept[kind] = []
            more[kind] = 0
        if summary is not None:
            more[kind] += _count(summary)
        elif len(kept[kind]) < examples:
            kept[kind].append(_kept(message))
        else:
            more[kind] += 1
    result: list[str] = []
    for kind, shown in kept.items():
        result.extend(shown)
        if more[kind]:
            plural = "s" if more[kind] > 1 else ""
            result.append(f"... and {more[kind]:,} more warning{plural} like this: {_kept(kind)}")
    if others:
        result.append(f"... and {others:,} more warnings of {len(other_kinds):,} other kinds")
    return result


def _count(summary: re.Match[str] | None) -> int:
    """How many warnings a line stands for: 1, or the count of a `... and N more` line."""
    return 1 if summary is None else int(summary["count"].replace(",", ""))
