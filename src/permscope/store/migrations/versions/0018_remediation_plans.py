"""Remediation plans and their steps (`remediation_plans`, `remediation_steps`): per identity, the steps with
their evidence and the prior state each step recorded before changing the cloud (issue 17).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-08 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _when(name: str, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "remediation_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.String(length=36), nullable=False),
        sa.Column("cloud", sa.String(length=16), nullable=False),
        sa.Column("system_id", sa.String(length=256), nullable=False),
        sa.Column("identity_external_id", sa.Text(), nullable=False),
        sa.Column("identity_name", sa.Text(), nullable=False),
        sa.Column("window_days", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        _when("created_at", nullable=False),
        _when("updated_at", nullable=False),
        sa.Column("approved_by", sa.Text(), nullable=True),
        _when("approved_at"),
        _when("applied_at"),
        _when("rolled_back_at"),
        sa.Column("last_operation", sa.String(length=16), nullable=True),
        sa.Column("locked_by", sa.String(length=64), nullable=True),
        _when("locked_until"),
        sa.Column("evidence", JSON_TYPE, nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("plan_id"),
    )
    op.create_index("ix_remediation_plans_system", "remediation_plans", ["cloud", "system_id"])
    op.create_index(
        "ix_remediation_plans_identity", "remediation_plans", ["cloud", "system_id", "identity_external_id"]
    )
    op.create_table(
        "remediation_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_pk", sa.Integer(), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("principal", sa.Text(), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("parameters", JSON_TYPE, nullable=False),
        sa.Column("evidence", JSON_TYPE, nullable=False),
        sa.Column("prior_state", JSON_TYPE, nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        _when("applied_at"),
        _when("rolled_back_at"),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("notes", JSON_TYPE, nullable=False),
        sa.ForeignKeyConstraint(["plan_pk"], ["remediation_plans.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("plan_pk", "ordinal", name="uq_remediation_step"),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("remediation_steps")
    op.drop_index("ix_remediation_plans_identity", table_name="remediation_plans")
    op.drop_index("ix_remediation_plans_system", table_name="remediation_plans")
    op.drop_table("remediation_plans")
