"""Effective permissions of an AWS account's identities: compute and store them, explain one identity.

`compute_effective` recomputes every user, group and role of one account from the stored inventory and
replaces the stored results in one transaction (a failure keeps the previous ones); `import_aws_files`
calls it after each account it imports. `identity_permissions` explains one identity action by action;
`stored_permissions` lists what was stored for one identity without recomputing.
The rules (statuses, partial denies, SCPs) are documented in `permscope.clouds.aws.effective.compute`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from permscope.clouds.aws.catalog.index import ActionIndex, indexes_of, installed_action_index, pack, unpack
from permscope.clouds.aws.effective.compute import (
    AccountEvaluator,
    AccountInventory,
    ActionVerdict,
    EffectivePermissions,
    GrantStatus,
    PermissionCounts,
    PolicyRecord,
    PrincipalRecord,
    Reason,
    ScopedClause,
    ScpLevel,
    encode_actions,
)
from permscope.clouds.aws.effective.scp_levels import parse_scp_levels
from permscope.core.errors import ConfigurationError, NotFoundError
from permscope.core.gc_pause import collector_paused
from permscope.core.ids import Cloud
from permscope.core.inventory import IdentityKind
from permscope.store.effective import (
    PermissionInputs,
    StoredCounts,
    find_effective_permissions,
    last_run,
    load_permission_inputs,
    permission_counts,
    record_seconds,
    replace_effective_permissions,
    stored_scp_levels,
)
from permscope.store.systems import system_pk

PRINCIPAL_KINDS = (IdentityKind.USER.value, IdentityKind.GROUP.value, IdentityKind.ROLE.value)


action_index = installed_action_index  # the bitset view of the installed AWS catalogue, built once


def _system_pk(session: Session, system_id: str) -> int:
    """The AWS account's primary key (NotFoundError when unknown)."""
    return system_pk(session, system_id, Cloud.AWS.value)


def _inventory(inputs: PermissionInputs) -> AccountInventory:
    return AccountInventory(
        principals=[
            PrincipalRecord(
                external_id=identity.external_id,
                kind=identity.kind,
                service_linked=identity.kind == IdentityKind.ROLE.value and identity.managed_by_cloud,
            )
            for identity in inputs.identities
        ],
        policies={
            policy_id: PolicyRecord(policy_id, name, document)
            for policy_id, (name, document) in inputs.policies.items()
        },
        assignments=inputs.assignments,
        groups_of=inputs.groups_of,
    )


scp_levels_from = parse_scp_levels  # the conformance-case shape, read by `clouds.aws.effective.scp_levels`


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


class _RowEncoder:
    """Stored columns of results; equal bitsets (common across identities) are packed once."""

    def __init__(self) -> None:
        self._bitsets: dict[int, bytes] = {}
        self._texts: dict[int, str] = {}  # clause bitsets repeat across identities (about 1 distinct in 17)

    def _text(self, bits: int) -> str:
        found = self._texts.get(bits)
        if found is None:
            found = self._texts[bits] = encode_actions(bits)
        return found

    def _pack(self, bits: int) -> bytes:
        found = self._bitsets.get(bits)
        if found is None:
            found = self._bitsets[bits] = pack(bits)
        return found

    def row(
        self, permissions: EffectivePermissions, counts: PermissionCounts, problems: tuple[str, ...]
    ) -> dict[str, Any]:
        """The columns of one result (without the identity and catalogue version)."""
        return {
            "granted_count": counts.granted,
            "all_resources_count": counts.all_resources,
            "specific_resources_count": counts.specific_resources,
            "conditional_count": counts.conditional,
            "high_severity_count": counts.high_severity,
            "all_resources_actions": self._pack(permissions.all_resources),
            "specific_resources_actions": self._pack(permissions.specific_resources),
            "conditional_actions": self._pack(permissions.conditional),
            "details": encode_details(permissions, problems, self._text),
        }


def compute_effective(
    engine: Engine, system_id: str, *, scp_levels: Sequence[Mapping[str, Any]] | None = None
) -> EffectiveReport:
    """Recompute and store the effective permissions of every user, group and role of one AWS account.

    `scp_levels` (root first, the conformance-case shape) applies the organization's SCPs; `[]` says the
    account is in no organization or is its management account (SCPs do not apply); None reads them from
    the organization data collection stored for the account (`store.effective.stored_scp_levels`), and
    without such data reuses the levels the previous computation was given (none when there was none). Reads in one session,
    computes in memory, writes in one transaction: a failure leaves the previous results.
    """
    started = time.perf_counter()
    index = action_index()
    with Session(engine) as session:
        pk = _system_pk(session, system_id)
        inputs = load_permission_inputs(session, pk, PRINCIPAL_KINDS)
        previous = last_run(session, pk)
        collected = stored_scp_levels(session, pk) if scp_levels is None else None
    raw_levels: Sequence[Mapping[str, Any]] | None = scp_levels
    if raw_levels is None:
        raw_levels = collected
    if raw_levels is None and previous is not None:
        raw_levels = previous.scp_levels
    levels = scp_levels_from(raw_levels)
    with collector_paused():
        rows, evaluator, problems = _evaluate_all(inputs, index, levels)
        report = EffectiveReport(
            system_id=system_id,
            identities=len(rows),
            seconds=0.0,
            catalog_version=index.version,
            distinct_policies=len(evaluator.compiler),
            distinct_combinations=evaluator.distinct_combinations,
            scp_levels=None if levels is None else len(levels),
            unknown_actions=evaluator.unknown_actions(),
            problems=problems,
        )
        with Session(engine) as session, session.begin():
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
                    "scp_levels": None if levels is None else [level.to_dict() for level in levels],
                },
            )
            record_seconds(session, pk, time.perf_counter() - started)  # the rows are written by now
    return replace(report, seconds=time.perf_counter() - started)


def _evaluate_all(
    inputs: PermissionInputs, index: ActionIndex, levels: Sequence[ScpLevel] | None
) -> tuple[list[dict[str, Any]], AccountEvaluator, list[str]]:
    """The stored rows of every identity, the evaluator (for its statistics) and the problems met."""
    evaluator = AccountEvaluator(_inventory(inputs), index, levels or ())
    rows: list[dict[str, Any]] = []
    # equal results (one object per policy combination) with equal problems are serialized once
    shared: dict[tuple[int, tuple[str, ...]], dict[str, Any]] = {}
    encoder = _RowEncoder()
    problems: dict[str, None] = {}
    for identity in inputs.identities:
        result = evaluator.evaluate(identity.external_id)
        permissions = result.permissions
        key = (id(permissions), result.problems)
        columns = shared.get(key)
        if columns is None:
            columns = encoder.row(permissions, permissions.counts(index), result.problems)
            shared[key] = columns
        problems.update(dict.fromkeys(result.problems))
        rows.append(
            {"identity_external_id": identity.external_id, "catalog_version": index.version, **columns}
        )
    return rows, evaluator, list(problems)


def effective_counts(engine: Engine, system_id: str) -> dict[str, StoredCounts]:
    """The stored counts of every identity of an AWS account, by external id (empty before a computation)."""
    with Session(engine) as session:
        return permission_counts(session, _system_pk(session, system_id))


# -- one identity --------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ActionPermission:
    """One action for one identity: how it is granted (or why not), where, under which conditions."""

    action: str
    access_level: str
    severity: str
    status: str  # allResources, specificResources, conditional, notGranted
    resources: tuple[str, ...]  # where the identity policies allow it ("*" for every resource)
    not_resources: tuple[str, ...]  # allowed everywhere except these (NotResource)
    condition_keys: tuple[str, ...]
    reasons: tuple[Reason, ...]

    def to_dict(self) -> dict[str, Any]:
        """camelCase JSON shape."""
        found: dict[str, Any] = {
            "action": self.action,
            "accessLevel": self.access_level,
            "severity": self.severity,
            "status": self.status,
            "resources": list(self.resources),
        }
        if self.not_resources:
            found["notResources"] = list(self.not_resources)
        found["conditionKeys"] = list(self.condition_keys)
        found["reasons"] = [reason.to_dict() for reason in self.reasons]
        return found


@dataclass(frozen=True, slots=True)
class ServicePermissions:
    """The actions of one service that an identity's policies allow, with its granted counts."""

    service: str
    granted: int
    high_severity: int
    actions: tuple[ActionPermission, ...]

    def to_dict(self, *, actions: bool = True) -> dict[str, Any]:
        """camelCase JSON shape; without `actions`, only the service's counts."""
        found: dict[str, Any] = {
            "service": self.service,
            "granted": self.granted,
            "highSeverity": self.high_severity,
            "notGranted": len(self.actions) - self.granted,
        }
        if actions:
            found["actions"] = [action.to_dict() for action in self.actions]
        return found


@dataclass(frozen=True, slots=True)
class IdentityPermissions:
    """One identity's effective permissions by service, each action with its reasons (the `show` view)."""

    system_id: str
    external_id: str
    display_name: str
    kind: str
    catalog_version: str
    organization_known: bool
    counts: PermissionCounts
    not_granted: int  # actions an identity policy allows that a Deny, the boundary or an SCP removed
    services: tuple[ServicePermissions, ...]
    unknown_actions: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()

    def to_dict(self, *, actions: bool = True) -> dict[str, Any]:
        """camelCase JSON shape; without `actions`, each service carries only its counts (an identity with
        AdministratorAccess has some 22,000 actions, each with its reasons)."""
        return {
            "systemId": self.system_id,
            "externalId": self.external_id,
            "displayName": self.display_name,
            "kind": self.kind,
            "catalogVersion": self.catalog_version,
            "organizationKnown": self.organization_known,
            "counts": self.counts.to_dict(),
            "notGranted": self.not_granted,
            "services": [service.to_dict(actions=actions) for service in self.services],
            "unknownActions": list(self.unknown_actions),
            "problems": list(self.problems),
        }


def _action_permission(index: ActionIndex, verdict: ActionVerdict) -> ActionPermission:
    action = index.action(verdict.action_index)
    allows = [r for r in verdict.reasons if r.role == "allows"]
    status = verdict.status
    if status is GrantStatus.SPECIFIC_RESOURCES:
        allows = [r for r in allows if not r.condition_keys]
    resources: dict[str, None] = {}
    not_resources: dict[str, None] = {}
    if status is not GrantStatus.NOT_GRANTED:
        for reason in allows:
            if reason.not_resources is not None:
                not_resources.update(dict.fromkeys(reason.not_resources))
            else:
                resources.update(dict.fromkeys(reason.resources or ("*",)))
    if "*" in resources or status is GrantStatus.ALL_RESOURCES:
        resources, not_resources = {"*": None}, {}
    if status is GrantStatus.SPECIFIC_RESOURCES and "*" in resources:
        # granted on `*` by the identity policies, narrowed by a boundary or SCP: show the narrowing
        limits = [r for r in verdict.reasons if r.role == "limits" and not r.condition_keys]
        if limits:
            resources = {}
            for reason in limits:
                if reason.not_resources is not None:
                    not_resources.update(dict.fromkeys(reason.not_resources))
                else:
                    resources.update(dict.fromkeys(reason.resources or ("*",)))
    keys: dict[str, None] = {}
    if status is not GrantStatus.ALL_RESOURCES:
        for reason in verdict.reasons:
            keys.update(dict.fromkeys(reason.condition_keys))
    return ActionPermission(
        action=action.external_id,
        access_level=action.access_level,
        severity=action.severity,
        status=status.value,
        resources=tuple(resources),
        not_resources=tuple(not_resources),
        condition_keys=tuple(keys),
        reasons=verdict.reasons,
    )


def identity_permissions(
    engine: Engine, system_id: str, external_id: str, *, services: Sequence[str] | None = None
) -> IdentityPermissions:
    """Explain one user, group or role of an AWS account from the stored inventory, action by action.

    Every action an identity policy allows is listed (granted or not in the end), grouped by service, with
    the statements that allow, limit or deny it and the layers (boundary, SCP levels) that do not allow
    it. The SCP levels are those of the account's last `compute_effective`. `services` keeps only those
    service prefixes. Raises NotFoundError for an unknown account or identity.
    """
    index = action_index()
    with Session(engine) as session:
        pk = _system_pk(session, system_id)
        inputs = load_permission_inputs(session, pk, PRINCIPAL_KINDS, [external_id])
        previous = last_run(session, pk)
    if not inputs.identities:
        raise NotFoundError(f"no user, group or role {external_id!r} in AWS account {system_id!r}")
    identity = inputs.identities[0]
    levels = scp_levels_from(previous.scp_levels if previous is not None else None)
    evaluator = AccountEvaluator(_inventory(inputs), index, levels or ())
    result = evaluator.evaluate(external_id)
    verdicts = evaluator.explain(external_id)
    wanted = {service.lower() for service in services} if services is not None else None
    by_service: dict[str, list[ActionPermission]] = {}
    not_granted = 0
    for verdict in verdicts:
        if verdict.status is GrantStatus.NOT_GRANTED:
            not_granted += 1
        service = index.action(verdict.action_index).service
        if wanted is None or service.lower() in wanted:
            by_service.setdefault(service, []).append(_action_permission(index, verdict))
    grouped = tuple(
        ServicePermissions(
            service=service,
            granted=sum(1 for a in actions if a.status != GrantStatus.NOT_GRANTED.value),
            high_severity=sum(
                1 for a in actions if a.status != GrantStatus.NOT_GRANTED.value and a.severity == "high"
            ),
            actions=tuple(actions),
        )
        for service, actions in sorted(by_service.items())
    )
    principal = evaluator.principal(external_id)
    return IdentityPermissions(
        system_id=system_id,
        external_id=external_id,
        display_name=identity.display_name,
        kind=identity.kind,
        catalog_version=index.version,
        organization_known=levels is not None,
        counts=result.permissions.counts(index),
        not_granted=not_granted,
        services=grouped,
        unknown_actions=tuple(principal.unknown_actions()),
        problems=result.problems,
    )


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


def stored_permissions(engine: Engine, system_id: str, external_id: str) -> StoredPermissions:
    """What the last `compute_effective` stored for one identity, decoded with the installed catalogue.

    Raises NotFoundError when nothing is stored for it, ConfigurationError when the stored bitsets refer
    to another catalogue version than the installed one (recompute the account).
    """
    index = action_index()
    with Session(engine) as session:
        row = find_effective_permissions(session, _system_pk(session, system_id), external_id)
        if row is None:
            raise NotFoundError(
                f"no effective permissions stored for {external_id!r} in AWS account {system_id!r}"
            )
        if row.catalog_version != index.version:
            raise ConfigurationError(
                f"the effective permissions of AWS account {system_id!r} were computed with action catalogue "
                f"{row.catalog_version}, the installed one is {index.version}: recompute them by importing or "
                "collecting the account again (`permscope import aws ...` or `permscope collect aws ...`)"
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
