"""The escalation graph of one project: every user's and service account's steps, each decided by the engine.

A source's permissions are first read from its effective permissions, the engine's rules compiled once per role
(`clouds.gcp.effective`): a permission it holds nowhere ends the technique, one granted unconditionally at the
project or above (deny policies applied) holds on every resource of the project. Any other is decided by the
engine (`clouds.gcp.access.decide_stored`, IAM conditions at the analysis time, deny policies first) on where
it applies: the project (or the organization / a folder for their setIamPolicy), the target service account's
own resource (so a binding on one service account yields that account only), or the existing resource a
technique changes. A step that is allowed only through a conditional binding is marked `conditional` with the
condition expressions as its keys. Targets of one technique are kept most privileged first, `max_targets` of
them per source.

The work follows what each source can do: each account's resource name is computed once per graph, the
accounts a source may act on with some permissions are found once (and only as far as a reader asks) and
shared by every technique needing those permissions, a source whose bindings name specific accounts only
tries those, and implicit delegation only goes through accounts that hold getAccessToken somewhere.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from itertools import islice

from permscope.clouds.gcp.access import account_resource, decide_stored, full_name, lineage
from permscope.clouds.gcp.engine.evaluate import ALLOWED
from permscope.clouds.gcp.escalation.techniques import TECHNIQUES, Kind, Technique
from permscope.core.escalation import YIELDS_CEILING, EscalationGraph, Step
from permscope.core.inventory import AssignmentRelation, IdentityKind
from permscope.core.permissions import EffectivePermissions
from permscope.core.snapshot import SystemSnapshot

DEFAULT_MAX_TARGETS = 3
SOURCE_KINDS = (IdentityKind.USER, IdentityKind.SERVICE_ACCOUNT)
GETTER = ("iam.serviceAccounts.getAccessToken",)


@dataclass(frozen=True, slots=True)
class Decided:
    """The engine's verdict on every permission of one part of a technique."""

    allowed: bool
    conditional: bool = False
    conditions: tuple[str, ...] = ()


_NO = Decided(False)
_YES = Decided(True)
Target = tuple[str, str, Decided]  # an account, its resource name, the verdict on it


class _Found:
    """A sequence computed on demand and shared by its readers: each item is computed once, when a reader first
    reaches it, so no reader makes the engine decide more than it would alone."""

    __slots__ = ("_items", "_rest")

    def __init__(self, items: Iterator[Target]) -> None:
        self._items: list[Target] = []
        self._rest = items

    def __iter__(self) -> Iterator[Target]:
        items, position = self._items, 0
        while True:
            if position == len(items):
                following = next(self._rest, None)
                if following is None:
                    return
                items.append(following)
            yield items[position]
            position += 1


class GraphBuilder:
    """Builds the edges of every source of one project snapshot."""

    def __init__(
        self,
        snapshot: SystemSnapshot,
        *,
        value: Callable[[str], int],
        skip: Callable[[str], bool],
        max_targets: int = DEFAULT_MAX_TARGETS,
    ) -> None:
        self.snapshot = snapshot
        self.value = value
        self.skip = skip
        self.max_targets = max_targets
        self.graph = EscalationGraph()
        self.chain = lineage(snapshot)
        self._ancestors = frozenset(self.chain[1:])
        self.accounts = sorted(
            (
                a.external_id
                for a in snapshot.identities_of(IdentityKind.SERVICE_ACCOUNT)
                if snapshot.permissions(a.external_id) is not None
            ),
            key=lambda a: (-value(a), a),
        )
        # every account's resource name, once per graph, in `accounts` order (the order targets are kept in)
        self.account_resources = {account: account_resource(snapshot, account) for account in self.accounts}
        self._positions: dict[str, list[int]] = {}
        for position, resource in enumerate(self.account_resources.values()):
            self._positions.setdefault(resource, []).append(position)
        self._decided: dict[tuple[str, str, str], Decided] = {}
        self._masks: dict[tuple[str, ...], int] = {}
        self._bits: dict[str, int | None] = {}
        self._labels: dict[str, tuple[str, tuple[str, ...]]] = {}
        self._named: dict[tuple[str, tuple[str, ...]], set[str] | None] = {}
        self._targets: dict[tuple[str, tuple[str, ...], str | None], _Found] = {}
        self._agents: dict[str, dict[str, str]] = {}
        self._running: dict[str | None, list[tuple[str, str]]] = {}
        self._possible: dict[int, tuple[EffectivePermissions | None, tuple[Technique, ...]]] = {}

    # -- decisions ---------------------------------------------------------------------------------------
    def holds_somewhere(self, source: str, permissions: tuple[str, ...]) -> bool:
        """Whether the source's effective permissions hold each permission somewhere (unknown ones: maybe)."""
        held = self.snapshot.permissions(source)
        granted = held.granted if held is not None else 0
        known = self._known(permissions)
        return granted & known == known

    def _known(self, permissions: tuple[str, ...]) -> int:
        """The bits of the permissions the catalogue knows (computed once per graph)."""
        known = self._masks.get(permissions)
        if known is None:
            known = 0
            for permission in permissions:
                bit = self._bit(permission)
                known |= 0 if bit is None else 1 << bit
            self._masks[permissions] = known
        return known

    def _bit(self, permission: str) -> int | None:
        """The catalogue's bit of a permission, None when it lacks it (looked up once per graph)."""
        try:
            return self._bits[permission]
        except KeyError:
            found = self._bits[permission] = self.snapshot.index.index_of(permission)
            return found

    def _from_bits(self, source: str, permission: str, *, above: bool) -> Decided | None:
        """The verdict the source's compiled permissions already give: allowed everywhere in the project when
        granted unconditionally at the project or above (deny policies applied), refused when held nowhere;
        None when only the engine can tell (granted on some resources, under a condition, or asked of a folder
        or the organization, which a binding on the project does not reach)."""
        bit = self._bit(permission)
        held = self.snapshot.permissions(source)
        if bit is None or held is None:
            return None
        if held.all_resources >> bit & 1:
            return None if above else _YES
        return None if held.granted >> bit & 1 else _NO

    def named(self, source: str, permissions: tuple[str, ...]) -> set[str] | None:
        """The resources a source's bindings name for permissions it holds only on specific resources (the
        only ones the engine could allow), None when it holds one of them project-wide or under a condition
        (computed once per source and permissions: techniques share them)."""
        key = (source, permissions)
        if key not in self._named:
            self._named[key] = self._named_now(source, permissions)
        return self._named[key]

    def _named_now(self, source: str, permissions: tuple[str, ...]) -> set[str] | None:
        held = self.snapshot.permissions(source)
        if held is None:
            return None
        found: set[str] = set()
        for permission in permissions:
            bit = self._bit(permission)
            if bit is None or (held.all_resources | held.conditional) >> bit & 1:
                return None
            for scoped in held.clauses:
                if scoped.role == "allows" and scoped.actions >> bit & 1:
                    if scoped.clause.resources is None:
                        return None
                    found.update(scoped.clause.resources)
        return found

    def decide(self, source: str, permissions: Iterable[str], resource: str) -> Decided:
        """Every permission allowed to the source on the resource, by the engine (cached)."""
        conditional, conditions = False, list[str]()
        for permission in permissions:
            key = (source, permission, resource)
            found = self._decided.get(key)
            if found is None:
                found = self._from_bits(source, permission, above=resource in self._ancestors)
            if found is None:
                self.graph.evaluations += 1
                decision = decide_stored(self.snapshot, source, permission, resource, {})
                found = (
                    Decided(True, decision.conditional, decision.condition_keys)
                    if decision.decision == ALLOWED
                    else _NO
                )
                self._decided[key] = found
            if not found.allowed:
                return _NO
            conditional |= found.conditional
            conditions.extend(found.conditions)
        return Decided(True, conditional, tuple(dict.fromkeys(conditions))) if conditional else _YES

    # -- edges -------------------------------------------------------------------------------------------
    def build(self) -> EscalationGraph:
        """Every source's edges."""
        for identity in sorted(self.snapshot.identities, key=lambda i: i.external_id):
            source = identity.external_id
            if identity.kind not in SOURCE_KINDS or self.skip(source):
                continue
            self.graph.checked_sources += 1
            steps = [step for technique in self.possible(source) for step in self._by_kind(source, technique)]
            if steps:
                self.graph.edges[source] = steps
        return self.graph

    def possible(self, source: str) -> tuple[Technique, ...]:
        """The techniques leading to a principal whose permissions the source holds somewhere, in table order
        (one answer per permissions object: principals with equal bindings share theirs)."""
        held = self.snapshot.permissions(source)
        found = self._possible.get(id(held))
        if found is None or found[0] is not held:
            granted = held.granted if held is not None else 0
            techniques = tuple(t for t, known in self._leading if granted & known == known)
            found = self._possible[id(held)] = (held, techniques)
        return found[1]

    @cached_property
    def _leading(self) -> list[tuple[Technique, int]]:
        """The techniques leading to a principal, each with the bits of its permissions the catalogue knows."""
        return [(t, self._known(t.actions)) for t in TECHNIQUES if t.kind is not Kind.NOT_A_PRINCIPAL]

    def steps(self, source: str, technique: Technique) -> Iterator[Step]:
        """The steps of one technique from one source."""
        if technique in self.possible(source):
            yield from self._by_kind(source, technique)

    def _by_kind(self, source: str, technique: Technique) -> Iterator[Step]:
        kind = technique.kind
        if kind is Kind.SET_POLICY:
            return self._set_policy(source, technique)
        if kind is Kind.CUSTOM_ROLE:
            return self._custom_role(source, technique)
        if kind is Kind.DELEGATE:
            return self._delegate(source, technique)
        if kind is Kind.EXISTING:
            return self._existing(source, technique)
        return self._accounts(source, technique)

    def _step(
        self,
        technique: Technique,
        source: str,
        target: str,
        resources: Iterable[str],
        decided: Iterable[Decided],
        *,
        yields: str = "target",
        via: str | None = None,
    ) -> Step:
        verdicts = list(decided)
        conditional = False
        for verdict in verdicts:
            if verdict.conditional:
                conditional = True
                break
        # a verdict names conditions only when it is conditional
        conditions = tuple(dict.fromkeys(c for d in verdicts for c in d.conditions)) if conditional else ()
        name, actions = self._label(technique)
        return Step(
            technique_id=technique.technique_id,
            technique_name=name,
            actions=actions,
            source=source,
            target=target,
            resources=tuple(dict.fromkeys(resources)),
            yields=yields,
            via=via,
            conditional=conditional,
            condition_keys=conditions,
        )

    def _label(self, technique: Technique) -> tuple[str, tuple[str, ...]]:
        """A technique's name and actions (computed once per graph)."""
        found = self._labels.get(technique.technique_id)
        if found is None:
            found = self._labels[technique.technique_id] = (technique.name, technique.actions)
        return found

    def _set_policy(self, source: str, technique: Technique) -> Iterator[Step]:
        for node in self.chain:
            if node.rpartition("/")[0].rpartition("/")[2] != technique.level:
                continue
            decided = self.decide(source, technique.on_project, node)
            if decided.allowed:
                yield self._step(
                    technique, source, source, [node], [decided], yields=YIELDS_CEILING, via=node
                )
                return

    def _custom_role(self, source: str, technique: Technique) -> Iterator[Step]:
        policies = self.snapshot.policies_by_id
        for assignment in self.snapshot.assignments_of.get(source, ()):
            role = assignment.policy_external_id
            if assignment.relation is not AssignmentRelation.ATTACHED or not role.startswith(
                ("projects/", "organizations/")
            ):
                continue
            if role not in policies or full_name(assignment.scope) not in self.chain:
                continue  # only a role bound on the project or above gives the project's permissions
            defined_in = full_name("/".join(role.split("/")[:2]))
            decided = self.decide(source, technique.on_project, defined_in)
            if decided.allowed:
                yield self._step(
                    technique, source, source, [role], [decided], yields=YIELDS_CEILING, via=role
                )
                return

    def _project(self, source: str, technique: Technique) -> Decided:
        return self.decide(source, technique.on_project, self.chain[0]) if technique.on_project else _YES

    # -- targets -----------------------------------------------------------------------------------------
    def admitted(self, named: set[str] | None, among: dict[str, str]) -> Iterable[tuple[str, str]]:
        """The accounts of `among` (account -> resource name, in `accounts` order) whose resource a `named` set
        holds, in that order; all of them when `named` is None."""
        if named is None:
            return among.items()
        positions = sorted({position for resource in named for position in self._positions.get(resource, ())})
        found = []
        for position in positions:
            account = self.accounts[position]
            resource = among.get(account)
            if resource is not None:
                found.append((account, resource))
        return found

    def targets(self, actor: str, permissions: tuple[str, ...], agent_domain: str | None = None) -> _Found:
        """The accounts other than the actor that it holds every permission on (any account when there are
        none), most privileged first; only the project's service agents of a domain when one is given."""
        key = (actor, permissions, agent_domain)
        found = self._targets.get(key)
        if found is None:
            among = self.account_resources if agent_domain is None else self._agents_of(agent_domain)
            found = self._targets[key] = _Found(self._find_targets(actor, permissions, among))
        return found

    def _find_targets(
        self, actor: str, permissions: tuple[str, ...], among: dict[str, str]
    ) -> Iterator[Target]:
        named = self.named(actor, permissions) if permissions else None
        for account, resource in self.admitted(named, among):
            if account == actor:
                continue
            decided = self.decide(actor, permissions, resource) if permissions else _YES
            if decided.allowed:
                yield account, resource, decided

    def _agents_of(self, domain: str) -> dict[str, str]:
        found = self._agents.get(domain)
        if found is None:
            suffix = "@" + domain
            found = {a: r for a, r in self.account_resources.items() if a.endswith(suffix)}
            self._agents[domain] = found
        return found

    @cached_property
    def minters(self) -> dict[str, str]:
        """The accounts that hold getAccessToken somewhere: the only ones implicit delegation can go through."""
        return {a: r for a, r in self.account_resources.items() if self.holds_somewhere(a, GETTER)}

    def running(self, resource_type: str | None) -> list[tuple[str, str]]:
        """The existing resources of a type that run as a known account, as (resource, account), most privileged
        account first (once per graph: only the source itself is left out per source)."""
        found = self._running.get(resource_type)
        if found is None:
            ranked = []
            for resource in self.snapshot.resources or ():
                if resource.resource_type != resource_type:
                    continue
                account = str(resource.facts.get("serviceAccount") or "")
                if account in self.snapshot.identities_by_id:
                    ranked.append((self.value(account), resource.external_id, account))
            ranked.sort(key=lambda f: (-f[0], f[1]))
            found = self._running[resource_type] = [(resource, account) for _, resource, account in ranked]
        return found

    def resource_of(self, account: str) -> str:
        """An account's resource name (computed once per graph)."""
        found = self.account_resources.get(account)
        return found if found is not None else account_resource(self.snapshot, account)

    # -- techniques by kind --------------------------------------------------------------------------------
    def _accounts(self, source: str, technique: Technique) -> Iterator[Step]:
        """Techniques whose targets are the project's service accounts (or its service agent)."""
        project = self._project(source, technique)
        if not project.allowed:
            return
        domain = str(technique.agent_domain) if technique.kind is Kind.SERVICE_AGENT else None
        where = [self.chain[0]] if technique.on_project else []
        # islice asks for no target past the last one kept: finding one may take the engine's decisions
        found = islice(self.targets(source, technique.on_account, domain), max(self.max_targets, 0))
        for account, resource, on_account in found:
            yield self._step(technique, source, account, [*where, resource], [project, on_account])

    def _delegate(self, source: str, technique: Technique) -> Iterator[Step]:
        """implicitDelegation on B, then B's getAccessToken on C: the source mints C's tokens through B."""
        if self.max_targets <= 0:
            return
        kept = 0
        named = self.named(source, technique.on_account)
        for middle, middle_resource in self.admitted(named, self.minters):
            if middle == source:
                continue
            through = self.decide(source, technique.on_account, middle_resource)
            if not through.allowed:
                continue
            for account, resource, minted in self.targets(middle, GETTER):
                if account == source:
                    continue
                yield self._step(
                    technique, source, account, [middle_resource, resource], [through, minted], via=middle
                )
                kept += 1
                if kept >= self.max_targets:
                    return  # before asking the middle for another target

    def _existing(self, source: str, technique: Technique) -> Iterator[Step]:
        """Existing functions, services and instances: change their code, act as their service account."""
        kept = 0
        for resource_id, account in self.running(technique.resource_type):
            if kept >= self.max_targets:
                return
            if account == source:
                continue
            on_resource = self.decide(source, technique.on_resource, resource_id)
            if not on_resource.allowed:
                continue
            account_id = self.resource_of(account)
            on_account = (
                self.decide(source, technique.on_account, account_id) if technique.on_account else _YES
            )
            if not on_account.allowed:
                continue
            yield self._step(
                technique,
                source,
                account,
                [resource_id, account_id],
                [on_resource, on_account],
                via=resource_id,
            )
            kept += 1
