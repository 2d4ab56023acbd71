"""Azure as a permscope cloud: the `CloudPlugin` that `clouds.base` registers.

Every member imports its part on first use (the catalogue, the transform, the engine), so looking the plugin up
costs nothing and `permscope simulate azure` starts without the rest. Live collection, activity readers and
permissions on demand are not built here yet (None).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from permscope.clouds.base import (
    AccessGenerator,
    ActivityReaders,
    Collector,
    ImportedFiles,
    OrganizationLevels,
    PermissionEvaluator,
    PermissionInventory,
    PermissionScope,
    Progress,
    RemediationRules,
    RequestRules,
)
from permscope.core.ids import Cloud
from permscope.core.inventory import AuthorizationSystem, Identity, InventoryBatch
from permscope.core.limits import printable
from permscope.core.warnings import summarize_warnings
from permscope.userfiles import DEFAULT_LIMITS, FileLimits

if TYPE_CHECKING:  # types of the members only
    from permscope.core.access_decisions import AccessDecision
    from permscope.core.catalog import ActionCatalog, ActionIndex
    from permscope.core.escalation import EscalationModel, TechniqueInfo
    from permscope.core.permissions import EffectivePermissions
    from permscope.core.snapshot import CloudView, SnapshotSlice, SystemSnapshot

NEED_HINTS = {
    "activity": "import the Activity Log and Entra sign-ins, or export users with signInActivity",
    "resources": "export storage accounts, blob containers, NSGs, NICs, VMs, web apps and key vaults "
    "(docs/azure.md)",
    "credentials": "export applications (their password and key credentials)",
    "organization": "export the management groups",
}
EVERYONE = (
    "00000000-0000-0000-0000-000000000000"  # the all-principals id of deny assignments (engine.evaluate)
)


@cache
def _simulate_case_json() -> Callable[[Mapping[str, Any], str], bytes]:
    """The engine's simulate_case_json, imported once (it runs per case of a batch)."""
    from permscope.clouds.azure.engine.simulate import simulate_case_json

    return simulate_case_json


class AzurePlugin:
    """Everything permscope knows of Azure, reached through `clouds.base.plugin(Cloud.AZURE)`."""

    cloud = Cloud.AZURE
    label = Cloud.AZURE.label
    system_noun = Cloud.AZURE.system_noun
    need_hints: Mapping[str, str] = NEED_HINTS
    permission_scope = PermissionScope(
        identity_kinds=("user", "group", "servicePrincipal", "managedIdentity"),
        policy_kinds=("roleDefinition", "inline"),
        relations=("attached", "deny"),
        scoped=True,
        shared_principals=(EVERYONE,),
    )

    @property
    def collector(self) -> Collector | None:
        """Live, read-only collection through the Azure SDK (the `azure` extra)."""
        from permscope.clouds.azure.collect.collector import COLLECTOR

        return COLLECTOR

    @property
    def requests(self) -> RequestRules | None:
        """Permissions on demand: time-bound role assignments (and custom roles for actions)."""
        from permscope.clouds.azure.grant.requests import AzureRequestRules

        return AzureRequestRules(action_index=self.action_index, is_data_action=_is_data_action)

    @property
    def activity(self) -> ActivityReaders | None:
        """Activity Log and sign-in readers (files, the live APIs, after a collection)."""
        from permscope.clouds.azure.activity.readers import AZURE_ACTIVITY

        return AZURE_ACTIVITY

    @property
    def remediation(self) -> RemediationRules | None:
        """Remediation plans: role assignments removed and restored through ARM (`clouds.azure.remediation`)."""
        from permscope.clouds.azure.remediation.rules import AzureRemediationRules

        return AzureRemediationRules()

    @property
    def least_privilege(self) -> AccessGenerator:
        """A custom role generated from activity (`clouds.azure.remediation`)."""
        from permscope.clouds.azure.remediation.generate import AzureAccessGenerator

        return AzureAccessGenerator()

    # -- the action catalogue ---------------------------------------------------------------------------------
    def catalog_version(self) -> str:
        """The shipped catalogue's version."""
        from permscope.clouds.azure.catalog.operations import catalog_version

        return catalog_version()

    def catalog(self) -> ActionCatalog:
        """Every Azure operation (control and data actions) of the shipped catalogue."""
        from permscope.clouds.azure.catalog.operations import load_catalog

        return load_catalog()

    def action_index(self) -> ActionIndex:
        """The bitset index of the shipped catalogue."""
        from permscope.clouds.azure.catalog.index import installed_action_index

        return installed_action_index()

    # -- files and transform ----------------------------------------------------------------------------------
    def read_files(
        self,
        paths: Sequence[str | Path],
        *,
        system_name: str | None = None,
        progress: Progress | None = None,
        limits: FileLimits = DEFAULT_LIMITS,
    ) -> ImportedFiles:
        """An export folder (or its part files) -> one batch per subscription, cut when read; `system_name`
        names the subscription when there is exactly one."""
        from permscope.clouds.azure.files.folder import read_export
        from permscope.clouds.azure.transform.bundle import transform_bundle

        source = "file:" + ",".join(printable(str(p)) for p in paths)
        found = transform_bundle(read_export(paths, limits=limits), source=source)
        named = system_name if len(found.batches) == 1 else None
        if progress is not None:
            progress(1, 1)

        def finish(batch: InventoryBatch) -> None:
            if named:
                batch.system.name = named
            batch.warnings = summarize_warnings(batch.warnings)

        found.finish_batches(finish)
        found.warnings = summarize_warnings(found.warnings)
        return found

    # -- effective permissions and decisions ------------------------------------------------------------------
    def organization_levels(
        self, system: AuthorizationSystem, attached: Iterable[tuple[str, str, Any, Mapping[str, Any] | None]]
    ) -> list[dict[str, Any]] | None:
        """None: management groups hold role and deny assignments, which the batch already carries, not
        policy levels of their own."""
        return None

    def evaluator(
        self, inventory: PermissionInventory, index: ActionIndex, organization: OrganizationLevels | None
    ) -> PermissionEvaluator:
        """The subscription evaluator (`effective.subscription`)."""
        from permscope.clouds.azure.effective.subscription import SubscriptionEvaluator

        return SubscriptionEvaluator(index, inventory.policies, inventory.scoped, inventory.groups_of)

    def simulate(self, case: Mapping[str, Any], source: str) -> dict[str, Any]:
        """One case of the Azure RBAC case format decided by the engine."""
        from permscope.clouds.azure.engine.simulate import simulate_case

        return simulate_case(case, source)

    def simulate_json(self, case: Mapping[str, Any], source: str) -> bytes:
        """`simulate` as one line of compact JSON."""
        return _simulate_case_json()(case, source)

    def assumable(self, snapshot: SystemSnapshot, identity: str) -> list[str]:
        """None: Azure RBAC has no action by which one identity becomes another (a managed identity is used by
        running code on the resource it is attached to, which escalation models as a step, not assumption)."""
        return []

    def decide_stored(
        self, snapshot: SystemSnapshot, principal: str, action: str, resource: str, context: Mapping[str, Any]
    ) -> AccessDecision:
        """A stored identity's request decided by the engine (`clouds.azure.access`)."""
        from permscope.clouds.azure.access import decide_stored

        return decide_stored(snapshot, principal, action, resource, context)

    def who_can(
        self, snapshot: SystemSnapshot, action: str, resource: str, context: Mapping[str, Any]
    ) -> list[AccessDecision]:
        """The identities of the subscription allowed the request (`clouds.azure.access`)."""
        from permscope.clouds.azure.access import who_can

        return who_can(snapshot, action, resource, context)

    def decision_slice(self, principal: str, resource: str) -> SnapshotSlice:
        """What `decide_stored` reads (`clouds.azure.access.decision_slice`; the resource is a scope)."""
        from permscope.clouds.azure.access import decision_slice

        return decision_slice(principal)

    def acting_slice(self, identity: str) -> SnapshotSlice:
        """The identity alone: `assumable` reads nothing."""
        from permscope.core.snapshot import SnapshotSlice

        return SnapshotSlice(principals=(identity,))

    # -- analysis -------------------------------------------------------------------------------------
    def view(self, snapshot: SystemSnapshot) -> CloudView:
        """The Azure view of a subscription snapshot."""
        from permscope.clouds.azure.view import AzureView

        return AzureView(snapshot)

    def available_data(self, system: AuthorizationSystem, identities: Sequence[Identity]) -> frozenset[str]:
        """`credentials` when applications' credentials were exported; `organization` when the subscription's
        management groups are known."""
        found: set[str] = set()
        if any("applicationObjectId" in identity.attributes for identity in identities):
            found.add("credentials")
        if system.attributes.get("managementGroupChain"):
            found.add("organization")
        return frozenset(found)

    def escalation(
        self,
        snapshot: SystemSnapshot,
        *,
        is_super: Callable[[EffectivePermissions], bool],
        skip: Callable[[str], bool],
        max_targets: int,
    ) -> EscalationModel | None:
        """RBAC, compute and Entra techniques over the subscription (`clouds.azure.escalation`)."""
        from permscope.clouds.azure.escalation.model import build_escalation

        return build_escalation(snapshot, is_super=is_super, skip=skip, max_targets=max_targets)

    def escalation_techniques(self) -> Mapping[str, TechniqueInfo]:
        """The Azure and Entra techniques in words, each with its public page (`escalation.techniques`)."""
        from permscope.clouds.azure.escalation.techniques import technique_catalogue

        return technique_catalogue()

    def system_of(self, external_id: str) -> str | None:
        """The subscription an ARM id lies in (an Entra object id names none)."""
        from permscope.clouds.azure.transform.common import subscription_of

        return subscription_of(external_id)


PLUGIN = AzurePlugin()


def _is_data_action(name: str) -> bool:
    """Whether the installed catalogue knows an operation only as a data action (a custom role's dataActions)."""
    from permscope.clouds.azure.catalog.operations import DATA, load_catalog

    return load_catalog().planes.get(name.strip().lower()) == DATA
