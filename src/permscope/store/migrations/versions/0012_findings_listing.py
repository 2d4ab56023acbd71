"""Findings listed at a million findings (the web UI's list, CSV and counts): the severity's rank as a column
(`findings.severity_rank`, filled in for the findings already stored), and indexes for worst first (rank, then
PCI, as `store.findings.default_order` sorts, carrying the state and the system), and for first and last seen.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 06:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# store.tables.SEVERITY_RANK as it was when this was written (a migration keeps its own rules)
SEVERITY_RANK_SQL = "CASE severity WHEN 'critical' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2 WHEN 'low' THEN 1 ELSE 0 END"


def upgrade() -> None:
    """Apply this revision."""
    op.add_column("findings", sa.Column("severity_rank", sa.Integer(), server_default="0", nullable=False))
    op.execute(f"UPDATE findings SET severity_rank = {SEVERITY_RANK_SQL}")  # noqa: S608 (constant SQL)
    op.create_index(
        "ix_findings_worst_first",
        "findings",
        [
            sa.text("severity_rank DESC"),
            sa.text("(pci_score IS NULL)"),
            sa.text("pci_score DESC"),
            "finding_type",
            "subject_name",
            "id",
            "resolved_at",
            "reopened",
            "system_pk",
        ],
    )
    op.create_index("ix_findings_last_seen", "findings", ["last_seen", "id"])
    op.create_index("ix_findings_first_seen", "findings", ["first_seen", "id"])


def downgrade() -> None:
    """Revert this revision."""
    for name in ("ix_findings_first_seen", "ix_findings_last_seen"):
        op.drop_index(name, table_name="findings")
    op.drop_index("ix_findings_worst_first", table_name="findings")
    with op.batch_alter_table("findings") as batch:
        batch.drop_column("severity_rank")
