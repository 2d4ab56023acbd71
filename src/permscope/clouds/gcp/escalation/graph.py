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
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from permscope.clouds.gcp.access import account_resource, decide_stored, full_name, lineage
from permscope.clouds.gcp.engine.evaluate import ALLOWED
from permscope.clouds.gcp.escalation.techniques import TECHNIQUES, Kind, Technique
from permscope.core.escalation import YIELDS_CEILING, EscalationGraph, Step
from permscope.core.inventory import AssignmentRelation, IdentityKind
from permscope.core.snapshot import SystemSnapshot

DEFAULT_MAX_TARGETS = 3
SOURCE_KINDS = (IdentityKind.USER, IdentityKind.SERVICE_ACCOUNT)


@dataclass(frozen=True, slots=True)
class Decided:
    """The engine's verdict on every permission of one part of a technique."""

    allowed: bool
    conditional: bool = False
    conditions: tuple[str, ...] = ()


_NO = Decided(False)
_YES = Decided(True)


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
        self.accounts = sorted(
            (
                a.external_id
                for a in snapshot.identities_of(IdentityKind.SERVICE_ACCOUNT)
                if snapshot.permissions(a.external_id) is not None
            ),
            key=lambda a: (-value(a), a),
        )
        self._decided: dict[tuple[str, str, str], Decided] = {}

    # -- decisions ---------------------------------------------------------------------------------------
    def holds_somewhere(self, source: str, permissions: Iterable[str]) -> bool:
        """Whether the source's effective permissions hold each permission somewhere (unknown ones: maybe)."""
        held = self.snapshot.permissions(source)
        granted = held.granted if held is not None else 0
        for permission in permissions:
            bit = self.snapshot.index.index_of(permission)
            if bit is not None and not granted >> bit & 1:
                return False
        return True

    def _from_bits(self, source: str, permission: str, *, above: bool) -> Decided | None:
        """The verdict the source's compiled permissions already give: allowed everywhere in the project when
        granted unconditionally at the project or above (deny policies applied), refused when held nowhere;
        None when only the engine can tell (granted on some resources, under a condition, or asked of a folder
        or the organization, which a binding on the project does not reach)."""
        bit = self.snapshot.index.index_of(permission)
        held = self.snapshot.permissions(source)
        if bit is None or held is None:
            return None
        if held.all_resources >> bit & 1:
            return None if above else _YES
        return None if held.granted >> bit & 1 else _NO

    def named(self, source: str, permissions: Iterable[str]) -> set[str] | None:
        """The resources a source's bindings name for permissions it holds only on specific resources (the
        only ones the engine could allow), None when it holds one of them project-wide or under a condition."""
        held = self.snapshot.permissions(source)
        if held is None:
            return None
        found: set[str] = set()
        for permission in permissions:
            bit = self.snapshot.index.index_of(permission)
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
                found = self._from_bits(source, permission, above=resource in self.chain[1:])
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
            if identity.kind not in SOURCE_KINDS or self.skip(identity.external_id):
                continue
            self.graph.checked_sources += 1
            steps = [step for technique in TECHNIQUES for step in self.steps(identity.external_id, technique)]
            if steps:
                self.graph.edges[identity.external_id] = steps
        return self.graph

    def steps(self, source: str, technique: Technique) -> Iterator[Step]:
        """The steps of one technique from one source."""
        if technique.kind is Kind.NOT_A_PRINCIPAL or not self.holds_somewhere(source, technique.actions):
            return
        if technique.kind is Kind.SET_POLICY:
            yield from self._set_policy(source, technique)
        elif technique.kind is Kind.CUSTOM_ROLE:
            yield from self._custom_role(source, technique)
        elif technique.kind is Kind.DELEGATE:
            yield from self._delegate(source, technique)
        elif technique.kind is Kind.EXISTING:
            yield from self._existing(source, technique)
        else:
            yield from self._accounts(source, technique)

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
        conditions = tuple(dict.fromkeys(c for d in verdicts for c in d.conditions))
        return Step(
            technique_id=technique.technique_id,
            technique_name=technique.name,
            actions=technique.actions,
            source=source,
            target=target,
            resources=tuple(dict.fromkeys(resources)),
            yields=yields,
            via=via,
            conditional=any(d.conditional for d in verdicts),
            condition_keys=conditions,
        )

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

    def _accounts(self, source: str, technique: Technique) -> Iterator[Step]:
        """Techniques whose targets are the project's service accounts (or its service agent)."""
        project = self._project(source, technique)
        if not project.allowed:
            return
        kept = 0
        named = self.named(source, technique.on_account) if technique.on_account else None
        for account in self.accounts:
            if kept >= self.max_targets:
                return
            if account == source:
                continue
            if named is not None and account_resource(self.snapshot, account) not in named:
                continue  # its bindings name other resources only: the engine could not allow it here
            if technique.kind is Kind.SERVICE_AGENT and not account.endswith(
                "@" + str(technique.agent_domain)
            ):
                continue
            resource = account_resource(self.snapshot, account)
            on_account = self.decide(source, technique.on_account, resource) if technique.on_account else _YES
            if not on_account.allowed:
                continue
            where = [self.chain[0]] if technique.on_project else []
            yield self._step(technique, source, account, [*where, resource], [project, on_account])
            kept += 1

    def _delegate(self, source: str, technique: Technique) -> Iterator[Step]:
        """implicitDelegation on B, then B's getAccessToken on C: the source mints C's tokens through B."""
        kept = 0
        named = self.named(source, technique.on_account)
        getter = ("iam.serviceAccounts.getAccessToken",)
        for middle in self.accounts:
            if middle == source:
                continue
            middle_resource = account_resource(self.snapshot, middle)
            if named is not None and middle_resource not in named:
                continue
            through = self.decide(source, technique.on_account, middle_resource)
            if not through.allowed:
                continue
            minting = self.named(middle, getter)
            for account in self.accounts:
                if kept >= self.max_targets:
                    return
                if account in (source, middle):
                    continue
                resource = account_resource(self.snapshot, account)
                if minting is not None and resource not in minting:
                    continue
                minted = self.decide(middle, getter, resource)
                if minted.allowed:
                    yield self._step(
                        technique, source, account, [middle_resource, resource], [through, minted], via=middle
                    )
                    kept += 1

    def _existing(self, source: str, technique: Technique) -> Iterator[Step]:
        """Existing functions, services and instances: change their code, act as their service account."""
        found = []
        for resource in self.snapshot.resources or ():
            if resource.resource_type != technique.resource_type:
                continue
            account = str(resource.facts.get("serviceAccount") or "")
            if account == source or account not in self.snapshot.identities_by_id:
                continue
            found.append((self.value(account), resource.external_id, account))
        kept = 0
        for _, resource_id, account in sorted(found, key=lambda f: (-f[0], f[1])):
            if kept >= self.max_targets:
                return
            on_resource = self.decide(source, technique.on_resource, resource_id)
            if not on_resource.allowed:
                continue
            account_id = account_resource(self.snapshot, account)
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
