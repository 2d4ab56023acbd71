"""Scheduled report delivery: the mail of each slot of a report schedule (`report_deliveries`, one per schedule and
slot, so a slot's report is sent once) and every attempt at sending it (`report_delivery_attempts`). Report
schedules themselves are `schedules` rows of task `report`, their kind, format, channel and recipients in
`options`: no column changes there.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-09 06:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "report_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("schedule_pk", sa.Integer(), nullable=False),
        sa.Column("slot", TZ, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("recipients", JSON_TYPE, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("due_at", TZ, nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("filename", sa.Text(), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("sent_at", TZ, nullable=True),
        sa.ForeignKeyConstraint(["schedule_pk"], ["schedules.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("schedule_pk", "slot", name="uq_report_delivery_slot"),
    )
    op.create_table(
        "report_delivery_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("attempted_at", TZ, nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["delivery_id"], ["report_deliveries.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_report_delivery_attempts_delivery_id", "report_delivery_attempts", ["delivery_id"], unique=False
    )


def downgrade() -> None:
    """Revert this revision (report schedules go too: nothing older can run them)."""
    op.drop_index("ix_report_delivery_attempts_delivery_id", table_name="report_delivery_attempts")
    op.drop_table("report_delivery_attempts")
    op.drop_table("report_deliveries")
    op.execute("DELETE FROM schedules WHERE task = 'report'")
