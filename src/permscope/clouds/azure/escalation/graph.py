"""The escalation graph of one subscription: each RBAC step decided by the engine at the scope it acts on, each
Entra step read from the directory roles, Graph application permissions and application owners.

Sources are the subscription's users, service principals and managed identities that are not already super.
- AZ-RBAC-ASSIGN: the engine allows `roleAssignments/write` at the subscription, or at a resource group or
  resource where the source's effective permissions place it: the source gains every action there.
- AZ-RBAC-ROLEDEF: the source holds a custom role and the engine allows `roleDefinitions/write` at the role's
  first assignable scope: rewritten to `*`, the role grants every action where it is assigned to the source.
- AZ-VM-RUNCOMMAND / AZ-VM-EXTENSION / AZ-WEBAPP-CODE: the engine allows the action on a VM or Function/web
  app that runs as a managed identity: the source acts as that identity.
- Entra (tenant-wide directory roles, held directly or through a group, and Graph application permissions):
  Global Administrator elevates to the root scope; Privileged Role Administrator and RoleManagement.ReadWrite.
  Directory grant themselves Global Administrator; AppRoleAssignment.ReadWrite.All grants itself
  RoleManagement.ReadWrite.Directory: each is a step to administrator. Application / Cloud Application
  Administrator, Application.ReadWrite.All and an application's owners add a secret and act as its service
  principal; Privileged Authentication Administrator resets a user's password and acts as that user.
Moves to other principals keep, per source and technique, the `max_targets` targets with the most to give.
A step allowed only under an ABAC condition the engine cannot decide without request attributes is kept as
`conditional` with the attributes it reads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from permscope.clouds.azure.access import estate_of
from permscope.clouds.azure.effective.subscription import condition_keys, whole_subscription
from permscope.clouds.azure.engine.estate import CompiledEstate
from permscope.clouds.azure.engine.evaluate import ALLOWED
from permscope.clouds.azure.engine.scopes import scope_key
from permscope.clouds.azure.escalation import techniques as t
from permscope.clouds.azure.transform.resources import VIRTUAL_MACHINE, WEB_APP
from permscope.clouds.azure.view import AzureView
from permscope.core.escalation import YIELDS_CEILING, EscalationGraph, Step
from permscope.core.inventory import Identity, IdentityKind
from permscope.core.permissions import EffectivePermissions
from permscope.core.snapshot import SystemSnapshot

SOURCE_KINDS = frozenset({IdentityKind.USER, IdentityKind.SERVICE_PRINCIPAL, IdentityKind.MANAGED_IDENTITY})
TENANT_WIDE = frozenset({"", "/"})
# Entra steps that end at administrator (a self-step yielding every action): directory role / app permission
ADMIN_BY_DIRECTORY_ROLE = {
    t.GLOBAL_ADMINISTRATOR: t.ELEVATE,
    t.PRIVILEGED_ROLE_ADMINISTRATOR: t.GRANT_DIRECTORY_ROLE,
}
ADMIN_BY_GRAPH_PERMISSION = {
    t.ROLE_MANAGEMENT_READWRITE_DIRECTORY: t.GRANT_DIRECTORY_ROLE,
    t.APP_ROLE_ASSIGNMENT_READWRITE_ALL: t.GRANT_APP_ROLE,
}
SECRET_ROLES = frozenset({t.APPLICATION_ADMINISTRATOR, t.CLOUD_APPLICATION_ADMINISTRATOR})
COMPUTE_OPTIONS = {
    VIRTUAL_MACHINE: ((t.RUN_ON_VM, t.RUN_COMMAND), (t.VM_EXTENSION, t.VM_EXTENSIONS_WRITE)),
    WEB_APP: ((t.WEB_APP_CODE, t.SITES_WRITE), (t.WEB_APP_CODE, t.SITES_PUBLISH)),
}
COMPUTE_ACTIONS = frozenset(action for options in COMPUTE_OPTIONS.values() for _technique, action in options)
RBAC_ACTIONS = (t.ROLE_ASSIGNMENTS_WRITE, t.ROLE_DEFINITIONS_WRITE, *sorted(COMPUTE_ACTIONS))


def held_directory_roles(holder: Identity, via: str | None) -> list[tuple[str, str, str | None]]:
    """(role template id, directory scope, `via`) of the Entra roles assigned to one identity or group."""
    found: list[tuple[str, str, str | None]] = []
    for entry in holder.attributes.get("directoryRoles") or ():
        if isinstance(entry, Mapping) and entry.get("roleDefinitionId"):
            scope = str(entry.get("directoryScopeId") or "/")
            found.append((str(entry["roleDefinitionId"]).lower(), scope, via))
    return found


def directory_roles(identity: Identity, groups: Iterable[Identity]) -> list[tuple[str, str, str | None]]:
    """(role template id, directory scope, the group it comes through) of an identity's Entra roles."""
    found = held_directory_roles(identity, None)
    for group in groups:
        found += held_directory_roles(group, group.external_id)
    return found


def graph_permissions(identity: Identity) -> set[str]:
    """The app role ids (Graph application permissions) granted to a service principal."""
    return {
        str(entry["appRoleId"]).lower()
        for entry in identity.attributes.get("appRoleAssignments") or ()
        if isinstance(entry, Mapping) and entry.get("appRoleId")
    }


@dataclass(frozen=True, slots=True)
class ComputeTarget:
    """A VM or web app that runs as managed identities: the ARM id the engine decides at, and its options."""

    resource: str
    scope: str
    options: tuple[tuple[t.Technique, str], ...]  # (technique, action), the first allowed one suffices
    identities: tuple[str, ...]


class GraphBuilder:
    """Builds the edges of every source (see the module doc)."""

    def __init__(
        self,
        snapshot: SystemSnapshot,
        view: AzureView,
        *,
        of: Callable[[str], EffectivePermissions],
        rank: Callable[[str], int],
        skip: Callable[[str], bool],
        max_targets: int,
    ) -> None:
        self.snapshot = snapshot
        self.view = view
        self.of = of
        self.rank = rank
        self.skip = skip
        self.max_targets = max_targets
        self.graph = EscalationGraph()
        self.subscription = f"/subscriptions/{snapshot.system_id}"
        index = snapshot.index
        self.planes: Mapping[str, str] = getattr(index.catalog, "planes", {})
        # the catalogue position of each RBAC step's action: a source whose effective permissions lack an
        # action anywhere is never allowed it by the engine, so its steps need no decision per scope
        self.positions = {
            action: position for action in RBAC_ACTIONS if (position := index.index_of(action)) is not None
        }
        self.mask = sum(1 << position for position in self.positions.values())
        self.documents = {policy.external_id: policy for policy in snapshot.policies}
        identities = snapshot.identities_by_id
        self.users = sorted(i.external_id for i in identities.values() if i.kind is IdentityKind.USER)
        self.applications = sorted(
            i.external_id
            for i in identities.values()
            if i.kind is IdentityKind.SERVICE_PRINCIPAL and i.attributes.get("applicationObjectId")
        )
        self.application_objects = {
            principal: str(identities[principal].attributes.get("applicationObjectId") or "").lower()
            for principal in self.applications
        }
        self.owned: dict[str, list[str]] = {}
        for principal in self.applications:
            for owner in identities[principal].attributes.get("applicationOwners") or ():
                self.owned.setdefault(str(owner).lower(), []).append(principal)
        # the directory roles held through each group, read once: a source's groups are looked up only when
        # some group holds one
        self.group_roles: dict[str, list[tuple[str, str, str | None]]] = {}
        for group in dict.fromkeys(m.group_external_id for m in snapshot.memberships):
            holder = identities.get(group)
            roles = held_directory_roles(holder, holder.external_id) if holder is not None else []
            if roles:
                self.group_roles[group] = roles
        self.compute: list[ComputeTarget] = []
        for r in snapshot.resources or ():
            options = COMPUTE_OPTIONS.get(r.resource_type)
            acting = self._identities_of(r.facts) if options is not None else []
            if options is not None and acting:
                scope = str(r.facts.get("id") or r.external_id)
                self.compute.append(ComputeTarget(r.external_id, scope, options, tuple(acting)))

    @cached_property
    def estate(self) -> CompiledEstate:
        """The subscription's RBAC state compiled for decisions (on the first decision)."""
        return estate_of(self.snapshot)

    def held(self, source: str) -> frozenset[str]:
        """The RBAC step actions the source's effective permissions grant anywhere (any way: conditionally too)."""
        held = self.of(source).granted & self.mask
        if not held:
            return frozenset()
        return frozenset(action for action, position in self.positions.items() if held >> position & 1)

    # -- the engine -----------------------------------------------------------------------------------------
    def decide(self, source: str, action: str, scope: str) -> tuple[bool, tuple[str, ...], list[str]] | None:
        """Whether the engine lets `source` do `action` at `scope`: (conditional, condition attributes, the
        assignments that allow it); None when it does not."""
        position = self.snapshot.index.index_of(action)
        permissions = self.of(source)
        if position is None or not permissions.granted >> position & 1:
            return None  # the effective permissions already say no: no decision to make
        self.graph.evaluations += 1
        data = self.planes.get(action.lower()) == "data"
        decided = self.estate.decide(source, action, data, scope, {})
        if decided.decision == ALLOWED:
            return False, (), list(decided.granted_by)
        if decided.denied_by or not permissions.conditional >> position & 1:
            return None
        rows = decided.explanation.get("role_assignments") or []
        keys = tuple(
            dict.fromkeys(
                key
                for row in rows
                if isinstance(row, Mapping)
                for key in condition_keys(str(row.get("condition") or ""))
            )
        )
        return True, keys or ("condition",), [str(row.get("id")) for row in rows if isinstance(row, Mapping)]

    def scopes_of(self, source: str, action: str) -> list[str]:
        """The scopes to ask about an action: the subscription, then those the source's clauses name for it."""
        position = self.snapshot.index.index_of(action)
        found = [self.subscription]
        if position is None:
            return found
        for scoped in self.of(source).clauses:
            if scoped.role == "allows" and scoped.actions >> position & 1:
                found += [s.lower() for s in scoped.clause.resources or ()]
        return list(dict.fromkeys(found))

    # -- building -------------------------------------------------------------------------------------------
    def build(self) -> EscalationGraph:
        identities = self.snapshot.identities_by_id
        for source in sorted(identities):
            identity = identities[source]
            if identity.kind not in SOURCE_KINDS or self.skip(source):
                continue
            self.graph.checked_sources += 1
            held = self.held(source)
            steps = [
                *self._assign(source, held),
                *self._role_definitions(source, held),
                *self._compute(source, held),
                *self._entra(identity),
            ]
            if steps:
                self.graph.edges[source] = steps
        return self.graph

    def _step(self, technique: t.Technique, source: str, target: str, resources: Iterable[str], *,
              action: tuple[str, ...] | None = None, via: str | None = None, yields: str = "target",
              decided: tuple[bool, tuple[str, ...], list[str]] | None = None) -> Step:  # fmt: skip
        conditional, keys, assignments = decided if decided is not None else (False, (), [])
        return Step(
            technique.technique_id,
            technique.name,
            action if action is not None else technique.needs,
            source,
            target,
            tuple(dict.fromkeys([*resources, *assignments])),
            yields=yields,
            via=via,
            conditional=conditional,
            condition_keys=keys,
        )

    def _assign(self, source: str, held: frozenset[str]) -> Iterator[Step]:
        if t.ROLE_ASSIGNMENTS_WRITE not in held:
            return
        for scope in self.scopes_of(source, t.ROLE_ASSIGNMENTS_WRITE):
            decided = self.decide(source, t.ROLE_ASSIGNMENTS_WRITE, scope)
            if decided is not None:
                yield self._step(t.ASSIGN_ROLE, source, source, [scope], via=scope, yields=YIELDS_CEILING,
                                 decided=decided)  # fmt: skip
                if whole_subscription(scope_key(scope)):
                    return  # every narrower scope gives less

    def _role_definitions(self, source: str, held: frozenset[str]) -> Iterator[Step]:
        if t.ROLE_DEFINITIONS_WRITE not in held:
            return
        seen: set[tuple[str, str]] = set()
        for grant in self.view.evaluator.grants(source):
            policy = self.documents.get(grant.role)
            if policy is None or policy.managed_by_cloud or (grant.role, grant.scope) in seen:
                continue
            seen.add((grant.role, grant.scope))
            document = policy.document if isinstance(policy.document, Mapping) else {}
            assignable = [str(s) for s in document.get("assignableScopes") or () if s]
            decided = self.decide(
                source, t.ROLE_DEFINITIONS_WRITE, assignable[0] if assignable else grant.scope
            )
            if decided is not None:
                yield self._step(t.EDIT_ROLE, source, source, [grant.role, grant.scope], via=grant.scope,
                                 yields=YIELDS_CEILING, decided=decided)  # fmt: skip

    @staticmethod
    def _identities_of(facts: Mapping[str, Any]) -> list[str]:
        found = [str(facts["principalId"])] if facts.get("principalId") else []
        found += [
            str(u["principalId"])
            for u in facts.get("userAssignedIdentities") or ()
            if isinstance(u, Mapping) and u.get("principalId")
        ]
        return list(dict.fromkeys(p.lower() for p in found))

    def _compute(self, source: str, held: frozenset[str]) -> Iterator[Step]:
        if not held & COMPUTE_ACTIONS:
            return
        found: list[tuple[int, Step]] = []
        for compute in self.compute:
            targets = [p for p in compute.identities if p != source]
            if not targets:
                continue
            for technique, action in compute.options:
                if action not in held:
                    continue  # the engine would say no
                decided = self.decide(source, action, compute.scope)
                if decided is None:
                    continue
                for target in targets:
                    step = self._step(technique, source, target, [compute.resource], action=(action,),
                                      via=compute.resource, decided=decided)  # fmt: skip
                    found.append((self.rank(target), step))
                break  # one action of the technique suffices
        yield from self._best(found)

    def _best(self, found: list[tuple[int, Step]]) -> list[Step]:
        """Per technique, the steps to the `max_targets` targets with the most to give."""
        kept: list[Step] = []
        counts: dict[str, int] = {}
        for _rank, step in sorted(found, key=lambda item: (-item[0], item[1].target)):
            if counts.get(step.technique_id, 0) < self.max_targets:
                counts[step.technique_id] = counts.get(step.technique_id, 0) + 1
                kept.append(step)
        return kept

    def _entra(self, identity: Identity) -> Iterator[Step]:
        source = identity.external_id
        roles = held_directory_roles(identity, None)
        if self.group_roles:
            for group in self.view.evaluator.groups(source):
                roles += self.group_roles.get(group, ())
        permissions = graph_permissions(identity)
        if not roles and not permissions and source not in self.owned:
            return  # no directory role, Graph permission or owned application: no Entra step
        tenant_roles = {role: via for role, scope, via in roles if scope in TENANT_WIDE}
        for role, technique in ADMIN_BY_DIRECTORY_ROLE.items():
            if role in tenant_roles:
                name = t.DIRECTORY_ROLES[role]
                yield self._step(technique, source, source, [f"directoryRole:{name}"],
                                 action=(f"directoryRole:{name}",), via=tenant_roles[role], yields=YIELDS_CEILING)  # fmt: skip
        for permission, technique in ADMIN_BY_GRAPH_PERMISSION.items():
            if permission in permissions:
                name = t.GRAPH_PERMISSIONS[permission]
                yield self._step(technique, source, source, [f"graph:{name}"], action=(f"graph:{name}",),
                                 yields=YIELDS_CEILING)  # fmt: skip
        moves: list[tuple[int, Step]] = []
        secret_by = [f"directoryRole:{t.DIRECTORY_ROLES[r]}" for r in SECRET_ROLES if r in tenant_roles]
        if t.APPLICATION_READWRITE_ALL in permissions:
            secret_by.append("graph:Application.ReadWrite.All")
        scoped_apps = {
            scope.strip("/").lower()
            for role, scope, _via in roles
            if role in SECRET_ROLES and scope not in TENANT_WIDE
        }
        if secret_by or scoped_apps:  # without a right to add secrets no application is reached
            for target in self.applications:
                if target == source:
                    continue
                if secret_by:
                    moves.append((self.rank(target), self._step(t.ADD_SECRET, source, target, [target],
                                                                action=tuple(secret_by))))  # fmt: skip
                elif (app := self.application_objects[target]) in scoped_apps:
                    moves.append((self.rank(target), self._step(t.ADD_SECRET, source, target, [target, app],
                                                                action=("directoryRole:scoped to the application",))))  # fmt: skip
        for target in self.owned.get(source, ()):
            if target != source:
                moves.append((self.rank(target), self._step(t.OWNER_SECRET, source, target, [target])))
        if t.PRIVILEGED_AUTHENTICATION_ADMINISTRATOR in tenant_roles:
            for target in self.users:
                if target != source:
                    moves.append((self.rank(target), self._step(t.RESET_PASSWORD, source, target, [target])))
        yield from self._best(moves)
