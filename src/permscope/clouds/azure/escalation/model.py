"""The escalation model of one subscription: its graph, and what the attacker holds after each step.

After a move the attacker holds the target's effective permissions. After a self-step it holds every action
(`*`) where the step reaches: the whole subscription for the Entra steps to Global Administrator (which
elevates to the root scope) and for role assignments or custom-role rewrites at the subscription or above;
every action on the resource group or resource otherwise (on top of what it held on every resource).
Notable actions (worth gaining) are the high-severity ones and the data reads of `DATA_READ` (Key Vault
secrets, keys and certificates, blobs).
"""

from __future__ import annotations

from collections.abc import Callable

from permscope.clouds.azure.effective.subscription import whole_subscription
from permscope.clouds.azure.engine.scopes import scope_key
from permscope.clouds.azure.escalation.graph import (
    ADMIN_BY_DIRECTORY_ROLE,
    ADMIN_BY_GRAPH_PERMISSION,
    TENANT_WIDE,
    GraphBuilder,
    directory_roles,
    graph_permissions,
)
from permscope.clouds.azure.view import AzureView
from permscope.core.escalation import YIELDS_CEILING, EscalationGraph, Step
from permscope.core.permissions import EffectivePermissions, ScopedClause, clause_of
from permscope.core.snapshot import SystemSnapshot

DATA_READ = (
    "Microsoft.KeyVault/vaults/secrets/getSecret/action",
    "Microsoft.KeyVault/vaults/keys/decrypt/action",
    "Microsoft.KeyVault/vaults/certificates/read",
    "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
    "Microsoft.Storage/storageAccounts/listKeys/action",
)
TENANT_ADMIN = frozenset(
    t.technique_id for t in (*ADMIN_BY_DIRECTORY_ROLE.values(), *ADMIN_BY_GRAPH_PERMISSION.values())
)
_NOTHING = EffectivePermissions(0, 0, 0)


class AzureEscalation:
    """The graph of one subscription and the value of its steps (`core.escalation.EscalationModel`)."""

    def __init__(self, snapshot: SystemSnapshot) -> None:
        self.snapshot = snapshot
        self.view = AzureView(snapshot) if not isinstance(snapshot.view, AzureView) else snapshot.view
        self.graph = EscalationGraph()
        index = snapshot.index
        self.notable = index.high_severity | index.expand_all(DATA_READ)[0]
        self._full = EffectivePermissions(index.full, 0, 0)
        self._scoped: dict[tuple[str, str], EffectivePermissions] = {}

    def of(self, external_id: str) -> EffectivePermissions:
        """A principal's effective permissions (none when unknown)."""
        found = self.snapshot.permissions(external_id)
        return found if found is not None else _NOTHING

    def tenant_admin(self, external_id: str) -> bool:
        """Whether a principal reaches Global Administrator by itself (directory role or Graph permission)."""
        identities = self.snapshot.identities_by_id
        identity = identities.get(external_id)
        if identity is None:
            return False
        groups = [identities[g] for g in self.view.evaluator.groups(external_id) if g in identities]
        roles = {role for role, scope, _via in directory_roles(identity, groups) if scope in TENANT_WIDE}
        return bool(roles & ADMIN_BY_DIRECTORY_ROLE.keys()) or bool(
            graph_permissions(identity) & ADMIN_BY_GRAPH_PERMISSION.keys()
        )

    def after(self, step: Step) -> EffectivePermissions:
        """The permissions the attacker holds after a step."""
        if step.yields != YIELDS_CEILING:
            return self.of(step.target)
        if step.technique_id in TENANT_ADMIN or step.via is None or whole_subscription(scope_key(step.via)):
            return self._full
        key = (step.target, step.via.lower())
        found = self._scoped.get(key)
        if found is None:
            held = self.of(step.target)
            everything = self.snapshot.index.full
            clause = clause_of("roleAssignment", "Allow", (step.via,), None, ())
            found = self._scoped[key] = EffectivePermissions(
                held.all_resources,
                everything & ~held.all_resources,
                0,
                (*held.clauses, ScopedClause("allows", clause, everything & ~held.all_resources)),
            )
        return found


def build_escalation(
    snapshot: SystemSnapshot,
    *,
    is_super: Callable[[EffectivePermissions], bool],
    skip: Callable[[str], bool],
    max_targets: int,
) -> AzureEscalation:
    """The escalation model of a subscription: every non-skipped user, service principal and managed identity,
    its moves tried most privileged target first (Global Administrator reachable, super, then by actions)."""
    model = AzureEscalation(snapshot)
    full = snapshot.index.size + 1
    ranks: dict[str, int] = {}  # a target is ranked for every source that reaches it: once is enough

    def rank(external_id: str) -> int:
        found = ranks.get(external_id)
        if found is None:
            permissions = model.of(external_id)
            admin = model.tenant_admin(external_id) or is_super(permissions)
            found = ranks[external_id] = (full if admin else 0) + permissions.granted.bit_count()
        return found

    builder = GraphBuilder(snapshot, model.view, of=model.of, rank=rank, skip=skip, max_targets=max_targets)
    model.graph = builder.build()
    return model
