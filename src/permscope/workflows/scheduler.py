"""The durable scheduler: grants of permissions on demand at start time, revocations at expiry, webhooks; the
alerts (evaluates signals left pending, sends the alerts' deliveries: `workflows.alert_delivery`); and the runs of
schedules of collection, analysis and reports (`workflows.schedules`, run by `workflows.schedule_runs`).

Its work lives in the database (`scheduler_jobs`), so a restart loses nothing. A job is claimed with a lease;
a process that dies holding one is replaced when the lease runs out. Every cloud change is planned in the
database first (`permissions_request_grants`), then made, then confirmed: a crash between the cloud call and
the confirmation makes the next run repeat idempotent calls, and the change feed records each transition once.
Overlapping grants: an attachment two requests hold is removed only when the last holder's grant ends, and
never when it was there before permscope.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from permscope.core.grants import GrantConnector, GrantError, GrantItem, GrantKind, GrantRequest
from permscope.core.ids import Cloud
from permscope.core.requests import OccurrenceStatus, RequestStatus
from permscope.settings import Settings, get_settings
from permscope.store import requests as store
from permscope.store.tables import PermissionsRequestRow, RequestGrantRow, SchedulerJobRow
from permscope.workflows.alert_delivery import deliver_alerts
from permscope.workflows.alerts import evaluate_pending
from permscope.workflows.notifications import Send, WebhookSender, backoff, deliver_due
from permscope.workflows.report_delivery import ReportMail
from permscope.workflows.reports import ReportFileMaker
from permscope.workflows.request_clouds import ConnectorFactory, default_connectors, still_present
from permscope.workflows.requests import RequestConfig, record_change, transaction
from permscope.workflows.schedule_runs import ScheduleRunner, UnitWork
from permscope.workflows.schedules import plan_due

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
DEFER = timedelta(seconds=5)  # retry a job that waits for another request's cloud call
MAX_ROUNDS = 3


def utcnow() -> datetime:
    """The current UTC time (the default clock)."""
    return datetime.now(UTC)


@dataclass(slots=True)
class TickReport:
    """What one run of the scheduler did."""

    granted: list[str] = field(default_factory=list)
    revoked: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # "request id: error"
    deferred: int = 0
    skipped: int = 0
    notifications_sent: int = 0
    notification_failures: int = 0
    planned: int = 0  # schedule slots turned into jobs
    schedule_runs: list[str] = field(default_factory=list)  # "schedule: succeeded|retrying|failed|..."
    schedule_errors: list[str] = field(default_factory=list)  # "schedule: error"
    alerts_made: int = 0  # by evaluating signals left pending (an analysis stopped before evaluating them)
    alerts_sent: int = 0
    alert_failures: int = 0

    @property
    def busy(self) -> bool:
        """Whether the run did anything."""
        return bool(
            self.granted
            or self.revoked
            or self.failed
            or self.skipped
            or self.notifications_sent
            or self.schedule_runs
            or self.alerts_sent
        )


class _DeferError(Exception):
    """The job must wait (another request's change to the same cloud item is in flight)."""


def _item(row: RequestGrantRow) -> GrantItem:
    return GrantItem(
        kind=GrantKind(row.kind),
        principal=row.principal,
        target=row.target,
        document=row.document,
        value=row.value,
    )


class Scheduler:
    """Runs due jobs and sends queued notifications; `run_once` is one pass (tests drive it with a clock)."""

    def __init__(
        self,
        engine: Engine,
        *,
        settings: Settings | None = None,
        connectors: ConnectorFactory | None = None,
        clock: Clock = utcnow,
        send: Send | None = None,
        worker_id: str | None = None,
        schedule_work: UnitWork | None = None,
        reports: ReportFileMaker | None = None,
    ) -> None:
        """`reports` writes the reports of report schedules (`presentation.reports.make_report_file`, handed in by
        the entry point: workflows never import presentation); without it their runs fail saying so."""
        self.engine = engine
        self.settings = settings or get_settings()
        self.config = RequestConfig.from_settings(self.settings)
        self.connectors = connectors or default_connectors(self.settings)
        self.clock = clock
        url = self.settings.requests_webhook_url
        self.send = send or (WebhookSender(url.get_secret_value()) if url is not None else None)
        if self.send is not None and not self.config.notify:
            self.config = RequestConfig(
                self.config.max_now, self.config.max_scheduled, self.config.require_justification, True
            )
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.lease = timedelta(seconds=self.settings.scheduler_lease_seconds)
        self.grant_attempts = max(1, self.settings.scheduler_grant_attempts)
        self.report_mail = ReportMail(reports, self.settings)  # tests swap its `mailers`
        self.schedules = ScheduleRunner(
            engine,
            clock=clock,
            worker_id=self.worker_id,
            lease=self.lease,
            attempts=self.settings.scheduler_schedule_attempts,
            work=schedule_work,
            reports=self.report_mail,
            autopilot=self._autopilot,
        )
        self.remediation_connectors: Any = None  # tests: the autopilot's remediation connectors
        self.alert_senders: dict[str, Any] = {}  # tests: `webhooks` / `mailers` factories of deliver_alerts

    def _autopilot(self, engine: Engine, rule_id: str, run_by: str) -> None:
        """Run one accepted autopilot rule as itself (a rule disabled since the run was planned is left alone)."""
        from permscope.workflows.remediation.apply import default_connectors as remediation_connectors
        from permscope.workflows.remediation.autopilot import RunContext, run_scheduled

        connectors = self.remediation_connectors or remediation_connectors(self.settings)
        run_scheduled(engine, rule_id, RunContext(self.settings, connectors, self.clock, False, run_by))

    # ------------------------------------------------------------------------------------------- a pass

    def run_once(self, limit: int = 100, *, schedules: bool = True) -> TickReport:
        """Plan due schedule slots, run every due job once, then send due notifications. Without `schedules`, the
        schedules' runs are left to another loop (`run_due_schedules`): a long collection never delays a grant
        or a revocation."""
        report = TickReport()
        if schedules:
            report.planned = plan_due(self.engine, self.clock())
        seen: set[int] = set()
        for _round in range(MAX_ROUNDS):  # a failed grant makes its cleanup due at once: run it in this pass
            with Session(self.engine) as session:
                due = [job for job in store.due_job_ids(session, self.clock(), limit) if job not in seen]
                if not schedules:
                    due = [
                        job
                        for job in due
                        if (row := session.get(SchedulerJobRow, job)) is not None
                        and row.request_pk is not None
                    ]
            if not due:
                break
            for job_id in due:
                seen.add(job_id)
                self._run_job(job_id, report)
        if self.send is not None:
            sent, failed = deliver_due(self.engine, self.send, self.clock())
            report.notifications_sent, report.notification_failures = sent, failed
        self._alerts(report)
        return report

    def run_due_schedules(self, limit: int = 100) -> TickReport:
        """Plan due schedule slots and run the schedules' due jobs once (no grants, revocations or webhooks)."""
        from permscope.store.schedules import due_run_ids

        report = TickReport()
        report.planned = plan_due(self.engine, self.clock())
        with Session(self.engine) as session:
            due = due_run_ids(session, self.clock(), limit)
        for job_id in due:
            self._run_job(job_id, report)
        return report

    def _alerts(self, report: TickReport) -> None:
        """Evaluate signals still pending, then send the alerts' deliveries that are due."""
        report.alerts_made = evaluate_pending(self.engine, self.clock()).alerts
        delivered = deliver_alerts(self.engine, self.settings, self.clock(), **self.alert_senders)
        report.alerts_sent, report.alert_failures = delivered.sent, delivered.failed

    def _run_job(self, job_id: int, report: TickReport) -> None:
        now = self.clock()
        with Session(self.engine) as session, session.begin():
            if not store.claim_job(session, job_id, self.worker_id, now, self.lease):
                return
        with Session(self.engine) as session:
            job = session.get(SchedulerJobRow, job_id)
            assert job is not None
            kind, request_pk, attempts = job.kind, job.request_pk, job.attempts
        if request_pk is None:  # a schedule's run
            self._run_schedule(job_id, kind, attempts, report)
            return
        try:
            if kind == "grant":
                self._grant(job_id, request_pk, attempts, report)
            else:
                self._revoke(job_id, request_pk, attempts, report)
        except _DeferError:
            report.deferred += 1
            self._release(job_id, self.clock() + DEFER, count_attempt=False)
        except Exception as exc:  # a bug or a database hiccup: the job stays, retried later, and is logged
            log.exception("%s job %d failed unexpectedly; retrying in %s", kind, job_id, backoff(attempts))
            report.failed.append(f"job {job_id}: {type(exc).__name__}: {exc}")
            self._release(job_id, self.clock() + backoff(attempts), count_attempt=True, error=repr(exc))

    def _run_schedule(self, job_id: int, kind: str, attempts: int, report: TickReport) -> None:
        try:
            outcome = self.schedules.run(job_id)
        except Exception as exc:  # a bug or a database hiccup: the job stays, retried later, and is logged
            log.exception("%s job %d failed unexpectedly; retrying in %s", kind, job_id, backoff(attempts))
            report.schedule_errors.append(f"job {job_id}: {type(exc).__name__}: {exc}")
            self._release(job_id, self.clock() + backoff(attempts), count_attempt=True, error=repr(exc))
            return
        report.schedule_runs.append(f"{outcome.schedule}: {outcome.status}")
        if outcome.error is not None:
            report.schedule_errors.append(f"{outcome.schedule}: {outcome.error}")

    def _release(
        self, job_id: int, due_at: datetime, *, count_attempt: bool, error: str | None = None
    ) -> None:
        with Session(self.engine) as session, session.begin():
            job = session.get(SchedulerJobRow, job_id)
            assert job is not None
            job.status, job.locked_by, job.locked_until, job.due_at = "pending", None, None, due_at
            if not count_attempt:
                job.attempts = max(0, job.attempts - 1)
            if error is not None:
                job.last_error = error

    def _finish(self, session: Session, job_id: int, status: str = "done") -> None:
        job = session.get(SchedulerJobRow, job_id)
        assert job is not None
        job.status, job.locked_by, job.locked_until, job.finished_at = status, None, None, self.clock()

    def _mine(self, session: Session, job_id: int) -> bool:
        job = session.get(SchedulerJobRow, job_id)
        return job is not None and job.status == "running" and job.locked_by == self.worker_id

    def _connector(self, request: PermissionsRequestRow) -> GrantConnector:
        return self.connectors(Cloud(request.cloud), request.system_id)

    # -------------------------------------------------------------------------------------------- grant

    def _grant(self, job_id: int, request_pk: int, attempts: int, report: TickReport) -> None:
        with Session(self.engine) as session:
            request = session.get(PermissionsRequestRow, request_pk)
            assert request is not None
            planned = store.grants_of(session, request_pk)
        connector = self._connector(request)
        snapshot: dict[tuple[str, str, str], list[tuple[int, str]]] = {}
        presence: dict[tuple[str, str, str], bool] = {}
        items: list[GrantItem] = []
        if not planned and request.status == RequestStatus.APPROVED.value and request.grant_end is not None:
            grant = GrantRequest(
                request_id=request.request_id,
                system_id=request.system_id,
                principal=request.grantee or request.identity_external_id,
                action=request.action,
                ends_at=request.grant_end,
                resource_id=request.resource_id,
            )
            try:
                items = connector.items(grant)
                with Session(
                    self.engine
                ) as session:  # who else holds the same items, before asking the cloud
                    for item in items:
                        if item.shareable:
                            snapshot[item.key] = self._holders(session, request, item)
                for item in items:
                    if item.shareable and not any(
                        state in store.ACTIVE_GRANT_STATES for _, state in snapshot[item.key]
                    ):
                        presence[item.key] = connector.is_present(item)
            except GrantError as exc:
                self._grant_failed(job_id, request_pk, attempts, exc, report)
                return
        problem: str | None = None
        todo: list[tuple[int, GrantItem]] = []
        plan_owned: dict[int, bool] = {}
        with transaction(self.engine, self.clock()) as (session, clock):
            if not self._mine(session, job_id):
                return
            request = session.get(PermissionsRequestRow, request_pk)
            assert request is not None
            if request.status != RequestStatus.APPROVED.value:
                self._finish(session, job_id)  # canceled before its start: nothing to grant
                report.skipped += 1
                return
            problem = self._grant_blocker(session, request, clock.now)
            if problem is None:
                rows = store.grants_of(session, request_pk)
                if not rows:
                    rows = self._plan(session, request, items, snapshot, presence)
                    request.occurrence_status = OccurrenceStatus.GRANTING.value
                    record_change(session, clock, request, "granting", self.config)
                todo = [(row.id, _item(row)) for row in rows if row.state == "planned"]
                plan_owned = {row.id: row.owned for row in rows}
        if problem is not None:
            self._grant_failed(job_id, request_pk, attempts, GrantError(problem, permanent=True), report)
            return
        try:
            for row_id, item in todo:
                if item.shareable and not plan_owned[row_id]:
                    continue  # attached before permscope: neither attached nor, later, detached by us
                connector.add(item)
        except GrantError as exc:
            self._grant_failed(job_id, request_pk, attempts, exc, report)
            return
        with transaction(self.engine, self.clock()) as (session, clock):
            if not self._mine(session, job_id):
                return
            request = session.get(PermissionsRequestRow, request_pk)
            assert request is not None
            for row in store.grants_of(session, request_pk):
                if row.state == "planned":
                    row.state = "applied"
            self._finish(session, job_id)
            if request.status == RequestStatus.APPROVED.value:
                request.occurrence_status = OccurrenceStatus.GRANTED.value
                request.last_error = None
                record_change(session, clock, request, "granted", self.config)
                report.granted.append(request.request_id)
            # canceled meanwhile: the revoke job (due now) removes what was just added

    def _holders(
        self, session: Session, request: PermissionsRequestRow, item: GrantItem
    ) -> list[tuple[int, str]]:
        rows = store.same_target(
            session,
            request.cloud,
            request.system_id,
            item.kind.value,
            item.principal,
            item.target,
            request.id,
        )
        return [(row.id, row.state) for row in rows]

    def _grant_blocker(self, session: Session, request: PermissionsRequestRow, now: datetime) -> str | None:
        system = store.find_system_row(session, request.cloud, request.system_id)
        if system is None:
            return f"{request.cloud} {request.system_id} is no longer known"
        if not system.modification_enabled:
            return f"permissions modification was disabled for {request.cloud} {request.system_id}"
        if request.grant_end is not None and request.grant_end <= now:
            return "the grant window ended before the grant could be made"
        return still_present(session, system, request.identity_external_id, request.grantee or "")

    def _plan(
        self,
        session: Session,
        request: PermissionsRequestRow,
        items: list[GrantItem],
        snapshot: dict[tuple[str, str, str], list[tuple[int, str]]],
        presence: dict[tuple[str, str, str], bool],
    ) -> list[RequestGrantRow]:
        """Write the plan. Shared items take their ownership from the other holders, else from what the cloud
        had before; if another request's change to the item is in flight, or anything moved since the cloud
        was asked, the job waits."""
        rows: list[RequestGrantRow] = []
        for position, item in enumerate(items):
            owned = True
            if item.shareable:
                holders = store.same_target(
                    session,
                    request.cloud,
                    request.system_id,
                    item.kind.value,
                    item.principal,
                    item.target,
                    request.id,
                )
                if any(h.state in store.TRANSITIONAL_GRANT_STATES for h in holders):
                    raise _DeferError
                if [(h.id, h.state) for h in holders] != snapshot.get(item.key, []):
                    raise _DeferError
                active = [h for h in holders if h.state in store.ACTIVE_GRANT_STATES]
                owned = active[0].owned if active else not presence.get(item.key, False)
            row = RequestGrantRow(
                request_pk=request.id,
                position=position,
                cloud=request.cloud,
                system_id=request.system_id,
                kind=item.kind.value,
                principal=item.principal,
                target=item.target,
                document=item.document,
                value=item.value,
                owned=owned,
                state="planned",
                note=None
                if owned
                else "already attached before permscope; left in place when the grant ends",
            )
            session.add(row)
            rows.append(row)
        session.flush()
        return rows

    def _grant_failed(
        self, job_id: int, request_pk: int, attempts: int, error: GrantError, report: TickReport
    ) -> None:
        final = error.permanent or attempts >= self.grant_attempts
        with transaction(self.engine, self.clock()) as (session, clock):
            if not self._mine(session, job_id):
                return
            request = session.get(PermissionsRequestRow, request_pk)
            assert request is not None
            request.last_error = str(error)
            report.failed.append(f"{request.request_id}: {error}")
            if not final:
                log.warning(
                    "grant of request %s failed (attempt %d), will retry: %s",
                    request.request_id,
                    attempts,
                    error,
                )
                job = session.get(SchedulerJobRow, job_id)
                assert job is not None
                job.status, job.locked_by, job.locked_until = "pending", None, None
                job.due_at, job.last_error = clock.now + backoff(attempts), str(error)
                return
            log.error("grant of request %s failed: %s", request.request_id, error)
            self._finish(session, job_id, "failed")
            if request.status == RequestStatus.APPROVED.value:
                request.occurrence_status = OccurrenceStatus.GRANTING_FAILED.value
                record_change(session, clock, request, "grantingFailed", self.config, detail=str(error))
            # whatever was added before the failure is taken back now
            store.schedule_job(session, request.id, "revoke", clock.now, clock.now)

    # ------------------------------------------------------------------------------------------- revoke

    def _revoke(self, job_id: int, request_pk: int, attempts: int, report: TickReport) -> None:
        with transaction(self.engine, self.clock()) as (session, clock):
            if not self._mine(session, job_id):
                return
            request = session.get(PermissionsRequestRow, request_pk)
            assert request is not None
            grant_job = store.job_of(session, request_pk, "grant")
            if grant_job is not None and grant_job.status in ("pending", "running"):
                if (
                    grant_job.status == "running"
                    and grant_job.locked_until
                    and grant_job.locked_until >= clock.now
                ):
                    raise _DeferError  # its cloud calls may be in flight; revoke after them
                grant_job.status, grant_job.finished_at = "canceled", clock.now
                grant_job.locked_by = grant_job.locked_until = None
            rows = store.grants_of(session, request_pk)
            if not rows:
                self._finish(session, job_id)
                if request.status == RequestStatus.APPROVED.value:
                    request.status = RequestStatus.COMPLETED.value
                    record_change(
                        session, clock, request, "completed", self.config, detail="nothing was granted"
                    )
                report.skipped += 1
                return
            for row in rows:
                if row.state in store.ACTIVE_GRANT_STATES:
                    self._decide_removal(session, request, row)
            # a revocation that failed before stays revokingFailed (loud) until it succeeds
            if request.occurrence_status not in (
                OccurrenceStatus.REVOKING.value,
                OccurrenceStatus.REVOKING_FAILED.value,
            ):
                request.occurrence_status = OccurrenceStatus.REVOKING.value
                record_change(session, clock, request, "revoking", self.config)
            todo = [_item(row) for row in reversed(rows) if row.state == "removing"]
        try:
            connector = self._connector(request)
            for item in todo:
                connector.remove(item)
        except GrantError as exc:
            self._revoke_failed(job_id, request_pk, attempts, exc, report)
            return
        with transaction(self.engine, self.clock()) as (session, clock):
            if not self._mine(session, job_id):
                return
            request = session.get(PermissionsRequestRow, request_pk)
            assert request is not None
            for row in store.grants_of(session, request_pk):
                if row.state == "removing":
                    row.state = "removed"
            self._finish(session, job_id)
            request.occurrence_status = OccurrenceStatus.REVOKED.value
            request.last_error = None
            record_change(session, clock, request, "revoked", self.config)
            if request.status == RequestStatus.APPROVED.value:
                request.status = RequestStatus.COMPLETED.value
                record_change(session, clock, request, "completed", self.config)
            report.revoked.append(request.request_id)

    def _decide_removal(self, session: Session, request: PermissionsRequestRow, row: RequestGrantRow) -> None:
        """Remove the item, unless another active request still holds it or it predates permscope."""
        if _item(row).shareable:
            holders = store.same_target(
                session, request.cloud, request.system_id, row.kind, row.principal, row.target, request.id
            )
            active = [h for h in holders if h.state in store.ACTIVE_GRANT_STATES]
            if active:
                others = sorted({str(h.request_pk) for h in active})
                row.state, row.note = (
                    "kept",
                    f"still held by another request (request pk {', '.join(others)})",
                )
                return
            if not row.owned:
                row.state = "kept"
                return
        row.state = "removing"

    def _revoke_failed(
        self, job_id: int, request_pk: int, attempts: int, error: GrantError, report: TickReport
    ) -> None:
        """A failed revocation is retried forever (with backoff) and raised loudly: an error log every time,
        a change and a webhook message on the first failure and then on attempts 2, 4, 8, ..."""
        with transaction(self.engine, self.clock()) as (session, clock):
            if not self._mine(session, job_id):
                return
            request = session.get(PermissionsRequestRow, request_pk)
            assert request is not None
            log.error(
                "REVOCATION FAILED for request %s (%s in %s %s), attempt %d, retrying in %s: %s",
                request.request_id,
                request.grantee,
                request.cloud,
                request.system_id,
                attempts,
                backoff(attempts),
                error,
            )
            report.failed.append(f"{request.request_id}: {error}")
            request.last_error = str(error)
            first = request.occurrence_status != OccurrenceStatus.REVOKING_FAILED.value
            if first or attempts & (attempts - 1) == 0:
                request.occurrence_status = OccurrenceStatus.REVOKING_FAILED.value
                record_change(
                    session,
                    clock,
                    request,
                    "revokingFailed",
                    self.config,
                    detail=f"attempt {attempts}: {error}",
                )
            job = session.get(SchedulerJobRow, job_id)
            assert job is not None
            job.status, job.locked_by, job.locked_until = "pending", None, None
            job.due_at, job.last_error = clock.now + backoff(attempts), str(error)


def preview_due(
    engine: Engine, connectors: ConnectorFactory, now: datetime, echo: Callable[[str], None], limit: int = 100
) -> int:
    """Dry run: show what the due jobs would do, through `connectors` (dry-run ones print the cloud calls);
    nothing is claimed or written. Returns how many jobs were shown."""
    with Session(engine) as session:
        job_ids = store.due_job_ids(session, now, limit)
        shown = 0
        for job_id in job_ids:
            job = session.get(SchedulerJobRow, job_id)
            assert job is not None
            if job.request_pk is None:
                echo(
                    f"# {job.kind}: a run of schedule {job.schedule_pk} (not previewed: it reads, never changes a cloud)"
                )
                continue
            shown += 1
            request = session.get(PermissionsRequestRow, job.request_pk)
            assert request is not None
            echo(
                f"# {job.kind} request {request.request_id} ({request.grantee}, {request.cloud} {request.system_id})"
            )
            connector = connectors(Cloud(request.cloud), request.system_id)
            if job.kind == "grant":
                _preview_grant(request, connector, echo)
            else:
                _preview_revoke(session, request, connector, echo)
    return shown


def _preview_grant(
    request: PermissionsRequestRow, connector: GrantConnector, echo: Callable[[str], None]
) -> None:
    if request.status != RequestStatus.APPROVED.value or request.grant_end is None:
        echo(f"#   nothing: the request is {request.status}")
        return
    grant = GrantRequest(
        request_id=request.request_id,
        system_id=request.system_id,
        principal=request.grantee or request.identity_external_id,
        action=request.action,
        ends_at=request.grant_end,
        resource_id=request.resource_id,
    )
    for item in connector.items(grant):
        if item.shareable:
            connector.is_present(item)
        connector.add(item)


def _preview_revoke(
    session: Session, request: PermissionsRequestRow, connector: GrantConnector, echo: Callable[[str], None]
) -> None:
    rows = [
        row for row in store.grants_of(session, request.id) if row.state in ("planned", "applied", "removing")
    ]
    if not rows:
        echo("#   nothing was granted")
    for row in reversed(rows):
        if _item(row).shareable and row.state != "removing":
            holders = store.same_target(
                session, request.cloud, request.system_id, row.kind, row.principal, row.target, request.id
            )
            if any(h.state in store.ACTIVE_GRANT_STATES for h in holders) or not row.owned:
                echo(
                    f"#   keep {row.target} on {row.principal} (another request holds it, or it predates permscope)"
                )
                continue
        connector.remove(_item(row))


class SchedulerThread:
    """The scheduler in a background thread of the server: a pass every `interval` seconds, or at `wake()`.
    `work` is the pass (default: `scheduler.run_once`); the server runs the schedules' runs in a second thread."""

    def __init__(
        self, scheduler: Scheduler, interval: float, work: Callable[[], object] | None = None
    ) -> None:
        self.scheduler = scheduler
        self.interval = interval
        self.work = work or scheduler.run_once
        self._stop = threading.Event()
        self._wake = threading.Event()
        self.passes = 0
        self.pass_done = threading.Event()  # set after every pass (tests wait on it; nobody sleeps)
        name = "permscope-scheduler" if work is None else "permscope-schedules"
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> SchedulerThread:
        """Start the loop."""
        self._thread.start()
        return self

    def wake(self) -> None:
        """Run a pass now (e.g. right after an approval)."""
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the current pass and stop."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.work()
            except Exception:  # the loop must outlive a broken pass (e.g. the database restarting)
                log.exception("scheduler pass failed; retrying in %.0f s", self.interval)
            self.passes += 1
            self.pass_done.set()
            self._wake.wait(self.interval)
            self._wake.clear()
