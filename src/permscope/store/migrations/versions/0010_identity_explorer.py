"""The identity explorer at 100,000 identities and a million findings: identities in name order across every
system (the search's pages walk this index), and the findings of one identity (by system and subject).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 06:30:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_index("ix_identities_display_name", "identities", ["display_name", "id"])
    op.create_index("ix_findings_subject", "findings", ["system_pk", "subject_id"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_findings_subject", table_name="findings")
    op.drop_index("ix_identities_display_name", table_name="identities")
