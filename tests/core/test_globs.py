"""Globs with * and ?: intersection and containment, escapes, and bounded work on hostile patterns."""

from __future__ import annotations

import pytest

from permscope.core.globs import glob_contains, globs_intersect

GLOBS = [
    # (first, second, intersect, first contains second)
    ("a*", "*b", True, False),
    ("a*", "b*", False, False),
    ("*", "abc", True, True),
    ("abc", "*", True, False),
    ("a?c", "a*", True, False),
    ("a?", "a*", True, False),  # a ? covers one character, not the empty or longer runs of a *
    ("a*", "a?c", True, True),
    ("*?", "?*", True, True),  # the same language, written differently
    ("a*b*c", "a*c", True, False),
    ("a*c", "a*b*c", True, True),
    ("??", "???", False, False),
    ("a\\*", "a*", True, False),  # an escaped * is a literal character
    ("a*", "a\\*", True, True),
]


@pytest.mark.parametrize(("first", "second", "intersect", "contains"), GLOBS)
def test_glob_intersection_and_containment(first: str, second: str, intersect: bool, contains: bool) -> None:
    assert globs_intersect(first, second) is intersect
    assert globs_intersect(second, first) is intersect
    assert glob_contains(first, second) is contains


def test_hostile_globs_finish_and_lean_to_more_access() -> None:
    assert globs_intersect("a*" * 300, "*a" * 300)
    # Past the work bound the answer leans to "may overlap" / "not covered": more access reported, never less.
    assert globs_intersect("a" * 1100 + "*", "b" * 1100 + "*")
    assert not glob_contains("*" + "a" * 1100, "*" + "a" * 1100)
