"""Collection use cases: importing exported files (and, later, live pulls) into the store."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from permscope.clouds.aws.snapshot import read_authorization_details
from permscope.clouds.aws.transform import transform_authorization_details
from permscope.core.ids import Cloud
from permscope.core.inventory import AssignmentRelation, IdentityKind, InventoryBatch, PolicyKind
from permscope.store.ingest import ingest
from permscope.store.tables import AuthorizationSystemRow
from permscope.workflows.catalog import ensure_catalog


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


def batch_counts(batch: InventoryBatch) -> dict[str, int]:
    """The counts an import reports: identities by kind, managed and inline policies, attachments, memberships."""
    kinds = [identity.kind for identity in batch.identities]
    return {
        "users": kinds.count(IdentityKind.USER),
        "groups": kinds.count(IdentityKind.GROUP),
        "roles": kinds.count(IdentityKind.ROLE),
        "policies": sum(1 for p in batch.policies if p.kind is PolicyKind.MANAGED),
        "inline_policies": sum(1 for p in batch.policies if p.kind is PolicyKind.INLINE),
        "attachments": sum(1 for a in batch.assignments if a.relation is AssignmentRelation.ATTACHED),
        "memberships": len(batch.memberships),
    }


def _keep_stored_name(engine: Engine, batch: InventoryBatch) -> None:
    """An import without an account name keeps the name an earlier import gave the account."""
    with Session(engine) as session:
        name = session.scalar(
            select(AuthorizationSystemRow.name).where(
                AuthorizationSystemRow.cloud == batch.system.cloud.value,
                AuthorizationSystemRow.system_id == batch.system.system_id,
            )
        )
    if name:
        batch.system.name = name


def import_aws_files(
    engine: Engine,
    paths: Sequence[str | Path],
    *,
    account_name: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[ImportReport]:
    """Import `aws iam get-account-authorization-details` exports: one run per AWS account they hold.

    Every file is read and transformed before anything is written, so a bad file (InputError) changes
    nothing. Then the AWS action catalogue is loaded if needed, and each account is ingested in its own
    transaction (the run removes what the export no longer holds).
    """
    source = "file:" + ",".join(str(p) for p in paths)
    raw = read_authorization_details(paths, progress=progress)
    batches, _warnings = transform_authorization_details(raw, source=source, account_name=account_name)
    ensure_catalog(engine, Cloud.AWS)
    reports = []
    for batch in batches:
        if not account_name or len(batches) > 1:
            _keep_stored_name(engine, batch)
        result = ingest(engine, batch)
        reports.append(
            ImportReport(
                cloud=batch.system.cloud,
                system_id=batch.system.system_id,
                name=batch.system.name,
                run_id=result.run_id,
                counts=batch_counts(batch),
                changed=result.changed,
                warnings=list(batch.warnings),
            )
        )
    return reports
