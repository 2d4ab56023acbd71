"""Permissions analytics: analysis runs and findings with history (first seen, last seen, resolved, reopened).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 10:00:00.000000
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _when(name: str, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "analysis_runs",
        sa.Column("system_pk", sa.Integer(), nullable=False),
        _when("started_at"),
        _when("finished_at"),
        _when("snapshot_at"),
        sa.Column("counts", JSON_TYPE, nullable=False),
        sa.Column("changes", JSON_TYPE, nullable=False),
        sa.Column("checked", JSON_TYPE, nullable=False),
        sa.Column("skipped", JSON_TYPE, nullable=False),
        sa.Column("errors", JSON_TYPE, nullable=False),
        sa.Column("settings", JSON_TYPE, nullable=False),
        sa.Column("pci_distribution", JSON_TYPE, nullable=True),
        sa.ForeignKeyConstraint(["system_pk"], ["authorization_systems.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("system_pk"),
    )
    op.create_table(
        "findings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("system_pk", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("finding_type", sa.String(length=96), nullable=False),
        sa.Column("subject_kind", sa.String(length=32), nullable=False),
        sa.Column("subject_id", sa.Text(), nullable=False),
        sa.Column("subject_name", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("properties", JSON_TYPE, nullable=False),
        sa.Column("evidence", JSON_TYPE, nullable=False),
        sa.Column("action_summary", JSON_TYPE, nullable=True),
        sa.Column("pci_score", sa.Integer(), nullable=True),
        sa.Column("pci_factors", JSON_TYPE, nullable=True),
        _when("first_seen"),
        _when("last_seen"),
        _when("resolved_at", nullable=True),
        sa.Column("reopened", sa.Integer(), nullable=False),
        _when("snapshot_at"),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["system_pk"], ["authorization_systems.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("system_pk", "fingerprint", name="uq_finding_key"),
    )
    op.create_index("ix_findings_type", "findings", ["finding_type", "system_pk"])
    op.create_index("ix_findings_fingerprint", "findings", ["fingerprint"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_findings_fingerprint", table_name="findings")
    op.drop_index("ix_findings_type", table_name="findings")
    op.drop_table("findings")
    op.drop_table("analysis_runs")
