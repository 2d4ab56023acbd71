"""Store functions of permissions on demand: the feed clock, requests and their changes, grant plans, durable
scheduler jobs, the notification outbox, auto-approve rules. The caller owns the transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, or_, select, update
from sqlalchemy.orm import Session

from permscope.core.access import RequestParties, RequestReader, principal_match
from permscope.core.ids import Cloud
from permscope.core.requests import IdentityInfo, IdentitySourceType, RequestSpec, Schedule, Ticket
from permscope.store.access import readable, scope_columns_cover
from permscope.store.homes import SystemView
from permscope.store.systems import find_system
from permscope.store.tables import (
    ApiKeyRow,
    ApiKeyScopeRow,
    ApprovalStepRow,
    AuthorizationSystemRow,
    AutoApproveRuleRow,
    IdentityRow,
    PermissionsRequestRow,
    RequestChangeRow,
    RequestClockRow,
    RequestGrantRow,
    RequestNotificationRow,
    SchedulerJobRow,
)

TICK = timedelta(microseconds=1)
ACTIVE_GRANT_STATES = ("planned", "applied")  # the item is (or is about to be) in the cloud for that request
TRANSITIONAL_GRANT_STATES = ("planned", "removing")  # a cloud call may be in flight


class FeedClock:
    """Modification times of one transaction: strictly after every committed change, and never before `now`.

    `lock` must be the transaction's first write: it locks the clock row (a row lock on PostgreSQL, the
    database write lock on SQLite) until commit, so transitions commit one at a time in time order.
    """

    def __init__(self, session: Session, now: datetime) -> None:
        self._session = session
        self.now = now
        self._last: datetime | None = None

    def lock(self) -> FeedClock:
        """Take the lock (creating the clock row on first use) and read the last time handed out."""
        bump = (
            update(RequestClockRow)
            .where(RequestClockRow.id == 1)
            .values(sequence=RequestClockRow.sequence + 1)
        )
        if self._session.execute(bump).rowcount == 0:  # type: ignore[attr-defined]
            self._session.add(RequestClockRow(id=1, sequence=1, last_modified_at=None))
            self._session.flush()
        self._last = self._session.scalar(
            select(RequestClockRow.last_modified_at).where(RequestClockRow.id == 1)
        )
        return self

    def stamp(self) -> datetime:
        """The next modification time (after the previous one by at least a microsecond)."""
        moment = self.now if self._last is None or self.now > self._last else self._last + TICK
        self._last = moment
        self._session.execute(
            update(RequestClockRow).where(RequestClockRow.id == 1).values(last_modified_at=moment)
        )
        return moment


# ----------------------------------------------------------------------------------------------- systems


def find_system_row(session: Session, cloud: str | None, system_id: str) -> AuthorizationSystemRow | None:
    """A system by cloud (None: any) and authorizationSystemId (`store.systems.find_system`)."""
    return find_system(session, system_id, cloud)


def find_identity_row(session: Session, system: SystemView, external_id: str) -> IdentityRow | None:
    """An identity a system sees (stored in it or at its home) by external id (exact)."""
    stmt = select(IdentityRow).where(system.identities(), IdentityRow.external_id == external_id)
    return session.execute(stmt).scalar_one_or_none()


def set_modification_enabled(session: Session, cloud: str | None, system_id: str, enabled: bool) -> bool:
    """Turn permissions modification on or off for a system; False when there is no such system."""
    row = find_system_row(session, cloud, system_id)
    if row is None:
        return False
    row.modification_enabled = enabled
    return True


# ---------------------------------------------------------------------------------------------- API keys


def key_with_scopes(session: Session, key_id: str) -> tuple[ApiKeyRow, list[ApiKeyScopeRow]] | None:
    """A key and its per-system roles."""
    key = session.execute(select(ApiKeyRow).where(ApiKeyRow.key_id == key_id)).scalar_one_or_none()
    if key is None:
        return None
    scopes = session.execute(
        select(ApiKeyScopeRow).where(ApiKeyScopeRow.key_pk == key.id).order_by(ApiKeyScopeRow.id)
    ).scalars()
    return key, list(scopes)


# ---------------------------------------------------------------------------------------------- requests


def new_guid() -> str:
    """A GUID string, as the contract's request and change ids are."""
    return str(uuid.uuid4())


def new_request_row(
    spec: RequestSpec,
    *,
    status: str,
    grantee: str | None,
    created_by: str,
    created_by_key: str | None,
    now: datetime,
) -> PermissionsRequestRow:
    """A request row holding `spec` as typed columns (`spec_of` reads it back), not yet added."""
    identity, schedule, ticket = spec.identity, spec.schedule, spec.ticket
    return PermissionsRequestRow(
        request_id=new_guid(),
        cloud=spec.cloud.value,
        system_id=spec.system_id,
        definition_type=spec.definition_type,
        action_type=spec.action_type,
        identity_external_id=identity.external_id,
        identity_type=identity.identity_type,
        identity_source=identity.source.value,
        identity_source_system_id=identity.source_system_id,
        resource_id=spec.resource_id,
        action=spec.action,
        grantee=grantee,
        justification=spec.justification,
        notes=spec.notes,
        ticket_number=ticket.number,
        ticket_system=ticket.system,
        ticket_submitter=ticket.submitter,
        ticket_approver=ticket.approver,
        status=status,
        occurrence_status=None,
        requested_start=schedule.start,
        requested_duration=schedule.duration,
        requested_end=schedule.end,
        created_by=created_by,
        created_by_key=created_by_key,
        created_at=now,
        updated_at=now,
        requester_match=principal_match(created_by),
        recipient_match=principal_match(identity.external_id),
        submitter_match=principal_match(ticket.submitter),
    )


def spec_of(request: PermissionsRequestRow) -> RequestSpec:
    """The request's RequestSpec, from its typed columns."""
    return RequestSpec(
        cloud=Cloud(request.cloud),
        system_id=request.system_id,
        identity=IdentityInfo(
            external_id=request.identity_external_id,
            identity_type=request.identity_type,
            source=IdentitySourceType(request.identity_source),
            source_system_id=request.identity_source_system_id,
        ),
        action=request.action,
        schedule=Schedule(
            start=request.requested_start, duration=request.requested_duration, end=request.requested_end
        ),
        definition_type=request.definition_type,
        action_type=request.action_type,
        resource_id=request.resource_id,
        justification=request.justification,
        notes=request.notes,
        ticket=Ticket(
            number=request.ticket_number,
            system=request.ticket_system,
            submitter=request.ticket_submitter,
            approver=request.ticket_approver,
        ),
    )


def parties_of(request: PermissionsRequestRow) -> RequestParties:
    """The people of a request: its requester, its recipient, its ticket's submitter."""
    return RequestParties(
        requester=request.created_by,
        recipient=request.identity_external_id,
        ticket_submitter=request.ticket_submitter,
    )


def get_request(session: Session, request_id: str) -> PermissionsRequestRow | None:
    """A request by its GUID."""
    stmt = select(PermissionsRequestRow).where(PermissionsRequestRow.request_id == request_id)
    return session.execute(stmt).scalar_one_or_none()


def append_change(
    session: Session,
    request: PermissionsRequestRow,
    clock: FeedClock,
    event: str,
    *,
    actor: str | None = None,
    detail: str | None = None,
) -> RequestChangeRow:
    """Record the request's current status and occurrence status as one permissionsRequestChange."""
    moment = clock.stamp()
    request.updated_at = moment
    change = RequestChangeRow(
        change_id=new_guid(),
        request_pk=request.id,
        request_id=request.request_id,
        modified_at=moment,
        status=request.status,
        occurrence_status=request.occurrence_status,
        ticket_id=request.ticket_number,
        event=event,
        actor=actor,
        detail=detail,
    )
    session.add(change)
    session.flush()
    return change


def step_of(session: Session, request_pk: int) -> ApprovalStepRow | None:
    """The approval step of a request."""
    stmt = (
        select(ApprovalStepRow).where(ApprovalStepRow.request_pk == request_pk).order_by(ApprovalStepRow.id)
    )
    return session.execute(stmt.limit(1)).scalar_one_or_none()


def steps_of(session: Session, request_pks: Sequence[int]) -> dict[int, ApprovalStepRow]:
    """The approval step (the first, as `step_of`) of each of several requests, by request primary key, in
    one query."""
    steps: dict[int, ApprovalStepRow] = {}
    if not request_pks:
        return steps
    stmt = (
        select(ApprovalStepRow)
        .where(ApprovalStepRow.request_pk.in_(set(request_pks)))
        .order_by(ApprovalStepRow.id.desc())
    )
    for step in session.execute(stmt).scalars():
        steps[step.request_pk] = step  # lowest id last, so it wins
    return steps


def requests_stmt(reader: RequestReader) -> Select[PermissionsRequestRow]:
    """The requests a reader may see."""
    return select(PermissionsRequestRow).where(readable(reader))


def changes_stmt(reader: RequestReader) -> Select[RequestChangeRow]:
    """The changes of the requests a reader may see."""
    stmt = select(RequestChangeRow)
    if reader.full.everything:
        return stmt
    return stmt.join(PermissionsRequestRow, PermissionsRequestRow.id == RequestChangeRow.request_pk).where(
        readable(reader)
    )


def changes_of(session: Session, request_pk: int) -> list[RequestChangeRow]:
    """Every change of one request, oldest first."""
    stmt = (
        select(RequestChangeRow)
        .where(RequestChangeRow.request_pk == request_pk)
        .order_by(RequestChangeRow.id)
    )
    return list(session.execute(stmt).scalars())


# ------------------------------------------------------------------------------------------- grant plans


def grants_of(session: Session, request_pk: int) -> list[RequestGrantRow]:
    """The planned / applied / removed items of one request, in plan order."""
    stmt = (
        select(RequestGrantRow)
        .where(RequestGrantRow.request_pk == request_pk)
        .order_by(RequestGrantRow.position)
    )
    return list(session.execute(stmt).scalars())


def same_target(
    session: Session,
    cloud: str,
    system_id: str,
    kind: str,
    principal: str,
    target: str,
    exclude_request_pk: int,
) -> list[RequestGrantRow]:
    """Other requests' grant rows on the very same cloud item (e.g. the same policy attached to the same role)."""
    stmt = select(RequestGrantRow).where(
        RequestGrantRow.cloud == cloud,
        RequestGrantRow.system_id == system_id,
        RequestGrantRow.kind == kind,
        RequestGrantRow.principal == principal,
        RequestGrantRow.target == target,
        RequestGrantRow.request_pk != exclude_request_pk,
    )
    return list(session.execute(stmt.order_by(RequestGrantRow.id)).scalars())


# ------------------------------------------------------------------------------------------------- jobs


def job_of(session: Session, request_pk: int, kind: str) -> SchedulerJobRow | None:
    """The grant or revoke job of a request."""
    stmt = select(SchedulerJobRow).where(
        SchedulerJobRow.request_pk == request_pk, SchedulerJobRow.kind == kind
    )
    return session.execute(stmt).scalar_one_or_none()


def schedule_job(
    session: Session, request_pk: int, kind: str, due_at: datetime, now: datetime
) -> SchedulerJobRow:
    """Create the job, or move an unfinished one to `due_at` (a request has one job of each kind)."""
    job = job_of(session, request_pk, kind)
    if job is None:
        job = SchedulerJobRow(
            request_pk=request_pk, kind=kind, status="pending", due_at=due_at, attempts=0, created_at=now
        )
        session.add(job)
    elif job.status in ("pending", "running"):
        job.due_at = due_at
    session.flush()
    return job


def due_job_ids(session: Session, now: datetime, limit: int) -> list[int]:
    """Jobs whose time has come and that nobody holds (or whose holder's lease ran out), oldest first."""
    stmt = (
        select(SchedulerJobRow.id)
        .where(
            SchedulerJobRow.status.in_(("pending", "running")),
            SchedulerJobRow.due_at <= now,
            or_(SchedulerJobRow.locked_until.is_(None), SchedulerJobRow.locked_until < now),
        )
        .order_by(SchedulerJobRow.due_at, SchedulerJobRow.id)
        .limit(limit)
    )
    return list(session.execute(stmt).scalars())


def claim_job(session: Session, job_id: int, worker: str, now: datetime, lease: timedelta) -> bool:
    """Take a due job for `lease` (one UPDATE: two workers never both win)."""
    result = session.execute(
        update(SchedulerJobRow)
        .where(
            SchedulerJobRow.id == job_id,
            SchedulerJobRow.status.in_(("pending", "running")),
            SchedulerJobRow.due_at <= now,
            or_(SchedulerJobRow.locked_until.is_(None), SchedulerJobRow.locked_until < now),
        )
        .values(
            status="running",
            locked_by=worker,
            locked_until=now + lease,
            attempts=SchedulerJobRow.attempts + 1,
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def jobs_stmt() -> Select[SchedulerJobRow, PermissionsRequestRow]:
    """Jobs with their requests, for the scheduler's status listing."""
    return select(SchedulerJobRow, PermissionsRequestRow).join(
        PermissionsRequestRow, PermissionsRequestRow.id == SchedulerJobRow.request_pk
    )


# ---------------------------------------------------------------------------------------- notifications


def enqueue_notification(
    session: Session, request_id: str, event: str, payload: dict[str, Any], now: datetime
) -> None:
    """Queue a webhook message; it is sent by the scheduler, in the order queued."""
    session.add(
        RequestNotificationRow(
            request_id=request_id,
            event=event,
            payload=payload,
            status="pending",
            attempts=0,
            due_at=now,
            created_at=now,
        )
    )


def due_notifications(session: Session, now: datetime, limit: int) -> list[RequestNotificationRow]:
    """Queued messages whose (re)try time has come, oldest first."""
    stmt = (
        select(RequestNotificationRow)
        .where(RequestNotificationRow.status == "pending", RequestNotificationRow.due_at <= now)
        .order_by(RequestNotificationRow.id)
        .limit(limit)
    )
    return list(session.execute(stmt).scalars())


# ------------------------------------------------------------------------------------------ auto-approve


def enabled_rules(session: Session, cloud: str, system_id: str) -> list[AutoApproveRuleRow]:
    """The enabled auto-approve rules that may apply to a system."""
    stmt = select(AutoApproveRuleRow).where(
        AutoApproveRuleRow.enabled.is_(True),
        scope_columns_cover(AutoApproveRuleRow.cloud, AutoApproveRuleRow.system_id, cloud, system_id),
    )
    return list(session.execute(stmt.order_by(AutoApproveRuleRow.id)).scalars())


def all_rules(session: Session) -> Sequence[AutoApproveRuleRow]:
    """Every auto-approve rule."""
    return list(session.execute(select(AutoApproveRuleRow).order_by(AutoApproveRuleRow.id)).scalars())
