"""Activity import: a cloud's activity logs -> usage in the store, incrementally.

The cloud's readers (`CloudPlugin.activity`; AWS: CloudTrail files, trail buckets, LookupEvents) read each input
into a usage aggregate and hand it to an `ActivityImporter`, the sink this module makes: it checks the actions
against the catalogue, matches the acting identities with the inventory (through the cloud's resolver, which
reads the inventory through the lookups given here), and merges through `store.usage.merge_activity` together
with the record of the inputs, every COMMIT_KEYS aggregated keys or COMMIT_SOURCES inputs. An input already
recorded is skipped before it is read, so running the same import again counts nothing twice; an input that
cannot be read is reported and not recorded (the next run retries it).
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from permscope.clouds.base import ActivityReaders, InventoryPorts, SpreadResolution, plugin
from permscope.core.activity import (
    SAMPLE,
    ActivityReport,
    ActivitySource,
    IdentityActivity,
    SystemActivity,
    UsageAggregate,
    aggregate_problem,
)
from permscope.core.activity_days import DayProfile, IdentityDay
from permscope.core.catalog import is_high_risk
from permscope.core.errors import CloudNotBuiltError, PermscopeError
from permscope.core.gc_pause import collector_paused
from permscope.core.ids import Cloud
from permscope.core.inventory import Usage
from permscope.core.times import parse_time
from permscope.settings import get_settings
from permscope.store import usage as usage_store
from permscope.workflows.catalog import ensure_catalog

__all__ = [
    "ActivityImporter",
    "ActivityReport",
    "import_activity_api",
    "import_activity_files",
    "import_activity_lookup",
    "import_activity_s3",
    "new_sink",
]
COMMIT_KEYS = 100_000  # aggregated keys held in memory before they are merged into the store (~100 MB)
COMMIT_SOURCES = 1_000  # inputs held before they are merged
SOURCE_TOP = 20  # error codes, unknown actions and principal types kept per recorded input
ACTORS = (
    "user",
    "role",
    "servicePrincipal",
    "managedIdentity",
    "serviceAccount",
)  # kinds activity names as actors
Progress = Callable[[int, int], None]


def _readers(cloud: Cloud) -> ActivityReaders:
    readers = plugin(cloud).activity
    if readers is None:
        raise CloudNotBuiltError(cloud.value, "activity import")
    return readers


class ActivityImporter:
    """Collects per-input aggregates and merges them into the store in bounded batches (`core.activity.
    ActivitySink`)."""

    def __init__(self, engine: Engine, cloud: Cloud, batch_keys: int = COMMIT_KEYS) -> None:
        self.engine = engine
        self.cloud = cloud
        self.batch_keys = batch_keys
        self.report = ActivityReport()
        self.resolver = _readers(cloud).resolver(
            InventoryPorts(
                identities=lambda systems: usage_store.known_identities(engine, cloud.value, systems, ACTORS),
                people=lambda: usage_store.identity_center_users(engine, cloud.value),
                matching=lambda systems, ids, aliases: usage_store.matching_identities(
                    engine, cloud.value, systems, ids, aliases
                ),
            )
        )
        self.pending: UsageAggregate | None = None
        self.pending_sources: list[ActivitySource] = []
        self.not_in_inventory: set[str] = set()
        self.unmatched_sessions: set[str] = set()  # "<system>/<session name>"
        catalog = plugin(cloud).catalog()
        self.verdicts: dict[str, str | None] = {}

        def canonical(name: str) -> str | None:
            if name not in self.verdicts:
                action = catalog.lookup(name)
                self.verdicts[name] = action.external_id if action is not None else None
            return self.verdicts[name]

        self.canonical = canonical
        high_risk: dict[str, bool] = {}

        def high_risk_action(name: str) -> bool:
            if name not in high_risk:
                action = catalog.lookup(name)
                high_risk[name] = action is not None and is_high_risk(action)
            return high_risk[name]

        self.high_risk = high_risk_action

    def counted(self, kind: str, keys: Iterable[str]) -> set[str]:
        """The keys of inputs of a kind already counted."""
        return usage_store.counted_sources(self.engine, self.cloud.value, kind, keys)

    def windows(self, kind: str, location: str) -> list[dict[str, Any]]:
        """The recorded details of a kind of inputs at a location."""
        return usage_store.source_details(self.engine, self.cloud.value, kind, location)

    def store_failed(self, error: BaseException) -> bool:
        """Whether an exception came from the database."""
        return isinstance(error, SQLAlchemyError)

    def add(self, aggregate: UsageAggregate, source: ActivitySource) -> None:
        """Add one input's aggregate (an input whose values no store could keep is a failure, not counted);
        merge into the store when enough is pending."""
        aggregate.check_actions(self.canonical)
        problem = aggregate_problem(aggregate)
        if problem is not None:
            self.report.failures.append((source.location, problem))
            return
        stats = aggregate.stats
        source.events = stats.events
        source.first_event = parse_time(stats.first_event) if stats.first_event else None
        source.last_event = parse_time(stats.last_event) if stats.last_event else None
        source.stats = stats.as_dict(top=SOURCE_TOP)
        with collector_paused():
            if self.pending is None:
                self.pending = aggregate
            else:
                self.pending.merge(aggregate)
        self.pending_sources.append(source)
        self.report.sources_read += 1
        if len(self.pending) >= self.batch_keys or len(self.pending_sources) >= COMMIT_SOURCES:
            self.commit()

    def commit(self) -> None:
        """Merge what is pending (and record its inputs) in one transaction."""
        if not self.pending_sources or self.pending is None:
            return
        aggregate, inputs = self.pending, self.pending_sources
        self.pending, self.pending_sources = None, []
        with collector_paused():  # building rows from a large aggregate: no reference cycles here
            systems = self._systems(aggregate)
        try:
            result = usage_store.merge_activity(self.engine, self.cloud.value, list(systems.values()), inputs)
        except IntegrityError as exc:
            if "activity_sources" not in str(exc):
                raise
            raise PermscopeError(
                "another import counted some of these inputs meanwhile; nothing of this batch was written "
                "(run the import again: what is counted now is skipped)"
            ) from exc
        report = self.report
        report.stats.merge(aggregate.stats)
        report.systems.update(result.systems)
        report.systems_created.extend(result.systems_created)
        report.usage_rows += result.usage_rows
        report.day_profiles += result.day_profiles
        report.identities_seen += result.identities_seen
        report.last_active_raised += result.last_active_raised

    def _systems(self, aggregate: UsageAggregate) -> dict[str, SystemActivity]:
        """The aggregate's usage and activity per system, actors matched with the inventory."""
        resolver = self.resolver
        actors = {key[0] for key in aggregate.usage} | set(aggregate.activity)
        resolver.load(actors)
        resolved = {actor: resolver.resolve(actor) for actor in actors}
        systems: dict[str, SystemActivity] = {}
        targets_by_actor: dict[str, list[SystemActivity]] = {}
        spread = resolver if isinstance(resolver, SpreadResolution) else None

        def targets_of(actor: str) -> list[SystemActivity]:
            """The systems the actor acted in (a matched identity is of the same system, except people, whose
            ids name none: theirs is the session's; an Azure sign-in counts in every subscription storing the
            identity)."""
            if actor in targets_by_actor:
                return targets_by_actor[actor]
            if spread is not None:
                system_ids = spread.systems_of(actor)
            else:
                system_id = resolver.system_of(actor)
                system_ids = [system_id] if system_id is not None else []
            targets = [systems.setdefault(sid, SystemActivity(system_id=sid)) for sid in system_ids]
            targets_by_actor[actor] = targets
            return targets

        for (actor, action, resource), (first, last, count) in aggregate.usage.items():
            identity = resolved[actor]
            if identity is None:
                continue
            for target in targets_of(actor):
                target.usages.append(
                    Usage(
                        identity_external_id=identity,
                        action=action,
                        resource=resource or None,
                        first_seen=parse_time(first),
                        last_seen=parse_time(last),
                        count=count,
                    )
                )
        for actor, (first, last, events) in aggregate.activity.items():
            identity = resolved[actor]
            targets = targets_of(actor) if identity is not None else []
            if identity is None or not targets:
                label = resolver.person_label(actor)
                if label is not None:
                    self.unmatched_sessions.add(label)
                else:
                    self.report.unresolved_actors += 1
                continue
            if not resolver.known(identity):
                self.not_in_inventory.add(identity)
            for target in targets:
                target.activity.append(
                    IdentityActivity(
                        identity_external_id=identity,
                        first_seen=parse_time(first),
                        last_seen=parse_time(last),
                        events=events,
                    )
                )
        self._days(aggregate, resolved, targets_of)
        return systems

    def _days(
        self,
        aggregate: UsageAggregate,
        resolved: dict[str, str | None],
        targets_of: Callable[[str], list[SystemActivity]],
    ) -> None:
        """The aggregate's day profiles into the systems' `days`: one per identity and day (two actors of one
        identity added together), the actions reduced to the high-risk ones in the catalogue's spelling."""
        merged: dict[tuple[int, str, str], tuple[SystemActivity, DayProfile]] = {}
        canonical = self.canonical
        for (actor, day), profile in aggregate.days.items():
            identity = resolved.get(actor)
            if identity is None:
                continue
            actions: dict[str, int] = {}
            for name, count in profile.actions.items():
                known = canonical(name)
                if known is not None:
                    actions[known] = actions.get(known, 0) + count
            profile.actions = actions
            profile.keep_high_risk(self.high_risk)
            profile.clean()
            for target in targets_of(actor):
                key = (id(target), identity, day)
                entry = merged.get(key)
                if entry is None:
                    merged[key] = entry = (target, DayProfile())
                entry[1].merge(profile)
        for (_target_id, identity, day), (target, profile) in merged.items():
            try:
                when = date.fromisoformat(day)
            except (
                ValueError
            ):  # a time string of the right shape that is no date: its events are not profiled
                continue
            target.days.append(IdentityDay(identity, when, profile))

    def finish(self) -> ActivityReport:
        """Merge the rest and complete the report."""
        self.commit()
        report = self.report
        report.not_in_inventory = len(self.not_in_inventory)
        report.not_in_inventory_sample = sorted(self.not_in_inventory)[:SAMPLE]
        report.sso_sessions_unmatched = len(self.unmatched_sessions)
        report.sso_sessions_unmatched_sample = sorted(self.unmatched_sessions)[:SAMPLE]
        return report


def new_sink(engine: Engine, cloud: Cloud, batch_keys: int = COMMIT_KEYS) -> ActivityImporter:
    """An importer of one cloud's activity, its catalogue loaded first."""
    ensure_catalog(engine, cloud)
    return ActivityImporter(engine, cloud, batch_keys)


def import_activity_files(
    engine: Engine,
    paths: Sequence[str | Path],
    *,
    workers: int | None = None,
    progress: Progress | None = None,
    batch_keys: int = COMMIT_KEYS,
    cloud: Cloud = Cloud.AWS,
) -> ActivityReport:
    """Import activity log files (and the files under folders; AWS: CloudTrail JSON, gzip or JSON lines).

    A file counted before (same absolute path, size and modification time) is skipped; a file that cannot
    be read is reported in `failures` and not counted. `batch_keys` bounds the aggregated keys held before
    a merge into the store (memory). Files are read by `workers` processes (default: the CPUs, at most 8).
    """
    readers = _readers(cloud)
    sink = new_sink(engine, cloud, batch_keys)
    worker_count = workers if workers is not None else min(os.cpu_count() or 1, 8)
    # the garbage collector would keep walking the aggregates being received and merged: paused (they hold
    # no reference cycles); the few cycles database sessions leave are collected at the end
    with collector_paused():
        readers.import_files(
            sink, paths, workers=worker_count, progress=progress, limits=get_settings().file_limits()
        )
        finished = sink.finish()
    gc.collect()
    return finished


def import_activity_s3(
    engine: Engine,
    uri: str,
    *,
    client: Any | None = None,
    accounts: Sequence[str] | None = None,
    regions: Sequence[str] | None = None,
    start: date | None = None,
    end: date | None = None,
    profile: str | None = None,
    region: str | None = None,
    endpoint_url: str | None = None,
    progress: Progress | None = None,
) -> ActivityReport:
    """Import the CloudTrail logs of a trail bucket (`s3://bucket/prefix`, standard or organization layout).

    Objects are listed per account and region folder (filters prune the listing), read streaming, and an
    object counted before (same bucket, key and ETag) is skipped without being downloaded.
    """
    sink = new_sink(engine, Cloud.AWS)
    _readers(Cloud.AWS).import_bucket(
        sink,
        uri,
        client=client,
        accounts=accounts,
        regions=regions,
        start=start,
        end=end,
        profile=profile,
        region=region,
        endpoint_url=endpoint_url,
        progress=progress,
    )
    return sink.finish()


def import_activity_lookup(
    engine: Engine,
    *,
    regions: Sequence[str],
    start: datetime | None = None,
    end: datetime | None = None,
    account_id: str | None = None,
    profile: str | None = None,
    endpoint_url: str | None = None,
    clients: dict[str, Any] | None = None,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> ActivityReport:
    """Import management events from CloudTrail's LookupEvents API (90 days of event history), per region.

    Each pass covers the parts of the window not covered by earlier passes of that account and region; the
    window ends a few minutes before now (events reach event history minutes after the call).
    """
    sink = new_sink(engine, Cloud.AWS)
    _readers(Cloud.AWS).import_api(
        sink,
        regions=regions,
        start=start,
        end=end,
        account_id=account_id,
        profile=profile,
        endpoint_url=endpoint_url,
        clients=clients,
        now=now,
        progress=progress,
    )
    return sink.finish()


def import_activity_api(engine: Engine, cloud: Cloud, **options: Any) -> ActivityReport:
    """Import activity from a cloud's event APIs (Azure: the Activity Log of subscriptions, Entra sign-ins; GCP:
    Cloud Logging and Policy Analyzer per project), each window not read before (the options are the cloud's
    `ActivityReaders.import_api`'s)."""
    sink = new_sink(engine, cloud)
    _readers(cloud).import_api(sink, **options)
    return sink.finish()


def activity_problem(error: BaseException, cloud: Cloud = Cloud.AWS) -> str | None:
    """One line naming a cloud SDK error that stopped an import (refused, missing bucket, no credentials,
    unreachable endpoint); None for any other exception."""
    return _readers(cloud).problem(error)


def import_activity_bucket(engine: Engine, cloud: Cloud, uri: str, **options: Any) -> ActivityReport:
    """Import the activity logs of a cloud's log bucket (GCP: `gs://bucket/prefix` of a log sink); options are
    the cloud reader's (`ActivityReaders.import_bucket`)."""
    sink = new_sink(engine, cloud)
    _readers(cloud).import_bucket(sink, uri, **options)
    return sink.finish()
