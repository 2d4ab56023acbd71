"""Collection use cases: importing exported files and collecting live AWS accounts into the store."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from permscope.clouds.aws.collect.accounts import PARTS as AWS_COLLECTION_PARTS
from permscope.clouds.aws.collect.accounts import AccountOutcome, collect_accounts
from permscope.clouds.aws.collect.accounts import CollectOptions as AwsCollectOptions
from permscope.clouds.aws.files.bundle import read_aws_files
from permscope.clouds.aws.transform.bundle import transform_bundle
from permscope.clouds.aws.transform.organization import organization_system
from permscope.core.errors import PermscopeError
from permscope.core.ids import Cloud
from permscope.core.inventory import (
    InventoryBatch,
    batch_counts,
)
from permscope.store.collection_status import record_collection_failure
from permscope.store.ingest import ingest
from permscope.store.systems import stored_system
from permscope.workflows.activity import ActivityReport
from permscope.workflows.catalog import ensure_catalog
from permscope.workflows.collection_activity import (
    AccountReach,
    AwsActivityOptions,
    import_collected_activity,
)
from permscope.workflows.effective import compute_effective

__all__ = [
    "AWS_COLLECTION_PARTS",
    "AwsActivityOptions",
    "AwsCollectOptions",
    "ImportReport",
    "batch_counts",
    "collect_aws",
    "import_aws_files",
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
    activity: ActivityReport | None = None  # CloudTrail read during a live collection, when asked for


def _keep_stored_name(engine: Engine, batch: InventoryBatch) -> None:
    """An import without an account name keeps the name an earlier import gave the account."""
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


def import_aws_files(
    engine: Engine,
    paths: Sequence[str | Path],
    *,
    account_name: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[ImportReport]:
    """Import files the AWS CLI wrote: one run per AWS account they hold.

    Besides `aws iam get-account-authorization-details` exports (required for every account), the files
    may hold the credential report, access keys, identity providers, Access Advisor reports, organization
    and Identity Center outputs and resource outputs; each file's kind is recognised by its content (see
    `clouds.aws.files.bundle`). Every file is read and transformed before anything is written, so a
    bad file (InputError) changes nothing. Then the AWS action catalogue is loaded if needed, and each
    account is ingested in its own transaction (the run removes what the files no longer hold).
    """
    source = "file:" + ",".join(str(p) for p in paths)
    found = read_aws_files(paths, progress=progress)
    shared = list(found.warnings)
    if len(found.bundles) > 1:
        ids = [str(bundle["account_id"]) for bundle in found.bundles]
        shared.insert(
            0,
            f"the export holds {len(ids)} AWS accounts ({', '.join(ids)}); "
            "each is imported as its own authorization system",
        )
        if account_name:
            shared.insert(
                1, f"the account name {account_name!r} is ignored: it applies only to a single-account import"
            )
    explicit = account_name if len(found.bundles) == 1 else None
    batches = []
    for bundle in found.bundles:
        batch = transform_bundle(bundle, source=source, account_name=explicit)
        batch.warnings = [*shared, *batch.warnings]
        batches.append(batch)
    ensure_catalog(engine, Cloud.AWS)
    reports = []
    for batch in batches:
        if explicit is None and batch.system.name == batch.system.system_id:
            _keep_stored_name(engine, batch)
        result = ingest(engine, batch)
        compute_effective(engine, batch.system.system_id)  # every identity's effective permissions
        reports.append(_report(batch, result.run_id, result.changed))
    return reports


def _failed_report(engine: Engine, outcome: AccountOutcome, error: str, *, record_run: bool) -> ImportReport:
    """Record an account the collection could not read or store; its stored inventory stays as it was."""
    system = organization_system(outcome.account_id, outcome.organization, outcome.name)
    if system.name == system.system_id:
        _keep_stored_name(engine, InventoryBatch(system=system, source=outcome.source))
    record_collection_failure(
        engine, system, outcome.source, outcome.started_at, error, record_run=record_run
    )
    return ImportReport(
        cloud=Cloud.AWS,
        system_id=outcome.account_id,
        name=system.name,
        run_id=0,
        counts={},
        changed=False,
        warnings=list(outcome.warnings),
        status="failed",
        error=error,
    )


def collect_aws(
    engine: Engine,
    options: AwsCollectOptions,
    *,
    activity: AwsActivityOptions | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[ImportReport]:
    """Collect AWS accounts live (see `clouds.aws.collect.accounts`) and ingest each as soon as it is read.

    One account failing — its role cannot be assumed, a read outlived its retries, its data cannot be
    transformed or stored — is recorded on that system (collection status offline, a failed run with the
    error) and never stops the others. `progress(done, total)` counts accounts. Reports are in account order.
    With `activity`, once every account's inventory is stored, their CloudTrail activity (trail buckets,
    LookupEvents) is imported into usage (see `workflows.collection_activity`); its failures are warnings on
    the account's report.
    """
    ensure_catalog(engine, Cloud.AWS)
    reports: list[ImportReport] = []
    reach: list[AccountReach] = []
    total = 0

    def started(accounts: list[str]) -> None:
        nonlocal total
        total = len(accounts)
        if progress is not None:
            progress(0, total)

    for outcome in collect_accounts(options, on_start=started):
        reports.append(_store_outcome(engine, outcome))
        if activity is not None and activity.wanted:
            reach.append(AccountReach.of(outcome))  # not the bundle: memory stays per account
        if progress is not None:
            progress(len(reports), total)
    reports.sort(key=lambda report: report.system_id)
    if activity is not None and activity.wanted:
        by_account = {report.system_id: report for report in reports}
        reach.sort(key=lambda account: account.account_id)
        found = import_collected_activity(
            engine,
            activity,
            reach,
            regions=options.regions,
            warn=lambda account, message: by_account[account].warnings.append(message),
        )
        for account, activity_report in found.items():
            by_account[account].activity = activity_report
    return reports


def _store_outcome(engine: Engine, outcome: AccountOutcome) -> ImportReport:
    if outcome.bundle is None:
        return _failed_report(engine, outcome, outcome.error or "not collected", record_run=True)
    try:
        batch = transform_bundle(outcome.bundle, source=outcome.source, account_name=outcome.name)
    except PermscopeError as exc:
        return _failed_report(engine, outcome, f"{type(exc).__name__}: {exc}", record_run=True)
    batch.warnings = [*outcome.warnings, *batch.warnings]
    if batch.system.name == batch.system.system_id:
        _keep_stored_name(engine, batch)
    try:
        result = ingest(engine, batch)
    except Exception as exc:  # ingest recorded the failed run; the other accounts go on
        log.warning("account %s not stored: %s", outcome.account_id, exc)
        return _failed_report(engine, outcome, f"{type(exc).__name__}: {exc}", record_run=False)
    compute_effective(engine, batch.system.system_id)  # with the organization's SCPs it stored
    return _report(batch, result.run_id, result.changed)
