"""Use case: who can do an action on a resource, and how a stored principal's request is decided, from the store.

Both read one system's stored inventory (identities, groups, policies, boundaries, organization policies, the
resources and their policies, the stored effective permissions) and ask its cloud's engine
(`CloudPlugin.who_can`, `CloudPlugin.decide_stored`): each answer comes with the engine's explanation, the
policy types and statements that decided it. The principals asked are those of one system: the one named, else
the one the resource's id names (an ARN's account), else the only system of the cloud in the store.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from permscope.clouds.base import plugin
from permscope.core.access_decisions import AccessDecision
from permscope.core.errors import NotFoundError
from permscope.core.gc_pause import collector_paused
from permscope.core.ids import Cloud
from permscope.core.snapshot import AnalysisSettings, SnapshotSlice, SystemSnapshot
from permscope.store.snapshot import load_account
from permscope.store.systems import system_pk
from permscope.store.tables import AuthorizationSystemRow
from permscope.workflows.snapshots import stored_snapshot


@dataclass(frozen=True, slots=True)
class WhoCan:
    """The answer to "who can do `action` on `resource` in `system_id`": every principal allowed, and why."""

    cloud: str
    system_id: str
    action: str
    resource: str
    principals: list[AccessDecision]


def system_for(engine: Engine, named: str | None, resource: str, cloud: Cloud = Cloud.AWS) -> str:
    """The system whose principals are asked: `named`, else the one the resource names, else the only one of
    the cloud in the store (NotFoundError saying how to name one otherwise)."""
    if named:
        return named
    found = plugin(cloud).system_of(resource)
    if found:
        return found
    with Session(engine) as session:
        stored = list(
            session.scalars(
                select(AuthorizationSystemRow.system_id).where(AuthorizationSystemRow.cloud == cloud.value)
            )
        )
    if len(stored) == 1:
        return stored[0]
    noun = plugin(cloud).system_noun
    raise NotFoundError(
        f"{resource!r} names no {noun} and the store holds {len(stored)} {cloud.label} {noun}s: name the {noun} "
        "whose principals to ask (--system in the CLI)"
    )


def _snapshot(
    engine: Engine, system_id: str, cloud: Cloud, only: SnapshotSlice | None = None
) -> SystemSnapshot:
    """The stored system as the engine needs it: inventory, resources, effective permissions (no usage); `only`
    the part one decision reads."""
    now = datetime.now(UTC)
    with Session(engine) as session, collector_paused():
        pk = system_pk(session, system_id, cloud.value)
        stored = load_account(session, pk, usage_since=now, only=only)  # no usage is that recent
    return stored_snapshot(stored, AnalysisSettings(now=now))


def who_can(
    engine: Engine,
    action: str,
    resource: str,
    *,
    system_id: str | None = None,
    context: Mapping[str, Any] | None = None,
    cloud: Cloud = Cloud.AWS,
) -> WhoCan:
    """Every principal of the system allowed `action` on `resource`, each with the engine's explanation.

    NotFoundError for an unknown system; InputError for an action the catalogue lacks or a resource that is no
    resource id."""
    chosen = system_for(engine, system_id, resource, cloud)
    snapshot = _snapshot(engine, chosen, cloud)
    found = plugin(cloud).who_can(snapshot, action, resource, dict(context or {}))
    canonical = found[0].action if found else action
    return WhoCan(cloud.value, snapshot.system_id, canonical, resource, found)


def decide_stored(
    engine: Engine,
    principal: str,
    action: str,
    resource: str,
    *,
    system_id: str | None = None,
    context: Mapping[str, Any] | None = None,
    cloud: Cloud = Cloud.AWS,
) -> AccessDecision:
    """One stored principal's request decided with its stored policies (`permscope simulate aws --principal`).

    Only what the decision reads is loaded (`CloudPlugin.decision_slice`): the same decision as the whole
    system gives. The system is `system_id`, else the one the principal's id names. NotFoundError for an unknown system or
    principal; InputError for an unknown action or a resource that is no resource id."""
    chosen = system_id or plugin(cloud).system_of(principal)
    if not chosen:
        noun = plugin(cloud).system_noun
        raise NotFoundError(f"{principal!r} names no {noun}: name the {noun} (--system in the CLI)")
    source = plugin(cloud)
    with collector_paused():  # through the decision too (a full collection costs 100 ms in a large process)
        snapshot = _snapshot(engine, chosen, cloud, source.decision_slice(principal, resource))
        return source.decide_stored(snapshot, principal, action, resource, dict(context or {}))
