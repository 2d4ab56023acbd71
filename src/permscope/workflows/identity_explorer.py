"""Everything the identity explorer shows about one identity of any cloud: its effective permissions explained
(`explanation.identity_permissions`), what it used in the usage window (`usage.usage_of`), its stored findings
(PCI, evidence, escalation paths), and the identities it may act as (`identities.acts_as`); and one request
of it decided with the engine's explanation (`who_can.decide_stored`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from permscope.clouds.base import plugin
from permscope.core.access import Systems
from permscope.core.access_decisions import AccessDecision
from permscope.core.errors import ConfigurationError, InputError, NotFoundError
from permscope.core.ids import Cloud
from permscope.core.inventory import IdentityKind
from permscope.store import queries
from permscope.store.findings import identities_by_ids
from permscope.store.homes import view_of_row
from permscope.store.identity_search import identity_count, identity_findings
from permscope.store.systems import find_system
from permscope.store.tables import AuthorizationSystemRow, FindingRow, IdentityRow
from permscope.workflows.effective import action_index
from permscope.workflows.explanation import IdentityPermissions, identity_permissions
from permscope.workflows.identities import acts_as
from permscope.workflows.usage import UsageView, usage_of
from permscope.workflows.who_can import decide_stored

ESCALATION_DETAILS = "privilegeEscalationDetails"  # a finding's escalation paths (`escalation_detail`)
ACTING_INLINE_MAX = 2000  # identities of a system up to which "acts as" is worked out with the page
ALL_KINDS = tuple(kind.value for kind in IdentityKind)


@dataclass(frozen=True, slots=True)
class ActionUse:
    """One action an identity used in the usage window, with its catalogue service (None: not catalogued)."""

    action: str
    service: str | None
    last_seen: datetime
    count: int


@dataclass(frozen=True, slots=True)
class IdentityFacts:
    """What the store and the engines say about one identity.

    `permissions` is None when its kind is not evaluated (an access key, a function) or no catalogue is
    loaded, `permissions_note` then says why; `acting` is None when the kind acts as no one (a group), or
    when it was not worked out (`acting_deferred`: the engine decides it over the whole system's inventory,
    which takes seconds in a large system, so a page asks for it on demand)."""

    cloud: Cloud
    system: AuthorizationSystemRow
    identity: IdentityRow
    permissions: IdentityPermissions | None
    permissions_note: str | None
    usage: UsageView
    used: tuple[ActionUse, ...]  # in the window, most used first
    window_days: int
    as_of: datetime
    findings: tuple[FindingRow, ...]
    acting: tuple[str, ...] | None
    acting_deferred: bool
    names: dict[str, str]  # display names of the identities the findings' steps and `acting` name


def visible_identity(
    engine: Engine, cloud: Cloud, system_id: str, external_id: str, within: Systems
) -> tuple[AuthorizationSystemRow, IdentityRow]:
    """The system (within the reader's view) and one identity of it; NotFoundError otherwise, the same for a
    hidden system as for a missing one."""
    with Session(engine) as session:
        system = find_system(session, system_id, cloud.value, within)
        identity = (
            queries.find_identity(session, view_of_row(system), ALL_KINDS, external_id)
            if system is not None
            else None
        )
    if system is None or identity is None:
        raise NotFoundError(f"no identity {external_id!r} in {cloud.label} system {system_id!r}")
    return system, identity


def _used(usage: UsageView, cloud: Cloud) -> tuple[ActionUse, ...]:
    """The actions used in the window, one entry each (resources added together), with their services."""
    try:
        index = action_index(cloud)
    except ConfigurationError:
        index = None
    merged: dict[str, list[Any]] = {}
    for row in usage.rows:
        if row.last_seen < usage.window_start:
            continue
        entry = merged.setdefault(row.action, [row.last_seen, 0])
        entry[0] = max(entry[0], row.last_seen)
        entry[1] += row.count
    found = []
    for action, (last_seen, count) in merged.items():
        position = index.index_of(action) if index is not None else None
        known = index.action(position) if index is not None and position is not None else None
        found.append(
            ActionUse(
                action=known.external_id if known is not None else action,
                service=known.service if known is not None else None,
                last_seen=last_seen,
                count=count,
            )
        )
    return tuple(sorted(found, key=lambda use: (-use.count, use.action)))


def step_principals(findings: Iterable[FindingRow]) -> set[str]:
    """The principals the escalation steps of some findings name (`privilegeEscalationDetails`)."""
    found: set[str] = set()
    for row in findings:
        for path in (row.properties or {}).get(ESCALATION_DETAILS) or ():
            for step in [*(path.get("steps") or ()), *(path.get("reach") or ())]:
                found.update(str(step[key]) for key in ("source", "target") if step.get(key))
    return found


def identity_facts(
    engine: Engine,
    cloud: Cloud,
    system_id: str,
    external_id: str,
    *,
    within: Systems,
    window_days: int = 90,
    as_of: datetime | None = None,
    services: tuple[str, ...] | None = None,
    with_acting: bool | None = None,
) -> IdentityFacts:
    """Everything about one identity (see `IdentityFacts`); `services` keeps only those services' actions in
    the explanation; `with_acting` works out what it may act as (None: when the system holds at most
    ACTING_INLINE_MAX identities). NotFoundError for a system outside `within`, or an unknown one or identity."""
    system, identity = visible_identity(engine, cloud, system_id, external_id, within)
    moment = as_of or datetime.now(UTC)
    permissions: IdentityPermissions | None = None
    note: str | None = None
    try:
        permissions = identity_permissions(
            engine, system.system_id, external_id, services=services, cloud=cloud
        )
    except (NotFoundError, ConfigurationError) as exc:
        note = str(exc)
    usage = usage_of(
        engine, external_id, system_id=system.system_id, window_days=window_days, as_of=moment, cloud=cloud
    )
    acting: tuple[str, ...] | None = None
    scope = plugin(cloud).permission_scope.identity_kinds
    may_act = identity.kind in scope and identity.kind != IdentityKind.GROUP.value
    if with_acting is None:
        with Session(engine) as session:
            with_acting = identity_count(session, system.id) <= ACTING_INLINE_MAX
    if may_act and with_acting:
        acting = tuple(acts_as(engine, system.system_id, external_id, cloud))
    with Session(engine) as session:
        findings = tuple(identity_findings(session, system.id, external_id))
        named = identities_by_ids(session, view_of_row(system), {*step_principals(findings), *(acting or ())})
    return IdentityFacts(
        cloud=cloud,
        system=system,
        identity=identity,
        permissions=permissions,
        permissions_note=note,
        usage=usage,
        used=_used(usage, cloud),
        window_days=window_days,
        as_of=moment,
        findings=findings,
        acting=acting,
        acting_deferred=may_act and not with_acting,
        names={key: row.display_name for key, row in named.items()},
    )


def why(
    engine: Engine,
    cloud: Cloud,
    system_id: str,
    external_id: str,
    action: str,
    resource: str,
    *,
    within: Systems,
    context: Mapping[str, Any] | None = None,
) -> AccessDecision:
    """May this identity do `action` on `resource`? The engine's decision with its explanation.

    NotFoundError for a system outside `within` or an unknown identity; InputError (its `source` names the
    field: action, resource) for a missing action or resource, an action the catalogue lacks or a resource
    that is no resource id (the engine's own messages)."""
    system, _identity = visible_identity(engine, cloud, system_id, external_id, within)
    if not action.strip():
        raise InputError("action", "name an action")
    if not resource.strip():
        raise InputError("resource", "name a resource")
    return decide_stored(
        engine,
        external_id,
        action.strip(),
        resource.strip(),
        system_id=system.system_id,
        context=context,
        cloud=cloud,
    )
