"""The escalation model of one GCP project: its graph, and what the attacker holds after each step.

A step that acts as a service account gives that account's effective permissions; a step that sets an allow
policy on the project (or above) or adds permissions to a custom role bound at the project gives the *ceiling*:
every permission of the catalogue on the project that the deny policies along its lineage leave
(`CloudView.organization_ceiling`, the rule `super` uses). Notable actions are
the high-severity ones and the data-reading actions of `DATA_READ`.
"""

from __future__ import annotations

from collections.abc import Callable

from permscope.clouds.gcp.escalation.graph import DEFAULT_MAX_TARGETS, GraphBuilder
from permscope.core.escalation import YIELDS_CEILING, EscalationGraph, Step
from permscope.core.permissions import EffectivePermissions
from permscope.core.snapshot import SystemSnapshot

DATA_READ = (
    "storage.objects.get",
    "secretmanager.versions.access",
    "bigquery.tables.getData",
    "cloudkms.cryptoKeyVersions.useToDecrypt",
    "spanner.databases.read",
    "datastore.entities.get",
)
_NOTHING = EffectivePermissions(0, 0, 0)


class GcpEscalation:
    """The graph of one project and the value of its steps (`core.escalation.EscalationModel`)."""

    def __init__(self, snapshot: SystemSnapshot) -> None:
        self.snapshot = snapshot
        self.graph = EscalationGraph()
        index = snapshot.index
        self.notable = index.high_severity | index.expand_all(DATA_READ)[0]
        self._ceiling = EffectivePermissions(
            all_resources=snapshot.view.organization_ceiling(), specific_resources=0, conditional=0
        )

    def of(self, external_id: str) -> EffectivePermissions:
        """A principal's effective permissions (none when unknown)."""
        found = self.snapshot.permissions(external_id)
        return found if found is not None else _NOTHING

    def after(self, step: Step) -> EffectivePermissions:
        """The permissions the attacker holds after a step."""
        return self._ceiling if step.yields == YIELDS_CEILING else self.of(step.target)


def build_escalation(
    snapshot: SystemSnapshot,
    *,
    is_super: Callable[[EffectivePermissions], bool],
    skip: Callable[[str], bool],
    max_targets: int = DEFAULT_MAX_TARGETS,
) -> GcpEscalation:
    """The escalation model of a project: every non-skipped user and service account, each technique's targets
    tried most privileged first."""
    model = GcpEscalation(snapshot)
    full = snapshot.index.size + 1

    def rank(external_id: str) -> int:
        permissions = model.of(external_id)
        return (full if is_super(permissions) else 0) + permissions.granted.bit_count()

    model.graph = GraphBuilder(snapshot, value=rank, skip=skip, max_targets=max_targets).build()
    return model


__all__ = ["EscalationGraph", "GcpEscalation", "build_escalation"]
