"""Activity: the inputs already counted into usage, per-identity activity, and 64-bit usage counts.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 19:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "activity_sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cloud", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("source_key", sa.String(length=64), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("details", JSON_TYPE, nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("first_event", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_event", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stats", JSON_TYPE, nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("cloud", "kind", "source_key", name="uq_activity_source"),
    )
    op.create_table(
        "identity_activity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("system_pk", sa.Integer(), nullable=False),
        sa.Column("identity_external_id", sa.Text(), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["system_pk"], ["authorization_systems.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("system_pk", "identity_external_id", name="uq_identity_activity_key"),
    )
    with op.batch_alter_table("usages", schema=None) as batch_op:
        batch_op.alter_column(
            "count", existing_type=sa.Integer(), type_=sa.BigInteger(), existing_nullable=False
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("usages", schema=None) as batch_op:
        batch_op.alter_column(
            "count", existing_type=sa.BigInteger(), type_=sa.Integer(), existing_nullable=False
        )
    op.drop_table("identity_activity")
    op.drop_table("activity_sources")
