"""Findings counted per system, type and severity at a million findings (measured by bench/web_queries.py):
`ix_findings_open_by_system` (resolved_at, system_pk, finding_type, severity) answers the open (or resolved)
findings of some systems, of a type, counted or grouped by type and severity (a system's page, the API's
aggregatedSummary and finding counts, a findings list filtered by system and type) from the index alone,
instead of reading every finding row of the type.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 06:30:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
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


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_findings_open_by_system", table_name="findings")
