"""One identity's effective permissions explained action by action, by service (`permscope identities show`,
the API's `effectivePermissions`), from the stored inventory and the cloud's evaluator."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from permscope.clouds.base import plugin
from permscope.core.catalog import ActionIndex
from permscope.core.errors import NotFoundError
from permscope.core.gc_pause import collector_paused
from permscope.core.ids import Cloud
from permscope.core.permissions import ActionVerdict, GrantStatus, PermissionCounts, Reason
from permscope.store.effective import last_run
from permscope.workflows.effective import action_index, evaluator_for, permission_inputs, system_view_of


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


Where = tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]  # resources, not resources, condition keys


def _where(status: GrantStatus, reasons: tuple[Reason, ...]) -> Where:
    """Where an action with these reasons and status is allowed (resources, NotResource) and its condition keys."""
    allows = [r for r in reasons if r.role == "allows"]
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
        limits = [r for r in reasons if r.role == "limits" and not r.condition_keys]
        if limits:
            resources = {}
            for reason in limits:
                if reason.not_resources is not None:
                    not_resources.update(dict.fromkeys(reason.not_resources))
                else:
                    resources.update(dict.fromkeys(reason.resources or ("*",)))
    keys: dict[str, None] = {}
    if status is not GrantStatus.ALL_RESOURCES:
        for reason in reasons:
            keys.update(dict.fromkeys(reason.condition_keys))
    return tuple(resources), tuple(not_resources), tuple(keys)


def _action_permission(
    index: ActionIndex, verdict: ActionVerdict, seen: dict[tuple[object, ...], Where]
) -> ActionPermission:
    """One action's explanation; `seen` keeps `_where` of each status and reasons (thousands of actions share
    the reasons of the few bindings or policies that grant them)."""
    action = index.action(verdict.action_index)
    status = verdict.status
    key = (status, *map(id, verdict.reasons))  # the reasons are shared objects, alive through the call
    where = seen.get(key)
    if where is None:
        where = seen[key] = _where(status, verdict.reasons)
    resources, not_resources, keys = where
    return ActionPermission(
        action=action.external_id,
        access_level=action.access_level,
        severity=action.severity,
        status=status.value,
        resources=resources,
        not_resources=not_resources,
        condition_keys=keys,
        reasons=verdict.reasons,
    )


def identity_permissions(
    engine: Engine,
    system_id: str,
    external_id: str,
    *,
    services: Sequence[str] | None = None,
    cloud: Cloud = Cloud.AWS,
) -> IdentityPermissions:
    """Explain one evaluated identity (AWS: user, group or role) from the stored inventory, action by action.

    Every action an identity policy allows is listed (granted or not in the end), grouped by service, with
    the statements that allow, limit or deny it and the layers (boundary, SCP levels) that do not allow
    it. The organization levels are those of the system's last `compute_effective`. `services` keeps only
    those service prefixes. Raises NotFoundError for an unknown system or identity.
    """
    with collector_paused():  # thousands of small acyclic objects: a full collection would cost 100 ms
        return _explained(engine, system_id, external_id, services, cloud)


def _explained(
    engine: Engine, system_id: str, external_id: str, services: Sequence[str] | None, cloud: Cloud
) -> IdentityPermissions:
    """`identity_permissions`, the collector paused by the caller."""
    index = action_index(cloud)
    source = plugin(cloud)
    with Session(engine) as session:
        view = system_view_of(session, system_id, cloud)
        inputs = permission_inputs(session, view, cloud, [external_id])
        previous = last_run(session, view.pk)
    if not inputs.identities:
        kinds = ", ".join(source.permission_scope.identity_kinds)
        raise NotFoundError(
            f"no identity ({kinds}) {external_id!r} in {source.label} {source.system_noun} {system_id!r}"
        )
    identity = inputs.identities[0]
    levels = previous.scp_levels if previous is not None else None
    evaluator = evaluator_for(cloud, inputs, index, levels)
    result = evaluator.evaluate(external_id)
    verdicts = evaluator.explain(external_id)
    wanted = {service.lower() for service in services} if services is not None else None
    by_service: dict[str, list[ActionPermission]] = {}
    counted: dict[str, list[int]] = {}  # service -> [granted, high severity]
    not_granted = 0
    refused = GrantStatus.NOT_GRANTED
    seen: dict[tuple[object, ...], Where] = {}
    for verdict in verdicts:
        granted = verdict.status is not refused
        not_granted += not granted
        service = index.action(verdict.action_index).service
        if wanted is None or service.lower() in wanted:
            found = _action_permission(index, verdict, seen)
            by_service.setdefault(service, []).append(found)
            tally = counted.setdefault(service, [0, 0])
            tally[0] += granted
            tally[1] += granted and found.severity == "high"
    grouped = tuple(
        ServicePermissions(
            service=service,
            granted=counted[service][0],
            high_severity=counted[service][1],
            actions=tuple(actions),
        )
        for service, actions in sorted(by_service.items())
    )
    unknown = dict.fromkeys(
        pattern
        for patterns in evaluator.statistics().get("unknownActions", {}).values()
        for pattern in patterns
    )
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
        unknown_actions=tuple(unknown),
        problems=result.problems,
    )
