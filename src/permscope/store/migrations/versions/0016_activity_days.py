"""Activity profiles per identity per day (`activity_days`): events per hour and service, source IPs, regions and
user agents, high-risk actions; kept by the activity imports from now on, read by the monitoring detectors.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-08 06:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "activity_days",
        sa.Column("system_pk", sa.Integer(), nullable=False),
        sa.Column("identity_external_id", sa.Text(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("hours", JSON_TYPE, nullable=False),
        sa.Column("services", JSON_TYPE, nullable=False),
        sa.Column("sources", JSON_TYPE, nullable=False),
        sa.Column("high_risk", JSON_TYPE, nullable=False),
        sa.Column("other", JSON_TYPE, nullable=False),
        sa.ForeignKeyConstraint(["system_pk"], ["authorization_systems.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("system_pk", "identity_external_id", "day"),
    )
    op.create_index("ix_activity_days_day", "activity_days", ["system_pk", "day"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_activity_days_day", table_name="activity_days")
    op.drop_table("activity_days")
