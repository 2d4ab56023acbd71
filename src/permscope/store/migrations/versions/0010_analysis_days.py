"""Trends and the dashboard: one row per system and UTC day of analyses (`analysis_days`), filled from the latest
analysis of each system already stored; each latest analysis's summary of its open findings (`open_summary`:
counts per type and severity, the riskiest identities), filled from the stored findings; findings indexed by
subject (an identity's findings).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 06:00:00.000000
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TZ = sa.DateTime(timezone=True)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _count(found: Any, name: str) -> int:
    return int((found or {}).get(name, 0) or 0)


# store.findings.SEVERITY_RANK and store.dashboard's summary, written out: a migration keeps what it was written with
SEVERITY_RANK = {"critical": 4, "high": 3, "medium": 2, "low": 1}
IDENTITY_SUBJECTS = ("identity", "serverlessFunction", "computeInstance", "group", "role", "accessKey")
RISKIEST_KEPT = 25
FINDINGS = sa.table(
    "findings",
    sa.column("system_pk", sa.Integer()),
    sa.column("finding_type", sa.String()),
    sa.column("severity", sa.String()),
    sa.column("subject_kind", sa.String()),
    sa.column("subject_id", sa.Text()),
    sa.column("subject_name", sa.Text()),
    sa.column("pci_score", sa.Integer()),
    sa.column("resolved_at", TZ),
)


def _open_summary(bind: sa.Connection, system_pk: int) -> dict[str, Any]:
    """What store.dashboard.summarize_open computed for a system when this revision was written."""
    f = FINDINGS.c
    is_open = [f.system_pk == system_pk, f.resolved_at.is_(None)]
    by_type: dict[str, dict[str, int]] = {}
    counted = sa.select(f.finding_type, f.severity, sa.func.count()).where(*is_open)
    for finding_type, severity, count in bind.execute(counted.group_by(f.finding_type, f.severity)):
        by_type.setdefault(finding_type, {})[severity] = int(count)
    rank = sa.case(*((f.severity == name, value) for name, value in SEVERITY_RANK.items()), else_=0)
    pci, worst, count, name = (
        sa.func.max(f.pci_score),
        sa.func.max(rank),
        sa.func.count(),
        sa.func.max(f.subject_name),
    )
    ranked = (
        sa.select(sa.func.max(f.subject_kind), f.subject_id, name, pci, worst, count)
        .where(*is_open, f.subject_kind.in_(IDENTITY_SUBJECTS))
        .group_by(f.subject_id)
        .order_by(pci.is_(None), pci.desc(), worst.desc(), count.desc(), name, f.subject_id)
        .limit(RISKIEST_KEPT)
    )
    severity_of = {value: key for key, value in SEVERITY_RANK.items()}
    riskiest = [
        {"kind": kind, "externalId": subject, "name": subject_name, "pci": score,
         "worstSeverity": severity_of.get(int(worst_rank), "low"), "openFindings": int(n)}
        for kind, subject, subject_name, score, worst_rank, n in bind.execute(ranked)
    ]  # fmt: skip
    return {"byType": dict(sorted(by_type.items())), "riskiest": riskiest}


def upgrade() -> None:
    """Apply this revision."""
    days = op.create_table(
        "analysis_days",
        sa.Column("system_pk", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("analyses", sa.Integer(), nullable=False),
        sa.Column("new", sa.Integer(), nullable=False),
        sa.Column("resolved", sa.Integer(), nullable=False),
        sa.Column("reopened", sa.Integer(), nullable=False),
        sa.Column("open_findings", sa.Integer(), nullable=False),
        sa.Column("pci_distribution", JSON_TYPE, nullable=True),
        sa.Column("last_analysis_at", TZ, nullable=False),
        sa.ForeignKeyConstraint(["system_pk"], ["authorization_systems.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("system_pk", "day"),
    )
    op.create_index("ix_findings_subject", "findings", ["system_pk", "subject_id"], unique=False)
    op.add_column("analysis_runs", sa.Column("open_summary", JSON_TYPE, nullable=True))
    runs = sa.table(
        "analysis_runs",
        sa.column("system_pk", sa.Integer()),
        sa.column("started_at", TZ),
        sa.column("counts", JSON_TYPE),
        sa.column("changes", JSON_TYPE),
        sa.column("pci_distribution", JSON_TYPE),
        sa.column("open_summary", JSON_TYPE),
    )
    bind = op.get_bind()
    stored = bind.execute(sa.select(runs)).all()
    for run in stored:
        summary = _open_summary(bind, run.system_pk)
        bind.execute(sa.update(runs).where(runs.c.system_pk == run.system_pk).values(open_summary=summary))
    rows = [
        {
            "system_pk": run.system_pk,
            "day": _utc(run.started_at).date(),
            "analyses": 1,
            "new": _count(run.changes, "new"),
            "resolved": _count(run.changes, "resolved"),
            "reopened": _count(run.changes, "reopened"),
            "open_findings": sum(int(value or 0) for value in (run.counts or {}).values()),
            "pci_distribution": run.pci_distribution,
            "last_analysis_at": _utc(run.started_at),
        }
        for run in stored
    ]
    if rows:
        op.bulk_insert(days, rows)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("analysis_runs") as batch_op:
        batch_op.drop_column("open_summary")
    op.drop_index("ix_findings_subject", table_name="findings")
    op.drop_table("analysis_days")
