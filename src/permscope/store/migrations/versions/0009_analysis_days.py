"""Trends: one row per system and UTC day of analyses (`analysis_days`), filled from the latest analysis of
each system already stored; findings indexed by subject (an identity's findings, the riskiest identities).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 06:00:00.000000
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TZ = sa.DateTime(timezone=True)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _count(found: Any, name: str) -> int:
    return int((found or {}).get(name, 0) or 0)


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
    runs = sa.table(
        "analysis_runs",
        sa.column("system_pk", sa.Integer()),
        sa.column("started_at", TZ),
        sa.column("counts", JSON_TYPE),
        sa.column("changes", JSON_TYPE),
        sa.column("pci_distribution", JSON_TYPE),
    )
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
        for run in op.get_bind().execute(sa.select(runs)).all()
    ]
    if rows:
        op.bulk_insert(days, rows)


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_findings_subject", table_name="findings")
    op.drop_table("analysis_days")
