"""Alerts (monitoring): recorded signals, delivery channels with their secrets sealed, alert rules and the
channels that deliver them, alerts (one per rule and signal), their deliveries (an outbox) with each attempt,
and muted subjects.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 08:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "alert_signals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("cloud", sa.String(length=16), nullable=False),
        sa.Column("system_id", sa.String(length=256), nullable=False),
        sa.Column("subject_id", sa.Text(), nullable=False),
        sa.Column("subject_kind", sa.String(length=32), nullable=False),
        sa.Column("subject_name", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("observed_at", TZ, nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("evidence", JSON_TYPE, nullable=False),
        sa.Column("recorded_at", TZ, nullable=False),
        sa.Column("evaluated_at", TZ, nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key_hash"),
    )
    op.create_index("ix_alert_signals_pending", "alert_signals", ["evaluated_at", "id"])
    op.create_index("ix_alert_signals_observed_at", "alert_signals", ["observed_at"])
    op.create_table(
        "alert_channels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("settings", JSON_TYPE, nullable=False),
        sa.Column("sealed", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "alert_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("kinds", JSON_TYPE, nullable=False),
        sa.Column("clouds", JSON_TYPE, nullable=False),
        sa.Column("system_ids", JSON_TYPE, nullable=False),
        sa.Column("identity_kinds", JSON_TYPE, nullable=False),
        sa.Column("identity_tags", JSON_TYPE, nullable=False),
        sa.Column("min_severity", sa.String(length=16), nullable=False),
        sa.Column("finding_types", JSON_TYPE, nullable=False),
        sa.Column("parameters", JSON_TYPE, nullable=False),
        sa.Column("muted_until", TZ, nullable=True),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "alert_rule_channels",
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["rule_id"], ["alert_rules.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["channel_id"], ["alert_channels.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("rule_id", "channel_id"),
    )
    op.create_index("ix_alert_rule_channels_channel_id", "alert_rule_channels", ["channel_id"])
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.String(length=36), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=True),
        sa.Column("rule_name", sa.Text(), nullable=False),
        sa.Column("signal_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("cloud", sa.String(length=16), nullable=False),
        sa.Column("system_id", sa.String(length=256), nullable=False),
        sa.Column("subject_id", sa.Text(), nullable=False),
        sa.Column("subject_kind", sa.String(length=32), nullable=False),
        sa.Column("subject_name", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("observed_at", TZ, nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("muted_reason", sa.Text(), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("acknowledged_by", sa.Text(), nullable=True),
        sa.Column("acknowledged_at", TZ, nullable=True),
        sa.ForeignKeyConstraint(["rule_id"], ["alert_rules.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["signal_id"], ["alert_signals.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("alert_id"),
        sa.UniqueConstraint("rule_id", "signal_id", name="uq_alert_rule_signal"),
    )
    op.create_index("ix_alerts_status", "alerts", ["status", "id"])
    op.create_index("ix_alerts_system", "alerts", ["cloud", "system_id"])
    op.create_index("ix_alerts_signal_id", "alerts", ["signal_id"])
    op.create_table(
        "alert_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_pk", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("due_at", TZ, nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("sent_at", TZ, nullable=True),
        sa.ForeignKeyConstraint(["alert_pk"], ["alerts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["channel_id"], ["alert_channels.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("alert_pk", "channel_id", name="uq_alert_delivery"),
    )
    op.create_index("ix_alert_deliveries_due", "alert_deliveries", ["status", "due_at"])
    op.create_index("ix_alert_deliveries_channel_id", "alert_deliveries", ["channel_id"])
    op.create_table(
        "alert_delivery_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("attempted_at", TZ, nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["delivery_id"], ["alert_deliveries.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_alert_delivery_attempts_delivery_id", "alert_delivery_attempts", ["delivery_id"])
    op.create_table(
        "alert_mutes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cloud", sa.String(length=16), nullable=False),
        sa.Column("system_id", sa.String(length=256), nullable=False),
        sa.Column("subject_id", sa.Text(), nullable=False),
        sa.Column("until", TZ, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_alert_mutes_subject", "alert_mutes", ["cloud", "system_id", "subject_id"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_alert_mutes_subject", table_name="alert_mutes")
    op.drop_table("alert_mutes")
    op.drop_index("ix_alert_delivery_attempts_delivery_id", table_name="alert_delivery_attempts")
    op.drop_table("alert_delivery_attempts")
    op.drop_index("ix_alert_deliveries_channel_id", table_name="alert_deliveries")
    op.drop_index("ix_alert_deliveries_due", table_name="alert_deliveries")
    op.drop_table("alert_deliveries")
    for name in ("ix_alerts_signal_id", "ix_alerts_system", "ix_alerts_status"):
        op.drop_index(name, table_name="alerts")
    op.drop_table("alerts")
    op.drop_index("ix_alert_rule_channels_channel_id", table_name="alert_rule_channels")
    op.drop_table("alert_rule_channels")
    op.drop_table("alert_rules")
    op.drop_table("alert_channels")
    op.drop_index("ix_alert_signals_observed_at", table_name="alert_signals")
    op.drop_index("ix_alert_signals_pending", table_name="alert_signals")
    op.drop_table("alert_signals")
