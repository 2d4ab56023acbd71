"""Warnings of one kind are counted, with their first examples, however many there are."""

from __future__ import annotations

from permscope.core.warnings import EXAMPLES, MAX_WARNING_CHARS, summarize_warnings, warning_kind

ACCOUNT = "111122223333"


def missing(number: int, owner: str = "alice") -> str:
    return f"policy arn:aws:iam::{ACCOUNT}:policy/p{number} attached to arn:aws:iam::{ACCOUNT}:user/{owner} is not in the export"


def test_a_million_warnings_of_one_kind_become_six_lines() -> None:
    summary = summarize_warnings(missing(n) for n in range(1_000_000))
    assert summary == [
        *(missing(n) for n in range(EXAMPLES)),
        f"... and {1_000_000 - EXAMPLES:,} more warnings like this: policy \u2026 attached to \u2026 is not in the export",
    ]


def test_kinds_keep_their_first_appearance_and_few_warnings_stay_as_they_are() -> None:
    group = f"user arn:aws:iam::{ACCOUNT}:user/bob is in group 'devs', which is not in the export"
    warnings = [
        missing(1),
        group,
        missing(2),
        "organization policy p-abc123 has no list-targets-for-policy output",
    ]
    assert summarize_warnings(warnings) == [missing(1), missing(2), group, warnings[3]]


def test_summarizing_twice_changes_nothing_and_summaries_add_up() -> None:
    once = summarize_warnings([missing(n) for n in range(50)])
    assert summarize_warnings(once) == once
    twice = summarize_warnings([*once, *summarize_warnings([missing(n, "bob") for n in range(30)])])
    assert twice[-1] == f"... and {80 - EXAMPLES:,} more warnings like this: {warning_kind(missing(0))}"


def test_past_the_kinds_limit_one_line_counts_the_rest() -> None:
    warnings = [f"region {name}: not an object; ignored" for name in ("north", "south", "east", "west")]
    assert summarize_warnings(warnings, max_kinds=2) == [
        *warnings[:2],
        "... and 2 more warnings of 2 other kinds",
    ]


def test_a_warning_quoting_a_hostile_value_is_cut_and_printable() -> None:
    [long] = summarize_warnings([f"user {'x' * 100_000} is odd"])
    assert len(long) <= MAX_WARNING_CHARS + 10
    [odd] = summarize_warnings(["group 'de\x00vs\udcff' is not in the export"])
    assert odd == "group 'de\\x00vs\\udcff' is not in the export"
    odd.encode("utf-8")
