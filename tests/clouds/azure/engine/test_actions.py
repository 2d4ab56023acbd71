"""Operation patterns: case-insensitive wildcards, the empty interior segment, and bounded matching time."""

from __future__ import annotations

import time

import pytest

from permscope.clouds.azure.engine.actions import PatternSet, action_matches, pattern_regex_text


@pytest.mark.parametrize(
    ("pattern", "action", "matches"),
    [
        ("Microsoft.Compute/virtualMachines/read", "microsoft.compute/VIRTUALMACHINES/read", True),
        ("*", "Microsoft.Storage/storageAccounts/delete", True),
        ("*/read", "Microsoft.Network/virtualNetworks/subnets/read", True),
        ("*/read", "Microsoft.Network/virtualNetworks/write", False),
        ("Microsoft.Compute/*", "Microsoft.Compute/disks/read", True),
        ("Microsoft.Network/*", "Microsoft.NetworkCloud/clusters/read", False),  # a provider, not a prefix
        ("Microsoft.Network/*", "Microsoft.Network", False),
        ("Microsoft.Authorization/*/Write", "Microsoft.Authorization/roleAssignments/write", True),
        ("Microsoft.Authorization/*/Write", "Microsoft.Authorization/roleAssignments/read", False),
        # a whole interior segment may match nothing (with one of its slashes)
        ("Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action",
         "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action", True),
        ("Microsoft.Compute/virtualMachines/*/read", "Microsoft.Compute/virtualMachines/read", True),
        ("Microsoft.Compute/virtualMachines/*/read", "Microsoft.Compute/virtualMachines/extensions/deep/read", True),
        ("Microsoft.Compute/virtualMachines/*/read", "Microsoft.Compute/virtualMachinesX/read", False),
        ("A/*/*/B", "a/b", True),
        ("A/*/*/B", "a/x/y/z/b", True),
        # a star inside a segment stands for characters only
        ("Microsoft.Web/sites/*action", "Microsoft.Web/sites/restart/action", True),
        ("Microsoft.Web/s*/read", "Microsoft.Web/read", False),
        ("Microsoft.Web/sites/**", "Microsoft.Web/sites/x", True),
        ("Microsoft.Web/sites/", "Microsoft.Web/sites", False),
    ],
)  # fmt: skip
def test_patterns(pattern: str, action: str, matches: bool) -> None:
    assert action_matches(pattern, action) is matches
    assert (PatternSet([pattern]).match(action.lower()) == pattern) is matches


def test_a_pattern_set_names_the_first_pattern_that_matches() -> None:
    patterns = PatternSet(
        ["Microsoft.Compute/virtualMachines/start/action", "Microsoft.Compute/*/action", "*"]
    )
    assert patterns.match("microsoft.compute/virtualmachines/start/action") == (
        "Microsoft.Compute/virtualMachines/start/action"
    )
    assert (
        patterns.match("microsoft.compute/disks/beginGetAccess/action".lower())
        == "Microsoft.Compute/*/action"
    )
    assert patterns.match("microsoft.storage/x/read") == "*"
    assert PatternSet([]).match("anything") is None and not PatternSet([])


def test_regex_metacharacters_are_literal() -> None:
    assert pattern_regex_text("a.b/(c)") == r"a\.b/\(c\)"
    assert not action_matches("a.b/*", "aXb/c")


def test_matching_time_stays_bounded_on_hostile_patterns_and_actions() -> None:
    pattern = "*a" * 40 + "*/*/b"
    action = "a" * 200_000  # no "b": every star could be tried at every position by a naive matcher
    started = time.process_time()
    assert not action_matches(pattern, action)
    assert not action_matches("*/*/*/*/*/*/x", "/" * 100_000)
    assert time.process_time() - started < 5
