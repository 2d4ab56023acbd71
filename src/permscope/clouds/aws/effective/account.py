"""Effective permissions of every user, group and role of one AWS account: policies compiled once, equal
combinations shared."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from permscope.clouds.aws.effective.combine import effective_permissions, explain_principal
from permscope.clouds.aws.effective.compile import (
    BOUNDARY_LAYER,
    IDENTITY_LAYER,
    CompiledPolicy,
    PolicyCompiler,
)
from permscope.clouds.aws.effective.layers import AppliedPolicy, PrincipalPolicies, scp_layer
from permscope.clouds.aws.engine.policy import PolicyType
from permscope.core.catalog import ActionIndex
from permscope.core.permissions import ActionVerdict, EffectivePermissions, PrincipalResult


# -- accounts ------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ScpLevel:
    """One level of the organization above the account (root first): a label and its SCP documents."""

    label: str
    policies: tuple[tuple[str, Any], ...]  # (name, document)

    def to_dict(self) -> dict[str, Any]:
        """JSON shape, as the conformance cases write a level: {"org_id", "policies": [{"name", "document"}]}."""
        return {"org_id": self.label, "policies": [{"name": n, "document": d} for n, d in self.policies]}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], position: int) -> ScpLevel:
        """Read the JSON shape of `to_dict` (labels default to "level N")."""
        label = str(raw.get("org_id") or raw.get("label") or f"level {position}")
        policies = tuple(
            (str(entry.get("name") or f"{label} SCP {number}"), entry["document"])
            for number, entry in enumerate(raw.get("policies") or [], start=1)
        )
        return cls(label=label, policies=policies)


@dataclass(frozen=True, slots=True)
class PrincipalRecord:
    """A principal of the account: its ARN, kind (user, group, role) and whether AWS links it to a service."""

    external_id: str
    kind: str
    service_linked: bool = False


@dataclass(frozen=True, slots=True)
class PolicyRecord:
    """A policy of the account: its id (ARN or inline id), name and document (dict or JSON text)."""

    policy_id: str
    name: str
    document: Any


@dataclass(slots=True)
class AccountInventory:
    """What effective permissions need of one account's inventory."""

    principals: list[PrincipalRecord]
    policies: dict[str, PolicyRecord]
    assignments: dict[str, list[tuple[str, str]]]  # identity -> [(policy id, attached | inline | boundary)]
    groups_of: dict[str, list[str]]  # user -> its groups


_ANY_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


class AccountEvaluator:
    """Effective permissions of an account's principals: compiled policies and equal combinations shared."""

    def __init__(
        self,
        inventory: AccountInventory,
        index: ActionIndex,
        scp_levels: Sequence[ScpLevel] = (),
        compiler: PolicyCompiler | None = None,
    ) -> None:
        self.inventory = inventory
        self.index = index
        self.compiler = compiler or PolicyCompiler(index)
        self.scp_levels = tuple(scp_levels)
        self._scps = tuple(
            tuple(
                AppliedPolicy(
                    policy_id=f"{level.label}#{name}",
                    name=name,
                    layer=scp_layer(number),
                    compiled=self.compiler.compile(document, name=name, policy_type=PolicyType.SCP),
                    via=level.label,
                )
                for name, document in level.policies
            )
            for number, level in enumerate(self.scp_levels, start=1)
        )
        self._kinds = {p.external_id: p for p in inventory.principals}
        self._applied: dict[tuple[str, str, str | None], AppliedPolicy] = {}
        self._compiled: dict[tuple[str, PolicyType], CompiledPolicy] = {}
        self._results: dict[tuple[object, ...], EffectivePermissions] = {}
        self._principals: dict[str, PrincipalPolicies] = {}
        self._ceiling: EffectivePermissions | None = None

    @property
    def distinct_combinations(self) -> int:
        """How many distinct policy combinations were evaluated."""
        return len(self._results)

    def _apply(self, policy_id: str, layer: str, via: str | None, relation: str) -> AppliedPolicy | None:
        key = (policy_id, layer, via)
        found = self._applied.get(key)
        if found is None:
            record = self.inventory.policies.get(policy_id)
            if record is None:
                return None
            policy_type = PolicyType.BOUNDARY if layer == BOUNDARY_LAYER else PolicyType.IDENTITY
            compiled = self._compiled.get((policy_id, policy_type))
            if compiled is None:
                compiled = self.compiler.compile(record.document, name=record.name, policy_type=policy_type)
                self._compiled[(policy_id, policy_type)] = compiled
            found = AppliedPolicy(policy_id, record.name, layer, compiled, via, relation)
            self._applied[key] = found
        return found

    def principal(self, external_id: str) -> PrincipalPolicies:
        """The policies that decide one principal's permissions (raises KeyError for an unknown principal),
        found once per principal."""
        found = self._principals.get(external_id)
        if found is None:
            found = self._principals[external_id] = self._find_principal(external_id)
        return found

    def _find_principal(self, external_id: str) -> PrincipalPolicies:
        record = self._kinds[external_id]
        notes: list[str] = []
        identity: list[AppliedPolicy] = []
        boundary: AppliedPolicy | None = None
        owners: list[tuple[str, str | None]] = [(external_id, None)]
        if record.kind == "user":
            owners += [(group, group) for group in self.inventory.groups_of.get(external_id, ())]
        for owner, via in owners:
            for policy_id, relation in self.inventory.assignments.get(owner, ()):
                if relation == "boundary":
                    if owner != external_id or record.kind == "group":
                        continue
                    boundary = self._apply(policy_id, BOUNDARY_LAYER, None, relation)
                    if boundary is None:
                        notes.append(f"permissions boundary {policy_id} is not in the inventory; it is ignored,"
                                     " so permissions may be over-reported")  # fmt: skip
                    continue
                if relation not in ("attached", "inline"):
                    continue
                applied = self._apply(policy_id, IDENTITY_LAYER, via, relation)
                if applied is None:
                    notes.append(
                        f"policy {policy_id} attached to {owner} is not in the inventory; not counted"
                    )
                else:
                    identity.append(applied)
        scps = () if record.service_linked else self._scps
        return PrincipalPolicies(tuple(identity), boundary, scps, tuple(notes))

    def limits(self, external_id: str) -> tuple[AppliedPolicy | None, tuple[tuple[AppliedPolicy, ...], ...]]:
        """A principal's permissions boundary and SCP levels, as `principal` finds them, without its identity
        policies (what still limits it once it may write any policy; raises KeyError for an unknown one)."""
        record = self._kinds[external_id]
        boundary: AppliedPolicy | None = None
        if record.kind != "group":
            for policy_id, relation in self.inventory.assignments.get(external_id, ()):
                if relation == "boundary":
                    boundary = self._apply(policy_id, BOUNDARY_LAYER, None, relation)
        return boundary, (() if record.service_linked else self._scps)

    def organization_ceiling(self) -> EffectivePermissions:
        """What `*` leaves once the organization's SCP levels apply: all an identity that can rewrite its own
        policies and boundary may give itself."""
        if self._ceiling is None:
            admin = self.compiler.compile(
                _ANY_POLICY, name="permscope: any policy", policy_type=PolicyType.IDENTITY
            )
            applied = AppliedPolicy("permscope:any", "any policy", IDENTITY_LAYER, admin)
            self._ceiling = effective_permissions(PrincipalPolicies((applied,), None, self._scps))
        return self._ceiling

    def evaluate(self, external_id: str) -> PrincipalResult:
        """One principal's effective permissions (equal policy combinations are computed once)."""
        principal = self.principal(external_id)
        key = principal.cache_key()
        permissions = self._results.get(key)
        if permissions is None:
            permissions = effective_permissions(principal)
            self._results[key] = permissions
        return PrincipalResult(permissions, tuple(principal.problems()))

    def explain(self, external_id: str) -> list[ActionVerdict]:
        """Per action the identity policies allow: its status and the reasons (see `explain_principal`)."""
        return explain_principal(self.principal(external_id))

    def unknown_actions(self) -> dict[str, list[str]]:
        """Per policy name, the action patterns that match no catalogue action (policies compiled so far)."""
        found: dict[str, list[str]] = {}
        for applied in [*self._applied.values(), *(p for level in self._scps for p in level)]:
            if applied.compiled.unknown_actions:
                found.setdefault(applied.name, list(applied.compiled.unknown_actions))
        return dict(sorted(found.items()))
