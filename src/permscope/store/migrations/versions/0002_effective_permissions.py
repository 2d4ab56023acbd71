"""Effective permissions: per identity counts and packed action bitsets; per system the last computation.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 18:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "effective_permissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("system_pk", sa.Integer(), nullable=False),
        sa.Column("identity_external_id", sa.Text(), nullable=False),
        sa.Column("catalog_version", sa.String(length=64), nullable=False),
        sa.Column("granted_count", sa.Integer(), nullable=False),
        sa.Column("all_resources_count", sa.Integer(), nullable=False),
        sa.Column("specific_resources_count", sa.Integer(), nullable=False),
        sa.Column("conditional_count", sa.Integer(), nullable=False),
        sa.Column("high_severity_count", sa.Integer(), nullable=False),
        sa.Column("all_resources_actions", sa.LargeBinary(), nullable=False),
        sa.Column("specific_resources_actions", sa.LargeBinary(), nullable=False),
        sa.Column("conditional_actions", sa.LargeBinary(), nullable=False),
        sa.Column("details", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["system_pk"], ["authorization_systems.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("system_pk", "identity_external_id", name="uq_effective_permission_key"),
    )
    op.create_table(
        "effective_permission_runs",
        sa.Column("system_pk", sa.Integer(), nullable=False),
        sa.Column("catalog_version", sa.String(length=64), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seconds", sa.Double(), nullable=False),
        sa.Column("identities", sa.Integer(), nullable=False),
        sa.Column("distinct_policies", sa.Integer(), nullable=False),
        sa.Column("distinct_combinations", sa.Integer(), nullable=False),
        sa.Column("unknown_actions", JSON_TYPE, nullable=False),
        sa.Column("problems", JSON_TYPE, nullable=False),
        sa.Column("scp_levels", JSON_TYPE, nullable=True),
        sa.ForeignKeyConstraint(["system_pk"], ["authorization_systems.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("system_pk"),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("effective_permission_runs")
    op.drop_table("effective_permissions")
