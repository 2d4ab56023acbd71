"""Effective permissions of a system's identities: compute and store them, explain one identity, read them back.

`store_effective` recomputes every evaluated identity of one system (AWS: users, groups and roles) from the
stored inventory with its cloud's evaluator (`CloudPlugin.evaluator`) and replaces the stored results in the
caller's transaction: imports and collections run it in the transaction that writes the system's inventory, so
a crash never leaves an inventory with another run's results. `compute_effective` does it in a transaction of
its own (a failure keeps the previous results).
`identity_permissions` explains one identity action by action; `stored_permissions` lists what was stored for
one identity without recomputing; `stored_results` decodes every stored result for analysis (no recomputing).
The rules of each cloud are documented in its cloud package (for AWS: its effective-permissions `combine` module).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from permscope.clouds.base import (
    EvaluatedIdentity,
    OrganizationLevels,
    PermissionEvaluator,
    PermissionInventory,
    plugin,
)
from permscope.core.bitsets import encode_actions, indexes_of, pack, unpack
from permscope.core.catalog import ActionIndex
from permscope.core.errors import ConfigurationError, NotFoundError
from permscope.core.gc_pause import collector_paused
from permscope.core.ids import Cloud
from permscope.core.inventory import AuthorizationSystem
from permscope.core.permissions import (
    EffectivePermissions,
    GrantStatus,
    PermissionCounts,
    PrincipalResult,
    ScopedClause,
)
from permscope.store.effective import (
    PermissionInputs,
    StoredCounts,
    StoredEffective,
    find_effective_permissions,
    last_run,
    load_permission_inputs,
    permission_counts,
    record_seconds,
    replace_effective_permissions,
    stored_organization_policies,
)
from permscope.store.homes import SystemView, view_of_row
from permscope.store.locks import lock_system
from permscope.store.systems import get_system, system_pk
from permscope.store.tables import AuthorizationSystemRow


def action_index(cloud: Cloud = Cloud.AWS) -> ActionIndex:
    """The bitset index of a cloud's installed catalogue (built once per process)."""
    return plugin(cloud).action_index()


def system_pk_of(session: Session, system_id: str, cloud: Cloud) -> int:
    """The system's primary key (NotFoundError when unknown)."""
    return system_pk(session, system_id, cloud.value)


def system_view_of(session: Session, system_id: str, cloud: Cloud) -> SystemView:
    """The system's view (`store.homes`), from the one lookup of its row (NotFoundError when unknown)."""
    return view_of_row(get_system(session, system_id, cloud.value))


def permission_inputs(
    session: Session, system: SystemView | int, cloud: Cloud, external_ids: Sequence[str] | None = None
) -> PermissionInputs:
    """The stored inventory deciding the permissions of a system's identities (`system`: its view, or its pk)."""
    scope = plugin(cloud).permission_scope
    return load_permission_inputs(
        session,
        system,
        scope.identity_kinds,
        scope.policy_kinds,
        scope.relations,
        external_ids,
        scoped=scope.scoped,
        shared_principals=scope.shared_principals,
    )


def _inventory(inputs: PermissionInputs) -> PermissionInventory:
    return PermissionInventory(
        identities=[
            EvaluatedIdentity(identity.external_id, identity.kind, identity.managed_by_cloud)
            for identity in inputs.identities
        ],
        policies=dict(inputs.policies),
        assignments=inputs.assignments,
        groups_of=inputs.groups_of,
        scoped=inputs.scoped,
    )


def evaluator_for(
    cloud: Cloud, inputs: PermissionInputs, index: ActionIndex, levels: OrganizationLevels | None
) -> PermissionEvaluator:
    return plugin(cloud).evaluator(_inventory(inputs), index, levels)


@dataclass(frozen=True, slots=True)
class EffectiveReport:
    """What one computation of an account's effective permissions did."""

    system_id: str
    identities: int
    seconds: float
    catalog_version: str
    distinct_policies: int
    distinct_combinations: int
    scp_levels: int | None  # None: organization unknown, SCPs not applied
    unknown_actions: dict[str, list[str]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def to_dict(self, *, actions: bool = True) -> dict[str, Any]:
        """camelCase JSON shape; without `actions`, each service carries only its counts (an identity with
        AdministratorAccess has some 22,000 actions, each with its reasons)."""
        return {
            "systemId": self.system_id,
            "identities": self.identities,
            "seconds": round(self.seconds, 3),
            "catalogVersion": self.catalog_version,
            "distinctPolicies": self.distinct_policies,
            "distinctCombinations": self.distinct_combinations,
            "scpLevels": self.scp_levels,
            "unknownActions": self.unknown_actions,
            "problems": self.problems,
        }


_NO_DETAILS = orjson.dumps({"scopedClauses": [], "problems": []})


def encode_details(
    permissions: EffectivePermissions, problems: Sequence[str], encode: Callable[[int], str] | None = None
) -> bytes:
    """The stored `details` blob: JSON {"scopedClauses": [...], "problems": [...]} as UTF-8 bytes.

    Not compressed: the clause bitsets in it are already trimmed, and a blob is a few hundred bytes.
    `encode` may replace `encode_actions` by a caching equivalent.
    """
    if not permissions.clauses and not problems:
        return _NO_DETAILS
    clauses = [clause.to_dict(encode) for clause in permissions.clauses]
    return orjson.dumps({"scopedClauses": clauses, "problems": list(problems)})


def decode_details(blob: bytes) -> dict[str, Any]:
    """The JSON object `encode_details` wrote."""
    found: dict[str, Any] = orjson.loads(blob)
    return found


# Equal bitsets are common across identities and across the systems of one import (the same roles in every
# subscription or project): each is packed or encoded once while it keeps recurring.
_REMEMBERED_BITSETS = 4_096  # per memo: a few MiB at most (a catalogue bitset is a few KiB)


@lru_cache(maxsize=_REMEMBERED_BITSETS)
def _packed(bits: int) -> bytes:
    """`pack`, remembered."""
    return pack(bits)


@lru_cache(maxsize=_REMEMBERED_BITSETS)
def _encoded(bits: int) -> str:
    """`encode_actions`, remembered (clause bitsets repeat: about 1 distinct in 17)."""
    return encode_actions(bits)


def _row(
    permissions: EffectivePermissions, counts: PermissionCounts, problems: tuple[str, ...]
) -> dict[str, Any]:
    """The columns of one result (without the identity and catalogue version)."""
    return {
        "granted_count": counts.granted,
        "all_resources_count": counts.all_resources,
        "specific_resources_count": counts.specific_resources,
        "conditional_count": counts.conditional,
        "high_severity_count": counts.high_severity,
        "all_resources_actions": _packed(permissions.all_resources),
        "specific_resources_actions": _packed(permissions.specific_resources),
        "conditional_actions": _packed(permissions.conditional),
        "details": encode_details(permissions, problems, _encoded),
    }


def compute_effective(
    engine: Engine,
    system_id: str,
    *,
    cloud: Cloud = Cloud.AWS,
    organization: Sequence[Mapping[str, Any]] | None = None,
) -> EffectiveReport:
    """Recompute and store the effective permissions of every evaluated identity of one system, in one
    transaction of its own that is the system's only writer (a failure leaves the previous results).

    Imports and collections do not call this: they run `store_effective` inside the transaction that writes
    the inventory (`store.ingest`), so the two are never out of step.
    """
    with Session(engine) as session, session.begin():
        lock_system(session, cloud.value, system_id)
        return store_effective(session, system_id, cloud=cloud, organization=organization)


def store_effective(
    session: Session,
    system_id: str,
    *,
    cloud: Cloud = Cloud.AWS,
    organization: Sequence[Mapping[str, Any]] | None = None,
) -> EffectiveReport:
    """Recompute the effective permissions of every evaluated identity of one system from the inventory the
    session sees, and replace the stored ones in the session's transaction (the caller commits).

    `organization` (root first, in the cloud's shape: AWS's SCP levels as the conformance cases write them)
    applies the organization's policies; `[]` says none apply (AWS: no organization, or its management
    account); None derives them from the organization data collection stored for the system
    (`CloudPlugin.organization_levels`), and without such data reuses the levels the previous computation
    was given (none when there was none).
    """
    started = time.perf_counter()
    index = action_index(cloud)
    view = system_view_of(session, system_id, cloud)
    pk = view.pk
    inputs = permission_inputs(session, view, cloud)
    previous = last_run(session, pk)
    levels = organization
    if levels is None:
        levels = organization_levels(session, pk, cloud, previous.scp_levels if previous else None)
    with collector_paused():
        evaluator = evaluator_for(cloud, inputs, index, levels)
        rows, problems = _evaluate_all(evaluator, inputs, index)
        statistics = evaluator.statistics()
        report = EffectiveReport(
            system_id=system_id,
            identities=len(rows),
            seconds=0.0,
            catalog_version=index.version,
            distinct_policies=int(statistics.get("distinctPolicies", 0)),
            distinct_combinations=int(statistics.get("distinctCombinations", 0)),
            scp_levels=None if levels is None else len(levels),
            unknown_actions=dict(statistics.get("unknownActions", {})),
            problems=problems,
        )
        replace_effective_permissions(
            session,
            pk,
            rows,
            {
                "catalog_version": index.version,
                "computed_at": datetime.now(UTC),
                "seconds": time.perf_counter() - started,
                "identities": report.identities,
                "distinct_policies": report.distinct_policies,
                "distinct_combinations": report.distinct_combinations,
                "unknown_actions": report.unknown_actions,
                "problems": report.problems,
                "scp_levels": None if levels is None else [dict(level) for level in levels],
            },
        )
        record_seconds(session, pk, time.perf_counter() - started)  # the rows are written by now
    return replace(report, seconds=time.perf_counter() - started)


def organization_levels(
    session: Session, pk: int, cloud: Cloud, previous: Sequence[Mapping[str, Any]] | None
) -> list[dict[str, Any]] | None:
    """The organization policy levels above a stored system: derived from the organization data collection
    stored (the cloud's rule), else those the previous computation used, else None (unknown)."""
    row = session.get(AuthorizationSystemRow, pk)
    if row is None:
        return None
    system = AuthorizationSystem(cloud=cloud, system_id=row.system_id, name=row.name,
                                 attributes=dict(row.attributes or {}))  # fmt: skip
    found = plugin(cloud).organization_levels(system, stored_organization_policies(session, view_of_row(row)))
    if found is None and previous is not None:
        return [dict(level) for level in previous]
    return None if found is None else list(found)


def _evaluate_all(
    evaluator: PermissionEvaluator, inputs: PermissionInputs, index: ActionIndex
) -> tuple[list[dict[str, Any]], list[str]]:
    """The stored rows of every identity and the problems met."""
    rows: list[dict[str, Any]] = []
    # equal results (one object per policy combination) with equal problems are serialized once
    shared: dict[tuple[int, tuple[str, ...]], dict[str, Any]] = {}
    problems: dict[str, None] = {}  # in the order first met
    version = index.version
    for identity in inputs.identities:
        result = evaluator.evaluate(identity.external_id)
        permissions = result.permissions
        key = (id(permissions), result.problems)
        columns = shared.get(key)
        if columns is None:
            columns = shared[key] = {
                "catalog_version": version,
                **_row(permissions, permissions.counts(index), result.problems),
            }
            problems.update(dict.fromkeys(result.problems))  # a result's problems are met first with it
        rows.append({"identity_external_id": identity.external_id, **columns})
    return rows, list(problems)


def effective_counts(engine: Engine, system_id: str, cloud: Cloud = Cloud.AWS) -> dict[str, StoredCounts]:
    """The stored counts of every identity of a system, by external id (empty before a computation)."""
    with Session(engine) as session:
        return permission_counts(session, system_pk_of(session, system_id, cloud))


# -- what was stored ------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class StoredAction:
    """One granted action as stored: name, access level, severity, status."""

    action: str
    access_level: str
    severity: str
    status: str


@dataclass(frozen=True, slots=True)
class StoredPermissions:
    """One identity's stored effective permissions: counts, granted actions and the scope clauses."""

    external_id: str
    catalog_version: str
    counts: PermissionCounts
    actions: tuple[StoredAction, ...]
    scoped_clauses: tuple[dict[str, Any], ...]  # each with its actions as names instead of a bitset
    problems: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """camelCase JSON shape."""
        return {
            "externalId": self.external_id,
            "catalogVersion": self.catalog_version,
            "counts": self.counts.to_dict(),
            "actions": [
                {
                    "action": a.action,
                    "accessLevel": a.access_level,
                    "severity": a.severity,
                    "status": a.status,
                }
                for a in self.actions
            ],
            "scopedClauses": list(self.scoped_clauses),
            "problems": list(self.problems),
        }


def stored_permissions(
    engine: Engine, system_id: str, external_id: str, cloud: Cloud = Cloud.AWS
) -> StoredPermissions:
    """What the last `compute_effective` stored for one identity, decoded with the installed catalogue.

    Raises NotFoundError when nothing is stored for it, ConfigurationError when the stored bitsets refer
    to another catalogue version than the installed one (recompute the account).
    """
    index = action_index(cloud)
    source = plugin(cloud)
    where = f"{source.label} {source.system_noun} {system_id!r}"
    with Session(engine) as session:
        row = find_effective_permissions(session, system_pk_of(session, system_id, cloud), external_id)
        if row is None:
            raise NotFoundError(f"no effective permissions stored for {external_id!r} in {where}")
        if row.catalog_version != index.version:
            raise ConfigurationError(
                f"the effective permissions of {where} were computed with action catalogue "
                f"{row.catalog_version}, the installed one is {index.version}: recompute them by importing or "
                f"collecting the {source.system_noun} again (`permscope import {cloud.value} ...` or "
                f"`permscope collect {cloud.value} ...`)"
            )
        bitsets = (
            (GrantStatus.ALL_RESOURCES, unpack(row.all_resources_actions)),
            (GrantStatus.SPECIFIC_RESOURCES, unpack(row.specific_resources_actions)),
            (GrantStatus.CONDITIONAL, unpack(row.conditional_actions)),
        )
        counts = PermissionCounts(
            granted=row.granted_count,
            all_resources=row.all_resources_count,
            specific_resources=row.specific_resources_count,
            conditional=row.conditional_count,
            high_severity=row.high_severity_count,
        )
        details = decode_details(row.details)
        clauses = tuple(
            {**clause, "actions": index.names(ScopedClause.actions_of(clause))}
            for clause in details["scopedClauses"]
        )
        problems = tuple(details["problems"])
    actions = []
    for status, bits in bitsets:
        for position in indexes_of(bits):
            action = index.action(position)
            actions.append(
                StoredAction(action.external_id, action.access_level, action.severity, status.value)
            )
    actions.sort(key=lambda a: a.action.lower())
    return StoredPermissions(external_id, index.version, counts, tuple(actions), clauses, problems)


def stored_result(row: StoredEffective) -> PrincipalResult:
    """One identity's stored effective permissions as the evaluator returned them (the bitsets, the clauses
    that shape them, the problems)."""
    details = decode_details(row.details)
    return PrincipalResult(
        EffectivePermissions(
            unpack(row.all_resources),
            unpack(row.specific_resources),
            unpack(row.conditional),
            tuple(ScopedClause.from_dict(entry) for entry in details["scopedClauses"]),
        ),
        tuple(details["problems"]),
    )


def stored_results(rows: Sequence[StoredEffective], index: ActionIndex) -> dict[str, PrincipalResult] | None:
    """Every stored result by identity, None when any was computed with another catalogue version than
    `index` (the stored bitsets would then name other actions: the caller recomputes)."""
    if any(row.catalog_version != index.version for row in rows):
        return None
    shared: dict[tuple[bytes, bytes, bytes, bytes], PrincipalResult] = {}  # equal rows decode to one object
    found: dict[str, PrincipalResult] = {}
    for row in rows:
        key = (row.all_resources, row.specific_resources, row.conditional, row.details)
        result = shared.get(key)
        if result is None:
            result = shared[key] = stored_result(row)
        found[row.external_id] = result
    return found
