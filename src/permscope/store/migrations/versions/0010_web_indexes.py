"""Indexes for the web UI at 100,000 identities and 1,000,000 findings (measured by bench/web_queries.py):

- `ix_findings_open_by_system` (resolved_at, system_pk, finding_type, severity): the open (or resolved) findings
  counted per system, type and severity (the dashboard, a system's page, the count of a findings list) read
  from the index alone instead of every finding row;
- `ix_identities_display_name` (display_name, id): identities of every system listed by name a page at a time
  (the identity explorer) without sorting every identity.

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
    op.create_index(
        "ix_findings_open_by_system",
        "findings",
        ["resolved_at", "system_pk", "finding_type", "severity"],
        unique=False,
    )
    op.create_index("ix_identities_display_name", "identities", ["display_name", "id"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_identities_display_name", table_name="identities")
    op.drop_index("ix_findings_open_by_system", table_name="findings")
