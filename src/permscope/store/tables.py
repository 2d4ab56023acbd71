"""SQLAlchemy 2 typed tables. Natural keys are (system, external id); `digest` lets ingest skip unchanged rows."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    Interval,
    String,
    Text,
    UniqueConstraint,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from permscope.core.requests import GrantAction
from permscope.store.grant_action import GrantActionType
from permscope.store.types import JsonType, UtcDateTime


class Base(DeclarativeBase):
    """Declarative base of every permscope table."""

    type_annotation_map = {datetime: UtcDateTime(), dict[str, Any]: JsonType, list[Any]: JsonType}


SYSTEM_FK = "authorization_systems.id"


class AuthorizationSystemRow(Base):
    """An AWS account, Azure subscription or GCP project, and the state of its data collection; or the home
    (an Azure tenant, a GCP organization) whose identities and grants its member systems share (not listed)."""

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
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default=text("'{}'"))
    # the home holding this system's identities and grants; None when the system holds its own (AWS, today's rows)
    home_pk: Mapped[int | None] = mapped_column(ForeignKey(SYSTEM_FK, ondelete="SET NULL"), index=True)
    listed: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())  # False for a home


class SystemScopeRow(Base):
    """A scope whose grants reach a system that has a home: its own node (depth 0), then its ancestry upward."""

    __tablename__ = "system_scopes"
    __table_args__ = (Index("ix_system_scopes_scope", "scope", "system_pk"),)

    system_pk: Mapped[int] = mapped_column(ForeignKey(SYSTEM_FK, ondelete="CASCADE"), primary_key=True)
    scope: Mapped[str] = mapped_column(Text, primary_key=True)
    depth: Mapped[int] = mapped_column(Integer)


class ResidentRow(Base):
    """An identity of the home that lives in a member system (a managed identity, a project's service account)
    and so belongs to it without holding a grant there."""

    __tablename__ = "system_residents"

    system_pk: Mapped[int] = mapped_column(ForeignKey(SYSTEM_FK, ondelete="CASCADE"), primary_key=True)
    identity_external_id: Mapped[str] = mapped_column(Text, primary_key=True)


class MembershipClosureRow(Base):
    """A member is in a group of the same home directly or through nested groups (stored once at ingest)."""

    __tablename__ = "membership_closure"
    __table_args__ = (Index("ix_membership_closure_member", "system_pk", "member_external_id"),)

    system_pk: Mapped[int] = mapped_column(ForeignKey(SYSTEM_FK, ondelete="CASCADE"), primary_key=True)
    group_external_id: Mapped[str] = mapped_column(Text, primary_key=True)
    member_external_id: Mapped[str] = mapped_column(Text, primary_key=True)


class IdentityRow(Base):
    """A principal of one authorization system."""

    __tablename__ = "identities"
    __table_args__ = (
        UniqueConstraint("system_pk", "external_id", name="uq_identity_key"),
        Index("ix_identities_kind", "system_pk", "kind"),
        Index("ix_identities_name", "system_pk", "display_name"),
        Index("ix_identities_display_name", "display_name", "id"),  # the identity search's name order
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
        Index("ix_assignments_relation", "system_pk", "relation"),  # deny and trust, read by decisions
        Index("ix_assignments_anchor", "system_pk", "anchor"),  # a home's grants reaching one member system
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    system_pk: Mapped[int] = mapped_column(ForeignKey(SYSTEM_FK, ondelete="CASCADE"))
    identity_external_id: Mapped[str] = mapped_column(Text)
    policy_external_id: Mapped[str] = mapped_column(Text)
    relation: Mapped[str] = mapped_column(String(16))
    scope: Mapped[str] = mapped_column(Text)
    # at a home: the level node the grant is placed at (tenant root, management group, subscription / organization,
    # folder, project), matched against `system_scopes`; None in a system that holds its own grants
    anchor: Mapped[str | None] = mapped_column(Text)
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
    count: Mapped[int] = mapped_column(BigInteger)  # 32 bits overflow in weeks for a busy role's action
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
    principal: Mapped[str | None] = mapped_column(
        Text
    )  # who the key acts for (createdBy, approver); None: name


class ServerSecretRow(Base):
    """A random secret of the server, made once (e.g. the key that signs $skiptoken when none is configured)."""

    __tablename__ = "server_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class WebSessionRow(Base):
    """A signed-in browser of the web UI: only the SHA-256 of its session id (the cookie's value) is kept."""

    __tablename__ = "web_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_id: Mapped[str] = mapped_column(
        ForeignKey("api_keys.key_id", ondelete="CASCADE"), index=True
    )  # the API key the person signed in with: its roles and scopes govern every page
    csrf_token: Mapped[str] = mapped_column(String(64))  # the token every form of this session carries
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime] = mapped_column(index=True)


# ------------------------------------------------------------------------ permissions on demand (issue 6)


class ApiKeyScopeRow(Base):
    """A role a key holds on one authorization system; `*` stands for every cloud or every system."""

    __tablename__ = "api_key_scopes"
    __table_args__ = (UniqueConstraint("key_pk", "role", "cloud", "system_id", name="uq_api_key_scope"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_pk: Mapped[int] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))  # requestor, approver, administrator, viewer
    cloud: Mapped[str] = mapped_column(String(16))
    system_id: Mapped[str] = mapped_column(String(256))


class PermissionsRequestRow(Base):
    """A scheduledPermissionsRequest as typed data: what was asked (the parts of a core RequestSpec, the grant
    action as permscope's own JSON; `store.requests.spec_of` rebuilds the spec), its people, state and window.

    `*_match` hold the names of its people as the access rules compare them (`core.access.principal_match`; ""
    for no ticket submitter, never NULL), so that SQL compares them exactly as Python does."""

    __tablename__ = "permissions_requests"
    __table_args__ = (
        Index("ix_permissions_requests_system", "cloud", "system_id"),
        Index("ix_permissions_requests_status", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[str] = mapped_column(String(36), unique=True)
    cloud: Mapped[str] = mapped_column(String(16))
    system_id: Mapped[str] = mapped_column(String(256))
    definition_type: Mapped[str] = mapped_column(String(64))  # e.g. awsPermissionsDefinition
    action_type: Mapped[str] = mapped_column(String(64))  # e.g. awsActionsPermissionsDefinitionAction
    identity_external_id: Mapped[str] = mapped_column(Text)
    identity_type: Mapped[str] = mapped_column(String(32))
    identity_source: Mapped[str] = mapped_column(String(32))  # IdentitySourceType
    identity_source_system_id: Mapped[str | None] = mapped_column(Text)  # awsIdentitySource's account
    resource_id: Mapped[str | None] = mapped_column(Text)  # Azure / GCP single-resource definitions
    action: Mapped[GrantAction] = mapped_column(GrantActionType())
    grantee: Mapped[str | None] = mapped_column(Text)  # who receives the grant (identity or assignToRoleId)
    justification: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    ticket_number: Mapped[str | None] = mapped_column(Text)
    ticket_system: Mapped[str | None] = mapped_column(Text)
    ticket_submitter: Mapped[str | None] = mapped_column(Text)
    ticket_approver: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    occurrence_status: Mapped[str | None] = mapped_column(String(16))
    requested_start: Mapped[datetime | None]  # None: as soon as approved
    requested_duration: Mapped[timedelta | None] = mapped_column(Interval())  # how long, or until:
    requested_end: Mapped[datetime | None]
    grant_start: Mapped[datetime | None]  # the window, known once approved
    grant_end: Mapped[datetime | None]
    created_by: Mapped[str] = mapped_column(Text)
    created_by_key: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    decided_by: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None]
    canceled_by: Mapped[str | None] = mapped_column(Text)
    auto_rule_id: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    requester_match: Mapped[str] = mapped_column(Text)
    recipient_match: Mapped[str] = mapped_column(Text)
    submitter_match: Mapped[str] = mapped_column(Text)


class ApprovalStepRow(Base):
    """The approval step of a request (scheduledPermissionsApprovals/{request id}/steps/{step id})."""

    __tablename__ = "permissions_approval_steps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    step_id: Mapped[str] = mapped_column(String(36), unique=True)
    request_pk: Mapped[int] = mapped_column(
        ForeignKey("permissions_requests.id", ondelete="CASCADE"), index=True
    )
    display_name: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    review_result: Mapped[str] = mapped_column(String(16))
    reviewed_by: Mapped[str | None] = mapped_column(Text)
    reviewed_at: Mapped[datetime | None]
    justification: Mapped[str | None] = mapped_column(Text)


class RequestChangeRow(Base):
    """One permissionsRequestChange: a transition of a request, in commit order (ids and times both grow)."""

    __tablename__ = "permissions_request_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    change_id: Mapped[str] = mapped_column(String(36), unique=True)
    request_pk: Mapped[int] = mapped_column(
        ForeignKey("permissions_requests.id", ondelete="CASCADE"), index=True
    )
    request_id: Mapped[str] = mapped_column(String(36))
    modified_at: Mapped[datetime] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(16))
    occurrence_status: Mapped[str | None] = mapped_column(String(16))
    ticket_id: Mapped[str | None] = mapped_column(Text)
    event: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[str | None] = mapped_column(Text)


class RequestGrantRow(Base):
    """One change a connector makes for a request, written before the cloud call (a plan) and confirmed after."""

    __tablename__ = "permissions_request_grants"
    __table_args__ = (
        UniqueConstraint("request_pk", "kind", "principal", "target", name="uq_request_grant"),
        Index("ix_request_grants_target", "cloud", "system_id", "kind", "principal", "target"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_pk: Mapped[int] = mapped_column(ForeignKey("permissions_requests.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    cloud: Mapped[str] = mapped_column(String(16))
    system_id: Mapped[str] = mapped_column(String(256))
    kind: Mapped[str] = mapped_column(String(32))
    principal: Mapped[str] = mapped_column(Text)
    target: Mapped[str] = mapped_column(Text)
    document: Mapped[dict[str, Any] | None]
    value: Mapped[str | None] = mapped_column(Text)
    owned: Mapped[bool] = mapped_column(Boolean)  # False: it was there before permscope, never removed
    state: Mapped[str] = mapped_column(String(16))  # planned, applied, removing, removed, kept
    note: Mapped[str | None] = mapped_column(Text)


class SchedulerJobRow(Base):
    """Durable work, claimed with a lease: grant a request at its start, revoke it at its end (`request_pk`), or
    run one slot of a schedule (`schedule_pk`, `scheduled_for`: one job per slot, so no slot runs twice)."""

    __tablename__ = "scheduler_jobs"
    __table_args__ = (
        UniqueConstraint("request_pk", "kind", name="uq_scheduler_job"),
        UniqueConstraint("schedule_pk", "scheduled_for", name="uq_scheduler_job_slot"),
        Index("ix_scheduler_jobs_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_pk: Mapped[int | None] = mapped_column(ForeignKey("permissions_requests.id", ondelete="CASCADE"))
    schedule_pk: Mapped[int | None] = mapped_column(ForeignKey("schedules.id", ondelete="CASCADE"))
    scheduled_for: Mapped[datetime | None]  # the schedule's slot this job runs (None for requests' jobs)
    progress: Mapped[
        dict[str, Any] | None
    ]  # a schedule run: the units done, so a takeover does not redo them
    kind: Mapped[str] = mapped_column(String(16))  # grant, revoke, collect, analyze, report
    status: Mapped[str] = mapped_column(String(16))  # pending, running, done, canceled
    due_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_by: Mapped[str | None] = mapped_column(String(64))
    locked_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class ScheduleRow(Base):
    """Collection, analysis or a mailed report of one authorization system (or of every one, of one cloud or all)
    on a cron expression or an interval, with a jitter; its runs are `scheduler_jobs` rows, and the outcome of the
    latest is kept here (`last_status`: succeeded, retrying, failed)."""

    __tablename__ = "schedules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    task: Mapped[str] = mapped_column(String(16))  # core.schedules.ScheduleTask
    cloud: Mapped[str] = mapped_column(String(16))  # or * for every cloud
    system_id: Mapped[str] = mapped_column(String(256))  # or * for every system (of `cloud`)
    cron: Mapped[str | None] = mapped_column(Text)
    interval_seconds: Mapped[int | None] = mapped_column(Integer)
    jitter_seconds: Mapped[int] = mapped_column(Integer, default=0)
    options: Mapped[dict[str, Any]]  # where a collection reads, whether it analyzes after; a report's kind,
    # format, channel and recipients (no secrets: the channel keeps its SMTP password sealed)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    next_run_at: Mapped[datetime | None]  # the next slot (None while disabled)
    last_run_at: Mapped[datetime | None]  # when the latest attempt ended
    last_status: Mapped[str | None] = mapped_column(String(16))
    last_error: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)  # failed attempts since a success
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ReportDeliveryRow(Base):
    """The mail of one slot of a report schedule: one row per (schedule, slot), so a slot's report is sent once
    however often its run is attempted or taken over; claimed (`due_at` moved ahead) while it is being sent."""

    __tablename__ = "report_deliveries"
    __table_args__ = (UniqueConstraint("schedule_pk", "slot", name="uq_report_delivery_slot"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    schedule_pk: Mapped[int] = mapped_column(ForeignKey("schedules.id", ondelete="CASCADE"))
    slot: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(16))  # workflows.reports.ReportKind
    format: Mapped[str] = mapped_column(String(8))  # workflows.reports.ReportFormat
    channel: Mapped[str] = mapped_column(Text)  # the e-mail alert channel it goes through
    recipients: Mapped[list[Any]]
    status: Mapped[str] = mapped_column(String(16))  # pending, sent, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime]  # later than now while an attempt holds it
    last_error: Mapped[str | None] = mapped_column(Text)
    filename: Mapped[str | None] = mapped_column(Text)  # the attachment of the last attempt that made one
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class ReportDeliveryAttemptRow(Base):
    """One attempt at mailing a slot's report: when, and what came of it (refused recipients included)."""

    __tablename__ = "report_delivery_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("report_deliveries.id", ondelete="CASCADE"), index=True
    )
    attempted_at: Mapped[datetime]
    succeeded: Mapped[bool] = mapped_column(Boolean)
    error: Mapped[str | None] = mapped_column(Text)


class RequestNotificationRow(Base):
    """A webhook message waiting to be sent (an outbox: written with the change, sent by the scheduler)."""

    __tablename__ = "request_notifications"
    __table_args__ = (Index("ix_request_notifications_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[str] = mapped_column(String(36))
    event: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16))  # pending, sent, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class AutoApproveRuleRow(Base):
    """Requests inside this rule (system, identity, actions or policies, resources, duration) are approved."""

    __tablename__ = "request_auto_approve_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    cloud: Mapped[str] = mapped_column(String(16))
    system_id: Mapped[str] = mapped_column(String(256))  # or *
    identity_pattern: Mapped[str] = mapped_column(Text)  # glob over the identity's external id
    actions: Mapped[list[Any]]  # globs; every requested action must match one
    resources: Mapped[list[Any]]  # globs; every requested resource must match one
    policies: Mapped[list[Any]]  # globs over managed policy ARNs
    max_duration_seconds: Mapped[int] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class RequestClockRow(Base):
    """One row every request transition locks first: transitions commit one at a time, in time order, so
    `modificationDateTime gt t` never misses a change committed late with an earlier time."""

    __tablename__ = "permissions_request_clock"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    last_modified_at: Mapped[datetime | None]


# ------------------------------------------------------------------------ effective permissions (issue 3)


class EffectivePermissionRow(Base):
    """One identity's effective permissions: counts per category, granted actions as packed bitsets.

    Bit i of a bitset is action i of the system's cloud catalogue at version `catalog_version` (`core.catalog`);
    `details` holds, for the actions not granted on every resource, the statements that shape them, and the
    problems met (e.g. a policy that could not be read).
    """

    __tablename__ = "effective_permissions"
    __table_args__ = (
        UniqueConstraint("system_pk", "identity_external_id", name="uq_effective_permission_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    system_pk: Mapped[int] = mapped_column(ForeignKey(SYSTEM_FK, ondelete="CASCADE"))
    identity_external_id: Mapped[str] = mapped_column(Text)
    catalog_version: Mapped[str] = mapped_column(String(64))
    granted_count: Mapped[int] = mapped_column(Integer)
    all_resources_count: Mapped[int] = mapped_column(Integer)
    specific_resources_count: Mapped[int] = mapped_column(Integer)
    conditional_count: Mapped[int] = mapped_column(Integer)
    high_severity_count: Mapped[int] = mapped_column(Integer)
    all_resources_actions: Mapped[bytes]
    specific_resources_actions: Mapped[bytes]
    conditional_actions: Mapped[bytes]
    details: Mapped[bytes]  # JSON (UTF-8): {"scopedClauses": [...], "problems": [...]}


class EffectivePermissionRunRow(Base):
    """When and how a system's effective permissions were last computed (one row per system)."""

    __tablename__ = "effective_permission_runs"

    system_pk: Mapped[int] = mapped_column(ForeignKey(SYSTEM_FK, ondelete="CASCADE"), primary_key=True)
    catalog_version: Mapped[str] = mapped_column(String(64))
    computed_at: Mapped[datetime]
    seconds: Mapped[float]
    identities: Mapped[int] = mapped_column(Integer)
    distinct_policies: Mapped[int] = mapped_column(Integer)
    distinct_combinations: Mapped[int] = mapped_column(Integer)
    unknown_actions: Mapped[dict[str, Any]]
    problems: Mapped[list[Any]]
    scp_levels: Mapped[list[Any] | None]  # the SCP levels applied, root first; None: organization unknown


# ------------------------------------------------------------------------ activity (issue 4)


class ActivitySourceRow(Base):
    """An activity input already counted into usage: a log file, an S3 object, or a LookupEvents window."""

    __tablename__ = "activity_sources"
    __table_args__ = (UniqueConstraint("cloud", "kind", "source_key", name="uq_activity_source"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cloud: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))  # file, s3, lookupEvents
    source_key: Mapped[str] = mapped_column(String(64))  # sha256 of what identifies the input
    location: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]]
    events: Mapped[int] = mapped_column(BigInteger)
    first_event: Mapped[datetime | None]
    last_event: Mapped[datetime | None]
    stats: Mapped[dict[str, Any]]
    imported_at: Mapped[datetime]


class IdentityActivityRow(Base):
    """When an identity was seen acting in activity logs (sign-ins and permission-free calls included)."""

    __tablename__ = "identity_activity"
    __table_args__ = (UniqueConstraint("system_pk", "identity_external_id", name="uq_identity_activity_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    system_pk: Mapped[int] = mapped_column(ForeignKey(SYSTEM_FK, ondelete="CASCADE"))
    identity_external_id: Mapped[str] = mapped_column(Text)
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]
    events: Mapped[int] = mapped_column(BigInteger)


class ActivityDayRow(Base):
    """What one identity did on one UTC day in one system (`core.activity_days.DayProfile`): at most one row per
    identity per system per day, merged as logs of that day arrive; the monitoring detectors' history."""

    __tablename__ = "activity_days"
    __table_args__ = (Index("ix_activity_days_day", "system_pk", "day"),)

    system_pk: Mapped[int] = mapped_column(ForeignKey(SYSTEM_FK, ondelete="CASCADE"), primary_key=True)
    identity_external_id: Mapped[str] = mapped_column(Text, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    events: Mapped[int] = mapped_column(BigInteger)
    hours: Mapped[list[Any]]  # 24 event counts, per UTC hour
    services: Mapped[dict[str, Any]]  # service -> events
    sources: Mapped[dict[str, Any]]  # {"ips" | "regions" | "agents": {value: events}}
    high_risk: Mapped[dict[str, Any]]  # high-risk action -> events
    other: Mapped[dict[str, Any]]  # map name -> events of the values beyond its bound


# ------------------------------------------------------------------------ permissions analytics (issue 5)


class AnalysisRunRow(Base):
    """The latest successful analysis of one authorization system (one row per system, updated in place, so
    an analysis that changes nothing adds no row): when, what it found, skipped and met, and how.

    `checked` counts the subjects examined per kind (user, role, serverlessFunction, computeInstance, group,
    accessKey): the `totalCount` of the aggregated summaries. `pci_distribution` holds, per band, how many
    human and non-human identities fall in it. A failed analysis writes no row (and nothing else).
    """

    __tablename__ = "analysis_runs"

    system_pk: Mapped[int] = mapped_column(ForeignKey(SYSTEM_FK, ondelete="CASCADE"), primary_key=True)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime]
    snapshot_at: Mapped[datetime]
    counts: Mapped[dict[str, Any]]  # finding type -> open findings of that type after the analysis
    changes: Mapped[dict[str, Any]]  # what the analysis changed: new, changed, unchanged, resolved, reopened
    checked: Mapped[dict[str, Any]]
    skipped: Mapped[dict[str, Any]]  # finding type -> reason in words
    errors: Mapped[list[Any]]
    settings: Mapped[dict[str, Any]]
    pci_distribution: Mapped[dict[str, Any] | None]
    # the open findings after the analysis, counted per type and severity, and its riskiest identities
    # (`store.dashboard.summarize_open`): what the dashboard adds up, without reading a million findings
    open_summary: Mapped[dict[str, Any] | None]


SEVERITY_RANK = {"critical": 4, "high": 3, "medium": 2, "low": 1}


class FindingRow(Base):
    """A finding with its history: one row per (system, fingerprint), updated in place by later analyses.

    `resolved_at` is None while the finding is open; an analysis that finds it again reopens it (`reopened`
    counts how often). `snapshot_at` is the contract's createdDateTime: the snapshot the content describes.
    `digest` hashes the content, so an analysis that finds the same thing only moves `last_seen`.
    """

    __tablename__ = "findings"
    __table_args__ = (
        UniqueConstraint("system_pk", "fingerprint", name="uq_finding_key"),
        Index("ix_findings_fingerprint", "fingerprint"),
        Index("ix_findings_subject", "system_pk", "subject_id"),  # the findings of one identity
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    system_pk: Mapped[int] = mapped_column(ForeignKey(SYSTEM_FK, ondelete="CASCADE"))
    fingerprint: Mapped[str] = mapped_column(String(64))
    finding_type: Mapped[str] = mapped_column(String(96))
    subject_kind: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str] = mapped_column(Text)
    subject_name: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(16))
    summary: Mapped[str] = mapped_column(Text)
    properties: Mapped[dict[str, Any]]
    evidence: Mapped[dict[str, Any]]
    action_summary: Mapped[dict[str, Any] | None]
    pci_score: Mapped[int | None] = mapped_column(Integer)
    pci_factors: Mapped[dict[str, Any] | None]
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    reopened: Mapped[int] = mapped_column(Integer, default=0)
    snapshot_at: Mapped[datetime]
    digest: Mapped[str] = mapped_column(String(64))
    # SEVERITY_RANK of `severity` (0 for anything else), written with it: what listings sort and filter by
    severity_rank: Mapped[int] = mapped_column(Integer, server_default="0")


# Listings of findings (the web UI's at a million findings): worst first (`store.findings.default_order`, also
# filtered by severity through its rank), carrying the state and system so a page's ids and the COUNT of a
# state read the index alone; and most recently first or last seen (also their date ranges). No index leads
# with the state: nearly every finding is open, and SQLite (without statistics) would take such an index as
# narrowing and sort every open finding.
Index(
    "ix_findings_worst_first",
    FindingRow.severity_rank.desc(),
    FindingRow.pci_score.is_(None),
    FindingRow.pci_score.desc(),
    FindingRow.finding_type,
    FindingRow.subject_name,
    FindingRow.id,
    FindingRow.resolved_at,
    FindingRow.reopened,
    FindingRow.system_pk,
)
# One type's findings riskiest first (the API's `$orderby=permissionsCreepIndex/score desc`, nulls last as
# `store.odata_sql.order_by` sorts them), carrying the state and system for the page and the type's COUNT.
Index(
    "ix_findings_type_pci",
    FindingRow.finding_type,
    FindingRow.pci_score.is_(None),
    FindingRow.pci_score.desc(),
    FindingRow.id,
    FindingRow.resolved_at,
    FindingRow.system_pk,
)
# One type's findings in one system, worst first (the list filtered by both; also every read by type and system).
Index(
    "ix_findings_type",
    FindingRow.finding_type,
    FindingRow.system_pk,
    FindingRow.severity_rank.desc(),
    FindingRow.pci_score.is_(None),
    FindingRow.pci_score.desc(),
    FindingRow.subject_name,
    FindingRow.id,
    FindingRow.resolved_at,
    FindingRow.reopened,
)
Index("ix_findings_last_seen", FindingRow.last_seen, FindingRow.id)
Index("ix_findings_first_seen", FindingRow.first_seen, FindingRow.id)


class AnalysisDayRow(Base):
    """One system's analyses of one UTC day: what they changed (new, resolved, reopened findings, summed) and
    the state the day's last analysis left (open findings, PCI distribution): the history of trends.

    `analysis_runs` keeps only the latest analysis and findings only their latest state; these rows keep one
    entry per day an analysis ran, so a trend never depends on how often analyses run.
    """

    __tablename__ = "analysis_days"

    system_pk: Mapped[int] = mapped_column(ForeignKey(SYSTEM_FK, ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    analyses: Mapped[int] = mapped_column(Integer)
    new: Mapped[int] = mapped_column(Integer)
    resolved: Mapped[int] = mapped_column(Integer)
    reopened: Mapped[int] = mapped_column(Integer)
    open_findings: Mapped[int] = mapped_column(Integer)
    pci_distribution: Mapped[dict[str, Any] | None]
    last_analysis_at: Mapped[datetime]
    pci_score: Mapped[int | None] = mapped_column(Integer)  # the system's PCI (`analytics.pci.system_pci`)
    open_counts: Mapped[dict[str, Any] | None]  # open findings per type and severity: {type: {severity: n}}


class IdentityPciDayRow(Base):
    """An identity's PCI from one UTC day on, as that day's last analysis found it, kept only when it changed:
    a row holds until the identity's next row (`score` None: the identity was gone from that day). One row per
    identity and day at most; a later analysis of the same day rewrites the day's row (`store.pci_history`)."""

    __tablename__ = "identity_pci_days"

    system_pk: Mapped[int] = mapped_column(ForeignKey(SYSTEM_FK, ondelete="CASCADE"), primary_key=True)
    identity_external_id: Mapped[str] = mapped_column(Text, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    score: Mapped[int | None] = mapped_column(Integer)


# ------------------------------------------------------------------------ alerts (issue 18, monitoring)


class AlertSignalRow(Base):
    """A `core.signals.Signal` as recorded (one row per key, never two): what alert rules are evaluated on.

    `evaluated_at` is None until the rules have been applied to it; evaluation writes the signal's alerts,
    their deliveries and this time in one transaction, so a signal is evaluated whole or not at all.
    """

    __tablename__ = "alert_signals"
    __table_args__ = (Index("ix_alert_signals_pending", "evaluated_at", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of `key` (keys hold long ARNs)
    key: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(32))
    cloud: Mapped[str] = mapped_column(String(16))
    system_id: Mapped[str] = mapped_column(String(256))
    subject_id: Mapped[str] = mapped_column(Text)
    subject_kind: Mapped[str] = mapped_column(String(32))
    subject_name: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(16))
    observed_at: Mapped[datetime] = mapped_column(index=True)
    summary: Mapped[str] = mapped_column(Text)
    explanation: Mapped[str] = mapped_column(Text)
    evidence: Mapped[dict[str, Any]]
    recorded_at: Mapped[datetime]
    evaluated_at: Mapped[datetime | None]


class AlertChannelRow(Base):
    """Where alerts go: a webhook (Slack-compatible, signed) or an SMTP mailbox. `settings` holds what may be
    shown (host, port, recipients; a webhook's scheme and host); `sealed` holds the secrets (the webhook's URL
    and signing secret, the SMTP password) encrypted with a key derived from the server secret."""

    __tablename__ = "alert_channels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # webhook, email
    settings: Mapped[dict[str, Any]]
    sealed: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class AlertRuleRow(Base):
    """An alert rule: which signals (kinds, scope, severity, finding types, PCI parameters) make alerts, and
    the channels that deliver them. Empty lists match everything; `muted_until` silences it for a while."""

    __tablename__ = "alert_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    kinds: Mapped[list[Any]]
    clouds: Mapped[list[Any]]
    system_ids: Mapped[list[Any]]
    identity_kinds: Mapped[list[Any]]
    identity_tags: Mapped[list[Any]]
    min_severity: Mapped[str] = mapped_column(String(16))
    finding_types: Mapped[list[Any]]
    parameters: Mapped[dict[str, Any]]
    muted_until: Mapped[datetime | None]
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class AlertRuleChannelRow(Base):
    """A channel that delivers a rule's alerts."""

    __tablename__ = "alert_rule_channels"

    rule_id: Mapped[int] = mapped_column(ForeignKey("alert_rules.id", ondelete="CASCADE"), primary_key=True)
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("alert_channels.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class AlertRow(Base):
    """One rule matching one signal: made once (unique per rule and signal), then acknowledged by a person.
    The signal's facts are copied, so listings filter and sort without a join and outlive a removed rule."""

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("rule_id", "signal_id", name="uq_alert_rule_signal"),
        Index("ix_alerts_status", "status", "id"),
        Index("ix_alerts_system", "cloud", "system_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[str] = mapped_column(String(36), unique=True)
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("alert_rules.id", ondelete="SET NULL"))
    rule_name: Mapped[str] = mapped_column(Text)
    signal_id: Mapped[int] = mapped_column(ForeignKey("alert_signals.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    cloud: Mapped[str] = mapped_column(String(16))
    system_id: Mapped[str] = mapped_column(String(256))
    subject_id: Mapped[str] = mapped_column(Text)
    subject_kind: Mapped[str] = mapped_column(String(32))
    subject_name: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(16))
    observed_at: Mapped[datetime]
    summary: Mapped[str] = mapped_column(Text)
    explanation: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # open, acknowledged, muted
    muted_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    acknowledged_by: Mapped[str | None] = mapped_column(Text)
    acknowledged_at: Mapped[datetime | None]


class AlertDeliveryRow(Base):
    """One alert to one channel: an outbox row the scheduler sends, retried with backoff."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (
        UniqueConstraint("alert_pk", "channel_id", name="uq_alert_delivery"),
        Index("ix_alert_deliveries_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_pk: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    channel_id: Mapped[int] = mapped_column(ForeignKey("alert_channels.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16))  # pending, sent, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class AlertDeliveryAttemptRow(Base):
    """One attempt at a delivery: when, and what came of it."""

    __tablename__ = "alert_delivery_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("alert_deliveries.id", ondelete="CASCADE"), index=True
    )
    attempted_at: Mapped[datetime]
    succeeded: Mapped[bool] = mapped_column(Boolean)
    error: Mapped[str | None] = mapped_column(Text)


class AlertMuteRow(Base):
    """A subject (an identity, or a whole system when `subject_id` is empty) whose alerts are muted until a time."""

    __tablename__ = "alert_mutes"
    __table_args__ = (Index("ix_alert_mutes_subject", "cloud", "system_id", "subject_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cloud: Mapped[str] = mapped_column(String(16))
    system_id: Mapped[str] = mapped_column(String(256))
    subject_id: Mapped[str] = mapped_column(Text)
    until: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


# ------------------------------------------------------------------------------------- remediation (issue 17)


class RemediationPlanRow(Base):
    """A remediation plan for one identity: its state, who made and approved it, the window it was planned over,
    its evidence (PCI before and estimated after, the findings it resolves, the permissions diff), and the lease
    an apply or rollback holds while it runs (`locked_by`, `locked_until`: a run that died is taken over after)."""

    __tablename__ = "remediation_plans"
    __table_args__ = (
        Index("ix_remediation_plans_system", "cloud", "system_id"),
        Index("ix_remediation_plans_identity", "cloud", "system_id", "identity_external_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[str] = mapped_column(String(36), unique=True)
    cloud: Mapped[str] = mapped_column(String(16))
    system_id: Mapped[str] = mapped_column(String(256))
    identity_external_id: Mapped[str] = mapped_column(Text)
    identity_name: Mapped[str] = mapped_column(Text)
    window_days: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # core.remediation.PlanStatus
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    approved_by: Mapped[str | None] = mapped_column(Text)
    approved_at: Mapped[datetime | None]
    applied_at: Mapped[datetime | None]
    rolled_back_at: Mapped[datetime | None]
    last_operation: Mapped[str | None] = mapped_column(String(16))  # apply, rollback: what `failed` failed in
    locked_by: Mapped[str | None] = mapped_column(String(64))
    locked_until: Mapped[datetime | None]
    evidence: Mapped[dict[str, Any]]
    error: Mapped[str | None] = mapped_column(Text)


class RemediationStepRow(Base):
    """One step of a plan: what it changes, its evidence, the target's prior state in the cloud (recorded before
    the change is made), its state, and what happened (error, notes of a restore)."""

    __tablename__ = "remediation_steps"
    __table_args__ = (UniqueConstraint("plan_pk", "ordinal", name="uq_remediation_step"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_pk: Mapped[int] = mapped_column(ForeignKey("remediation_plans.id", ondelete="CASCADE"))
    ordinal: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))  # core.remediation.StepKind
    principal: Mapped[str] = mapped_column(Text)
    target: Mapped[str] = mapped_column(Text)
    label: Mapped[str] = mapped_column(Text)
    parameters: Mapped[dict[str, Any]]
    evidence: Mapped[dict[str, Any]]
    prior_state: Mapped[dict[str, Any] | None]
    status: Mapped[str] = mapped_column(String(16))  # core.remediation.StepStatus
    applied_at: Mapped[datetime | None]
    rolled_back_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[list[Any]]


class AutopilotRuleRow(Base):
    """An autopilot rule (core.autopilot): the systems it covers (`cloud:id` or `cloud:*`), the identities it
    matches (globs, kinds, a tag), N (`unused_days`), whether generated replacements may be used, its state and
    who wrote, accepted and disabled it; `locked_by` / `locked_until`: the lease of a run in progress."""

    __tablename__ = "autopilot_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule_id: Mapped[str] = mapped_column(String(36), unique=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    systems: Mapped[list[Any]]
    identities: Mapped[list[Any]]
    kinds: Mapped[list[Any]]
    tag: Mapped[str | None] = mapped_column(Text)
    unused_days: Mapped[int] = mapped_column(Integer)
    generate: Mapped[bool] = mapped_column(Boolean)
    state: Mapped[str] = mapped_column(String(16))  # core.autopilot.RuleState
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    accepted_by: Mapped[str | None] = mapped_column(Text)
    accepted_at: Mapped[datetime | None]
    disabled_by: Mapped[str | None] = mapped_column(Text)
    disabled_at: Mapped[datetime | None]
    locked_by: Mapped[str | None] = mapped_column(String(64))
    locked_until: Mapped[datetime | None]


class AutopilotRunRow(Base):
    """One run of an autopilot rule: when, by whom (a person or a schedule), dry or not, the plans it made,
    applied, skipped and failed, and per identity what it did and why (`items`: core.autopilot.RunItem)."""

    __tablename__ = "autopilot_runs"
    __table_args__ = (Index("ix_autopilot_runs_rule", "rule_pk", "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(String(36), unique=True)
    rule_pk: Mapped[int] = mapped_column(ForeignKey("autopilot_rules.id", ondelete="CASCADE"))
    run_by: Mapped[str] = mapped_column(Text)
    dry_run: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(16))  # running, succeeded, failed
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    made: Mapped[int] = mapped_column(Integer)
    applied: Mapped[int] = mapped_column(Integer)
    skipped: Mapped[int] = mapped_column(Integer)
    failed: Mapped[int] = mapped_column(Integer)
    items: Mapped[list[Any]]
    error: Mapped[str | None] = mapped_column(Text)
