"""Scheduled work and PCI history: schedules of collection and analysis (`schedules`), run as scheduler jobs
(`scheduler_jobs` gains the schedule and slot a job runs, its progress, and no longer needs a request); the
system's PCI and its open findings per type and severity per day (`analysis_days`); each identity's PCI per day,
kept when it changes (`identity_pci_days`).

Days analyzed before this revision keep no PCI history (their identities' scores were not stored); their open
findings per type and severity are not known either, and stay empty.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08 06:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "schedules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("task", sa.String(length=16), nullable=False),
        sa.Column("cloud", sa.String(length=16), nullable=False),
        sa.Column("system_id", sa.String(length=256), nullable=False),
        sa.Column("cron", sa.Text(), nullable=True),
        sa.Column("interval_seconds", sa.Integer(), nullable=True),
        sa.Column("jitter_seconds", sa.Integer(), nullable=False),
        sa.Column("options", JSON_TYPE, nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("next_run_at", TZ, nullable=True),
        sa.Column("last_run_at", TZ, nullable=True),
        sa.Column("last_status", sa.String(length=16), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    with op.batch_alter_table("scheduler_jobs") as batch:
        batch.alter_column("request_pk", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("schedule_pk", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("scheduled_for", TZ, nullable=True))
        batch.add_column(sa.Column("progress", JSON_TYPE, nullable=True))
        batch.create_foreign_key(
            "fk_scheduler_jobs_schedule_pk_schedules",
            "schedules",
            ["schedule_pk"],
            ["id"],
            ondelete="CASCADE",
        )
        batch.create_unique_constraint("uq_scheduler_job_slot", ["schedule_pk", "scheduled_for"])
    with op.batch_alter_table("analysis_days") as batch:
        batch.add_column(sa.Column("pci_score", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("open_counts", JSON_TYPE, nullable=True))
    op.create_table(
        "identity_pci_days",
        sa.Column("system_pk", sa.Integer(), nullable=False),
        sa.Column("identity_external_id", sa.Text(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["system_pk"], ["authorization_systems.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("system_pk", "identity_external_id", "day"),
    )


def downgrade() -> None:
    """Revert this revision (the schedules' jobs go with them)."""
    op.drop_table("identity_pci_days")
    with op.batch_alter_table("analysis_days") as batch:
        batch.drop_column("open_counts")
        batch.drop_column("pci_score")
    op.execute("DELETE FROM scheduler_jobs WHERE request_pk IS NULL")
    with op.batch_alter_table("scheduler_jobs") as batch:
        batch.drop_constraint("uq_scheduler_job_slot", type_="unique")
        batch.drop_constraint("fk_scheduler_jobs_schedule_pk_schedules", type_="foreignkey")
        batch.drop_column("progress")
        batch.drop_column("scheduled_for")
        batch.drop_column("schedule_pk")
        batch.alter_column("request_pk", existing_type=sa.Integer(), nullable=False)
    op.drop_table("schedules")
