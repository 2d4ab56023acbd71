"""Permissions on demand: requests, approval steps, the change feed, grant plans, scheduler jobs, the webhook
outbox, auto-approve rules, per-system API-key roles and the principal a key acts for.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 18:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TZ = sa.DateTime(timezone=True)
REQUEST_FK = "permissions_requests.id"


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("principal", sa.Text(), nullable=True))

    op.create_table(
        "api_key_scopes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_pk", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("cloud", sa.String(length=16), nullable=False),
        sa.Column("system_id", sa.String(length=256), nullable=False),
        sa.ForeignKeyConstraint(["key_pk"], ["api_keys.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key_pk", "role", "cloud", "system_id", name="uq_api_key_scope"),
    )
    with op.batch_alter_table("api_key_scopes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_key_scopes_key_pk"), ["key_pk"], unique=False)

    op.create_table(
        "permissions_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.String(length=36), nullable=False),
        sa.Column("cloud", sa.String(length=16), nullable=False),
        sa.Column("system_id", sa.String(length=256), nullable=False),
        sa.Column("identity_external_id", sa.Text(), nullable=False),
        sa.Column("identity_type", sa.String(length=32), nullable=False),
        sa.Column("grantee", sa.Text(), nullable=True),
        sa.Column("requested_permissions", JSON_TYPE, nullable=False),
        sa.Column("schedule_info", JSON_TYPE, nullable=False),
        sa.Column("ticket_info", JSON_TYPE, nullable=True),
        sa.Column("justification", sa.Text(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("occurrence_status", sa.String(length=16), nullable=True),
        sa.Column("requested_start", TZ, nullable=True),
        sa.Column("grant_start", TZ, nullable=True),
        sa.Column("grant_end", TZ, nullable=True),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("created_by_key", sa.String(length=32), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("decided_by", sa.Text(), nullable=True),
        sa.Column("decided_at", TZ, nullable=True),
        sa.Column("canceled_by", sa.Text(), nullable=True),
        sa.Column("auto_rule_id", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_id"),
    )
    with op.batch_alter_table("permissions_requests", schema=None) as batch_op:
        batch_op.create_index("ix_permissions_requests_system", ["cloud", "system_id"], unique=False)
        batch_op.create_index("ix_permissions_requests_status", ["status"], unique=False)

    op.create_table(
        "permissions_approval_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.String(length=36), nullable=False),
        sa.Column("request_pk", sa.Integer(), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("review_result", sa.String(length=16), nullable=False),
        sa.Column("reviewed_by", sa.Text(), nullable=True),
        sa.Column("reviewed_at", TZ, nullable=True),
        sa.Column("justification", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["request_pk"], [REQUEST_FK], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("step_id"),
    )
    with op.batch_alter_table("permissions_approval_steps", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_permissions_approval_steps_request_pk"), ["request_pk"], unique=False
        )

    op.create_table(
        "permissions_request_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("change_id", sa.String(length=36), nullable=False),
        sa.Column("request_pk", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.String(length=36), nullable=False),
        sa.Column("modified_at", TZ, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("occurrence_status", sa.String(length=16), nullable=True),
        sa.Column("ticket_id", sa.Text(), nullable=True),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.Text(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["request_pk"], [REQUEST_FK], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("change_id"),
    )
    with op.batch_alter_table("permissions_request_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_permissions_request_changes_modified_at"), ["modified_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_permissions_request_changes_request_pk"), ["request_pk"], unique=False
        )

    op.create_table(
        "permissions_request_grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_pk", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("cloud", sa.String(length=16), nullable=False),
        sa.Column("system_id", sa.String(length=256), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("principal", sa.Text(), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("document", JSON_TYPE, nullable=True),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("owned", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["request_pk"], [REQUEST_FK], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_pk", "kind", "principal", "target", name="uq_request_grant"),
    )
    with op.batch_alter_table("permissions_request_grants", schema=None) as batch_op:
        batch_op.create_index(
            "ix_request_grants_target", ["cloud", "system_id", "kind", "principal", "target"], unique=False
        )

    op.create_table(
        "scheduler_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_pk", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("due_at", TZ, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("locked_by", sa.String(length=64), nullable=True),
        sa.Column("locked_until", TZ, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("finished_at", TZ, nullable=True),
        sa.ForeignKeyConstraint(["request_pk"], [REQUEST_FK], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_pk", "kind", name="uq_scheduler_job"),
    )
    with op.batch_alter_table("scheduler_jobs", schema=None) as batch_op:
        batch_op.create_index("ix_scheduler_jobs_due", ["status", "due_at"], unique=False)

    op.create_table(
        "request_notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.String(length=36), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("payload", JSON_TYPE, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("due_at", TZ, nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("sent_at", TZ, nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("request_notifications", schema=None) as batch_op:
        batch_op.create_index("ix_request_notifications_due", ["status", "due_at"], unique=False)

    op.create_table(
        "request_auto_approve_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("cloud", sa.String(length=16), nullable=False),
        sa.Column("system_id", sa.String(length=256), nullable=False),
        sa.Column("identity_pattern", sa.Text(), nullable=False),
        sa.Column("actions", JSON_TYPE, nullable=False),
        sa.Column("resources", JSON_TYPE, nullable=False),
        sa.Column("policies", JSON_TYPE, nullable=False),
        sa.Column("max_duration_seconds", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    clock = op.create_table(
        "permissions_request_clock",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("last_modified_at", TZ, nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.bulk_insert(clock, [{"id": 1, "sequence": 0, "last_modified_at": None}])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("permissions_request_clock")
    op.drop_table("request_auto_approve_rules")
    with op.batch_alter_table("request_notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_request_notifications_due")
    op.drop_table("request_notifications")
    with op.batch_alter_table("scheduler_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_scheduler_jobs_due")
    op.drop_table("scheduler_jobs")
    with op.batch_alter_table("permissions_request_grants", schema=None) as batch_op:
        batch_op.drop_index("ix_request_grants_target")
    op.drop_table("permissions_request_grants")
    with op.batch_alter_table("permissions_request_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_permissions_request_changes_request_pk"))
        batch_op.drop_index(batch_op.f("ix_permissions_request_changes_modified_at"))
    op.drop_table("permissions_request_changes")
    with op.batch_alter_table("permissions_approval_steps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_permissions_approval_steps_request_pk"))
    op.drop_table("permissions_approval_steps")
    with op.batch_alter_table("permissions_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_permissions_requests_status")
        batch_op.drop_index("ix_permissions_requests_system")
    op.drop_table("permissions_requests")
    with op.batch_alter_table("api_key_scopes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_key_scopes_key_pk"))
    op.drop_table("api_key_scopes")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("principal")
