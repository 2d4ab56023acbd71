"""Collection use cases: importing exported files and collecting systems live into the store, for any cloud.

Each cloud reads and transforms (`CloudPlugin.read_files`, `CloudPlugin.collector`); this module loads the
cloud's catalogue, and ingests each system with its effective permissions in one transaction of its own
(`store.ingest`, the one write path; the permissions are computed inside it by `workflows.effective`): a crash
leaves the previous run whole, never the new inventory with the old permissions. A system that fails is recorded
as failed and never stops the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from permscope.clouds.base import CollectedSystem, plugin
from permscope.core.activity import ActivityReport
from permscope.core.errors import CloudNotBuiltError
from permscope.core.ids import Cloud
from permscope.core.inventory import InventoryBatch, batch_counts
from permscope.settings import get_settings
from permscope.store.collection_status import record_collection_failure
from permscope.store.ingest import IngestResult, ingest
from permscope.store.systems import stored_system
from permscope.userfiles import FileLimits
from permscope.workflows.activity import new_sink
from permscope.workflows.catalog import ensure_catalog
from permscope.workflows.effective import store_effective

__all__ = [
    "ImportReport",
    "activity_options",
    "batch_counts",
    "collect",
    "collect_aws",
    "collect_options",
    "collection_parts",
    "import_aws_files",
    "import_files",
]
log = logging.getLogger(__name__)


@dataclass(slots=True, kw_only=True)
class ImportReport:
    """What importing one authorization system did."""

    cloud: Cloud
    system_id: str
    name: str
    run_id: int
    counts: dict[str, int]
    changed: bool
    warnings: list[str] = field(default_factory=list)
    status: str = "succeeded"  # or "failed": nothing of the system changed, `error` says why
    error: str | None = None
    activity: ActivityReport | None = None  # activity read during a live collection, when asked for


def _keep_stored_name(engine: Engine, batch: InventoryBatch) -> None:
    """An import without a system name keeps the name an earlier import gave the system."""
    with Session(engine) as session:
        stored = stored_system(session, batch.system.cloud.value, batch.system.system_id)
    if stored is not None and stored.name:
        batch.system.name = stored.name


def _report(batch: InventoryBatch, run_id: int, changed: bool) -> ImportReport:
    return ImportReport(
        cloud=batch.system.cloud,
        system_id=batch.system.system_id,
        name=batch.system.name,
        run_id=run_id,
        counts=batch_counts(batch),
        changed=changed,
        warnings=list(batch.warnings),
    )


def import_files(
    engine: Engine,
    cloud: Cloud,
    paths: Sequence[str | Path],
    *,
    system_name: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    limits: FileLimits | None = None,
) -> list[ImportReport]:
    """Import files a cloud's CLI wrote: one run per authorization system they hold.

    Every file is read, checked and transformed up to the systems' batches before anything is written, so a bad
    file (InputError) changes nothing. Then the cloud's action catalogue is loaded if needed, and each system is
    ingested with its effective permissions in one transaction of its own (the run removes what the files no
    longer hold). A cloud may build each batch only when it is read (`LazyBatches`: an Azure tenant's or a GCP
    organization's batches together would not fit in memory): one is alive at a time.
    """
    source = plugin(cloud)
    limits = limits or get_settings().file_limits()  # docs/limits.md
    found = source.read_files(paths, system_name=system_name, progress=progress, limits=limits)
    shared = list(found.warnings)
    noun = source.system_noun
    ids = found.system_ids
    if len(ids) > 1:
        shared.insert(
            0,
            f"the export holds {len(ids)} {source.label} {noun}s ({', '.join(ids)}); "
            "each is imported as its own authorization system",
        )
        if system_name:
            shared.insert(
                1, f"the {noun} name {system_name!r} is ignored: it applies only to a single-{noun} import"
            )
    explicit = system_name if len(ids) == 1 else None
    ensure_catalog(engine, cloud)
    reports = []
    for batch in found.batches:
        batch.warnings = [*shared, *batch.warnings]
        if explicit is None and batch.system.name == batch.system.system_id:
            _keep_stored_name(engine, batch)
        result = _ingest_with_permissions(engine, batch)
        reports.append(_report(batch, result.run_id, result.changed))
        del batch  # not alive while the next one is built
    return reports


def import_aws_files(
    engine: Engine,
    paths: Sequence[str | Path],
    *,
    account_name: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[ImportReport]:
    """`import_files` for AWS: `aws iam get-account-authorization-details` exports (required for every
    account) and the other AWS CLI outputs (credential report, access keys, identity providers, Access
    Advisor, organization, Identity Center, resources), each file's kind recognised by its content."""
    return import_files(engine, Cloud.AWS, paths, system_name=account_name, progress=progress)


def collection_parts(cloud: Cloud) -> tuple[str, ...]:
    """What a live collection of the cloud can read (the `--skip` choices)."""
    collector = plugin(cloud).collector
    if collector is None:
        raise CloudNotBuiltError(cloud.value, "live collection")
    return collector.parts


def collect_options(cloud: Cloud, **values: Any) -> Any:
    """The cloud's collection options from the command line's values."""
    collector = plugin(cloud).collector
    if collector is None:
        raise CloudNotBuiltError(cloud.value, "live collection")
    return collector.options(**values)


def activity_options(cloud: Cloud, **values: Any) -> Any:
    """What activity to read right after a live collection of the cloud."""
    readers = plugin(cloud).activity
    if readers is None:
        raise CloudNotBuiltError(cloud.value, "activity import")
    return readers.collected_options(**values)


def _failed_report(engine: Engine, found: CollectedSystem, error: str, *, record_run: bool) -> ImportReport:
    """Record a system the collection could not read or store; its stored inventory stays as it was."""
    system = found.system
    if system.name == system.system_id:
        _keep_stored_name(engine, InventoryBatch(system=system, source=found.source))
    record_collection_failure(engine, system, found.source, found.started_at, error, record_run=record_run)
    return ImportReport(
        cloud=system.cloud,
        system_id=system.system_id,
        name=system.name,
        run_id=0,
        counts={},
        changed=False,
        warnings=list(found.warnings),
        status="failed",
        error=error,
    )


def collect(
    engine: Engine,
    cloud: Cloud,
    options: Any,
    *,
    activity: Any | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[ImportReport]:
    """Collect a cloud's systems live (the cloud's collector) and ingest each as soon as it is read.

    One system failing — its credentials refused, a read outlived its retries, its data cannot be transformed
    or stored — is recorded on that system (collection status offline, a failed run with the error) and never
    stops the others. `progress(done, total)` counts systems. Reports are in system order. With `activity`
    (the cloud's `activity_options`), once every system's inventory is stored, their activity is imported into
    usage; its failures are warnings on the system's report.
    """
    collector = plugin(cloud).collector
    if collector is None:
        raise CloudNotBuiltError(cloud.value, "live collection")
    ensure_catalog(engine, cloud)
    reports: list[ImportReport] = []
    reaches: list[tuple[str, Any]] = []
    total = 0

    def started(systems: list[str]) -> None:
        nonlocal total
        total = len(systems)
        if progress is not None:
            progress(0, total)

    wanted = activity is not None and bool(getattr(activity, "wanted", True))
    for found in collector.collect(options, started):
        reports.append(_store(engine, cloud, found))
        if wanted:
            reaches.append((found.system.system_id, found.reach))  # not the batch: memory stays per system
        if progress is not None:
            progress(len(reports), total)
    reports.sort(key=lambda report: report.system_id)
    if wanted:
        readers = plugin(cloud).activity
        if readers is None:
            raise CloudNotBuiltError(cloud.value, "activity import")
        by_system = {report.system_id: report for report in reports}
        reaches.sort(key=lambda reach: reach[0])
        found_activity = readers.import_collected(
            lambda: new_sink(engine, cloud),
            activity,
            [reach for _system, reach in reaches],
            regions=getattr(options, "regions", None),
            warn=lambda system, message: by_system[system].warnings.append(message),
        )
        for system_id, activity_report in found_activity.items():
            by_system[system_id].activity = activity_report
    return reports


def collect_aws(
    engine: Engine,
    options: Any,
    *,
    activity: Any | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[ImportReport]:
    """`collect` for AWS: the organization's accounts through an assumed role (the AWS plugin's collector),
    and `--cloudtrail-s3` / `--lookup-events` activity."""
    return collect(engine, Cloud.AWS, options, activity=activity, progress=progress)


def _store(engine: Engine, cloud: Cloud, found: CollectedSystem) -> ImportReport:
    batch = found.batch
    if batch is None:
        return _failed_report(engine, found, found.error or "not collected", record_run=True)
    if batch.system.name == batch.system.system_id:
        _keep_stored_name(engine, batch)
    try:
        result = _ingest_with_permissions(engine, batch)  # with the organization data it stores
    except Exception as exc:  # ingest recorded the failed run; the other systems go on
        log.warning("%s %s not stored: %s", cloud.value, batch.system.system_id, exc)
        return _failed_report(engine, found, f"{type(exc).__name__}: {exc}", record_run=False)
    return _report(batch, result.run_id, result.changed)


def _ingest_with_permissions(engine: Engine, batch: InventoryBatch) -> IngestResult:
    """Store one system's batch and every identity's effective permissions computed from it, in one transaction:
    after a failure or a crash (kill -9, power loss) the store holds the previous run's inventory with the
    previous run's permissions, never the new inventory with the old permissions."""
    system = batch.system
    return ingest(
        engine, batch, then=lambda session: store_effective(session, system.system_id, cloud=system.cloud)
    )
