"""The cloud-neutral parts of least-privilege generation: coverage in days, the widening of a role granted at
scopes, and when a result counts as verified."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from permscope.core.least_privilege import Coverage, WideningReason, scope_widening

NOW = datetime(2026, 12, 7, tzinfo=UTC)


def test_coverage_counts_the_covered_span_in_days() -> None:
    assert Coverage(NOW - timedelta(days=30, hours=12), NOW, 25).days == 30.5
    assert Coverage(None, None, 0).days == 0.0
    assert Coverage(NOW, NOW - timedelta(days=1), 0).days == 0.0  # never negative


def test_a_grant_is_exact_only_on_the_very_resource_used() -> None:
    group, vm = "/subscriptions/s/resourceGroups/g", "/subscriptions/s/resourceGroups/g/providers/X/vms/v"
    observed = {"g/read": [group], "vm/read": [vm, ""], "vm/start": [vm]}
    widening = scope_widening(observed, ["g/read", "vm/read", "vm/start", "vm/delete"], [group],
                              lambda resource: group)  # fmt: skip
    assert (widening.observed_actions, widening.granted_actions) == (3, 4)
    assert widening.unobserved_actions == ("vm/delete",)
    assert widening.observed_resources == 2 and widening.exact_grants == 1
    [grant] = widening.widened
    assert (grant.pattern, grant.reason, grant.observed) == (group, WideningReason.SCOPE, 1)
    assert grant.actions == ("vm/delete", "vm/read", "vm/start") and widening.widened_grants == 3
