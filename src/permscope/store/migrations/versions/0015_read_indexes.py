"""Indexes for reads at 100,000 identities and a million findings: findings of one type riskiest first (the
API's `$orderby=permissionsCreepIndex/score desc` on a finding type: by type, then PCI highest first and none
last as `store.odata_sql.order_by` sorts a nullable property, then id, carrying the state and the system so the
page's ids and the type's COUNT read the index alone); findings of one type in one system worst first (the web
UI's list filtered by both, `store.findings.default_order`; it replaces the index by type and system, which is
its beginning); and a system's assignments of one relation (the deny assignments and trust policies a decision
reads, `store.snapshot.load_account(only=...)`).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 08:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


WORST_FIRST: list[str | sa.TextClause] = [
    sa.text("severity_rank DESC"),
    sa.text("(pci_score IS NULL)"),
    sa.text("pci_score DESC"),
    "subject_name",
    "id",
    "resolved_at",
    "reopened",
]


def upgrade() -> None:
    """Apply this revision."""
    op.drop_index("ix_findings_type", table_name="findings")
    op.create_index("ix_findings_type", "findings", ["finding_type", "system_pk", *WORST_FIRST])
    op.create_index("ix_assignments_relation", "assignments", ["system_pk", "relation"])
    op.create_index(
        "ix_findings_type_pci",
        "findings",
        [
            "finding_type",
            sa.text("(pci_score IS NULL)"),
            sa.text("pci_score DESC"),
            "id",
            "resolved_at",
            "system_pk",
        ],
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_findings_type_pci", table_name="findings")
    op.drop_index("ix_assignments_relation", table_name="assignments")
    op.drop_index("ix_findings_type", table_name="findings")
    op.create_index("ix_findings_type", "findings", ["finding_type", "system_pk"])
