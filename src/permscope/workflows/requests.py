"""Permissions on demand: submit, approve or reject, cancel and read requests. Every transition appends a
permissionsRequestChange (and queues its webhook message) in the transaction that makes it; the grant and the
revocation themselves are the scheduler's (`workflows.scheduler`)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Select
from sqlalchemy.orm import Session

from permscope.core import access
from permscope.core.access import (
    APPROVING_ROLES,
    OWN_ONLY_ROLES,
    READING_ROLES,
    REQUESTING_ROLES,
    RequestReader,
)
from permscope.core.errors import InputError, NotFoundError
from permscope.core.ids import Cloud
from permscope.core.requests import (
    FilterByCurrentUser,
    RequestAccessError,
    RequestSpec,
    RequestStateError,
    RequestStatus,
    ReviewResult,
    Schedule,
    StepStatus,
    SystemRole,
    UnsupportedCloudError,
    format_duration,
    may_cancel,
)
from permscope.settings import Settings, get_settings
from permscope.store import access as access_sql
from permscope.store import requests as store
from permscope.store.queries import fetch_page
from permscope.store.tables import (
    ApprovalStepRow,
    PermissionsRequestRow,
    RequestChangeRow,
    RequestGrantRow,
    SchedulerJobRow,
)
from permscope.workflows.apikeys import ApiPrincipal, ApiRole, principal_of
from permscope.workflows.notifications import NOTIFY_EVENTS, payload_for
from permscope.workflows.request_body import parse_justification, parse_request
from permscope.workflows.request_clouds import still_present, support_for
from permscope.workflows.request_rules import matching_rule

SYSTEM_ACTOR = "permscope"  # who decides what no person decided (a refusal for want of a connector)


@dataclass(frozen=True, slots=True)
class RequestConfig:
    """The policy of permissions on demand (from the settings)."""

    max_now: timedelta = timedelta(hours=24)
    max_scheduled: timedelta = timedelta(days=90)
    require_justification: bool = True
    notify: bool = False  # queue webhook messages (a webhook URL is configured)
    start_grace: timedelta = timedelta(minutes=5)  # a start this close to now counts as "now"

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> RequestConfig:
        """The configured policy."""
        settings = settings or get_settings()
        return cls(
            max_now=timedelta(hours=settings.requests_max_hours_now),
            max_scheduled=timedelta(days=settings.requests_max_days_scheduled),
            require_justification=settings.requests_require_justification,
            notify=settings.requests_webhook_url is not None,
        )


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """A request with its approval step (and, when asked for, its changes, grant items and jobs)."""

    request: PermissionsRequestRow
    step: ApprovalStepRow | None
    changes: list[RequestChangeRow] = field(default_factory=list)
    grants: list[RequestGrantRow] = field(default_factory=list)
    jobs: list[SchedulerJobRow] = field(default_factory=list)


def local_actor(name: str) -> ApiPrincipal:
    """The command line's actor: an administrator of everything, acting as `name` (it has the database)."""
    return ApiPrincipal(key_id="", name=name, role=ApiRole.ADMIN, principal=name)


@contextmanager
def transaction(engine: Engine, now: datetime) -> Iterator[tuple[Session, store.FeedClock]]:
    """A write transaction of permissions on demand: the feed clock is locked first."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        yield session, store.FeedClock(session, now).lock()


def fresh_actor(session: Session, actor: ApiPrincipal) -> ApiPrincipal:
    """The actor as the database says now: a key disabled or changed a moment ago counts at once."""
    if not actor.key_id:
        return actor
    found = store.key_with_scopes(session, actor.key_id)
    if found is None or found[0].disabled:
        raise RequestAccessError(f"the API key {actor.key_id} is disabled")
    return principal_of(*found)


def record_change(
    session: Session,
    clock: store.FeedClock,
    request: PermissionsRequestRow,
    event: str,
    config: RequestConfig,
    *,
    actor: str | None = None,
    detail: str | None = None,
) -> None:
    """Append the change of a transition, and queue its webhook message when notifications are on."""
    change = store.append_change(session, request, clock, event, actor=actor, detail=detail)
    if config.notify and event in NOTIFY_EVENTS:
        payload = payload_for(request, event, actor=actor, detail=detail, at=change.modified_at)
        store.enqueue_notification(session, request.request_id, event, payload, clock.now)


# ------------------------------------------------------------------------------------------------ create


def _check_schedule(schedule: Schedule, now: datetime, config: RequestConfig) -> None:
    path = "request body: scheduleInfo"
    start = schedule.start
    if start is not None and start < now - config.start_grace:
        raise InputError(f"{path}/startDateTime", f"{start.isoformat()} is in the past")
    if schedule.end is not None and schedule.end <= now:
        raise InputError(f"{path}/expiration/endDateTime", f"{schedule.end.isoformat()} is in the past")
    scheduled = start is not None and start > now + config.start_grace
    limit = config.max_scheduled if scheduled else config.max_now
    length = schedule.length(now)
    if length > limit:
        length = timedelta(seconds=math.ceil(length.total_seconds()))  # whole seconds in the message
        kind = "a scheduled request" if scheduled else "a request that starts now"
        raise InputError(
            f"{path}/expiration",
            f"{format_duration(length)} is longer than the {format_duration(limit)} allowed for {kind}",
        )


def create_request(
    engine: Engine,
    actor: ApiPrincipal,
    body: Any,
    *,
    config: RequestConfig | None = None,
    now: datetime | None = None,
) -> RequestRecord:
    """Submit a request (a scheduledPermissionsRequest body). Checks: the caller is a requestor (or
    administrator) of the system, the system exists with modification enabled, the identity and what is
    asked exist, the duration is within policy, a justification is given when required. An auto-approve
    rule that admits the request approves it in the same transaction.

    A valid request for a cloud without a grant connector yet (Azure, GCP) is recorded, rejected by
    `permscope` in the same transaction (so the change feed shows it asked for and refused), and then
    refused with UnsupportedCloudError naming the recorded request."""
    config = config or RequestConfig.from_settings()
    now = now or datetime.now(UTC)
    spec = parse_request(body)
    refused: str | None = None
    with transaction(engine, now) as (session, clock):
        actor = fresh_actor(session, actor)
        if not actor.roles_on(spec.cloud.value, spec.system_id) & REQUESTING_ROLES:
            raise RequestAccessError(
                f"{actor.who} may not request permissions on {spec.cloud.value} {spec.system_id}: "
                "that needs the requestor or administrator role on it"
            )
        support = support_for(spec.cloud)
        if support is None:
            _check_policy(spec, now, config)
            request, step = _add_request(session, spec, actor, None, now)
            refused = _refuse_unsupported(session, clock, request, step, spec, actor, config)
        else:
            system = store.find_system_row(session, spec.cloud.value, spec.system_id)
            system_path = "request body: requestedPermissions/authorizationSystemInfo/authorizationSystemId"
            if system is None:
                raise InputError(
                    system_path, f"no {spec.cloud.value} authorization system {spec.system_id!r}"
                )
            if not system.modification_enabled:
                raise InputError(
                    system_path,
                    f"permissions modification is not enabled for {spec.cloud.value} {spec.system_id} "
                    f"(an administrator runs `permscope systems enable-modification {spec.system_id}`)",
                )
            _check_policy(spec, now, config)
            grantee = support.validate(session, system, spec)
            request, step = _add_request(session, spec, actor, grantee, now)
            record_change(
                session, clock, request, "submitted", config, actor=actor.who, detail=spec.justification
            )
            rule = matching_rule(session, spec, grantee, support.expand_action, now)
            if rule is not None:
                request.auto_rule_id = rule.id
                approve_in(
                    session,
                    clock,
                    request,
                    step,
                    spec.schedule,
                    f"rule:{rule.id}",
                    f"auto-approved by rule {rule.name}",
                    config,
                )
    if refused is not None:
        raise UnsupportedCloudError(
            f"{refused}; it was recorded as request {request.request_id} (statusDetail rejected)",
            request_id=request.request_id,
        )
    return RequestRecord(request, step)


def _check_policy(spec: RequestSpec, now: datetime, config: RequestConfig) -> None:
    """The cloud-neutral checks: the schedule within the configured limits, a justification if required."""
    _check_schedule(spec.schedule, now, config)
    if config.require_justification and not spec.justification:
        raise InputError("request body: justification", "a justification is required")


def _add_request(
    session: Session, spec: RequestSpec, actor: ApiPrincipal, grantee: str | None, now: datetime
) -> tuple[PermissionsRequestRow, ApprovalStepRow]:
    """Insert a submitted request (as typed data) and its approval step."""
    request = store.new_request_row(
        spec,
        status=RequestStatus.SUBMITTED.value,
        grantee=grantee,
        created_by=actor.who,
        created_by_key=actor.key_id or None,
        now=now,
    )
    session.add(request)
    session.flush()
    step = ApprovalStepRow(
        step_id=store.new_guid(),
        request_pk=request.id,
        display_name="Approval",
        status=StepStatus.IN_PROGRESS.value,
        review_result=ReviewResult.NOT_REVIEWED.value,
    )
    session.add(step)
    return request, step


def _refuse_unsupported(
    session: Session,
    clock: store.FeedClock,
    request: PermissionsRequestRow,
    step: ApprovalStepRow,
    spec: RequestSpec,
    actor: ApiPrincipal,
    config: RequestConfig,
) -> str:
    """Record a request of a cloud without a connector as submitted, then rejected by permscope (only the
    rejection is announced: there is nothing for an approver to review). Returns the reason."""
    cloud = spec.cloud.value
    reason = (
        f"no connector for this cloud yet: the {cloud} request is valid, but permscope cannot grant {cloud} "
        f"permissions until its {cloud} connector exists"
    )
    store.append_change(session, request, clock, "submitted", actor=actor.who, detail=spec.justification)
    request.status = RequestStatus.REJECTED.value
    request.decided_by, request.decided_at = SYSTEM_ACTOR, clock.now
    step.status, step.review_result = StepStatus.COMPLETED.value, ReviewResult.DENIED.value
    step.reviewed_by, step.reviewed_at, step.justification = SYSTEM_ACTOR, clock.now, reason
    record_change(session, clock, request, "rejected", config, actor=SYSTEM_ACTOR, detail=reason)
    return reason


# ---------------------------------------------------------------------------------------------- decisions


def approve_in(
    session: Session,
    clock: store.FeedClock,
    request: PermissionsRequestRow,
    step: ApprovalStepRow,
    schedule: Schedule,
    reviewer: str,
    justification: str | None,
    config: RequestConfig,
) -> None:
    """Approve inside a transaction: fix the window, complete the step, schedule the grant and the revocation."""
    now = clock.now
    start, end = schedule.window(now)
    start = max(start, now)
    if end <= now:
        raise RequestStateError(
            f"the requested period ended at {end.isoformat()}; it can no longer be approved"
        )
    request.status = RequestStatus.APPROVED.value
    request.grant_start, request.grant_end = start, end
    request.decided_by, request.decided_at = reviewer, now
    step.status, step.review_result = StepStatus.COMPLETED.value, ReviewResult.APPROVED.value
    step.reviewed_by, step.reviewed_at, step.justification = reviewer, now, justification
    record_change(session, clock, request, "approved", config, actor=reviewer, detail=justification)
    store.schedule_job(session, request.id, "grant", start, now)
    store.schedule_job(session, request.id, "revoke", end, now)


def _load(session: Session, request_id: str) -> PermissionsRequestRow:
    request = store.get_request(session, request_id)
    if request is None:
        raise NotFoundError(f"no permissions request {request_id!r}")
    return request


def decide(
    engine: Engine,
    actor: ApiPrincipal,
    request_id: str,
    approve: bool,
    justification: str | None = None,
    *,
    step_id: str | None = None,
    config: RequestConfig | None = None,
    now: datetime | None = None,
) -> RequestRecord:
    """Approve or reject a submitted request, as an approver (or administrator) of its system who neither
    asked for it nor receives it."""
    config = config or RequestConfig.from_settings()
    now = now or datetime.now(UTC)
    justification = parse_justification(justification)
    with transaction(engine, now) as (session, clock):
        actor = fresh_actor(session, actor)
        request = _load(session, request_id)
        roles = actor.roles_on(request.cloud, request.system_id)
        if not can_read(actor, request):
            raise NotFoundError(f"no permissions request {request_id!r}")
        if not roles & APPROVING_ROLES:
            raise RequestAccessError(
                f"{actor.who} may not approve or reject requests on {request.cloud} {request.system_id}: "
                "that needs the approver or administrator role on it"
            )
        step = store.step_of(session, request.id)
        if step is None or (step_id is not None and step.step_id != step_id):
            raise NotFoundError(f"no approval step {step_id!r} of request {request_id!r}")
        if request.status != RequestStatus.SUBMITTED.value:
            raise RequestStateError(
                f"the request is {request.status}; only submitted requests can be approved or rejected"
            )
        if store.parties_of(request).is_own(actor.who):
            raise RequestAccessError(
                f"{actor.who} asked for this request, receives it or submitted its ticket; "
                "nobody reviews their own request"
            )
        if approve:
            system = store.find_system_row(session, request.cloud, request.system_id)
            if system is None or not system.modification_enabled:
                raise RequestStateError(
                    f"permissions modification is not enabled for {request.cloud} {request.system_id}"
                )
            problem = still_present(session, system, request.identity_external_id, request.grantee or "")
            if problem:
                raise RequestStateError(f"cannot approve: {problem}")
            schedule = store.spec_of(request).schedule
            approve_in(session, clock, request, step, schedule, actor.who, justification, config)
        else:
            request.status = RequestStatus.REJECTED.value
            request.decided_by, request.decided_at = actor.who, now
            step.status, step.review_result = StepStatus.COMPLETED.value, ReviewResult.DENIED.value
            step.reviewed_by, step.reviewed_at, step.justification = actor.who, now, justification
            record_change(session, clock, request, "rejected", config, actor=actor.who, detail=justification)
    return RequestRecord(request, step)


def may_review(actor: ApiPrincipal, request: PermissionsRequestRow) -> bool:
    """Whether the caller may approve or reject the request now (an approval step's `assignedToMe`)."""
    roles = actor.roles_on(request.cloud, request.system_id)
    status = RequestStatus(request.status)
    return access.may_review(roles, status, store.parties_of(request), actor.who)


def cancel(
    engine: Engine,
    actor: ApiPrincipal,
    request_id: str,
    *,
    config: RequestConfig | None = None,
    now: datetime | None = None,
) -> RequestRecord:
    """cancelAll: a pending request only by its requester; an approved one by the requester or an
    administrator of its system. What was granted is revoked by the scheduler right away."""
    config = config or RequestConfig.from_settings()
    now = now or datetime.now(UTC)
    with transaction(engine, now) as (session, clock):
        actor = fresh_actor(session, actor)
        request = _load(session, request_id)
        if not can_read(actor, request):
            raise NotFoundError(f"no permissions request {request_id!r}")
        status = RequestStatus(request.status)
        allowed, reason = cancel_allowed(actor, request)
        if not allowed:
            error = (
                RequestStateError if status not in (RequestStatus.SUBMITTED, RequestStatus.APPROVED) else None
            )
            raise (error or RequestAccessError)(reason or "cannot cancel")
        request.status = RequestStatus.CANCELED.value
        request.canceled_by = actor.who
        step = store.step_of(session, request.id)
        if step is not None and step.status == StepStatus.IN_PROGRESS.value:
            step.status = StepStatus.COMPLETED.value
        record_change(session, clock, request, "canceled", config, actor=actor.who)
        if status is RequestStatus.APPROVED:
            grant_job = store.job_of(session, request.id, "grant")
            if grant_job is not None and grant_job.status == "pending":
                grant_job.status, grant_job.finished_at = "canceled", now
            store.schedule_job(session, request.id, "revoke", now, now)
    return RequestRecord(request, step)


def cancel_allowed(actor: ApiPrincipal, request: PermissionsRequestRow) -> tuple[bool, str | None]:
    """Whether the caller may cancel the request now (the cancelAll rules), and why not when not."""
    is_requester = store.parties_of(request).is_requester(actor.who)
    is_admin = SystemRole.ADMINISTRATOR in actor.roles_on(request.cloud, request.system_id)
    return may_cancel(RequestStatus(request.status), is_requester=is_requester, is_administrator=is_admin)


# --------------------------------------------------------------------------------------------- reading


def reader_of(actor: ApiPrincipal) -> RequestReader:
    """What a caller may read: every request of the systems where it is viewer, approver or administrator (admin
    and viewer keys: every system), its own requests where it is requestor."""
    return RequestReader(
        who=actor.who, full=actor.systems_with(READING_ROLES), own=actor.systems_with(OWN_ONLY_ROLES)
    )


def reads_others(actor: ApiPrincipal) -> bool:
    """Whether the caller reads other people's requests too (viewer, approver or administrator somewhere)."""
    full = reader_of(actor).full
    return full.everything or bool(full.scopes)


def approves_somewhere(actor: ApiPrincipal) -> bool:
    """Whether the caller approves requests of some system (so it has an approval queue)."""
    systems = actor.systems_with(APPROVING_ROLES)
    return systems.everything or bool(systems.scopes)


def requests_somewhere(actor: ApiPrincipal) -> bool:
    """Whether the caller may submit requests on some system."""
    systems = actor.systems_with(REQUESTING_ROLES)
    return systems.everything or bool(systems.scopes)


def can_read(actor: ApiPrincipal, request: PermissionsRequestRow) -> bool:
    """Whether the caller may see this request."""
    return reader_of(actor).may_see(request.cloud, request.system_id, store.parties_of(request))


def requests_query(actor: ApiPrincipal, on: FilterByCurrentUser | None = None) -> Select[Any]:
    """The requests a caller may read, optionally only those filterByCurrentUser(on=...) names: 'principal'
    those it receives, 'createdBy' those it submitted, 'approver' those of its approving systems that are not
    its own (the ones it may review, or could have)."""
    stmt = store.requests_stmt(reader_of(actor))
    if on is FilterByCurrentUser.PRINCIPAL:
        return stmt.where(access_sql.recipient_is(actor.who))
    if on is FilterByCurrentUser.CREATED_BY:
        return stmt.where(access_sql.requester_is(actor.who))
    if on is FilterByCurrentUser.APPROVER:
        return stmt.where(access_sql.reviewable(actor.systems_with(APPROVING_ROLES), actor.who))
    return stmt


def changes_query(actor: ApiPrincipal) -> Select[Any]:
    """The change feed as the caller may read it."""
    return store.changes_stmt(reader_of(actor))


def get_record(
    engine: Engine, actor: ApiPrincipal, request_id: str, *, detail: bool = False
) -> RequestRecord:
    """One request the caller may read (NotFoundError otherwise), with its history when `detail`."""
    with Session(engine) as session:
        request = store.get_request(session, request_id)
        if request is None or not can_read(actor, request):
            raise NotFoundError(f"no permissions request {request_id!r}")
        step = store.step_of(session, request.id)
        if not detail:
            return RequestRecord(request, step)
        jobs = [job for kind in ("grant", "revoke") if (job := store.job_of(session, request.id, kind))]
        return RequestRecord(
            request, step, store.changes_of(session, request.id), store.grants_of(session, request.id), jobs
        )


def list_records(
    engine: Engine,
    actor: ApiPrincipal,
    *,
    status: RequestStatus | None = None,
    system_id: str | None = None,
    limit: int = 1000,
) -> list[RequestRecord]:
    """The newest requests the caller may read (optionally of one status or system), newest first."""
    return records_page(engine, actor, status=status, system_id=system_id, limit=limit)[0]


def records_page(
    engine: Engine,
    actor: ApiPrincipal,
    *,
    on: FilterByCurrentUser | None = None,
    status: RequestStatus | None = None,
    system_id: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[RequestRecord], int]:
    """One page of the requests the caller may read (filterByCurrentUser `on`, one status, one system), newest
    first, with their steps, and how many there are in all (an SQL count)."""
    where = [PermissionsRequestRow.status == status.value] if status is not None else []
    if system_id is not None:
        where.append(PermissionsRequestRow.system_id == system_id)
    with Session(engine) as session:
        page = fetch_page(
            session,
            requests_query(actor, on),
            where=where,
            order_by=[PermissionsRequestRow.id.desc()],
            offset=offset,
            limit=limit,
            with_count=True,
        )
        steps = steps_of(session, [row.id for row in page.items])
    return [RequestRecord(row, steps.get(row.id)) for row in page.items], page.count or 0


def scheduler_jobs(
    engine: Engine, *, unfinished_only: bool = True
) -> list[tuple[SchedulerJobRow, PermissionsRequestRow]]:
    """The scheduler's jobs with their requests, soonest first (unfinished ones only, by default)."""
    stmt = store.jobs_stmt()
    if unfinished_only:
        stmt = stmt.where(SchedulerJobRow.status.in_(("pending", "running")))
    with Session(engine) as session:
        rows = session.execute(stmt.order_by(SchedulerJobRow.due_at, SchedulerJobRow.id)).all()
        return [(job, request) for job, request in rows]


def get_change(engine: Engine, actor: ApiPrincipal, change_id: str) -> RequestChangeRow:
    """One change the caller may read."""
    with Session(engine) as session:
        stmt = changes_query(actor).where(RequestChangeRow.change_id == change_id)
        change: RequestChangeRow | None = session.execute(stmt).scalar_one_or_none()
        if change is None:
            raise NotFoundError(f"no permissions request change {change_id!r}")
        return change


def steps_of(session: Session, request_pks: list[int]) -> dict[int, ApprovalStepRow]:
    """The approval steps of several requests, by request primary key (one query)."""
    return store.steps_of(session, request_pks)


def set_modification(engine: Engine, system_id: str, enabled: bool, cloud: Cloud | None = None) -> None:
    """Allow (or stop) permissions on demand in one system; NotFoundError when there is no such system."""
    with Session(engine) as session, session.begin():
        if not store.set_modification_enabled(session, cloud.value if cloud else None, system_id, enabled):
            raise NotFoundError(f"no authorization system {system_id!r}")
