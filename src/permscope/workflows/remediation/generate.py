"""Use case: least-privilege permissions for one stored identity, generated from its activity in a window and
checked by the cloud's own engine (docs/remediation.md).

The store gives the identity's usage in the window, how much of the window the system's activity logs cover,
the identity with what grants it today (the cloud's `decision_slice`) and its stored effective permissions (the
actions it holds). Generation is refused, with the reason, when the logs cover less of the window than the
minimum observation window or the identity did nothing in it; otherwise the cloud's generator
(`CloudPlugin.least_privilege`) writes the documents and decides every observation against them alone.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from permscope.clouds.base import plugin
from permscope.core.bitsets import unpack
from permscope.core.catalog import ActionIndex
from permscope.core.errors import CloudNotBuiltError, InputError, NotFoundError
from permscope.core.gc_pause import collector_paused
from permscope.core.ids import Cloud
from permscope.core.inventory import Usage
from permscope.core.least_privilege import Coverage, GeneratedAccess, GenerationOptions
from permscope.core.snapshot import AnalysisSettings, SystemSnapshot
from permscope.settings import get_settings
from permscope.store.effective import find_effective_permissions, permission_counts
from permscope.store.observation import activity_coverage, has_usage, identity_usages
from permscope.store.snapshot import load_account
from permscope.store.systems import get_system
from permscope.workflows.snapshots import stored_snapshot

MAX_WINDOW_DAYS = 3_650


def _day(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment is not None else "-"


def _refusal(cloud: Cloud, system_id: str, identity: str, coverage: Coverage, start: datetime, end: datetime,
             minimum: int, usages: list[Usage]) -> str | None:  # fmt: skip
    """Why nothing can be generated from this activity, or None when it can."""
    noun = cloud.system_kind
    window = f"{_day(start)} to {_day(end)} UTC"
    if coverage.start is None:
        return (
            f"no activity is recorded in {noun} {system_id} from {window}: import its activity logs "
            f"(permscope import {cloud.value}-activity) before generating permissions from them"
        )
    if coverage.days < minimum:
        return (
            f"the activity logs of {noun} {system_id} cover {coverage.days:.1f} days of the window "
            f"({_day(coverage.start)} to {_day(coverage.end)} UTC, {coverage.active_days} day(s) with activity); "
            f"at least {minimum} are needed to tell what {identity} needs (the minimum observation window, "
            "--min-observation-days)"
        )
    if not usages:
        return (
            f"{identity} used no permission from {window} although the logs cover {coverage.days:.1f} days: "
            "there is nothing to generate from (remove its access instead)"
        )
    return None


def _not_held(snapshot: SystemSnapshot, held: tuple[str, int] | None, usages: list[Usage]) -> tuple[str, ...]:
    """The catalogue actions of `usages` the stored effective permissions (catalogue version, granted bits) do
    not grant (none when they were not computed for the installed catalogue)."""
    index = snapshot.index
    if held is None or held[0] != index.version:
        return ()
    granted = held[1]
    found: dict[str, None] = {}
    for usage in usages:
        bit = index.index_of(usage.action)
        if bit is not None and not (granted >> bit) & 1:
            found[index.action(bit).external_id] = None
    return tuple(sorted(found))


def _held_action(index: ActionIndex, action: str, left_out: set[str]) -> bool:
    """Whether a usage row's action is not one of `left_out` (catalogue spellings; an unknown action stays)."""
    bit = index.index_of(action)
    return bit is None or index.action(bit).external_id not in left_out


def system_cloud(engine: Engine, system_id: str, cloud: Cloud | None = None) -> Cloud:
    """The cloud of a stored system (NotFoundError; AmbiguousSystemError when the id is in several clouds and
    none is named)."""
    with Session(engine) as session:
        return Cloud(get_system(session, system_id, cloud.value if cloud is not None else None).cloud)


def generate_least_privilege(
    engine: Engine,
    *,
    cloud: Cloud,
    system_id: str,
    identity_id: str,
    window_days: int,
    now: datetime,
    min_observation_days: int | None = None,
    options: GenerationOptions | None = None,
    held_only: bool = False,
) -> GeneratedAccess:
    """Least-privilege documents for `identity_id` from its activity in the `window_days` days before `now`;
    with `held_only`, from the uses of actions it still holds (a replacement of its grants: the uses of actions
    taken away since are left out, and named in the warnings, rather than granted back).

    NotFoundError for an unknown system, or an identity neither stored nor seen in the activity; InputError for
    a window out of range; CloudNotBuiltError for a cloud without a generator. A refusal (too little activity)
    is a `GeneratedAccess` whose `refusal` says why and whose documents are empty.
    """
    if not 1 <= window_days <= MAX_WINDOW_DAYS:
        raise InputError("window days", f"must be between 1 and {MAX_WINDOW_DAYS}, not {window_days}")
    minimum = (
        min_observation_days
        if min_observation_days is not None
        else get_settings().remediation_min_observation_days
    )
    if minimum < 0:
        raise InputError("minimum observation days", f"must not be negative, not {minimum}")
    source = plugin(cloud)
    generator = source.least_privilege
    if generator is None:
        raise CloudNotBuiltError(cloud.value, "least-privilege generation")
    start = now - timedelta(days=window_days)
    with Session(engine) as session, collector_paused():
        row = get_system(session, system_id, cloud.value)
        pk, system_id = int(row.id), row.system_id
        stored = load_account(session, pk, only=source.decision_slice(identity_id, identity_id))
        usages = identity_usages(session, pk, identity_id, start, now)
        seen = bool(usages) or has_usage(session, pk, identity_id)
        coverage = activity_coverage(session, pk, start, now)
        counts = permission_counts(session, pk, [identity_id]).get(identity_id)
        effective = find_effective_permissions(session, pk, identity_id)
        held = (
            None
            if effective is None
            else (
                effective.catalog_version,
                unpack(effective.all_resources_actions)
                | unpack(effective.specific_resources_actions)
                | unpack(effective.conditional_actions),
            )
        )
    snapshot: SystemSnapshot = stored_snapshot(stored, AnalysisSettings(now=now, window_days=window_days))
    identity = snapshot.identities_by_id.get(identity_id)
    if identity is None and not seen:
        raise NotFoundError(
            f"no identity {identity_id!r} in {cloud.system_kind} {system_id}, and no activity of it there"
        )
    base = GeneratedAccess(
        cloud=cloud.value,
        system_id=system_id,
        identity_id=identity_id,
        identity_kind=identity.kind.value if identity is not None else None,
        window_start=start,
        window_end=now,
        min_observation_days=minimum,
        coverage=coverage,
        documents=(),
        observed=len({(usage.action, usage.resource or "") for usage in usages}),
        allowed=0,
        observed_events=sum(max(usage.count, 0) for usage in usages),
        widening=None,
        current_granted=counts.granted if counts is not None else None,
    )
    refusal = _refusal(cloud, system_id, identity_id, coverage, start, now, minimum, usages)
    if refusal is not None:
        return replace(base, refusal=refusal)
    left_out = _not_held(snapshot, held, usages) if held_only else ()
    if left_out:
        index, gone = snapshot.index, set(left_out)
        usages = [u for u in usages if _held_action(index, u.action, gone)]
        if not usages:
            return replace(
                base,
                refusal=f"every action {identity_id} used in the window was taken away since: "
                + ", ".join(left_out[:10]),
            )
    with collector_paused():
        generated = generator.generate(snapshot, identity_id, usages, options or GenerationOptions())
    warnings = list(generated.warnings)
    if identity is None:
        warnings.insert(0, f"{identity_id} is known from activity only (not in the stored inventory)")
    if counts is None and identity is not None:
        warnings.append("its effective permissions were never computed: what it holds today is unknown")
    if generated.refusal is not None:
        return replace(base, refusal=generated.refusal, warnings=tuple(warnings))
    if left_out:
        warnings.append(
            f"{len(left_out)} action(s) used in the window are not granted to it today and were left out (taken "
            "away since, or granted through something else): " + ", ".join(left_out[:10])
        )
    not_held = _not_held(snapshot, held, usages)
    if not_held:
        warnings.append(
            f"{len(not_held)} action(s) used in the window are not granted to it today (granted since, or "
            "through something else): the documents grant them: " + ", ".join(not_held[:10])
        )
    return replace(
        base,
        documents=generated.documents,
        observed=generated.observed,
        allowed=generated.allowed,
        widening=generated.widening,
        rejected=generated.rejected,
        not_held=not_held,
        notes=generated.notes,
        warnings=tuple(warnings),
    )
