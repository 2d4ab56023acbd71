"""Autopilot rules and their runs (`autopilot_rules`, `autopilot_runs`): rules that remove what matched
identities did not use for N days once an approver accepted them, and what each run did (issue 17).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-09 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _when(name: str, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "autopilot_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("systems", JSON_TYPE, nullable=False),
        sa.Column("identities", JSON_TYPE, nullable=False),
        sa.Column("kinds", JSON_TYPE, nullable=False),
        sa.Column("tag", sa.Text(), nullable=True),
        sa.Column("unused_days", sa.Integer(), nullable=False),
        sa.Column("generate", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        _when("created_at", nullable=False),
        _when("updated_at", nullable=False),
        sa.Column("accepted_by", sa.Text(), nullable=True),
        _when("accepted_at"),
        sa.Column("disabled_by", sa.Text(), nullable=True),
        _when("disabled_at"),
        sa.Column("locked_by", sa.String(length=64), nullable=True),
        _when("locked_until"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("rule_id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "autopilot_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("rule_pk", sa.Integer(), nullable=False),
        sa.Column("run_by", sa.Text(), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        _when("started_at", nullable=False),
        _when("finished_at"),
        sa.Column("made", sa.Integer(), nullable=False),
        sa.Column("applied", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("items", JSON_TYPE, nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["rule_pk"], ["autopilot_rules.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("run_id"),
    )
    op.create_index("ix_autopilot_runs_rule", "autopilot_runs", ["rule_pk", "started_at"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_autopilot_runs_rule", table_name="autopilot_runs")
    op.drop_table("autopilot_runs")
    op.drop_table("autopilot_rules")
