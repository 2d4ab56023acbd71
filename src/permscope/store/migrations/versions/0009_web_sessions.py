"""Web sessions: the browsers signed in to the web UI, by the SHA-256 of their session id, with the API key they
signed in with and the CSRF token of their forms.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 05:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "web_sessions",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["key_id"], ["api_keys.key_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id_hash"),
    )
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.create_index("ix_web_sessions_key_id", ["key_id"], unique=False)
        batch_op.create_index("ix_web_sessions_last_seen_at", ["last_seen_at"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_web_sessions_last_seen_at")
        batch_op.drop_index("ix_web_sessions_key_id")
    op.drop_table("web_sessions")
