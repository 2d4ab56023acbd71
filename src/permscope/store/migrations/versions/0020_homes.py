"""Homes: an Azure tenant or GCP organization can hold the identities, groups and grants its subscriptions or
projects share (`authorization_systems.home_pk` / `listed`), with the scopes reaching each member system
(`system_scopes`), the identities living in one (`system_residents`), the group closure of a home
(`membership_closure`) and the level node each grant of a home is placed at (`assignments.anchor`).

Existing rows keep their meaning: a system with no home holds its own identities and grants, as before.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-08 00:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

SYSTEMS = "authorization_systems"
HOME_FK = "fk_authorization_systems_home_pk"


def _system_pk(primary_key: bool = True) -> sa.Column[int]:
    return sa.Column(
        "system_pk", sa.Integer(), sa.ForeignKey(f"{SYSTEMS}.id", ondelete="CASCADE"), primary_key=primary_key
    )


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table(SYSTEMS) as batch:  # SQLite copies the (small) table to add the key
        batch.add_column(sa.Column("home_pk", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("listed", sa.Boolean(), server_default=sa.true(), nullable=False))
        batch.create_foreign_key(HOME_FK, SYSTEMS, ["home_pk"], ["id"], ondelete="SET NULL")
    op.create_index(op.f("ix_authorization_systems_home_pk"), SYSTEMS, ["home_pk"], unique=False)
    op.add_column("assignments", sa.Column("anchor", sa.Text(), nullable=True))
    op.create_index("ix_assignments_anchor", "assignments", ["system_pk", "anchor"], unique=False)
    op.create_table(
        "system_scopes",
        _system_pk(),
        sa.Column("scope", sa.Text(), primary_key=True),
        sa.Column("depth", sa.Integer(), nullable=False),
    )
    op.create_index("ix_system_scopes_scope", "system_scopes", ["scope", "system_pk"], unique=False)
    op.create_table(
        "system_residents",
        _system_pk(),
        sa.Column("identity_external_id", sa.Text(), primary_key=True),
    )
    op.create_table(
        "membership_closure",
        _system_pk(),
        sa.Column("group_external_id", sa.Text(), primary_key=True),
        sa.Column("member_external_id", sa.Text(), primary_key=True),
    )
    op.create_index(
        "ix_membership_closure_member",
        "membership_closure",
        ["system_pk", "member_external_id"],
        unique=False,
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_membership_closure_member", table_name="membership_closure")
    op.drop_table("membership_closure")
    op.drop_table("system_residents")
    op.drop_index("ix_system_scopes_scope", table_name="system_scopes")
    op.drop_table("system_scopes")
    op.drop_index("ix_assignments_anchor", table_name="assignments")
    with op.batch_alter_table("assignments") as batch:
        batch.drop_column("anchor")
    op.drop_index(op.f("ix_authorization_systems_home_pk"), table_name=SYSTEMS)
    with op.batch_alter_table(SYSTEMS) as batch:
        batch.drop_constraint(HOME_FK, type_="foreignkey")
        batch.drop_column("listed")
        batch.drop_column("home_pk")
