"""The cloud-neutral parts of least-privilege generation: coverage in days, the widening of a role granted at
scopes, and when a result counts as verified."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from permscope.core.catalog import ActionCatalog
from permscope.core.inventory import Action, Usage
from permscope.core.least_privilege import Coverage, WideningReason, observed_uses, scope_widening

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


def test_usage_rows_are_grouped_by_the_catalogue_spelling_with_what_could_not_be_read() -> None:
    catalog = ActionCatalog("t", [Action(external_id="storage.buckets.get", service="storage", name="get",
                                         access_level="read", severity="normal", action_type="read")])  # fmt: skip

    def row(action: str, resource: str | None, count: int) -> Usage:
        return Usage(identity_external_id="u", action=action, resource=resource, first_seen=NOW, last_seen=NOW,
                     count=count)  # fmt: skip

    rows = [
        row("Storage.Buckets.GET", "//b/1", 2),  # the catalogue's spelling wins
        row("storage.buckets.get", "//b/1", 3),
        row("storage.buckets.get", None, 1),  # no resource recorded
        row("storage.buckets.get", "not a name", 4),  # unreadable: read as none recorded
        row("storage.objects.list", "", -5),  # unknown to the catalogue, kept; a negative count counts 0
        row("not an action", "//b/1", 9),  # skipped
    ]
    grouped = observed_uses(
        rows,
        catalog,
        is_action=lambda name: "." in name and " " not in name,
        resource_of=lambda raw: raw if raw.startswith("//") or not raw else None,
    )
    assert grouped.by_action == {
        "storage.buckets.get": {"//b/1": 5, "": 5},
        "storage.objects.list": {"": 0},
    }
    assert (grouped.skipped, grouped.unreadable, grouped.unknown) == (1, 1, {"storage.objects.list"})
