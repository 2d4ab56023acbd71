"""The identity explorer at 100,000 identities: identities in name order across every system (the search's
pages walk this index). The findings of one identity use `ix_findings_subject` of revision 0010.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 06:30:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_index("ix_identities_display_name", "identities", ["display_name", "id"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_identities_display_name", table_name="identities")
