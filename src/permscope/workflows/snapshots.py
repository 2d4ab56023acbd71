"""The analysis snapshot of one system, from the store or from an in-memory batch: one builder for both paths.

Both paths give the snapshot the same things from its cloud's plugin: the catalogue index, the cloud's view
(effective permissions and facts), the detector needs the data meets, and the organization's policy levels
above the system (derived by the cloud from the same organization data). From the store, the effective
permissions stored by the last computation are read instead of recomputed (when their catalogue version is the
installed one; else the cloud recomputes them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from permscope.clouds.base import plugin
from permscope.core.activity import activity_known
from permscope.core.inventory import InventoryBatch, PolicyKind
from permscope.core.snapshot import AnalysisSettings, SystemSnapshot

if (
    TYPE_CHECKING
):  # the store (and SQLAlchemy) only where a snapshot is read from it: `scan` starts without them
    from permscope.store.snapshot import StoredAccount


def batch_snapshot(batch: InventoryBatch, settings: AnalysisSettings) -> SystemSnapshot:
    """The snapshot of one transformed batch, without a store (effective permissions computed on use)."""
    cloud = plugin(batch.system.cloud)
    organization = {p.external_id: p for p in batch.policies if p.kind is PolicyKind.ORGANIZATION}
    attached = (
        (a.scope, policy.name, policy.document, policy.attributes)
        for a in batch.assignments
        if (policy := organization.get(a.policy_external_id)) is not None
    )
    start = settings.window_start
    return SystemSnapshot(
        system=batch.system,
        identities=batch.identities,
        memberships=batch.memberships,
        policies=batch.policies,
        assignments=batch.assignments,
        resources=batch.resources,
        usages=[usage for usage in batch.usages or () if usage.last_seen >= start],
        has_activity=activity_known(batch.identities, usage_recorded=bool(batch.usages)),
        index=cloud.action_index(),
        view_factory=cloud.view,
        available=cloud.available_data(batch.system, batch.identities),
        organization=cloud.organization_levels(batch.system, attached),
        settings=settings,
        taken_at=settings.now,
    )


def stored_snapshot(stored: StoredAccount, settings: AnalysisSettings) -> SystemSnapshot:
    """The snapshot of one stored system, reading its stored effective permissions."""
    from permscope.workflows.effective import stored_results

    cloud = plugin(stored.system.cloud)
    index = cloud.action_index()
    organization = cloud.organization_levels(stored.system, stored.organization_policies)
    if organization is None:
        organization = stored.previous_organization
    return SystemSnapshot(
        system=stored.system,
        identities=stored.identities,
        memberships=stored.memberships,
        policies=stored.policies,
        assignments=stored.assignments,
        resources=stored.resources,
        usages=stored.usages,
        has_activity=stored.has_activity,
        index=index,
        view_factory=cloud.view,
        available=cloud.available_data(stored.system, stored.identities),
        organization=organization,
        stored=stored_results(stored.effective, index),
        settings=settings,
        taken_at=stored.collected_at or settings.now,
    )
