"""Live collection: authorization systems carry cloud-specific attributes (AWS organization path, IdPs).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 18:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("authorization_systems", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("attributes", JSON_TYPE, nullable=False, server_default=sa.text("'{}'"))
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("authorization_systems", schema=None) as batch_op:
        batch_op.drop_column("attributes")
