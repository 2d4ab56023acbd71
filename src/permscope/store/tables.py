"""SQLAlchemy 2 typed tables. Natural keys are (system, external id); `digest` lets ingest skip unchanged rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from permscope.store.types import JsonType, UtcDateTime


class Base(DeclarativeBase):
    """Declarative base of every permscope table."""

    type_annotation_map = {datetime: UtcDateTime(), dict[str, Any]: JsonType, list[Any]: JsonType}


SYSTEM_FK = "authorization_systems.id"


class AuthorizationSystemRow(Base):
    """An AWS account, Azure subscription or GCP project, and the state of its data collection."""

    __tablename__ = "authorization_systems"
    __table_args__ = (UniqueConstraint("cloud", "system_id", name="uq_system_cloud_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cloud: Mapped[str] = mapped_column(String(16))
    system_id: Mapped[str] = mapped_column(String(256))
    name: Mapped[str] = mapped_column(Text)
    parent_id: Mapped[str | None] = mapped_column(Text)
    parent_kind: Mapped[str | None] = mapped_column(String(32))
    collection_status: Mapped[str] = mapped_column(String(16), default="offline")
    last_collection_at: Mapped[datetime | None]
    modification_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]


class IdentityRow(Base):
    """A principal of one authorization system."""

    __tablename__ = "identities"
    __table_args__ = (
        UniqueConstraint("system_pk", "external_id", name="uq_identity_key"),
        Index("ix_identities_kind", "system_pk", "kind"),
        Index("ix_identities_name", "system_pk", "display_name"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    system_pk: Mapped[int] = mapped_column(ForeignKey(SYSTEM_FK, ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(32))
    display_name: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime | None]
    last_active_at: Mapped[datetime | None]
    managed_by_cloud: Mapped[bool] = mapped_column(Boolean, default=False)
    attributes: Mapped[dict[str, Any]]
    digest: Mapped[str] = mapped_column(String(40))


class MembershipRow(Base):
    """A member identity belongs to a group identity of the same system."""

    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint("system_pk", "group_external_id", "member_external_id", name="uq_membership_key"),
        Index("ix_memberships_member", "system_pk", "member_external_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    system_pk: Mapped[int] = mapped_column(ForeignKey(SYSTEM_FK, ondelete="CASCADE"))
    group_external_id: Mapped[str] = mapped_column(Text)
    member_external_id: Mapped[str] = mapped_column(Text)


class PolicyRow(Base):
    """A policy or role definition, with its default document."""

    __tablename__ = "policies"
    __table_args__ = (
        UniqueConstraint("system_pk", "external_id", name="uq_policy_key"),
        Index("ix_policies_kind", "system_pk", "kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    system_pk: Mapped[int] = mapped_column(ForeignKey(SYSTEM_FK, ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(32))
    managed_by_cloud: Mapped[bool] = mapped_column(Boolean, default=False)
    document: Mapped[dict[str, Any]]
    default_version: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime | None]
    updated_at: Mapped[datetime | None]
    attributes: Mapped[dict[str, Any]]
    digest: Mapped[str] = mapped_column(String(40))


class PolicyVersionRow(Base):
    """One version of a policy document."""

    __tablename__ = "policy_versions"
    __table_args__ = (UniqueConstraint("policy_pk", "version_id", name="uq_policy_version_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    policy_pk: Mapped[int] = mapped_column(ForeignKey("policies.id", ondelete="CASCADE"), index=True)
    version_id: Mapped[str] = mapped_column(String(64))
    is_default: Mapped[bool] = mapped_column(Boolean)
    document: Mapped[dict[str, Any]]
    created_at: Mapped[datetime | None]


class AssignmentRow(Base):
    """A policy reaches an identity at a scope."""

    __tablename__ = "assignments"
    __table_args__ = (
        UniqueConstraint(
            "system_pk",
            "identity_external_id",
            "policy_external_id",
            "relation",
            "scope",
            name="uq_assignment_key",
        ),
        Index("ix_assignments_policy", "system_pk", "policy_external_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    system_pk: Mapped[int] = mapped_column(ForeignKey(SYSTEM_FK, ondelete="CASCADE"))
    identity_external_id: Mapped[str] = mapped_column(Text)
    policy_external_id: Mapped[str] = mapped_column(Text)
    relation: Mapped[str] = mapped_column(String(16))
    scope: Mapped[str] = mapped_column(Text)
    condition: Mapped[dict[str, Any] | None]
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    digest: Mapped[str] = mapped_column(String(40))


class ResourceRow(Base):
    """A cloud resource with its resource policy and exposure facts."""

    __tablename__ = "resources"
    __table_args__ = (
        UniqueConstraint("system_pk", "external_id", name="uq_resource_key"),
        Index("ix_resources_type", "system_pk", "resource_type"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    system_pk: Mapped[int] = mapped_column(ForeignKey(SYSTEM_FK, ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(Text)
    resource_type: Mapped[str] = mapped_column(String(128))
    service: Mapped[str] = mapped_column(String(128))
    display_name: Mapped[str] = mapped_column(Text)
    region: Mapped[str | None] = mapped_column(String(64))
    policy: Mapped[dict[str, Any] | None]
    facts: Mapped[dict[str, Any]]
    digest: Mapped[str] = mapped_column(String(40))


class UsageRow(Base):
    """Aggregated activity: identity x action (x resource) with first seen, last seen and count."""

    __tablename__ = "usages"
    __table_args__ = (
        UniqueConstraint("system_pk", "identity_external_id", "action", "resource", name="uq_usage_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    system_pk: Mapped[int] = mapped_column(ForeignKey(SYSTEM_FK, ondelete="CASCADE"))
    identity_external_id: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(String(256))
    resource: Mapped[str] = mapped_column(Text, default="")  # "" when the event named no resource
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]
    count: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(40))


class ActionRow(Base):
    """One action of a cloud's catalogue (shared by every system of that cloud)."""

    __tablename__ = "actions"
    __table_args__ = (
        UniqueConstraint("cloud", "external_id", name="uq_action_key"),
        Index("ix_actions_service", "cloud", "service"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cloud: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(256))
    service: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(256))
    access_level: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))
    action_type: Mapped[str | None] = mapped_column(String(16))
    resource_types: Mapped[list[Any]]


class CatalogRow(Base):
    """Which catalogue version is loaded for a cloud, so it is loaded once."""

    __tablename__ = "catalogs"

    cloud: Mapped[str] = mapped_column(String(16), primary_key=True)
    version: Mapped[str] = mapped_column(String(64))
    action_count: Mapped[int] = mapped_column(Integer)
    loaded_at: Mapped[datetime]


class CollectionRunRow(Base):
    """One collection or import run of one authorization system."""

    __tablename__ = "collection_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cloud: Mapped[str] = mapped_column(String(16))
    system_id: Mapped[str] = mapped_column(String(256), index=True)
    source: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16))  # succeeded, failed
    counts: Mapped[dict[str, Any]]
    warnings: Mapped[list[Any]]
    error: Mapped[str | None] = mapped_column(Text)


class ApiKeyRow(Base):
    """An API key: only a salted hash of its secret is kept."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_id: Mapped[str] = mapped_column(String(32), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    last_used_at: Mapped[datetime | None]
