"""GCP as a permscope cloud: the `CloudPlugin` that `clouds.base` registers.

Every member imports its part on first use (the catalogue, the engine, the transform), so looking the plugin up
costs nothing.
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

if TYPE_CHECKING:
    from permscope.core.access_decisions import AccessDecision
    from permscope.core.catalog import ActionCatalog, ActionIndex
    from permscope.core.escalation import EscalationModel, TechniqueInfo
    from permscope.core.permissions import EffectivePermissions
    from permscope.core.snapshot import CloudView, SnapshotSlice, SystemSnapshot

NEED_HINTS = {
    "activity": "import Cloud Audit Logs (Admin Activity and Data Access)",
    "resources": "export buckets, functions, Cloud Run services and instances (docs/gcp-export.sh)",
    "credentials": "export service-account keys (service-account-keys.json)",
    "organization": "export the organization, its folders and deny policies",
}


@cache
def _engine() -> Any:
    from permscope.clouds.gcp.engine import simulate

    return simulate


def organization_levels(
    system: AuthorizationSystem, attached: Iterable[tuple[str, str, Any, Mapping[str, Any] | None]]
) -> list[dict[str, Any]] | None:
    """The project's lineage root first, each node with the deny policies attached there (None: the project's
    place in the hierarchy is unknown)."""
    ancestry = system.attributes.get("ancestry")
    if not isinstance(ancestry, list):
        return None
    nodes = [*(str(node) for node in reversed(ancestry)), f"projects/{system.system_id}"]
    policies: dict[str, list[dict[str, Any]]] = {}
    for scope, name, document, attributes in attached:
        if (attributes or {}).get("denyPolicy"):
            policies.setdefault(scope, []).append({"name": name, "document": document})
    return [{"node": node, "denyPolicies": policies.get(node, [])} for node in nodes]


class GcpPlugin:
    """Everything permscope knows of GCP, reached through `clouds.base.plugin(Cloud.GCP)`."""

    cloud = Cloud.GCP
    label = Cloud.GCP.label
    system_noun = Cloud.GCP.system_noun
    need_hints: Mapping[str, str] = NEED_HINTS
    permission_scope = PermissionScope(
        identity_kinds=("user", "group", "serviceAccount"),
        policy_kinds=("role",),
        relations=("attached",),
        scoped=True,
    )

    @property
    def collector(self) -> Collector | None:
        """Live, read-only collection through Google's client libraries (the `gcp` extra)."""
        from permscope.clouds.gcp.collect.collector import GcpCollector

        return GcpCollector()

    @property
    def requests(self) -> RequestRules | None:
        """Permissions on demand: conditional bindings that end on their own (and custom roles for actions)."""
        from permscope.clouds.gcp.grant.requests import GcpRequestRules

        return GcpRequestRules(action_index=self.action_index)

    @property
    def activity(self) -> ActivityReaders | None:
        """Cloud Audit Logs readers (files, the live APIs, after a collection)."""
        from permscope.clouds.gcp.activity.readers import GCP_ACTIVITY

        return GCP_ACTIVITY

    @property
    def remediation(self) -> RemediationRules | None:
        """Remediation plans: bindings removed and restored exactly, keys disabled (`clouds.gcp.remediation`)."""
        from permscope.clouds.gcp.remediation.rules import GcpRemediationRules

        return GcpRemediationRules()

    @property
    def least_privilege(self) -> AccessGenerator:
        """A custom role generated from activity (`clouds.gcp.remediation`)."""
        from permscope.clouds.gcp.remediation.generate import GcpAccessGenerator

        return GcpAccessGenerator()

    # -- the catalogue ----------------------------------------------------------------------------------
    def catalog_version(self) -> str:
        """The installed catalogue's version (shipped, or refreshed from an organization)."""
        from permscope.clouds.gcp.catalog.roles import catalog_version

        return catalog_version()

    def catalog(self) -> ActionCatalog:
        """Every GCP permission."""
        from permscope.clouds.gcp.catalog.roles import load_catalog

        return load_catalog()

    def action_index(self) -> ActionIndex:
        """The bitset index of the installed catalogue."""
        from permscope.clouds.gcp.catalog.index import installed_action_index

        return installed_action_index()

    # -- files and transform ----------------------------------------------------------------------------
    def read_files(
        self,
        paths: Sequence[str | Path],
        *,
        system_name: str | None = None,
        progress: Progress | None = None,
        limits: FileLimits = DEFAULT_LIMITS,
    ) -> ImportedFiles:
        """An export folder -> one batch per project, cut when read (`system_name` is not used: projects keep their
        names)."""
        from permscope.clouds.gcp.files.export import read_export
        from permscope.clouds.gcp.transform.bundle import transform_bundle

        warnings: list[str] = []
        bundle = read_export(paths, limits=limits, warnings=warnings, progress=progress)
        found = transform_bundle(bundle, source="file:" + ",".join(printable(str(p)) for p in paths))

        def summarized(batch: InventoryBatch) -> None:
            batch.warnings = summarize_warnings(batch.warnings)

        found.finish_batches(summarized)
        found.warnings = summarize_warnings([*warnings, *found.warnings])
        return found

    # -- effective permissions and decisions ----------------------------------------------------------
    def organization_levels(
        self, system: AuthorizationSystem, attached: Iterable[tuple[str, str, Any, Mapping[str, Any] | None]]
    ) -> list[dict[str, Any]] | None:
        """The lineage root first with the deny policies of each node."""
        return organization_levels(system, attached)

    def evaluator(
        self, inventory: PermissionInventory, index: ActionIndex, organization: OrganizationLevels | None
    ) -> PermissionEvaluator:
        """The project evaluator (`clouds.gcp.effective.project`)."""
        from permscope.clouds.gcp.effective.project import ProjectEvaluator

        return ProjectEvaluator(inventory, index, organization)

    def simulate(self, case: Mapping[str, Any], source: str) -> dict[str, Any]:
        """One case of the GCP IAM case format decided by the engine."""
        return dict(_engine().simulate_case(case, source=source))

    def simulate_json(self, case: Mapping[str, Any], source: str) -> bytes:
        """`simulate` as one line of compact JSON."""
        found: bytes = _engine().simulate_case_json(case, source=source)
        return found

    def simulate_line_json(self, line: bytes | str, source: str) -> bytes:
        """One case given as JSON text (a line of a batch), decided and encoded."""
        found: bytes = _engine().simulate_line_json(line, source)
        return found

    def assumable(self, snapshot: SystemSnapshot, identity: str) -> list[str]:
        """The project's service accounts `identity` may impersonate or attach (decided by the engine)."""
        from permscope.clouds.gcp.access import assumable

        return assumable(snapshot, identity)

    def decide_stored(
        self, snapshot: SystemSnapshot, principal: str, action: str, resource: str, context: Mapping[str, Any]
    ) -> AccessDecision:
        """A stored user's or service account's request (`clouds.gcp.access`)."""
        from permscope.clouds.gcp.access import decide_stored

        return decide_stored(snapshot, principal, action, resource, context)

    def who_can(
        self, snapshot: SystemSnapshot, action: str, resource: str, context: Mapping[str, Any]
    ) -> list[AccessDecision]:
        """The users and service accounts of the project allowed the request (`clouds.gcp.access`)."""
        from permscope.clouds.gcp.access import who_can

        return who_can(snapshot, action, resource, context)

    def decision_slice(self, principal: str, resource: str) -> SnapshotSlice:
        """What `decide_stored` reads (`clouds.gcp.access.decision_slice`; the resource's policies are bindings)."""
        from permscope.clouds.gcp.access import decision_slice

        return decision_slice(principal)

    def acting_slice(self, identity: str) -> SnapshotSlice:
        """What `assumable` reads (`clouds.gcp.access.acting_slice`)."""
        from permscope.clouds.gcp.access import acting_slice

        return acting_slice(identity)

    # -- analysis ------------------------------------------------------------------------------------------
    def view(self, snapshot: SystemSnapshot) -> CloudView:
        """The GCP view of a project snapshot."""
        from permscope.clouds.gcp.view import GcpView

        return GcpView(snapshot)

    def available_data(self, system: AuthorizationSystem, identities: Sequence[Identity]) -> frozenset[str]:
        """`credentials` when service-account keys were read; `organization` when the project's ancestry is."""
        found: set[str] = set()
        if any(
            "keys" in identity.attributes and identity.attributes.get("listed") for identity in identities
        ):
            found.add("credentials")
        if system.attributes.get("organizationId"):
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
        """Rhino's GCP methods, the other actAs services and service-account impersonation over the project,
        each step decided by the engine (`clouds.gcp.escalation`)."""
        from permscope.clouds.gcp.escalation.model import build_escalation

        return build_escalation(snapshot, is_super=is_super, skip=skip, max_targets=max_targets)

    def escalation_techniques(self) -> Mapping[str, TechniqueInfo]:
        """The GCP techniques in words, each with its public page (`escalation.describe`)."""
        from permscope.clouds.gcp.escalation.describe import technique_catalogue

        return technique_catalogue()

    def system_of(self, external_id: str) -> str | None:
        """The project a service account's email (`sa@P.iam.gserviceaccount.com`) names."""
        email = external_id.partition(":")[2] if ":" in external_id else external_id
        domain = email.rpartition("@")[2]
        return domain.split(".", 1)[0] if domain.endswith(".iam.gserviceaccount.com") else None


PLUGIN = GcpPlugin()
